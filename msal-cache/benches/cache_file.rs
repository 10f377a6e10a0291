//! Whole-cache operations on realistic unified-schema files (see `common/mod.rs`): load (parse
//! and index) of 10,000 and 100,000 accounts, save of 100,000, listing the accounts of a
//! 100,000-account cache and finding one account by id.

#![forbid(unsafe_code)]

mod common;

use common::{cache_json, hid, CLIENT, ENV};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use msal_cache::TokenCache;

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("cache_load");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let bytes = cache_json(n);
        let mb = bytes.len() / 1_000_000;
        // The cache is dropped outside the timing: freeing 400,000 entries is not loading.
        g.bench_with_input(BenchmarkId::new(format!("{mb} MB"), n), &n, |b, _| {
            b.iter_with_large_drop(|| TokenCache::from_json(&bytes).unwrap())
        });
    }
    g.finish();
}

fn save(c: &mut Criterion) {
    let mut g = c.benchmark_group("cache_save");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let cache = TokenCache::from_json(&cache_json(n)).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| cache.to_json().len())
        });
    }
    g.finish();
}

fn accounts(c: &mut Criterion) {
    let mut g = c.benchmark_group("cache_accounts");
    g.sample_size(10);
    for n in [1_000usize, 100_000] {
        let cache = TokenCache::from_json(&cache_json(n)).unwrap();
        g.bench_with_input(BenchmarkId::new("accounts()", n), &n, |b, _| {
            b.iter(|| {
                let all = cache.accounts(ENV, CLIENT);
                assert_eq!(all.len(), n);
                all.len()
            })
        });
        let target = hid(n / 2);
        g.bench_with_input(BenchmarkId::new("account(id)", n), &n, |b, _| {
            b.iter(|| {
                let one = cache.account(std::hint::black_box(&target), ENV);
                assert!(one.is_some());
                one.map(|a| a.username.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, load, save, accounts);
criterion_main!(benches);
