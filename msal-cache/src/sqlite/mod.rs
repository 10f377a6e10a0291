//! [`SqliteCache`]: a partitioned token cache store in an SQLite database (feature `sqlite`).
//!
//! The embedded store for a server on one host: a [`FileCache`](crate::FileCache) rewrites the
//! whole document (every account) on each change, this store writes one row, the partition a
//! request touches, so a write costs the same with 1,000 users or 100,000.
//!
//! # Layout
//!
//! One database file (plus SQLite's `-wal` and `-shm` files beside it), created owner-only
//! (0600) on Unix:
//!
//! * `msal_cache(partition TEXT PRIMARY KEY, version INTEGER, data BLOB)`: one row per
//!   [`Partition`], keyed by [`Partition::key`]; `data` holds the bytes the caller stored.
//! * `msal_refresh_lease(partition TEXT PRIMARY KEY, holder TEXT, expires_ms INTEGER)`: the
//!   refresh locks (see below).
//!
//! # Concurrency
//!
//! The database runs in WAL mode: readers never wait for a writer. [`modify`](CacheStore::modify)
//! is one `BEGIN IMMEDIATE` transaction (read the row, run the update, write the row), so writers
//! in every process using the file are serialized by SQLite's own lock and no update is lost.
//! Writers first queue on an OS file lock, `{database}.write.lockfile`, so that under heavy
//! contention they get the database in turn instead of racing SQLite's polling busy handler. A
//! writer waits at most the busy timeout ([`SqliteCache::with_busy_timeout`], 10 s by default)
//! in the queue and again for SQLite's lock, then fails with an error naming the file.
//!
//! Calls run on the caller's thread (like [`FileCache`](crate::FileCache)'s): a load is one
//! prepared statement, microseconds, and a write waits at most the busy timeout.
//!
//! # Refresh lock
//!
//! [`lock_refresh`](CacheStore::lock_refresh) takes a lease row for the partition: a random
//! holder token and an expiry ([`SqliteCache::refresh_lock_ttl`], 30 s by default). A task on
//! the caller's tokio runtime renews it every third of its lifetime while the [`RefreshLock`]
//! lives; dropping the lock deletes the row. A holder that dies stops renewing, and its lease is
//! taken over once expired, so a crashed process blocks the others for one lifetime at most.
//!
//! # Damaged data
//!
//! A file that is not an SQLite database, a damaged database or a row whose data is not bytes is
//! [`CacheError::Corrupt`] naming the file; nothing is ever written over it. A database written
//! by a newer schema than this crate knows is refused ([`CacheError::Store`]) and left alone.

mod lease;
mod queue;
mod rows;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::{CacheError, CacheStore, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn};

/// The schema this crate writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const CREATE_TABLES: &str = "
    CREATE TABLE IF NOT EXISTS msal_cache (
        partition TEXT PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS msal_refresh_lease (
        partition TEXT PRIMARY KEY NOT NULL,
        holder TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    );";

/// A partitioned [`CacheStore`] in an SQLite database. See the [module documentation](self).
///
/// Clones share one connection; separate [`open`](SqliteCache::open)s of one file (in one
/// process or several) coordinate through SQLite's locks.
///
/// ```
/// use msal_cache::{CacheStore, Loaded, Partition, SqliteCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = SqliteCache::open(dir.path().join("tokens.db"))?;
/// let alice = Partition::Account("alice.tenant");
/// let version = store.modify(alice, None, &mut |_| Ok(b"{}".to_vec())).await?;
/// assert_eq!(store.load(alice, Some(version)).await?, Loaded::Unchanged);
/// assert_eq!(store.load(Partition::Account("bob.tenant"), None).await?, Loaded::Missing);
/// # Ok::<(), msal_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteCache {
    shared: Arc<Shared>,
    refresh_lock_ttl: Duration,
}

/// What clones share: the file's path, the one connection and the writers' queue.
struct Shared {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The lock file writers queue on (see `queue.rs`).
    queue_path: PathBuf,
    /// How long a writer waits in the queue and then for SQLite's lock, each.
    busy_timeout: Mutex<Duration>,
}

