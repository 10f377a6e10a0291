//! [`PostgresCache`]: a partitioned token cache store in PostgreSQL (feature `postgres`), for
//! web farms that already run it.
//!
//! The same model as `SqliteCache` (feature `sqlite`: a row per partition, the refresh lock a
//! lease in the database) on a server every host of a farm reaches. Tested with PostgreSQL 15;
//! needs 9.5 or later (`ON CONFLICT`).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use msal_cache::{CacheStore, Partition, PostgresCache};
//!
//! # async fn demo() -> Result<(), msal_cache::CacheError> {
//! // Connects (within 5 s unless the URL sets `connect_timeout`) and creates the tables.
//! let store = PostgresCache::connect("postgres://msal:my-password@db.internal:5432/tokens")
//!     .await?
//!     .key_prefix("contoso-web:")
//!     .refresh_lock_ttl(Duration::from_secs(30));
//!
//! // Hand it to an application, e.g. `ConfidentialClientApplication::builder(id).cache(store)`,
//! // or use it directly:
//! let loaded = store.load(Partition::Account("alice-oid.tenant-id"), None).await?;
//! # let _ = loaded;
//! # Ok(())
//! # }
//! ```
//!
//! # Tables
//!
//! Made on first connection, in the first schema of the connection's `search_path` (choose
//! another with `?options=-c%20search_path%3Dmy_schema` in the URL):
//!
//! * `msal_cache(partition TEXT PRIMARY KEY, version BIGINT, data BYTEA)`: one row per
//!   [`Partition`], keyed by the store's [`key_prefix`](PostgresCache::key_prefix) (empty by
//!   default) and [`Partition::key`]; `data` holds exactly the bytes the caller stored, unknown
//!   fields and all.
//! * `msal_refresh_lease(partition TEXT PRIMARY KEY, holder TEXT, expires_at TIMESTAMPTZ)`: the
//!   refresh leases (see below).
//!
//! # Versions and atomic writes
//!
//! `version` changes with every write: a [`load`](CacheStore::load) with the version the caller
//! holds is one prepared statement that answers [`Loaded::Unchanged`] without sending the
//! document. A new row starts at the server's clock in microseconds, so a partition deleted and
//! created again never repeats a version.
//!
//! [`modify`](CacheStore::modify) is a compare-and-set on that column: read the row, run the
//! update here, then `UPDATE ... WHERE version = <the one read>` (or `INSERT ... ON CONFLICT DO
//! NOTHING` for a new row). If another writer, in any process on any host, wrote in between,
//! nothing is written, the row is read again and the update runs on the newer data (the
//! [`CacheStore`] contract allows this), with a short random back-off after the first retry, at
//! most [`MAX_WRITE_ATTEMPTS`] times. No update is lost, and no transaction or row lock is held
//! across the update function, so one connection serves every task of a process.
//!
//! # Refresh lock
//!
//! [`lock_refresh`](CacheStore::lock_refresh) takes a lease row (a random holder token and an
//! expiry by the server's clock, so hosts with skewed clocks agree), polling every 20 to 50 ms
//! until it gets it (the caller bounds the wait). While the [`RefreshLock`] lives, a task on the
//! caller's tokio runtime renews it every third of its lifetime
//! ([`refresh_lock_ttl`](PostgresCache::refresh_lock_ttl), default 30 s); dropping the lock
//! deletes the row. A holder that dies stops renewing and its lease is taken over once expired,
//! so a crashed process blocks the others for one lifetime at most.
//!
//! # Connections and time limits
//!
//! Clones share one connection, made on first use ([`PostgresCache::connect`] makes it at
//! once) and made again when it breaks. Connecting is bounded by the URL's `connect_timeout`
//! (5 s when it sets none) and every round trip by
//! [`request_timeout`](PostgresCache::request_timeout) (10 s): a call never waits longer, and a
//! connection whose round trip timed out is replaced. The store needs a tokio runtime.
//!
//! # Damaged data and errors
//!
//! Bytes another program wrote into a row are handed to the caller as they are; the application
//! refuses what it cannot parse and never writes over it. A row without version or data (a table
//! altered by hand) is [`CacheError::Corrupt`] and is left alone. Every failure is a
//! [`CacheError::Store`] naming the server (`host:port`), never the password, nor row contents.
//!
//! # Choices
//!
//! * Optimistic writes (a version column) rather than `SELECT ... FOR UPDATE`: a row lock needs
//!   a transaction, so a connection per concurrent writer; compare-and-set runs on one shared,
//!   pipelined connection, and conflicts are rare (a partition is one user).
//! * Writes do not wait for the server's disk (`synchronous_commit = off`, for this store's
//!   connection only): a crash of the server may lose its last fraction of a second of writes,
//!   which costs one token request each and never corrupts the table, as with `SqliteCache`'s
//!   `synchronous=NORMAL`. A write-back then costs one round trip, not one disk flush.
//! * No TLS in this version (`sslmode=require` is refused with an error saying so): reach the
//!   server over a private network, a tunnel or a Unix socket (`host=/run/postgresql`).
//! * [`PostgresCache::new`] parses the URL without connecting (for code that cannot await);
//!   [`PostgresCache::connect`] also connects, so a wrong URL or password fails at start-up.

