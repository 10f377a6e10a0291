//! [`RedisCache`]: a partitioned token cache store in Redis, for apps that outgrow one machine
//! (web farms, many workers, several processes sharing users).
//!
//! Enabled by the `redis` feature, which pulls the `redis` client crate and tokio. Works with
//! Redis 5 or later and with Valkey; Redis Cluster is not supported (use one primary, with
//! replicas if you like).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use msal_cache::redis::RedisCache;
//! use msal_cache::{CacheStore, Partition};
//!
//! # async fn demo() -> Result<(), msal_cache::CacheError> {
//! // No I/O here: the connection is made on first use, and re-made when it breaks.
//! let store = RedisCache::new("redis://:my-password@cache.internal:6379/0")?
//!     .key_prefix("contoso-web:")
//!     .refresh_lock_ttl(Duration::from_secs(30));
//!
//! // Hand it to the client, e.g. `PublicClientApplication::builder(id).cache(store)`, or use
//! // it directly:
//! let alice = Partition::Account("alice-oid.tenant-id");
//! let loaded = store.load(alice, None).await?;
//! # let _ = loaded;
//! # Ok(())
//! # }
//! ```
//!
//! # Keys: one document per partition
//!
//! Every [`Partition`] is its own Redis key, a hash with two fields: `d`, the serialized cache
//! document, and `v`, its version.
//!
//! | partition | key |
//! |---|---|
//! | `Partition::Account(home_account_id)` | `{prefix}account:{home_account_id, lowercased}` |
//! | `Partition::App { client_id, tenant }` | `{prefix}app:{client_id}:{tenant}` (lowercased) |
//! | `Partition::UserAssertion(hash)` | `{prefix}obo:{hash}` |
//! | `Partition::All` | `{prefix}all` |
//!
//! The prefix defaults to [`DEFAULT_KEY_PREFIX`] (`msal-rs:`); give each app its own when
//! several share a server. A confidential client (a web app, a daemon, an API) names the one
//! partition each call concerns, so on a web farm a call moves only that one user's tokens, or
//! one tenant's app tokens, or one incoming assertion's on-behalf-of tokens, however many users
//! and tenants the farm serves (MSAL.NET's "suggested cache key" partitioning). A public client
//! uses `All` only: a separate document of its own, **not** a merge of the others. Keys for
//! lease locks live beside them as `{prefix}lock:{partition key}`.
//!
//! # Versions and `Unchanged`
//!
//! `v` is an integer that every write increments, so [`load`](CacheStore::load) with the version
//! the caller already holds is one round trip that answers [`Loaded::Unchanged`] without sending
//! the document. A document created from nothing starts at the server's clock in microseconds
//! rather than at 1, so a key that expired (see below) and was created again never reuses a
//! version an old reader may still hold.
//!
//! # Atomic writes: compare-and-set in Lua
//!
//! [`modify`](CacheStore::modify) is optimistic: one Lua script reads the version (and the
//! document only when the version is not the caller's `known`), the update function runs here,
//! and a second script stores the result **only if the version is still the one read**, bumping
//! it in the same step. When another writer got there first the script answers with the newer
//! document instead, and the update runs again on that (the [`CacheStore`] contract allows this),
//! with a short random back-off after the first retry, at most [`MAX_WRITE_ATTEMPTS`] times.
//!
//! Why scripts rather than `WATCH`/`MULTI`/`EXEC`: `WATCH` belongs to a connection, and this
//! store shares one multiplexed, self-reconnecting connection
//! ([`ConnectionManager`]) among all the tasks using it. Two
//! tasks watching on the same connection would see each other's `EXEC` abort or, worse, succeed,
//! and a dedicated connection per write would cost a TCP (and TLS, and AUTH) handshake per call.
//! A script runs atomically on the server and needs no connection state, so any number of tasks
//! and processes can share the store and no write is lost.
//!
//! # Expiry from token lifetimes
//!
//! With [`ttl_from_token_expiry`](RedisCache::ttl_from_token_expiry) on (the default), every write
//! also sets the key's expiry the way MSAL.NET's `SuggestedCacheExpiry` suggests: a document that
//! holds **no refresh token** (typically an `App` partition, whose access tokens can always be
//! fetched again) expires 5 minutes after the last of its access tokens (`expires_on`), so
//! app-only tokens of tenants no longer served do not pile up. A document holding any refresh
//! token never expires by itself: refresh tokens outlive access tokens by months, and dropping one
//! would force the user to sign in again. A document without access tokens, or whose bytes are
//! not a JSON object (say, encrypted by a wrapper), gets no expiry either. Turn the option off to
//! manage expiry yourself (Redis `maxmemory-policy volatile-*` only evicts keys with an expiry).
//!
//! # Refresh lock
//!
//! [`lock_refresh`](CacheStore::lock_refresh) takes a lease, `SET {prefix}lock:{key} <random>
//! NX PX <ttl>`, polling every 20 to 50 ms until it gets it (the caller bounds the wait). The
//! lease is short, [`refresh_lock_ttl`](RedisCache::refresh_lock_ttl) (default
//! [`DEFAULT_REFRESH_LOCK_TTL`], 10 s), and **renewed by its holder**: while the returned
//! [`RefreshLock`] lives, a background task on the caller's tokio runtime extends the lease to
//! a full lifetime every third of it, by a script that extends it only if it still holds our
//! random value. So:
//!
//! * a live holder keeps the lease for as long as its refresh takes (a slow provider, retries),
//!   and no other process redeems the same refresh token meanwhile;
//! * a holder that dies (a crashed or killed process, a runtime shut down) stops renewing, and
//!   its lease expires within one lifetime: another process takes over within `ttl` plus one
//!   polling interval, not after the longest refresh anyone might make.
//!
//! Dropping the [`RefreshLock`] stops the renewal and releases the lease by a script that
//! deletes it only if it still holds our random value (so a lease that already expired and was
//! taken by someone else is left alone). A renewal that finds the lease gone (the server was
//! unreachable for a whole lifetime) stops, and logs a warning. Leaking the lock
//! (`std::mem::forget`) keeps it renewed until the runtime shuts down.
//!
//! # Secrets
//!
//! The URL may carry a password: it is never printed. `Debug` shows the key prefix and options
//! only, and error messages have the password removed. Documents are never put in messages.

