// Module map: the cache, no HTTP client.
//   schema/: the five entry kinds of MSAL's unified cache (types, reading, writing)
//   index/: the in-memory TokenCache (buckets, storage, queries, write-back rules, load, save)
//   intern, prehashed, keys: string sharing, pre-hashed keys, cache keys
//   store: the CacheStore trait; memory, file/, encrypted/, redis/, sqlite/, postgres/: the stores
//   url_secrets: a connection URL's password kept out of messages (redis, postgres)
//   error: CacheError

//! # msal-cache
//!
//! MSAL's token cache for [msal-rs](https://github.com/msal-rs/msal-rs), usable on its own: it
//! depends on `msal-core` and serde only (no HTTP client, no async runtime), so a tool that
//! reads, inspects or migrates token caches pulls nothing else.
//!
//! - [`schema`]: the five entry kinds of MSAL's *unified cache schema*, the JSON that MSAL.NET,
//!   MSAL Python and MSAL Node share. Both dialects are read (Python's `key_id`, `target` on
//!   refresh tokens, `null` home account ids; .NET's `kid`, `ext_expires_on`, omitted Bearer
//!   `token_type`); unknown fields and unknown top-level sections survive a round trip.
//! - [`keys`]: cache keys in Python's dialect, always rebuilt from entry content, never parsed.
//! - [`index`]: [`TokenCache`], the indexed in-memory cache. A lookup is one hash probe into a
//!   bucket named by (account, cloud, client, tenant) plus a subset test on the few entries in
//!   it, so it costs the same with one account or a million. Environment aliases
//!   (`login.windows.net` = `login.microsoftonline.com`, ...) share buckets. It also holds the
//!   write-back rules ([`TokenCache::apply`]) and account listing and removal. Its module doc
//!   maps its parts (buckets, storage, query, write-back, load, save).
//! - [`store`]: the [`CacheStore`] trait, where the serialized cache lives between calls and
//!   processes, with [`MemoryCache`], [`FileCache`] (cross-process locked, atomic, 0600),
//!   [`EncryptedFileCache`] (XChaCha20-Poly1305; key from the caller, a passphrase through
//!   Argon2id, or the OS keyring), with the `redis` feature `RedisCache`, with the `sqlite`
//!   feature `SqliteCache` (a row per partition, for servers on one host) and with the
//!   `postgres` feature `PostgresCache` (a row per partition in PostgreSQL, for web farms that
//!   run it: `PostgresCache::connect(url).await?`, see its module); implement it to keep the
//!   cache anywhere else.
//!
//! ```
//! use msal_cache::{AccessTokenQuery, TokenCache};
//! use msal_core::ScopeSet;
//!
//! let json = br#"{"AccessToken": {"any-key": {
//!     "credential_type": "AccessToken", "secret": "at", "home_account_id": "uid.utid",
//!     "environment": "login.windows.net", "client_id": "my-app", "realm": "utid",
//!     "target": "email openid profile User.Read", "cached_at": "1700000000",
//!     "expires_on": "1700003600", "extended_expires_on": "1700003600"}}}"#;
//! let cache = TokenCache::from_json(json)?;
//! let scopes = ScopeSet::new(["user.read"]);
//! let hit = cache.find_access_token(&AccessTokenQuery {
//!     home_account_id: Some("uid.utid"),
//!     environment: "login.microsoftonline.com", // an alias of login.windows.net
//!     client_id: "my-app",
//!     realm: "utid",
//!     scopes: &scopes,
//!     max_expires_on: u64::MAX,
//! });
//! assert_eq!(hit.map(|at| at.expires_on), Some(1_700_003_600));
//! # Ok::<(), msal_cache::CacheError>(())
//! ```
//!
//! Inside the crate, imports go one way: `prehashed` (a hasher for keys that are already
//! hashes) ← `intern` (a load's shared strings) ← [`schema`] ← [`index`] ← the stores.
//!
//! Strings in entries are [`ArcStr`] (re-exported from the `arcstr` crate): an 8-byte,
//! reference-counted, immutable string. A loaded cache stores each value that repeats across
//! entries once (an account's home account id is shared by its access, refresh and ID tokens and
//! its account entry; the cloud, client, tenant and scopes by every entry that has them) and the
//! schema's constants (`AccessToken`, `Bearer`, ...) take no memory at all, which is most of what
//! a large cache holds besides the secrets. The secrets are [`SharedSecret`]s (msal-core's
//! redacting `ArcStr`): handing a token out of the cache is a reference count increment, not a
//! copy, and no entry's `Debug` can show one. `ArcStr` dereferences to `str`, compares with `&str` and `String`,
//! and is made with `.into()` from either.
//!
//! Choices where the other MSAL libraries differ or say nothing:
//! - Keys are written in Python's dialect (lowercased, sorted `target`), refresh-token keys
//!   without target and family refresh tokens keyed by family id, as decided for msal-rs.
//! - Two entries whose rebuilt keys collide on load (the same token written by two libraries)
//!   keep the access token expiring last and the refresh token modified last.
//! - An entry that does not parse as its kind is kept verbatim and written back unchanged; only
//!   data that is not a JSON object at all is [`CacheError::Corrupt`].
//! - Accounts are listed only when the app holds a usable refresh token for them (MSAL.NET's
//!   rule; an account no refresh token backs would only lead to "interaction required").
//! - Expired access tokens are purged on write: every [`TokenCache::apply`] that goes ahead
//!   removes the access tokens of that cache (for a partitioned store, the partition written)
//!   whose `expires_on` is before the write's time (the redeemed refresh token's `now`, else
//!   the new access token's `cached_at`), so they are not saved again and a cache written to
//!   for years does not grow with dead tokens. Refresh tokens, ID tokens, accounts and app
//!   metadata are never purged. The other MSAL libraries never use an expired access token
//!   (MSAL.NET deletes the ones it finds on read), so nothing they would read is lost.
pub mod encrypted;
pub mod error;
pub mod file;
pub mod index;
mod intern;
pub mod keys;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod prehashed;
#[cfg(feature = "redis")]
pub mod redis;
pub mod schema;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod url_secrets;

#[cfg(feature = "postgres")]
pub use crate::postgres::PostgresCache;
#[cfg(feature = "redis")]
pub use crate::redis::RedisCache;
#[cfg(feature = "sqlite")]
pub use crate::sqlite::SqliteCache;
pub use arcstr::ArcStr;
pub use encrypted::{DerivedKeyStore, EncryptedFileCache};
pub use error::CacheError;
pub use file::FileCache;
pub use index::{
    AccessTokenQuery, AccountRemoval, KeyBinding, RedeemedRefreshToken, TokenCache, TokenWrite,
    REDEMPTION_STARTED, USER_ASSERTION_HASH,
};
pub use memory::MemoryCache;
pub use msal_core::SharedSecret;
pub use store::{CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn};