impl SqliteCache {
    /// Open (creating if needed, owner-only) the database at `path` and its tables.
    ///
    /// A file that is not an SQLite database is [`CacheError::Corrupt`] and is left untouched.
    pub fn open(path: impl Into<PathBuf>) -> Result<SqliteCache, CacheError> {
        let path = path.into();
        create_owner_only(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| sqlite_error(&path, "opening", &e))?;
        let prepare = |conn: &Connection| -> rusqlite::Result<i64> {
            conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)?;
            // Reading the header first: a file that is not a database fails here, before
            // anything could be written to it.
            let schema: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if schema > SCHEMA_VERSION {
                return Ok(schema);
            }
            // WAL with NORMAL is durable across process crashes and never corrupts; a power cut
            // may lose the last write, which costs one token request. `synchronous` is the
            // connection's own; WAL mode and the tables are the file's, set up once: an open
            // of a set-up database takes no write lock.
            conn.execute_batch("PRAGMA synchronous = NORMAL")?;
            if schema < SCHEMA_VERSION {
                conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
                conn.execute_batch(CREATE_TABLES)?;
                conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
            }
            Ok(schema)
        };
        let schema = set_up(&conn, prepare).map_err(|e| sqlite_error(&path, "opening", &e))?;
        if schema > SCHEMA_VERSION {
            return Err(CacheError::store(format!(
                "SQLite cache {}: written by a newer msal-rs (schema {schema}, this one knows \
                 {SCHEMA_VERSION}); left untouched",
                path.display()
            )));
        }
        Ok(SqliteCache {
            shared: Arc::new(Shared {
                queue_path: queue::path_for(&path),
                path,
                conn: Mutex::new(conn),
                busy_timeout: Mutex::new(DEFAULT_BUSY_TIMEOUT),
            }),
            refresh_lock_ttl: DEFAULT_LEASE_TTL,
        })
    }

    /// How long a writer waits for the writers before it (in any process) before giving up
    /// with an error (default 10 s, as `FileCache`'s lock timeout). Applies to every clone.
    pub fn with_busy_timeout(self, timeout: Duration) -> Result<SqliteCache, CacheError> {
        self.conn()
            .busy_timeout(timeout)
            .map_err(|e| sqlite_error(&self.shared.path, "setting the busy timeout of", &e))?;
        *self
            .shared
            .busy_timeout
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = timeout;
        Ok(self)
    }

    /// The lifetime of a refresh lease (default 30 s): how long a holder that died blocks the
    /// others at most. A live holder renews it every third of that.
    pub fn refresh_lock_ttl(mut self, ttl: Duration) -> SqliteCache {
        self.refresh_lock_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The connection. A panic in an update function poisons the mutex, but its transaction
    /// was rolled back when it unwound, so the connection is consistent: recover it.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.shared
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// Create the file empty with mode 0600 if it does not exist, so that SQLite (which gives its
/// `-wal` and `-shm` files the database's mode) never makes a token database others can read.
fn create_owner_only(path: &Path) -> Result<(), CacheError> {
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| CacheError::io(folder, "create folder", &e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CacheError::io(path, "create", &e)),
    }
}

/// A rusqlite error as a cache error: damage is [`CacheError::Corrupt`], the rest
/// [`CacheError::Store`]. SQLite's messages name no stored value.
/// Run `prepare` (the first statements of a new connection), again while SQLite answers "busy"
/// or "locked", for at most [`DEFAULT_BUSY_TIMEOUT`]. Processes that open a new database at
/// the same moment all try to switch it to WAL and create its tables, and SQLite answers such a
/// lock upgrade "busy" at once, without its busy handler, where waiting could deadlock (seen
/// as 1 failure in 20 runs of 8 processes opening one new file); the answer is to try again.
fn set_up(
    conn: &Connection,
    prepare: impl Fn(&Connection) -> rusqlite::Result<i64>,
) -> rusqlite::Result<i64> {
    let deadline = std::time::Instant::now() + DEFAULT_BUSY_TIMEOUT;
    loop {
        match prepare(conn) {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            outcome => return outcome,
        }
    }
}

fn sqlite_error(path: &Path, doing: &str, err: &rusqlite::Error) -> CacheError {
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => CacheError::corrupt(
            Some(path.to_path_buf()),
            format!("not a readable SQLite database ({err})"),
        ),
        _ => CacheError::store(format!(
            "SQLite cache {}: {doing} the database failed: {err}",
            path.display()
        )),
    }
}

impl fmt::Debug for SqliteCache {
    /// Prints the path and options only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteCache")
            .field("path", &self.shared.path)
            .field("refresh_lock_ttl", &self.refresh_lock_ttl)
            .finish()
    }
}

#[async_trait::async_trait]
impl CacheStore for SqliteCache {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        let conn = self.conn();
        rows::load(&conn, &self.shared.path, &partition.key(), known)
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        let timeout = *self
            .shared
            .busy_timeout
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // The queue first, then the connection: a handle waiting in the queue does not keep its
        // clones from reading meanwhile.
        let _turn = queue::enter(&self.shared.queue_path, timeout)?;
        let mut conn = self.conn();
        rows::modify(
            &mut conn,
            &self.shared.path,
            &partition.key(),
            known,
            update,
        )
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        let guard = lease::take(
            Arc::clone(&self.shared),
            partition.key(),
            self.refresh_lock_ttl,
        )
        .await?;
        Ok(Some(RefreshLock::new(guard)))
    }

    fn location(&self) -> Option<&Path> {
        Some(&self.shared.path)
    }

    fn partitioned(&self) -> bool {
        true
    }
}
