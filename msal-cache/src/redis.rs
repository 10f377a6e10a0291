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
//! lease is released when the returned [`RefreshLock`] is dropped, by a script that deletes it
//! only if it still holds our random value (so a lease that already expired and was taken by
//! someone else is left alone). A holder that dies simply lets it expire after
//! [`refresh_lock_ttl`](RedisCache::refresh_lock_ttl).
//!
//! # Secrets
//!
//! The URL may carry a password: it is never printed. `Debug` shows the key prefix and options
//! only, and error messages have the password removed. Documents are never put in messages.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Script, Value};
use tokio::sync::OnceCell;

use crate::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};

/// The key prefix used unless [`RedisCache::key_prefix`] sets another.
pub const DEFAULT_KEY_PREFIX: &str = "msal-rs:";

/// How many times [`RedisCache`]'s `modify` tries to write before giving up on contention.
pub const MAX_WRITE_ATTEMPTS: u32 = 32;

/// The default lifetime of a refresh lease ([`RedisCache::refresh_lock_ttl`]).
const DEFAULT_REFRESH_LOCK_TTL: Duration = Duration::from_secs(60);

/// A document with no refresh token lives this long after its last access token expires.
const EXPIRY_GRACE_SECS: u64 = 300;

/// Access tokens claiming to live longer than this are treated as corrupt (as the lookups do)
/// and do not count towards a document's expiry.
const MAX_PLAUSIBLE_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// Reads a partition: `{0}` missing, `{1, v}` still at the caller's version (`ARGV[1]`),
/// `{2, v, d}` the document and its version.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {0} end
if v == ARGV[1] then return {1, v} end
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return redis.error_reply('msal-rs: cache key has a version but no data') end
return {2, v, d}
",
    )
});

/// Compare-and-set: writes `ARGV[2]` if the version is still `ARGV[1]` (`''` = the key must not
/// exist), bumps the version, sets or clears the expiry (`ARGV[3]` ms, `'0'` = none), and answers
/// `{3, new version}`. Otherwise answers like [`READ`] with `ARGV[4]` as the caller's version.
static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then
  if not v then return {0} end
  if v == ARGV[4] then return {1, v} end
  local d = redis.call('HGET', KEYS[1], 'd')
  if not d then return redis.error_reply('msal-rs: cache key has a version but no data') end
  return {2, v, d}
end
if not v then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'v', t[1] .. string.sub('00000' .. t[2], -6))
end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
local nv = redis.call('HINCRBY', KEYS[1], 'v', 1)
if ARGV[3] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {3, nv}
",
    )
});

/// Deletes a lease only while it still holds our token.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

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

    /// How long a refresh lease lives when its holder never releases it (default 60 s). A
    /// refresh that takes longer loses its exclusivity. Durations under 1 ms count as 1 ms.
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

/// What a read (or a failed compare-and-set) found.
enum Found {
    Missing,
    Unchanged(u64),
    Data(u64, Vec<u8>),
}

/// The answer of a compare-and-set.
enum Written {
    Done(u64),
    Conflict(Found),
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
                        // Back off a random 0..2^(attempt-2) ms, at most 64 ms, so that writers
                        // colliding again and again spread out.
                        let cap = 1u64 << (attempt - 2).min(6);
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
        // Capped at a year: Redis refuses absurd expiry times.
        let ttl_ms = u64::try_from(self.refresh_lock_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, 365 * 24 * 3600 * 1000);
        // Made before the first `SET`: if the caller stops waiting (drops this future) just after
        // a `SET` succeeded, dropping the lease still releases it instead of leaving others
        // blocked until it expires. Releasing a lease we never got is harmless (compare-and-delete).
        let mut lease = Lease {
            conn: self.connection().await?,
            key: self.lock_key_for(partition),
            token: format!("{:016x}{:016x}", random_u64(), random_u64()),
            runtime: tokio::runtime::Handle::try_current().ok(),
        };
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
                return Ok(Some(RefreshLock::new(lease)));
            }
            tokio::time::sleep(Duration::from_millis(20 + random_u64() % 31)).await;
        }
    }
}