mod expiry;
mod lease;
mod scripts;
mod secrets;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Value};
use tokio::sync::OnceCell;

use self::expiry::{suggested_expiry, unix_now};
use self::lease::{random_u64, Lease};
use self::scripts::{parse_found, parse_written, Found, Written, COMPARE_AND_SET, READ};
use self::secrets::{describe, raw_password, redact};

use crate::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};

/// The key prefix used unless [`RedisCache::key_prefix`] sets another.
pub const DEFAULT_KEY_PREFIX: &str = "msal-rs:";

/// How many times [`RedisCache`]'s `modify` tries to write before giving up on contention.
pub const MAX_WRITE_ATTEMPTS: u32 = 32;

/// The default lifetime of a refresh lease ([`RedisCache::refresh_lock_ttl`]): how long a
/// crashed holder can keep others waiting. A live holder renews its lease, so this does not
/// bound how long a refresh may take.
pub const DEFAULT_REFRESH_LOCK_TTL: Duration = Duration::from_secs(10);

/// A partitioned [`CacheStore`] in Redis. See the [module documentation](self).
///
/// Cloning is cheap; clones share one connection.
#[derive(Clone)]
pub struct RedisCache {
    client: Client,
    connection: Arc<OnceCell<ConnectionManager>>,
    /// The URL's password, raw and decoded, to scrub from error messages.
    secrets: Arc<[String]>,
    /// `host:port` (or socket path), for error messages.
    server: Arc<str>,
    prefix: String,
    ttl_from_token_expiry: bool,
    refresh_lock_ttl: Duration,
}

impl RedisCache {
    /// A store for the Redis server at `url` (`redis://[[user]:password@]host[:port][/db]`, or
    /// `redis+unix:///path`). Does no I/O: the connection is made on first use.
    ///
    /// Fails only when the URL does not parse (the error never shows the password).
    pub fn new(url: &str) -> Result<RedisCache, CacheError> {
        let mut secrets: Vec<String> = raw_password(url)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect();
        let client = Client::open(url).map_err(|e| {
            CacheError::store(redact(
                &format!("invalid Redis URL: {}", describe(&e)),
                &secrets,
            ))
        })?;
        if let Some(password) = client.get_connection_info().redis_settings().password() {
            if !password.is_empty() && !secrets.iter().any(|s| s == password) {
                secrets.push(password.to_owned());
            }
        }
        let server = client.get_connection_info().addr().to_string();
        Ok(RedisCache {
            server: redact(&server, &secrets).into(),
            client,
            connection: Arc::new(OnceCell::new()),
            secrets: secrets.into(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            ttl_from_token_expiry: true,
            refresh_lock_ttl: DEFAULT_REFRESH_LOCK_TTL,
        })
    }

    /// The prefix of every key this store uses (default [`DEFAULT_KEY_PREFIX`], `msal-rs:`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Whether a document without refresh tokens expires 5 minutes after its last access token
    /// (default true). See [Expiry from token lifetimes](self#expiry-from-token-lifetimes).
    pub fn ttl_from_token_expiry(mut self, enabled: bool) -> Self {
        self.ttl_from_token_expiry = enabled;
        self
    }

    /// How long a refresh lease lives without renewal (default [`DEFAULT_REFRESH_LOCK_TTL`],
    /// 10 s). The holder renews it every third of this while its [`RefreshLock`] lives, so a
    /// refresh may take longer; this is how soon another process takes over the lease of a
    /// holder that died. Durations under 1 ms count as 1 ms.
    pub fn refresh_lock_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_lock_ttl = ttl;
        self
    }

