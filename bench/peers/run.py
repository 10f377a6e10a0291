"""Run the silent-hit benchmark for msal-rs, MSAL Python and MSAL Node over the same cache
fixtures, print one table, update results.json and draw hit-cost.png.

Called by run.sh once the peers are installed and the Rust binaries are built; see README.md.
Every library runs in its own process, one after another, never two at once.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
LOGS = os.path.join(HERE, "logs")

# (series, column title). "msal-rs" holds the cache in memory like the peers do; "msal-rs-file"
# is a FileCache over the fixture (one stat per hit), which also needs less memory to load.
SERIES = [
    ("msal-rs", "msal-rs"),
    ("msal-rs-file", "msal-rs (FileCache)"),
    ("msal-python", "MSAL Python"),
    ("msal-node", "MSAL Node"),
]

# Peak memory per account (KB) when nothing measured says better: from the 100,000-account runs
# on the reference machine (see BENCHMARKS.md). Only used to decide what can run.
DEFAULT_KB_PER_ACCOUNT = {
    "msal-rs": 27.0,
    "msal-rs-file": 21.0,
    "msal-python": 15.5,
    "msal-node": 30.0,
}
FIXTURE_KB_PER_ACCOUNT = 6.03
# The generator's format version (`schema` in FILE.meta.json); older fixtures are regenerated.
FIXTURE_SCHEMA = "msal-bench-fixture/1"


def mem_available_gb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def fmt_us(us):
    if us is None:
        return "-"
    if us < 1_000:
        return "{:.3g} µs".format(us) if us < 100 else "{:.0f} µs".format(us)
    if us < 1_000_000:
        return "{:.3g} ms".format(us / 1e3)
    return "{:.3g} s".format(us / 1e6)


def fmt_ratio(r):
    if r is None:
        return "-"
    return "×{:,.0f}".format(r) if r >= 100 else "×{:.3g}".format(r)


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        total_gb = int(f.readline().split()[1]) / 1024 / 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(total_gb, 1),
        "kernel": platform.release(),
    }


def versions(args):
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    def pkg_version(path):
        try:
            with open(path) as f:
                return json.load(f)["version"]
        except OSError:
            return None

    return {
        "msal-rs": out(["git", "-C", HERE, "describe", "--always", "--dirty"]),
        "rustc": out(["rustc", "--version"]),
        "python": out([args.python, "--version"]),
        "msal": out([args.python, "-c", "import msal; print(msal.__version__)"]),
        "node": out(["node", "--version"]),
        "@azure/msal-node": pkg_version(
            os.path.join(HERE, "node/node_modules/@azure/msal-node/package.json")),
        "@azure/msal-common": pkg_version(
            os.path.join(HERE, "node/node_modules/@azure/msal-common/package.json")),
    }


def ensure_fixture(args, n):
    """The fixture for n accounts, generated unless a complete one is already there."""
    path = os.path.join(FIXTURES, "cache-{}.json".format(n))
    meta_path = path + ".meta.json"
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        if (meta.get("schema") == FIXTURE_SCHEMA and meta.get("accounts") == n
                and meta.get("bytes") == os.path.getsize(path)):
            return path
    except (OSError, ValueError):
        pass
    os.makedirs(FIXTURES, exist_ok=True)
    need_gb = n * FIXTURE_KB_PER_ACCOUNT / 1024 / 1024
    free_gb = shutil.disk_usage(FIXTURES).free / 1024 ** 3
    if need_gb > free_gb * 0.9:
        raise SystemExit("not enough disk for the {}-account fixture: {:.1f} GB needed, {:.1f} GB free"
                         .format(n, need_gb, free_gb))
    subprocess.run([os.path.join(args.bin_dir, "msal-bench-fixtures"), "--accounts", str(n),
                    "--out", path], check=True)
    return path


def command(args, series, path, heap_mb):
    timing = ["--warmup", str(args.warmup), "--min-time", str(args.min_time),
              "--min-batches", str(args.min_batches)]
    if series == "msal-rs":
        return [os.path.join(args.bin_dir, "msal-bench-hit"), "--cache", path,
                "--store", "memory"] + timing
    if series == "msal-rs-file":
        return [os.path.join(args.bin_dir, "msal-bench-hit"), "--cache", path,
                "--store", "file"] + timing
    if series == "msal-python":
        return [args.python, os.path.join(HERE, "python/bench_hit.py"), "--cache", path] + timing
    if series == "msal-node":
        return ["node", "--max-old-space-size={}".format(heap_mb),
                os.path.join(HERE, "node/bench_hit.mjs"), "--cache", path,
                "--max-account-lookup", str(args.max_account_lookup)] + timing
    raise ValueError(series)


class Estimates:
    """What a run at n will cost, extrapolated linearly from the largest measured n."""

    def __init__(self, previous):
        self.measured = {}  # series -> list of run dicts
        for r in previous:
            if "median_us" in r and r.get("n", 0) >= 1000:
                self.measured.setdefault(r["series"], []).append(r)

    def add(self, r):
        if "median_us" in r and r["n"] >= 1000:
            self.measured.setdefault(r["series"], []).append(r)

    def _base(self, series):
        runs = self.measured.get(series)
        return max(runs, key=lambda r: r["n"]) if runs else None

    def memory_gb(self, series, n):
        base = self._base(series)
        if base and base.get("peak_rss_mb"):
            return base["peak_rss_mb"] / 1024 * n / base["n"]
        return DEFAULT_KB_PER_ACCOUNT[series] * n / 1024 / 1024

    def seconds(self, series, n, args):
        base = self._base(series)
        if not base:
            return None
        scale = n / base["n"]
        hit_s = base["median_us"] * scale / 1e6
        return base["load_s"] * scale + args.warmup + max(args.min_time, args.min_batches * hit_s) \
            + 2 * hit_s


def first_to_be_killed():
    """Should memory run out after all, the kernel kills the benchmark, nothing else."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def run_one(args, series, n, path, estimates):
    r = attempt(args, series, n, path, estimates)
    if "not_run" in r and "failed" not in r["not_run"] and "timed out" not in r["not_run"]:
        print("  {:<13} n={:<8} not run ({})".format(series, n, r["not_run"]), flush=True)
    return r


