//! Loads and saves one generated cache file once, for profilers (callgrind, perf), which want
//! one run of the code rather than criterion's many.
//!
//! Run: `cargo run --release -p msal-cache --example load_save -- 100000 [load|save|both]`
//! (the first argument may instead name a cache file to load; `write` saves the generated file
//! there first, so that a profile of `load` sees no generating).
//! Profile: `valgrind --tool=callgrind target/release/examples/load_save 10000 load`

#![forbid(unsafe_code)]

#[path = "../benches/common/mod.rs"]
mod common;

use msal_cache::TokenCache;
use std::time::Instant;

/// (user, system) CPU seconds of this process so far, from /proc (Linux); the machine this runs
/// on is shared, so CPU time says more than wall time.
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let tick = 100.0; // USER_HZ on Linux
    (
        f.get(11).copied().unwrap_or(0.0) / tick,
        f.get(12).copied().unwrap_or(0.0) / tick,
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_else(|| "10000".into());
    let what = args.next().unwrap_or_else(|| "both".into());
    let bytes = match first.parse::<usize>() {
        Ok(n) => common::cache_json(n),
        Err(_) if what == "write" => {
            let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
            std::fs::write(&first, common::cache_json(n)).expect("the file is written");
            return;
        }
        Err(_) => std::fs::read(&first).expect("the cache file reads"),
    };
    let (t, (u0, s0)) = (Instant::now(), cpu());
    let cache = TokenCache::from_json(&bytes).expect("the generated file loads");
    let load = t.elapsed();
    let (u1, s1) = cpu();
    println!(
        "load: {load:?} wall, {:.2} s user, {:.2} s system",
        u1 - u0,
        s1 - s0
    );
    drop(bytes);
    let n = cache.counts().3;
    if what == "load" {
        println!("{n} accounts: load {load:?}, counts {:?}", cache.counts());
        // Exiting frees everything at once; dropping 400,000 entries would only blur a profile.
        std::mem::forget(cache);
        return;
    }
    let (t, (u0, s0)) = (Instant::now(), cpu());
    let saved = cache.to_json();
    let (u1, s1) = cpu();
    println!(
        "save: {:?} wall, {:.2} s user, {:.2} s system",
        t.elapsed(),
        u1 - u0,
        s1 - s0
    );
    println!(
        "{n} accounts: load {load:?}, save {:?} ({} bytes)",
        t.elapsed(),
        saved.len()
    );
}
