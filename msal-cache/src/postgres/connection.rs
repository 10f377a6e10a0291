//! The one shared connection: made on first use, re-made when it breaks or a statement times
//! out, its statements prepared once; and every failure as a [`CacheError`] without the password.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::CacheError;

/// The session and the tables, on every new connection. The advisory lock (held to the end of
/// the transaction) keeps two processes starting at once from racing `CREATE TABLE IF NOT
/// EXISTS`, which can fail in PostgreSQL when both create the same table at the same moment.
/// `synchronous_commit = off` for this session's writes only: a commit does not wait for its WAL
/// flush, so a server crash may lose the last fraction of a second of writes (one token request
/// each) and never corrupts anything; the same trade as the SQLite store's `synchronous=NORMAL`.
const SETUP: &str = "
    SET synchronous_commit = off;
    BEGIN;
    SELECT pg_advisory_xact_lock(7263061532880221001);
    CREATE TABLE IF NOT EXISTS msal_cache (
        partition TEXT PRIMARY KEY,
        version BIGINT NOT NULL,
        data BYTEA NOT NULL
    );
    CREATE TABLE IF NOT EXISTS msal_refresh_lease (
        partition TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    COMMIT;";

/// One statement for both answers: the version, and the data only when it is not the version
/// the caller holds (`$2` is NULL when it holds none, and `version = NULL` is never true).
const READ: &str = "SELECT version, CASE WHEN version = $2 THEN NULL ELSE data END \
                    FROM msal_cache WHERE partition = $1";
/// A new row starts at the server's clock in microseconds, so a partition deleted and created
/// again never repeats a version some caller may still hold.
const INSERT: &str = "INSERT INTO msal_cache (partition, version, data) \
                      VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, $2) \
                      ON CONFLICT (partition) DO NOTHING RETURNING version";
/// Compare-and-set: written only if nobody wrote since we read version `$2`.
const SWAP: &str = "UPDATE msal_cache SET version = version + 1, data = $3 \
                    WHERE partition = $1 AND version = $2 RETURNING version";
/// Take the lease if it is free or expired: one statement, so two takers cannot both win. The
/// server's clock decides expiry, so hosts whose clocks differ agree.
const TAKE: &str = "INSERT INTO msal_refresh_lease (partition, holder, expires_at) \
                    VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond') \
                    ON CONFLICT (partition) DO UPDATE \
                    SET holder = excluded.holder, expires_at = excluded.expires_at \
                    WHERE msal_refresh_lease.expires_at <= clock_timestamp()";
const RENEW: &str = "UPDATE msal_refresh_lease \
                     SET expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond' \
                     WHERE partition = $1 AND holder = $2";
const RELEASE: &str = "DELETE FROM msal_refresh_lease WHERE partition = $1 AND holder = $2";

/// A live connection and its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) read: Statement,
    pub(super) insert: Statement,
    pub(super) swap: Statement,
    pub(super) take: Statement,
    pub(super) renew: Statement,
    pub(super) release: Statement,
}