def attempt(args, series, n, path, estimates):
    est_gb = estimates.memory_gb(series, n)
    avail_gb = mem_available_gb()
    budget_gb = avail_gb * args.memory_fraction
    if est_gb > budget_gb:
        return {"series": series, "n": n,
                "not_run": "est. memory {:.0f} GB > {:.0f} GB available".format(est_gb, budget_gb)}
    est_s = estimates.seconds(series, n, args)
    if est_s is not None and est_s > args.max_run_seconds:
        return {"series": series, "n": n,
                "not_run": "est. {:.0f} min > the {:.0f} min limit".format(
                    est_s / 60, args.max_run_seconds / 60)}
    heap_mb = int(budget_gb * 1024)
    cmd = command(args, series, path, heap_mb)
    os.makedirs(LOGS, exist_ok=True)
    log = os.path.join(LOGS, "{}-{}.log".format(series, n))
    rss_file = tempfile.NamedTemporaryFile(delete=False)
    rss_file.close()
    timeout = max(600, 3 * est_s) if est_s else 3 * args.max_run_seconds
    print("  {:<13} n={:<8} (est. {:.1f} GB) ...".format(series, n, est_gb), end="", flush=True)
    try:
        with open(log, "w") as err:
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + cmd,
                                  stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout,
                                  preexec_fn=first_to_be_killed)
    except subprocess.TimeoutExpired:
        print(" timeout")
        return {"series": series, "n": n, "not_run": "timed out after {:.0f} s".format(timeout)}
    with open(rss_file.name) as f:
        rss_lines = [line.strip() for line in f if line.strip().isdigit()]
    os.unlink(rss_file.name)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read().strip().splitlines()[-1:] or ["?"]
        print(" failed: " + tail[0])
        return {"series": series, "n": n, "not_run": "failed: " + tail[0][:200]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["series"] = series
    result["peak_rss_mb"] = int(rss_lines[-1]) / 1024 if rss_lines else result.get("max_rss_mb")
    result["measured_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    print(" {} (load {:.2f} s, peak {:.0f} MB)".format(
        fmt_us(result["median_us"]), result["load_s"], result["peak_rss_mb"]))
    return result


def cell(r):
    if r is None:
        return "-"
    if "not_run" in r:
        return "not run ({})".format(r["not_run"])
    return fmt_us(r["median_us"])