    /// The Redis key holding `partition`'s document.
    pub fn key_for(&self, partition: Partition<'_>) -> String {
        format!("{}{}", self.prefix, partition_suffix(partition))
    }

    /// The Redis key of `partition`'s refresh lease.
    fn lock_key_for(&self, partition: Partition<'_>) -> String {
        format!("{}lock:{}", self.prefix, partition_suffix(partition))
    }

    /// The shared connection, made on first use (a failed attempt is retried on the next call).
    async fn connection(&self) -> Result<ConnectionManager, CacheError> {
        self.connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(5)))
                    .set_response_timeout(Some(Duration::from_secs(10)))
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(|e| self.error("connecting to", &e))
    }

    /// A [`CacheError::Store`] for a Redis failure, with the URL's password scrubbed.
    fn error(&self, doing: &str, err: &RedisError) -> CacheError {
        CacheError::store(redact(
            &format!(
                // The store error's own prefix says "cache store error".
                "Redis: {doing} {} failed: {}",
                self.server,
                describe(err)
            ),
            &self.secrets,
        ))
    }

    /// The expiry to set on a document, in ms (0: none).
    fn expiry_ms(&self, bytes: &[u8]) -> u64 {
        if !self.ttl_from_token_expiry {
            return 0;
        }
        suggested_expiry(bytes, unix_now())
            .map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .unwrap_or(0)
    }
}

impl fmt::Debug for RedisCache {
    /// Prints the key prefix and options only: never the URL, which may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("key_prefix", &self.prefix)
            .field("ttl_from_token_expiry", &self.ttl_from_token_expiry)
            .field("refresh_lock_ttl", &self.refresh_lock_ttl)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CacheStore for RedisCache {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        let mut conn = self.connection().await?;
        let reply: Value = READ
            .key(self.key_for(partition))
            .arg(version_arg(known))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.error("reading from", &e))?;
        Ok(match parse_found(reply)? {
            Found::Missing => Loaded::Missing,
            Found::Unchanged(_) => Loaded::Unchanged,
            Found::Data(version, bytes) => Loaded::Data {
                bytes,
                version: StoreVersion::new(version),
            },
        })
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        let key = self.key_for(partition);
        let known_arg = version_arg(known);
        let mut conn = self.connection().await?;
        let reply: Value = READ
            .key(&key)
            .arg(&known_arg)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.error("reading from", &e))?;
        let mut found = parse_found(reply)?;
        for attempt in 1..=MAX_WRITE_ATTEMPTS {
            let (current, expected) = match &found {
                Found::Missing => (Current::Missing, String::new()),
                Found::Unchanged(v) => (Current::Unchanged, v.to_string()),
                Found::Data(v, bytes) => (Current::Data(bytes), v.to_string()),
            };
            let new_bytes = update(current)?;
            let expiry_ms = self.expiry_ms(&new_bytes);
            let reply: Value = COMPARE_AND_SET
                .key(&key)
                .arg(&expected)
                .arg(new_bytes)
                .arg(expiry_ms)
                .arg(&known_arg)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.error("writing to", &e))?;
            match parse_written(reply)? {
                Written::Done(version) => return Ok(StoreVersion::new(version)),
                Written::Conflict(newer) => {
                    tracing::debug!(
                        attempt,
                        "Redis cache: concurrent write, retrying the update"
                    );
                    found = newer;
                    if attempt > 1 && attempt < MAX_WRITE_ATTEMPTS {
                        // Back off a random 0..2^(attempt-2) ms, at most 256 ms, so that writers
                        // colliding again and again spread out (a 64 ms cap let 16 writers on
                        // one partition starve one of them on a loaded 2-core machine).
                        let cap = 1u64 << (attempt - 2).min(8);
                        tokio::time::sleep(Duration::from_micros(random_u64() % (cap * 1000)))
                            .await;
                    }
                }
            }
        }
        Err(CacheError::store(format!(
            "Redis: gave up writing after {MAX_WRITE_ATTEMPTS} attempts: too much contention \
             (other writers kept changing the same partition)"
        )))
    }

    fn partitioned(&self) -> bool {
        true
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        // Made before the first `SET`: if the caller stops waiting (drops this future) just after
        // a `SET` succeeded, dropping the lease still releases it instead of leaving others
        // blocked until it expires. Releasing a lease we never got is harmless (compare-and-delete).
        let mut lease = Lease::new(
            self.connection().await?,
            self.lock_key_for(partition),
            self.refresh_lock_ttl,
        );
        let ttl_ms = lease.ttl_ms();
        loop {
            let reply: Value = ::redis::cmd("SET")
                .arg(&lease.key)
                .arg(&lease.token)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async(&mut lease.conn)
                .await
                .map_err(|e| self.error("taking a refresh lease on", &e))?;
            if !matches!(reply, Value::Nil) {
                return Ok(Some(RefreshLock::new(lease.keep_alive())));
            }
            tokio::time::sleep(Duration::from_millis(20 + random_u64() % 31)).await;
        }
    }
}

