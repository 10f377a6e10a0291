//! Heap bytes per account of a loaded [`TokenCache`], for the memory target in BENCHMARKS.md.
//!
//! Loads the realistic file of `benches/common/mod.rs` (per account: access token 1.6 KB,
//! refresh token 1.2 KB, ID token 1 KB, account entry) for 10,000 and 100,000 accounts and
//! prints, per account:
//! - *resident*: heap bytes the cache holds once loaded (allocated minus freed during
//!   `from_json`; the input buffer was allocated before and is not counted, so this is what stays
//!   after the caller drops the file's bytes);
//! - *allocated*: all bytes requested during `from_json`, temporaries included (the churn);
//! - the secrets alone, the floor no representation can go under.
//!
//! Bytes are those the program asked for, not malloc's chunks (glibc adds 8 to 15 bytes per
//! allocation on top).
//!
//! Run: `cargo run --release -p msal-cache --example memory_per_account`

#![forbid(unsafe_code)]

#[path = "../benches/common/mod.rs"]
mod common;

use msal_cache::TokenCache;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

// Counting needs a global allocator wrapper, and implementing `GlobalAlloc` needs `unsafe`,
// which every crate here forbids. stats_alloc is that wrapper and nothing else: a few atomic
// counters around the system allocator, no dependencies, MIT; unlike dhat it records no
// backtrace per allocation, so the millions of allocations of a 100k load stay fast to count.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    println!(
        "secrets alone: {} bytes per account",
        common::secret_bytes_per_account()
    );
    for n in [10_000usize, 100_000] {
        let bytes = common::cache_json(n);
        let region = Region::new(GLOBAL);
        let cache = TokenCache::from_json(&bytes).expect("the generated file loads");
        let stats = region.change();
        drop(bytes);
        // stats_alloc books a growing realloc as allocated and a shrinking one as freed.
        let resident = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64;
        println!(
            "{n:>7} accounts: resident {:>5} bytes/account, allocated during load {:>5} \
             bytes/account ({} allocations/account); counts {:?}",
            resident / n as i64,
            stats.bytes_allocated / n,
            stats.allocations / n,
            cache.counts(),
        );
        drop(cache);
    }
}