def table(results, sizes):
    by = {(r["series"], r["n"]): r for r in results}
    head = ["N"] + [title for _, title in SERIES] + ["Python/rs", "Node/rs"]
    rows = []
    for n in sizes:
        rs = by.get(("msal-rs", n))
        rs_us = rs.get("median_us") if rs else None
        mark = ""
        if rs_us is None and "median_us" in by.get(("msal-rs-file", n), {}):
            rs_us, mark = by[("msal-rs-file", n)]["median_us"], " (vs FileCache)"
        row = ["{:,}".format(n)] + [cell(by.get((s, n))) for s, _ in SERIES]
        for peer in ("msal-python", "msal-node"):
            p = by.get((peer, n))
            ok = rs_us and p and "median_us" in p
            row.append(fmt_ratio(p["median_us"] / rs_us) + mark if ok else "-")
        rows.append(row)
    return head, rows


def print_table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def plot(results, png, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {
        "msal-rs": dict(color="#b7410e", marker="o", linestyle="-", label="msal-rs (in memory)"),
        "msal-rs-file": dict(color="#b7410e", marker="o", linestyle=":", mfc="none",
                             label="msal-rs (FileCache, +1 stat per hit)"),
        "msal-python": dict(color="#3776ab", marker="s", linestyle="-",
                            label="MSAL Python {}".format(meta.get("msal") or "")),
        "msal-node": dict(color="#3c873a", marker="^", linestyle="-",
                          label="MSAL Node {}".format(meta.get("@azure/msal-node") or "")),
    }
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=110)
    for series, _ in SERIES:
        pts = sorted((r["n"], r["median_us"]) for r in results
                     if r["series"] == series and "median_us" in r)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], **styles[series])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("accounts in the cache (N)")
    ax.set_ylabel("silent cache hit, median µs (log)")
    ax.set_title("acquire_token_silent(['User.Read']) served from the cache\n"
                 "cached target 'User.Read email openid profile'", fontsize=10)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.1)
    ax.legend(fontsize=8, loc="upper left")
    fig.text(0.99, 0.01, "2 cores AMD EPYC, 24 GiB, shared; lower is better",
             ha="right", va="bottom", fontsize=7, color="#555")
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,1000,10000,100000,1000000")
    ap.add_argument("--libs", default=",".join(s for s, _ in SERIES))
    ap.add_argument("--bin-dir", required=True, help="where msal-bench-hit/-fixtures are")
    ap.add_argument("--python", required=True, help="the venv's python")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--min-batches", type=int, default=5)
    ap.add_argument("--max-account-lookup", type=int, default=1000)
    ap.add_argument("--max-run-seconds", type=float, default=1800)
    ap.add_argument("--memory-fraction", type=float, default=0.8,
                    help="run only what is estimated to fit in this share of MemAvailable")
    ap.add_argument("--fresh", action="store_true", help="forget earlier results")
    ap.add_argument("--results", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--png", default=os.path.join(HERE, "hit-cost.png"))
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    libs = args.libs.split(",")

    previous = {"runs": []}
    if not args.fresh and os.path.exists(args.results):
        with open(args.results) as f:
            previous = json.load(f)
    estimates = Estimates(previous["runs"])
    fresh = []
    for n in sizes:
        print("N = {:,}".format(n), flush=True)
        path = ensure_fixture(args, n)
        for series, _ in SERIES:
            if series in libs:
                r = run_one(args, series, n, path, estimates)
                estimates.add(r)
                fresh.append(r)
    replaced = {(r["series"], r["n"]) for r in fresh}
    runs = [r for r in previous["runs"] if (r["series"], r["n"]) not in replaced] + fresh
    runs.sort(key=lambda r: (r["n"], [s for s, _ in SERIES].index(r["series"])))
    meta = versions(args)
    doc = {
        "operation": "acquire_token_silent(['User.Read'], account) cache hit; cached target "
                     "'User.Read email openid profile'; middle account of N",
        "unit": "microseconds per hit (median over batches)",
        "machine": machine(),
        "versions": meta,
        "settings": {"warmup_s": args.warmup, "min_time_s": args.min_time,
                     "min_batches": args.min_batches},
        "runs": runs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    plot(runs, args.png, meta)
    print()
    print("Silent cache hit, median per call ({}; msal {}, @azure/msal-node {}):".format(
        meta["rustc"], meta["msal"], meta["@azure/msal-node"]))
    print_table(*table(runs, sizes))
    print("\nresults: {}\nplot:    {}".format(os.path.relpath(args.results), os.path.relpath(args.png)))


if __name__ == "__main__":
    main()