/// What clones of a store share.
pub(super) struct Shared {
    config: Config,
    /// `host:port` of the first host, for messages.
    server: String,
    /// The password as written in the URL and decoded, to scrub from messages.
    secrets: Vec<String>,
    /// The bound on every round trip (and on connecting), in milliseconds.
    request_timeout_ms: AtomicU64,
    current: Mutex<Option<Arc<Conn>>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Shared {
    pub(super) fn new(url: &str, request_timeout: Duration) -> Result<Shared, CacheError> {
        let mut secrets: Vec<String> = crate::url_secrets::raw_password(url)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect();
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            CacheError::store(crate::url_secrets::redact(
                &format!("PostgreSQL: invalid connection URL: {e}"),
                &secrets,
            ))
        })?;
        if let Some(password) = config.get_password() {
            let password = String::from_utf8_lossy(password).into_owned();
            if !password.is_empty() && !secrets.contains(&password) {
                secrets.push(password);
            }
        }
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(CacheError::store(
                "PostgreSQL: sslmode=require is not supported: this store connects without TLS \
                 (use a private network, an SSH tunnel or a Unix socket)",
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        let server = describe_server(&config);
        Ok(Shared {
            server: crate::url_secrets::redact(&server, &secrets),
            config,
            secrets,
            request_timeout_ms: AtomicU64::new(millis(request_timeout)),
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    /// The bound on one round trip.
    pub(super) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.load(Ordering::Relaxed))
    }

    pub(super) fn set_request_timeout(&self, timeout: Duration) {
        self.request_timeout_ms
            .store(millis(timeout), Ordering::Relaxed);
    }

    fn cached(&self) -> Option<Arc<Conn>> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().filter(|c| !c.client.is_closed()).cloned()
    }

    /// The shared connection, made (once, however many tasks ask at once) when there is none or
    /// the last one broke.
    pub(super) async fn conn(&self) -> Result<Arc<Conn>, CacheError> {
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let _turn = self.connecting.lock().await;
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let conn = Arc::new(self.open().await?);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&conn));
        Ok(conn)
    }

    async fn open(&self) -> Result<Conn, CacheError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            CacheError::store("PostgreSQL: the store must be used on a tokio runtime")
        })?;
        // connect_timeout bounds each TCP connect; this bounds the whole start-up (a server that
        // accepts and never answers, several hosts, the login).
        let connect_bound = self.request_timeout()
            + self
                .config
                .get_connect_timeout()
                .copied()
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let (client, connection) = tokio::time::timeout(connect_bound, self.config.connect(NoTls))
            .await
            .map_err(|_| self.timed_out("connecting to", connect_bound))?
            .map_err(|e| self.error("connecting to", &e))?;
        // The connection's I/O runs as a task; it ends when the client is dropped or the
        // socket breaks (then `is_closed` tells the next caller to reconnect).
        runtime.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "PostgreSQL cache: connection closed");
            }
        });
        self.bounded("creating the tables in", client.batch_execute(SETUP))
            .await?;
        let prepare = |sql| self.bounded("preparing a statement on", client.prepare(sql));
        Ok(Conn {
            read: prepare(READ).await?,
            insert: prepare(INSERT).await?,
            swap: prepare(SWAP).await?,
            take: prepare(TAKE).await?,
            renew: prepare(RENEW).await?,
            release: prepare(RELEASE).await?,
            client,
        })
    }

    /// Run one round trip within the request timeout. A round trip that timed out leaves the
    /// connection in doubt (a half-open socket): it is dropped, the next call makes another.
    pub(super) async fn bounded<T>(
        &self,
        doing: &str,
        request: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, CacheError> {
        let bound = self.request_timeout();
        match tokio::time::timeout(bound, request).await {
            Ok(result) => result.map_err(|e| self.error(doing, &e)),
            Err(_) => {
                self.current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                Err(self.timed_out(doing, bound))
            }
        }
    }

    fn timed_out(&self, doing: &str, after: Duration) -> CacheError {
        CacheError::store(format!(
            "PostgreSQL: {doing} {} got no answer within {after:?}",
            self.server
        ))
    }

    /// A [`CacheError::Store`] for a PostgreSQL failure. A server error shows its code and
    /// message only (its DETAIL may quote row values); the password is scrubbed.
    pub(super) fn error(&self, doing: &str, err: &tokio_postgres::Error) -> CacheError {
        let what = match err.as_db_error() {
            Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
            None => err.to_string(),
        };
        CacheError::store(crate::url_secrets::redact(
            // The store error's own prefix says "cache store error".
            &format!("PostgreSQL: {doing} {} failed: {what}", self.server),
            &self.secrets,
        ))
    }
}

/// A duration in whole milliseconds, at least 1.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn describe_server(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}