mod connection;
mod lease;
mod rows;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use self::connection::Shared;
use self::rows::Found;
use crate::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};

/// How many times [`PostgresCache`]'s `modify` tries to write before giving up on contention.
pub const MAX_WRITE_ATTEMPTS: u32 = 32;

/// The default lifetime of a refresh lease ([`PostgresCache::refresh_lock_ttl`]).
pub const DEFAULT_REFRESH_LOCK_TTL: Duration = Duration::from_secs(30);

/// The default bound on one round trip to the server ([`PostgresCache::request_timeout`]).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A partitioned [`CacheStore`] in PostgreSQL. See the [module documentation](self).
///
/// Cloning is cheap; clones share one connection.
#[derive(Clone)]
pub struct PostgresCache {
    shared: Arc<Shared>,
    prefix: String,
    refresh_lock_ttl: Duration,
}

impl PostgresCache {
    /// Connect to the server at `url` (`postgres://user:password@host:port/database`, or
    /// libpq's `host=... user=...` form) and create the tables if needed.
    ///
    /// Fails with [`CacheError::Store`] when the URL does not parse, the server cannot be reached
    /// within the connect timeout, or it refuses the login (the message never shows the
    /// password).
    pub async fn connect(url: &str) -> Result<PostgresCache, CacheError> {
        let store = PostgresCache::new(url)?;
        store.shared.conn().await?;
        Ok(store)
    }

    /// A store for the server at `url`, without connecting: the connection is made on first
    /// use. Fails only when the URL does not parse or asks for TLS.
    pub fn new(url: &str) -> Result<PostgresCache, CacheError> {
        Ok(PostgresCache {
            shared: Arc::new(Shared::new(url, DEFAULT_REQUEST_TIMEOUT)?),
            prefix: String::new(),
            refresh_lock_ttl: DEFAULT_REFRESH_LOCK_TTL,
        })
    }

    /// A prefix for this store's partition keys (default none): several apps, or test runs,
    /// can then share one table without seeing each other's rows.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a refresh lease lives without renewal (default [`DEFAULT_REFRESH_LOCK_TTL`],
    /// 30 s): how soon another process takes over from a holder that died. A live holder renews
    /// it every third of that. Durations under 30 ms count as 30 ms.
    pub fn refresh_lock_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_lock_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// The longest one round trip to the server may take (default [`DEFAULT_REQUEST_TIMEOUT`],
    /// 10 s) before the call fails with [`CacheError::Store`]. Applies to every clone.
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.shared.set_request_timeout(timeout);
        self
    }

    /// The `msal_cache.partition` value of `partition`'s row: the key prefix and
    /// [`Partition::key`].
    pub fn key_for(&self, partition: Partition<'_>) -> String {
        format!("{}{}", self.prefix, partition.key())
    }
}

impl fmt::Debug for PostgresCache {
    /// Prints the key prefix and options only: never the URL, which may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresCache")
            .field("key_prefix", &self.prefix)
            .field("refresh_lock_ttl", &self.refresh_lock_ttl)
            .field("request_timeout", &self.shared.request_timeout())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CacheStore for PostgresCache {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        let conn = self.shared.conn().await?;
        Ok(
            match rows::read(&self.shared, &conn, &self.key_for(partition), known).await? {
                Found::Missing => Loaded::Missing,
                Found::Unchanged(_) => Loaded::Unchanged,
                Found::Data(version, bytes) => Loaded::Data {
                    bytes,
                    version: StoreVersion::new(version as u64),
                },
            },
        )
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        let key = self.key_for(partition);
        let conn = self.shared.conn().await?;
        let mut found = rows::read(&self.shared, &conn, &key, known).await?;
        for attempt in 1..=MAX_WRITE_ATTEMPTS {
            let (current, expected) = match &found {
                Found::Missing => (Current::Missing, None),
                Found::Unchanged(v) => (Current::Unchanged, Some(*v)),
                Found::Data(v, bytes) => (Current::Data(bytes), Some(*v)),
            };
            let new_bytes = update(current)?;
            if let Some(version) =
                rows::write_if(&self.shared, &conn, &key, expected, &new_bytes).await?
            {
                return Ok(StoreVersion::new(version as u64));
            }
            tracing::debug!(
                attempt,
                "PostgreSQL cache: concurrent write, retrying the update"
            );
            if attempt > 1 {
                // A random 0..2^(attempt-2) ms, at most 256 ms, so writers colliding again and
                // again spread out.
                let cap = 1u64 << (attempt - 2).min(8);
                tokio::time::sleep(Duration::from_micros(lease::random_u64() % (cap * 1000))).await;
            }
            found = rows::read(&self.shared, &conn, &key, known).await?;
        }
        Err(CacheError::store(format!(
            "PostgreSQL: gave up writing after {MAX_WRITE_ATTEMPTS} attempts: too much \
             contention (other writers kept changing the same partition)"
        )))
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        let lock = lease::take(
            Arc::clone(&self.shared),
            self.key_for(partition),
            self.refresh_lock_ttl,
        )
        .await?;
        Ok(Some(lock))
    }

    fn partitioned(&self) -> bool {
        true
    }
}
