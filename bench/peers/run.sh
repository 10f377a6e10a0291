#!/usr/bin/env bash
# The side-by-side silent-hit benchmark in one command: msal-rs, MSAL Python and MSAL Node over
# the same generated cache files. See README.md.
#
#   bench/peers/run.sh [--sizes 1,1000,10000,100000,1000000] [--quick] [run.py options...]
#
# Installs what is missing (a venv with the pinned msal + matplotlib, `npm ci` of the locked
# @azure/msal-node), builds the Rust binaries in release, generates the fixtures (reused when
# present), runs each library in its own process per N, prints one table, and writes
# results.json and hit-cost.png next to this script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sizes="1,1000,10000,100000,1000000"
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes="$2"; shift 2 ;;
        --sizes=*) sizes="${1#*=}"; shift ;;
        --quick)
            # A smoke run: its results go to logs/, not over the committed results.json.
            sizes="1,1000"
            extra+=(--warmup 0.5 --min-time 1 --max-account-lookup 1
                    --results "$here/logs/results-quick.json" --png "$here/logs/hit-cost-quick.png")
            shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) extra+=("$1"); shift ;;
    esac
done

venv="$here/.venv"
if ! "$venv/bin/python" -c 'import msal, matplotlib; assert msal.__version__ == "1.39.0"' 2>/dev/null; then
    echo "== installing MSAL Python into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
fi
want_node="$(node -p 'require(process.argv[1]).packages["node_modules/@azure/msal-node"].version' "$here/node/package-lock.json")"
have_node="$(node -p 'try { require(process.argv[1]).version } catch { "" }' "$here/node/node_modules/@azure/msal-node/package.json")"
if [ "$want_node" != "$have_node" ]; then
    echo "== installing MSAL Node $want_node into $here/node/node_modules (npm ci)"
    (cd "$here/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

echo "== building msal-bench (release)"
(cd "$root" && cargo build --release --quiet -p msal-bench)
bin_dir="${CARGO_TARGET_DIR:-$root/target}/release"

exec "$venv/bin/python" "$here/run.py" --sizes "$sizes" --bin-dir "$bin_dir" \
    --python "$venv/bin/python" ${extra[@]+"${extra[@]}"}
