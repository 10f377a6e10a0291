//! `acquire_token_silent` served from the cache, through the whole facade: request
//! normalisation, the store's "unchanged?" check, the index lookup, the expiry decision and the
//! result (access token, ID token and account, shared with the cache's memo of recent hits).
//! Realistic case: cached scopes `email openid profile User.Read`, requested `User.Read`.
//! `silent_hit_memory_cache_every_call_another_account` defeats the memo on purpose: every
//! call is for another account, so each one takes the full lookup.

#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use msal::cache::{CacheStore, EncryptedFileCache, FileCache, MemoryCache, Partition};
use msal::{Account, PublicClientApplication, TokenSource};

mod common;
use common::{cache_json, hid, in_a_day, CLIENT, ENV, TENANT};

/// Bench a hit for the middle account of `n` through `store`, already holding the cache bytes.
fn bench_store(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    sizes: &[usize],
    store_for: impl Fn(usize, Vec<u8>) -> Box<dyn Fn() -> PublicClientApplication>,
) {
    let mut g = c.benchmark_group(group);
    for &n in sizes {
        let app = store_for(n, cache_json(n, in_a_day()))();
        let mut account = Account::new(hid(n / 2), ENV, "");
        account.tenant_id = TENANT.into();
        let first = rt.block_on(
            app.acquire_token_silent(["User.Read"], &account)
                .into_future(),
        );
        assert_eq!(first.unwrap().source(), TokenSource::Cache);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.to_async(rt).iter(|| async {
                let r = app
                    .acquire_token_silent(["User.Read"], &account)
                    .await
                    .unwrap();
                r.access_token().len()
            })
        });
    }
    g.finish();
}

/// Hits that never repeat within the memo's reach: each call asks for another of 4,096
/// accounts, so every hit takes the full path (normalise, index probes, build the result).
/// What a service pays for a user's first request after the cache changed.
fn bench_rotating(c: &mut Criterion, rt: &tokio::runtime::Runtime, sizes: &[usize]) {
    let mut g = c.benchmark_group("silent_hit_memory_cache_every_call_another_account");
    for &n in sizes {
        let app = builder()
            .cache(MemoryCache::from_bytes(cache_json(n, in_a_day())))
            .build()
            .unwrap();
        let accounts: Vec<Account> = (0..4_096.min(n))
            .map(|i| {
                // Spread over the whole cache, not its first entries.
                let mut account = Account::new(hid(i * n / 4_096.min(n)), ENV, "");
                account.tenant_id = TENANT.into();
                account
            })
            .collect();
        let mut next = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.to_async(rt).iter(|| {
                // A stride coprime with 4,096 visits every account before repeating one.
                next = (next + 1_237) % accounts.len();
                let account = &accounts[next];
                let app = &app;
                async move {
                    let r = app
                        .acquire_token_silent(["User.Read"], account)
                        .await
                        .unwrap();
                    r.access_token().len()
                }
            })
        });
    }
    g.finish();
}

fn builder() -> msal::PublicClientApplicationBuilder {
    PublicClientApplication::builder(CLIENT).authority(&format!("https://{ENV}/{TENANT}"))
}

fn silent_hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    bench_store(
        c,
        &rt,
        "silent_hit_memory_cache",
        &[1, 1_000, 100_000],
        |_, bytes| {
            let store = MemoryCache::from_bytes(bytes);
            Box::new(move || builder().cache(store.clone()).build().unwrap())
        },
    );
    bench_rotating(c, &rt, &[1_000, 100_000]);
    // An unchanged file costs one stat per hit; the file is parsed once, on the first call.
    let dir = tempfile::tempdir().unwrap();
    bench_store(c, &rt, "silent_hit_file_cache", &[1, 1_000], |n, bytes| {
        let path = dir.path().join(format!("cache-{n}.json"));
        std::fs::write(&path, bytes).unwrap();
        Box::new(move || builder().cache(FileCache::new(&path)).build().unwrap())
    });
    bench_store(
        c,
        &rt,
        "silent_hit_encrypted_file_cache",
        &[1, 1_000],
        |n, bytes| {
            let path = dir.path().join(format!("cache-{n}.bin"));
            let store = EncryptedFileCache::with_key(&path, [7; 32]);
            rt.block_on(store.modify(Partition::All, None, &mut |_| Ok(bytes.clone())))
                .unwrap();
            Box::new(move || builder().cache(store.clone()).build().unwrap())
        },
    );
}

use std::future::IntoFuture;

criterion_group!(benches, silent_hit);
criterion_main!(benches);
