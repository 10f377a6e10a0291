//! What a store costs per request at 1,000 and 100,000 accounts (`BENCHMARKS.md`, issue 16):
//!
//! - `store_write_back`: one refresh's write-back as the facade does it. The app's in-memory
//!   copy is current, so the store hands `Current::Unchanged` and the app serializes its copy:
//!   for `FileCache` the whole document (every account), for `SqliteCache`, `PostgresCache` and
//!   `RedisCache` the one account's partition row (the server stores with the features
//!   `postgres` / `redis` and their test servers running: see `store_write_back/remote.rs`). The write applied is an app-metadata entry (the serialization and the store's
//!   write are the cost; which entry changes does not matter).
//! - `store_silent_hit`: what a cache hit asks the store: "still at version v?" (a `load` with
//!   the known version, answered `Unchanged`).

#![forbid(unsafe_code)]

mod common;
#[cfg_attr(
    not(all(feature = "postgres", feature = "redis")),
    allow(dead_code, unused)
)]
#[path = "store_write_back/remote.rs"]
mod remote;

use common::{cache_json, hid, CLIENT, ENV};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use msal_cache::schema::AppMetadataEntry;
use msal_cache::{
    CacheStore, Current, FileCache, Loaded, Partition, SqliteCache, StoreVersion, TokenCache,
    TokenWrite,
};

const SIZES: [usize; 2] = [1_000, 100_000];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Write `tokens` (after one small change) through `store` at `partition`, the caller's copy
/// being current at `known`.
fn write_back(
    rt: &tokio::runtime::Runtime,
    store: &dyn CacheStore,
    partition: Partition<'_>,
    tokens: &mut TokenCache,
    known: StoreVersion,
    round: u64,
) -> StoreVersion {
    tokens.apply(&TokenWrite {
        app_metadata: Some(AppMetadataEntry {
            client_id: format!("{CLIENT}-{}", round % 2).into(),
            environment: ENV.into(),
            family_id: None,
            extra: Default::default(),
        }),
        ..TokenWrite::default()
    });
    let mut update = |current: Current<'_>| match current {
        Current::Unchanged => Ok(tokens.to_json()),
        _ => panic!("the bench is the only writer: the copy must be current"),
    };
    rt.block_on(store.modify(partition, Some(known), &mut update))
        .unwrap()
}

/// One account's document (`cache_json(1)` names account 0; same length for every `i`).
fn account_json(i: usize) -> Vec<u8> {
    String::from_utf8(cache_json(1))
        .unwrap()
        .replace(&hid(0), &hid(i))
        .into_bytes()
}

/// An SQLite store holding `n` accounts, a row each, filled in one transaction.
fn sqlite_with(dir: &std::path::Path, n: usize) -> SqliteCache {
    let path = dir.join(format!("{n}.db"));
    let store = SqliteCache::open(&path).unwrap();
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..n {
        let key = Partition::Account(&hid(i)).key();
        tx.execute(
            "INSERT INTO msal_cache (partition, version, data) VALUES (?1, 1, ?2)",
            rusqlite::params![key, account_json(i)],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    store
}

fn file_with(
    dir: &std::path::Path,
    n: usize,
    rt: &tokio::runtime::Runtime,
) -> (FileCache, StoreVersion) {
    let store = FileCache::new(dir.join(format!("{n}.json")));
    let bytes = cache_json(n);
    let version = rt
        .block_on(store.modify(Partition::All, None, &mut |_| Ok(bytes.clone())))
        .unwrap();
    (store, version)
}

fn version_of(
    rt: &tokio::runtime::Runtime,
    store: &dyn CacheStore,
    p: Partition<'_>,
) -> (TokenCache, StoreVersion) {
    match rt.block_on(store.load(p, None)).unwrap() {
        Loaded::Data { bytes, version } => (TokenCache::from_json(&bytes).unwrap(), version),
        other => panic!("expected data, got {other:?}"),
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    // The server stores, filled once per size for both groups, emptied at the end.
    let mut servers = Vec::new();
    let mut write = c.benchmark_group("store_write_back");
    write.sample_size(10);
    for n in SIZES {
        let (file, _) = file_with(dir.path(), n, &rt);
        let (mut tokens, mut known) = version_of(&rt, &file, Partition::All);
        let mut round = 0;
        write.bench_with_input(BenchmarkId::new("FileCache", n), &n, |b, _| {
            b.iter(|| {
                round += 1;
                known = write_back(&rt, &file, Partition::All, &mut tokens, known, round);
            })
        });
        drop(tokens);
        std::fs::remove_file(file.path()).unwrap();

        let sqlite = sqlite_with(dir.path(), n);
        let account = hid(n / 2);
        let partition = Partition::Account(&account);
        let (mut tokens, mut known) = version_of(&rt, &sqlite, partition);
        write.bench_with_input(BenchmarkId::new("SqliteCache", n), &n, |b, _| {
            b.iter(|| {
                round += 1;
                known = write_back(&rt, &sqlite, partition, &mut tokens, known, round);
            })
        });

        let stores = remote::filled(&rt, n);
        for server in &stores {
            let (mut tokens, mut known) = version_of(&rt, &*server.store, partition);
            write.bench_with_input(BenchmarkId::new(server.name, n), &n, |b, _| {
                b.iter(|| {
                    round += 1;
                    known = write_back(&rt, &*server.store, partition, &mut tokens, known, round);
                })
            });
        }
        servers.push((n, stores));
    }
    write.finish();

    let mut hit = c.benchmark_group("store_silent_hit");
    for n in SIZES {
        let (file, known) = file_with(dir.path(), n, &rt);
        hit.bench_with_input(BenchmarkId::new("FileCache", n), &n, |b, _| {
            b.iter(|| {
                let loaded = rt.block_on(file.load(Partition::All, Some(known))).unwrap();
                assert_eq!(loaded, Loaded::Unchanged);
            })
        });
        std::fs::remove_file(file.path()).unwrap();
        let sqlite = SqliteCache::open(dir.path().join(format!("{n}.db"))).unwrap();
        let account = hid(n / 2);
        let partition = Partition::Account(&account);
        let (_, known) = version_of(&rt, &sqlite, partition);
        hit.bench_with_input(BenchmarkId::new("SqliteCache", n), &n, |b, _| {
            b.iter(|| {
                let loaded = rt.block_on(sqlite.load(partition, Some(known))).unwrap();
                assert_eq!(loaded, Loaded::Unchanged);
            })
        });
    }
    for (n, stores) in &servers {
        let account = hid(n / 2);
        let partition = Partition::Account(&account);
        for server in stores {
            let (_, known) = version_of(&rt, &*server.store, partition);
            hit.bench_with_input(BenchmarkId::new(server.name, n), n, |b, _| {
                b.iter(|| {
                    let loaded = rt
                        .block_on(server.store.load(partition, Some(known)))
                        .unwrap();
                    assert_eq!(loaded, Loaded::Unchanged);
                })
            });
        }
    }
    hit.finish();
    for server in servers.into_iter().flat_map(|(_, stores)| stores) {
        server.clear(&rt);
    }
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