/// A held refresh lease; dropping it releases the lease in the background.
struct Lease {
    conn: ConnectionManager,
    key: String,
    token: String,
    /// The runtime the lease was taken on; without one the lease is left to expire.
    runtime: Option<tokio::runtime::Handle>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let mut conn = self.conn.clone();
        let key = std::mem::take(&mut self.key);
        let token = std::mem::take(&mut self.token);
        // Drop cannot await: release on the runtime. If it is shutting down, the lease expires.
        runtime.spawn(async move {
            let released: Result<Value, _> =
                RELEASE.key(key).arg(token).invoke_async(&mut conn).await;
            if let Err(err) = released {
                tracing::debug!(kind = ?err.kind(), "Redis cache: releasing a refresh lease failed; it will expire");
            }
        });
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

fn malformed() -> CacheError {
    CacheError::store("Redis: unexpected reply from the server's script")
}

/// A version or status number, sent as an integer or as a string of digits.
fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        _ => None,
    }
}

/// Parses a `{0}` / `{1, v}` / `{2, v, d}` reply. Never formats the reply (it may hold tokens).
fn parse_found(reply: Value) -> Result<Found, CacheError> {
    let Value::Array(items) = reply else {
        return Err(malformed());
    };
    let mut items = items.into_iter();
    let tag = items.next().as_ref().and_then(as_u64);
    let version = items.next().as_ref().and_then(as_u64);
    match (tag, version, items.next()) {
        (Some(0), None, None) => Ok(Found::Missing),
        (Some(1), Some(v), None) => Ok(Found::Unchanged(v)),
        (Some(2), Some(v), Some(Value::BulkString(bytes))) => Ok(Found::Data(v, bytes)),
        _ => Err(malformed()),
    }
}

/// Parses a compare-and-set reply: `{3, new version}` or a conflict shaped like a read.
fn parse_written(reply: Value) -> Result<Written, CacheError> {
    if let Value::Array(items) = &reply {
        if items.first().and_then(as_u64) == Some(3) {
            return match items.get(1).and_then(as_u64) {
                Some(version) if items.len() == 2 => Ok(Written::Done(version)),
                _ => Err(malformed()),
            };
        }
    }
    parse_found(reply).map(Written::Conflict)
}

/// The expiry MSAL.NET would suggest for a serialized cache: none when it holds a refresh token
/// or no access token (or is not a JSON object); otherwise until 5 minutes after the last access
/// token expires.
fn suggested_expiry(bytes: &[u8], now: u64) -> Option<Duration> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let doc = doc.as_object()?;
    let holds_refresh_token = match doc.get("RefreshToken") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Object(entries)) => !entries.is_empty(),
        Some(_) => true, // not what MSAL writes: keep it rather than guess
    };
    if holds_refresh_token {
        return None;
    }
    let last_expiry = doc
        .get("AccessToken")?
        .as_object()?
        .values()
        .filter_map(|at| match at.get("expires_on")? {
            serde_json::Value::String(text) => text.trim().parse::<u64>().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .filter(|&expires_on| expires_on <= now.saturating_add(MAX_PLAUSIBLE_LIFETIME_SECS))
        .max()?;
    Some(Duration::from_secs(
        last_expiry.saturating_sub(now) + EXPIRY_GRACE_SECS,
    ))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A hard to guess, never repeating 64-bit value (lease tokens, back-off jitter). Seeded by the
/// standard library's per-process random hash keys; no extra dependency.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// A Redis error's description (kind, code and server message; the client never puts the URL
/// or replies in it, and [`redact`] removes the password in case it did).
fn describe(err: &RedisError) -> String {
    err.to_string()
}

/// The password as written in the URL's user info (`scheme://user:password@host...`).
fn raw_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let user_info = &authority[..authority.rfind('@')?];
    Some(user_info.split_once(':')?.1)
}

/// `message` with every secret replaced by `***`.
fn redact(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_owned(), |m, s| m.replace(s.as_str(), "***"))
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
        for err in [store.error("GET", &RedisError::from(io)), malformed()] {
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