/// The part of a key after the prefix.
fn partition_suffix(partition: Partition<'_>) -> String {
    partition.key()
}

/// The caller's version as the scripts compare it (`''` when it holds none).
fn version_arg(known: Option<StoreVersion>) -> String {
    known.map(|v| v.tag().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_per_partition() {
        let store = RedisCache::new("redis://127.0.0.1:1/")
            .unwrap()
            .key_prefix("p:");
        assert_eq!(store.key_for(Partition::Account("u.t")), "p:account:u.t");
        assert_eq!(
            store.key_for(Partition::App {
                client_id: "c",
                tenant: "t"
            }),
            "p:app:c:t"
        );
        assert_eq!(store.key_for(Partition::All), "p:all");
        assert_eq!(store.key_for(Partition::Account("U.T")), "p:account:u.t");
        assert_eq!(
            store.key_for(Partition::UserAssertion("h4sh")),
            "p:obo:h4sh"
        );
        assert_eq!(store.lock_key_for(Partition::All), "p:lock:all");
    }

    #[test]
    fn debug_and_errors_hide_the_password() {
        let store = RedisCache::new("redis://user:s3cr%40t@127.0.0.1:1/").unwrap();
        let text = format!("{store:?}");
        assert!(
            text.contains("msal-rs:") && !text.contains("s3cr"),
            "{text}"
        );
        assert_eq!(raw_password("redis://user:s3cr%40t@h:1/"), Some("s3cr%40t"));
        assert_eq!(raw_password("redis://h:1/"), None);
        assert!(store.secrets.iter().any(|s| s == "s3cr@t"));
        assert_eq!(redact("a s3cr@t b s3cr%40t", &store.secrets), "a *** b ***");
        let err = RedisCache::new("redis://:s3cret@[::1/").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn store_errors_say_cache_once() {
        let store = RedisCache::new("redis://127.0.0.1:1/").unwrap();
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for err in [
            store.error("GET", &RedisError::from(io)),
            scripts::malformed(),
        ] {
            let text = err.to_string();
            assert!(text.starts_with("cache store error: Redis: "), "{text}");
            assert_eq!(text.matches("cache").count(), 1, "{text}");
        }
    }

    #[test]
    fn expiry_follows_access_tokens_only_without_refresh_tokens() {
        let now = 1_700_000_000;
        let app = br#"{"AccessToken": {"a": {"expires_on": "1700003600"},
                                       "b": {"expires_on": 1700001000}}}"#;
        assert_eq!(
            suggested_expiry(app, now),
            Some(Duration::from_secs(3600 + 300))
        );
        let user = br#"{"AccessToken": {"a": {"expires_on": "1700003600"}},
                        "RefreshToken": {"r": {"secret": "x"}}}"#;
        assert_eq!(suggested_expiry(user, now), None);
        let empty_rts = br#"{"AccessToken": {"a": {"expires_on": "1699999000"}},
                             "RefreshToken": {}}"#;
        assert_eq!(
            suggested_expiry(empty_rts, now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(suggested_expiry(b"{}", now), None);
        assert_eq!(suggested_expiry(b"\x00binary", now), None);
        let absurd = br#"{"AccessToken": {"a": {"expires_on": "99999999999"}}}"#;
        assert_eq!(suggested_expiry(absurd, now), None);
    }

    #[test]
    fn replies_parse_without_showing_data() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        assert!(matches!(
            parse_found(Value::Array(vec![Value::Int(0)])),
            Ok(Found::Missing)
        ));
        assert!(matches!(
            parse_found(Value::Array(vec![Value::Int(1), bulk("17")])),
            Ok(Found::Unchanged(17))
        ));
        assert!(matches!(
            parse_found(Value::Array(vec![Value::Int(2), bulk("18"), bulk("{}")])),
            Ok(Found::Data(18, ref d)) if d == b"{}"
        ));
        assert!(matches!(
            parse_written(Value::Array(vec![Value::Int(3), Value::Int(19)])),
            Ok(Written::Done(19))
        ));
        let err = parse_found(Value::Array(vec![Value::Int(9), bulk("secret-token")]))
            .err()
            .unwrap();
        assert!(!err.to_string().contains("secret"));
    }
}
