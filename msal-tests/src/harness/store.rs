//! The cache store a harness uses, chosen by `MSAL_TEST_BACKEND`.

use std::sync::Arc;

use msal::cache::{
    CacheError, CacheStore, EncryptedFileCache, FileCache, Loaded, MemoryCache, Partition,
    PostgresCache, RedisCache, RefreshLock, SqliteCache, StoreVersion, UpdateFn,
};

/// The cache store a harness uses, chosen by `MSAL_TEST_BACKEND`: `memory` (default), `file`,
/// `encrypted`, `sqlite`, `redis` (`MSAL_TEST_REDIS_URL`, set by `scripts/redis-server.sh`) or
/// `postgres` (`MSAL_TEST_POSTGRES_URL`, set by `scripts/postgres.sh`). The test
/// script runs the contract suite once per backend, so every behaviour is pinned on every store.
#[derive(Clone)]
pub struct TestStore {
    inner: Arc<dyn CacheStore>,
    /// Keeps a file backend's folder alive as long as any clone is.
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl TestStore {
    /// The store `MSAL_TEST_BACKEND` names, empty (panics on an unknown name: a test setup error).
    pub fn from_env() -> Self {
        let backend = std::env::var("MSAL_TEST_BACKEND").unwrap_or_else(|_| "memory".into());
        let dir = || Arc::new(tempfile::tempdir().expect("a temporary folder"));
        let in_dir = |make: &dyn Fn(&std::path::Path) -> Arc<dyn CacheStore>| {
            let d = dir();
            TestStore {
                inner: make(d.path()),
                _dir: Some(d),
            }
        };
        match backend.as_str() {
            "memory" => TestStore {
                inner: Arc::new(MemoryCache::new()),
                _dir: None,
            },
            "file" => in_dir(&|d| Arc::new(FileCache::new(d.join("cache.json")))),
            "encrypted" => in_dir(&|d| {
                let key: [u8; 32] =
                    std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
                Arc::new(EncryptedFileCache::with_key(d.join("cache.bin"), key))
            }),
            "sqlite" => in_dir(&|d| {
                Arc::new(SqliteCache::open(d.join("cache.db")).expect("an SQLite cache"))
            }),
            "redis" => {
                let url = std::env::var("MSAL_TEST_REDIS_URL")
                    .expect("MSAL_TEST_BACKEND=redis needs MSAL_TEST_REDIS_URL (run scripts/redis-server.sh start)");
                // A prefix of its own per harness: tests sharing one server never see each other.
                let prefix = format!("msal-test:{}:", uuid_like());
                let store = RedisCache::new(&url)
                    .expect("a valid MSAL_TEST_REDIS_URL")
                    .key_prefix(prefix);
                TestStore {
                    inner: Arc::new(store),
                    _dir: None,
                }
            }
            "postgres" => {
                let url = std::env::var("MSAL_TEST_POSTGRES_URL")
                    .expect("MSAL_TEST_BACKEND=postgres needs MSAL_TEST_POSTGRES_URL (run scripts/postgres.sh start)");
                // Rows of its own per harness (a key prefix); the connection is made on first
                // use, on the test's own runtime.
                let store = PostgresCache::new(&url)
                    .expect("a valid MSAL_TEST_POSTGRES_URL")
                    .key_prefix(format!("msal-test:{}:", uuid_like()));
                TestStore {
                    inner: Arc::new(store),
                    _dir: None,
                }
            }
            other => panic!(
                "unknown MSAL_TEST_BACKEND {other:?} (memory, file, encrypted, sqlite, redis, postgres)"
            ),
        }
    }

    /// The stored document (decrypted, for the encrypted backend), if any.
    pub async fn snapshot(&self) -> Option<Vec<u8>> {
        self.snapshot_of(Partition::All).await
    }

    /// The stored document of one partition (a whole-document store answers with everything).
    pub async fn snapshot_of(&self, partition: Partition<'_>) -> Option<Vec<u8>> {
        match self
            .inner
            .load(partition, None)
            .await
            .expect("the store loads")
        {
            Loaded::Data { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

fn uuid_like() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    format!("{:016x}", h.finish())
}

#[async_trait::async_trait]
impl CacheStore for TestStore {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.inner.load(partition, known).await
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.inner.modify(partition, known, update).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        self.inner.lock_refresh(partition).await
    }

    fn location(&self) -> Option<&std::path::Path> {
        self.inner.location()
    }

    // Without this a partitioned backend (Redis) would be driven as a whole-document store:
    // one in-memory copy for every partition, unlike what an application using it directly gets.
    fn partitioned(&self) -> bool {
        self.inner.partitioned()
    }
}
