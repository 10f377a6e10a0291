//! Every built-in `CacheStore`, the custom store of `msal/examples/custom_store.rs`, and stores
//! broken on purpose, through `msal_tests::store_conformance`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use msal_cache::redis::RedisCache;
use msal_cache::{
    CacheError, CacheStore, Current, EncryptedFileCache, FileCache, Loaded, MemoryCache, Partition,
    PostgresCache, RefreshLock, SqliteCache, StoreVersion, UpdateFn,
};
use msal_tests::store_conformance::{ConformanceFailure, ConformanceReport, StoreConformance};

/// The example's store, compiled from the example's own source.
#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../msal/examples/custom_store.rs"]
mod custom_store;

/// A fresh file path per call, in one folder that lives as long as the test.
struct Paths {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl Paths {
    fn new() -> Self {
        Paths {
            dir: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }
    fn next(&self, name: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{n}-{name}"))
    }
}

fn garbage_into(path: &std::path::Path) {
    std::fs::write(path, b"\x00\xffnot a token cache{{{").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_cache_conforms() {
    let report = StoreConformance::new(|| async { MemoryCache::new() })
        .run()
        .await
        .unwrap();
    assert!(
        report.passed.contains(&"refresh_lock_exclusive"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_cache_conforms() {
    let paths = Paths::new();
    let report = StoreConformance::new(|| async { FileCache::new(paths.next("cache.json")) })
        .damage_with(|store: &FileCache| garbage_into(store.path()))
        .run()
        .await
        .unwrap();
    assert_all_but_holder_death(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn encrypted_file_cache_conforms() {
    let paths = Paths::new();
    let key = [7u8; 32];
    let report = StoreConformance::new(|| async {
        EncryptedFileCache::with_key(paths.next("cache.bin"), key)
    })
    .damage_with(|store: &EncryptedFileCache| garbage_into(store.path()))
    .run()
    .await
    .unwrap();
    assert_all_but_holder_death(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_cache_conforms() {
    let paths = Paths::new();
    let report = StoreConformance::new(|| async {
        SqliteCache::open(paths.next("cache.db"))
            .unwrap()
            .refresh_lock_ttl(Duration::from_millis(900))
    })
    // A row whose data is not bytes, written by another program.
    .damage_with(|store: &SqliteCache| {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        conn.execute("UPDATE msal_cache SET data = 42", []).unwrap();
    })
    .holder_death_released_within(Duration::from_secs(5))
    .run()
    .await
    .unwrap();
    assert!(report.skipped.is_empty(), "{report}");
}

/// Skipped (with a note) without `MSAL_TEST_REDIS_URL`; `scripts/test.sh` always sets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cache_conforms() {
    let Ok(url) = std::env::var("MSAL_TEST_REDIS_URL") else {
        eprintln!("MSAL_TEST_REDIS_URL is not set (scripts/redis-server.sh start): skipped");
        return;
    };
    let run = format!("{:x}", std::process::id());
    let next = AtomicUsize::new(0);
    let report = StoreConformance::new(|| async {
        let n = next.fetch_add(1, Ordering::Relaxed);
        RedisCache::new(&url)
            .unwrap()
            .key_prefix(format!("msal-conformance:{run}:{n}:"))
            .refresh_lock_ttl(Duration::from_millis(900))
    })
    .holder_death_released_within(Duration::from_secs(5))
    .run()
    .await
    .unwrap();
    assert!(report.passed.contains(&"partition_isolation"), "{report}");
    assert!(
        report
            .passed
            .contains(&"refresh_lock_released_on_holder_death"),
        "{report}"
    );
}

/// Skipped (with a note) without `MSAL_TEST_POSTGRES_URL`; `scripts/test.sh` always sets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_cache_conforms() {
    let Ok(url) = std::env::var("MSAL_TEST_POSTGRES_URL") else {
        eprintln!("MSAL_TEST_POSTGRES_URL is not set (scripts/postgres.sh start): skipped");
        return;
    };
    let run = format!("{:x}", std::process::id());
    let next = AtomicUsize::new(0);
    let report = StoreConformance::new(|| async {
        let n = next.fetch_add(1, Ordering::Relaxed);
        PostgresCache::connect(&url)
            .await
            .unwrap()
            .key_prefix(format!("msal-conformance:{run}:{n}:"))
            .refresh_lock_ttl(Duration::from_millis(900))
    })
    // Bytes another program wrote into the row: handed over as they are (the caller refuses
    // them), never overwritten.
    .damage_with(|store: &PostgresCache| {
        let url = std::env::var("MSAL_TEST_POSTGRES_URL").unwrap();
        let key = store.key_for(Partition::All);
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let (raw, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let damaged = raw
                    .execute(
                        "UPDATE msal_cache SET data = '\\x00ff'::bytea WHERE partition = $1",
                        &[&key],
                    )
                    .await
                    .unwrap();
                assert_eq!(damaged, 1, "the damage hook found the row");
            })
        })
    })
    .holder_death_released_within(Duration::from_secs(5))
    .run()
    .await
    .unwrap();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_custom_store_example_conforms() {
    let paths = Paths::new();
    let report =
        StoreConformance::new(|| async { custom_store::DirStore::new(paths.next("tokens")) })
            .run()
            .await
            .unwrap();
    assert!(report.passed.contains(&"no_lost_update"), "{report}");
    assert!(
        report.passed.contains(&"refresh_lock_released_on_drop"),
        "{report}"
    );
}

fn assert_all_but_holder_death(report: &ConformanceReport) {
    let skipped: Vec<_> = report.skipped.iter().map(|(rule, _)| *rule).collect();
    assert_eq!(
        skipped,
        [
            "partition_isolation",
            "refresh_lock_released_on_holder_death"
        ],
        "{report}"
    );
    assert!(report.passed.contains(&"damaged_data_kept"), "{report}");
}

// ---- stores broken on purpose: the suite must name the rule they break ----

/// Reads, waits a moment (a network round trip), then writes what it read plus the update: the
/// classic lost update of a read-modify-write that is not atomic.
#[derive(Default)]
struct LosesUpdates(MemoryCache);

/// Answers `Unchanged` to every load that names a version, current or not.
#[derive(Default)]
struct AlwaysUnchanged(MemoryCache);

/// Hands out its refresh "lock" to everyone at once.
#[derive(Default)]
struct SharedLock(MemoryCache);

#[async_trait::async_trait]
impl CacheStore for LosesUpdates {
    async fn load(
        &self,
        p: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.0.load(p, known).await
    }
    async fn modify(
        &self,
        p: Partition<'_>,
        _known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        let read = match self.0.load(p, None).await? {
            Loaded::Data { bytes, .. } => Some(bytes),
            _ => None,
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        let new_bytes = match &read {
            Some(bytes) => update(Current::Data(bytes))?,
            None => update(Current::Missing)?,
        };
        self.0.modify(p, None, &mut |_| Ok(new_bytes.clone())).await
    }
}

#[async_trait::async_trait]
impl CacheStore for AlwaysUnchanged {
    async fn load(
        &self,
        p: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        match (known, self.0.load(p, None).await?) {
            (Some(_), Loaded::Data { .. }) => Ok(Loaded::Unchanged),
            (_, loaded) => Ok(loaded),
        }
    }
    async fn modify(
        &self,
        p: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.0.modify(p, known, update).await
    }
}

#[async_trait::async_trait]
impl CacheStore for SharedLock {
    async fn load(
        &self,
        p: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.0.load(p, known).await
    }
    async fn modify(
        &self,
        p: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.0.modify(p, known, update).await
    }
    async fn lock_refresh(&self, _: Partition<'_>) -> Result<Option<RefreshLock>, CacheError> {
        Ok(Some(RefreshLock::new(())))
    }
}

async fn failure_of<S: CacheStore + Default + 'static>() -> ConformanceFailure {
    StoreConformance::new(|| async { S::default() })
        .run()
        .await
        .expect_err("a broken store passed the conformance suite")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_loses_concurrent_updates_fails_no_lost_update() {
    let failure = failure_of::<LosesUpdates>().await;
    assert_eq!(failure.rule, "no_lost_update", "{failure}");
    let message = failure.to_string();
    assert!(
        message.starts_with(
            "store conformance rule `no_lost_update` broken: 8 tasks made 128 writes but only "
        ),
        "{message}"
    );
    assert!(
        message.ends_with("concurrent updates were lost (modify is not atomic)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_answers_unchanged_for_an_old_version_fails() {
    let failure = failure_of::<AlwaysUnchanged>().await;
    assert_eq!(
        failure.to_string(),
        "store conformance rule `unchanged_only_when_current` broken: load with an outdated \
         version answered Unchanged: the caller would keep stale data"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_lock_held_twice_at_once_fails_exclusivity() {
    let failure = failure_of::<SharedLock>().await;
    assert_eq!(
        failure.to_string(),
        "store conformance rule `refresh_lock_exclusive` broken: while one RefreshLock was held, \
         a second lock_refresh on the same partition took the lock instead of waiting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_that_outlives_its_dead_holder_fails_when_the_store_claims_release() {
    // MemoryCache's lock is released on drop only: a forgotten guard keeps it, so claiming
    // release on the holder's death must fail, naming the rule and the bound.
    let failure = StoreConformance::new(|| async { MemoryCache::new() })
        .holder_death_released_within(Duration::from_millis(300))
        .run()
        .await
        .unwrap_err();
    assert_eq!(
        failure.to_string(),
        "store conformance rule `refresh_lock_released_on_holder_death` broken: the lock of a \
         holder that died was still held after 300ms (the store claims it is released within that)"
    );
}
