//! The [`CacheStore`] trait: where a serialized token cache lives between calls and processes.
//!
//! A store keeps **opaque bytes**. The caller (msal-rs's client facade) serializes its tokens as
//! MSAL's unified cache JSON document, hands those bytes to the store, and parses whatever the
//! store gives back. Stores never look inside the bytes, which is what lets any storage back a
//! cache: a file ([`FileCache`](crate::FileCache)), process memory
//! ([`MemoryCache`](crate::MemoryCache)), or something of your own (Redis, a database, an OS
//! keychain...).
//!
//! # The contract
//!
//! * [`load`](CacheStore::load) returns the stored bytes with their [`StoreVersion`]. When the
//!   caller passes the version it already holds (`known`) and the stored data is still at exactly
//!   that version, the store may answer [`Loaded::Unchanged`] instead of moving the bytes again.
//!   It must answer `Unchanged` **only** when `known == Some(current version)`; in every other
//!   case it returns [`Loaded::Data`] or, when nothing is stored, [`Loaded::Missing`].
//! * [`modify`](CacheStore::modify) is an atomic read-modify-write: the store reads the current
//!   bytes, passes them to the update function, and stores what it returns, so that no write by
//!   any other writer the store knows about (another clone, another thread, another process when
//!   the store coordinates processes) happens in between and gets lost. A store may run the
//!   update function more than once (an optimistic store retries when it detects a concurrent
//!   write), so the function must be a pure function of its input. If the update function returns
//!   an error, the store writes nothing and returns that error.
//!
//! # Partitions
//!
//! Every call carries a [`Partition`] naming the part of the cache the caller needs. It is a
//! *hint*:
//!
//! * A **whole-document** store, like [`FileCache`](crate::FileCache) and
//!   [`MemoryCache`](crate::MemoryCache), ignores it and keeps one document holding every account
//!   and app token.
//! * A **partitioned** store keeps one document per partition and says so with
//!   [`CacheStore::partitioned`]. A public client (a desktop or command-line app: one user's
//!   cache, and `accounts()` must see every account) always passes `Partition::All`. A
//!   confidential client, serving many users or tenants, names the one partition each call
//!   concerns: `Partition::Account(home_account_id)` for a user's tokens (authorization code,
//!   silent calls), `Partition::App { client_id, tenant }` for app-only (client-credential)
//!   tokens, and `Partition::UserAssertion(hash)` for on-behalf-of tokens. How a partitioned
//!   store answers `All` is its own choice (keep a separate document, merge the per-account
//!   documents...), as long as it is consistent between `load` and `modify`.
//!   [`Partition::key`] gives each partition a stable storage name.
//!
//! Versions are per partition: a version returned for one partition is only ever compared with
//! versions of that same partition.
//!
//! # Implementing a store
//!
//! A complete, if simple, partitioned store keeping its documents in memory:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! use msal_cache::{CacheError, CacheStore, Current, Loaded, Partition, StoreVersion, UpdateFn};
//!
//! /// One document per partition: bytes and a per-document version counter.
//! #[derive(Default)]
//! struct PartitionedStore {
//!     docs: Mutex<HashMap<String, (Vec<u8>, u64)>>,
//! }
//!
//! fn key(partition: Partition<'_>) -> String {
//!     // `all`, `account:{id}`, `app:{client}:{tenant}` or `obo:{hash}`.
//!     partition.key()
//! }
//!
//! #[async_trait::async_trait]
//! impl CacheStore for PartitionedStore {
//!     async fn load(
//!         &self,
//!         partition: Partition<'_>,
//!         known: Option<StoreVersion>,
//!     ) -> Result<Loaded, CacheError> {
//!         let docs = self.docs.lock().map_err(|_| CacheError::store("lock poisoned"))?;
//!         Ok(match docs.get(&key(partition)) {
//!             None => Loaded::Missing,
//!             Some((_, tag)) if known == Some(StoreVersion::new(*tag)) => Loaded::Unchanged,
//!             Some((bytes, tag)) => Loaded::Data {
//!                 bytes: bytes.clone(),
//!                 version: StoreVersion::new(*tag),
//!             },
//!         })
//!     }
//!
//!     async fn modify(
//!         &self,
//!         partition: Partition<'_>,
//!         known: Option<StoreVersion>,
//!         update: &mut UpdateFn<'_>,
//!     ) -> Result<StoreVersion, CacheError> {
//!         // Holding the lock across read, update and write makes the step atomic. There is
//!         // no `.await` while it is held.
//!         let mut docs = self.docs.lock().map_err(|_| CacheError::store("lock poisoned"))?;
//!         let key = key(partition);
//!         let (current, tag) = match docs.get(&key) {
//!             // The caller's copy is current: it need not be handed the bytes again.
//!             Some((_, tag)) if known == Some(StoreVersion::new(*tag)) => (Current::Unchanged, *tag),
//!             Some((bytes, tag)) => (Current::Data(bytes.as_slice()), *tag),
//!             None => (Current::Missing, 0),
//!         };
//!         let new_bytes = update(current)?; // an error leaves the document untouched
//!         docs.insert(key, (new_bytes, tag + 1));
//!         Ok(StoreVersion::new(tag + 1))
//!     }
//!
//!     fn partitioned(&self) -> bool {
//!         true
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = PartitionedStore::default();
//! let alice = Partition::Account("alice.tenant");
//! assert_eq!(store.load(alice, None).await?, Loaded::Missing);
//!
//! let version = store.modify(alice, None, &mut |_current| Ok(b"{}".to_vec())).await?;
//! assert_eq!(store.load(alice, Some(version)).await?, Loaded::Unchanged);
//! assert_eq!(store.load(Partition::Account("bob.tenant"), None).await?, Loaded::Missing);
//! # Ok::<(), CacheError>(())
//! # }).unwrap();
//! ```
//!
//! Notes for implementers:
//!
//! * The futures must be `Send` (the trait uses [`async_trait`]), so never hold a
//!   `std::sync::Mutex` guard across an `.await`. Holding one across a synchronous update
//!   function, as above, is fine.
//! * Do not call back into the same store from inside the update function: a store that holds a
//!   lock while it runs the update would deadlock.
//! * Report your own failures with [`CacheError::store`]. Never put tokens or cache contents in an
//!   error message.
//! * `Arc<S>` and `Box<S>` (including `Arc<dyn CacheStore>`) are stores whenever `S` is.

use std::sync::Arc;

use crate::CacheError;

/// Opaque version tag of stored data: equal tags mean the stored bytes did not change.
///
/// Versions are only compared with versions the same store returned for the same partition; a
/// store chooses how to make them (a counter, a hash of file metadata, a database row
/// version...). They are never persisted by msal-rs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreVersion(u64);

impl StoreVersion {
    /// Make a version from any 64-bit tag (a counter, a hash of file metadata, a Redis version...).
    pub fn new(tag: u64) -> Self {
        StoreVersion(tag)
    }
    /// The tag this version was made from.
    pub fn tag(self) -> u64 {
        self.0
    }
}

/// Which part of the cache a call needs: a hint that partitioned stores use to move less data.
///
/// Whole-document stores ignore it. See the [module documentation](self#partitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Partition<'a> {
    /// The whole cache (listing accounts, a sign-in for an account not known yet).
    All,
    /// The tokens of one user, by `home_account_id`.
    Account(&'a str),
    /// The app-only tokens of one client in one tenant.
    App {
        /// The application (client) id.
        client_id: &'a str,
        /// The tenant.
        tenant: &'a str,
    },
    /// The on-behalf-of tokens obtained with one incoming user assertion, by the assertion's
    /// hash (base64url SHA-256, MSAL.NET's `user_assertion_hash`).
    UserAssertion(&'a str),
}

impl Partition<'_> {
    /// A stable name for the partition, usable as a storage key: `all`, `account:{id}`,
    /// `app:{client}:{tenant}` or `obo:{hash}` (ids and tenants lowercased, since MSAL
    /// compares them without regard to case).
    pub fn key(&self) -> String {
        match self {
            Partition::All => "all".to_owned(),
            Partition::Account(id) => format!("account:{}", id.to_ascii_lowercase()),
            Partition::App { client_id, tenant } => format!(
                "app:{}:{}",
                client_id.to_ascii_lowercase(),
                tenant.to_ascii_lowercase()
            ),
            Partition::UserAssertion(hash) => format!("obo:{hash}"),
        }
    }
}

/// The outcome of [`CacheStore::load`]. `Debug` shows the length of the data, never the data
/// (it holds tokens).
#[derive(Clone, PartialEq, Eq)]
pub enum Loaded {
    /// The stored data is still the version the caller already has.
    Unchanged,
    /// Nothing is stored yet.
    Missing,
    /// The stored data and its version.
    Data {
        /// The serialized cache (the unified JSON schema, or whatever the store keeps).
        bytes: Vec<u8>,
        /// Its version.
        version: StoreVersion,
    },
}

/// What [`CacheStore::modify`] hands its update function: the data stored right now. `Debug`
/// shows the length of the data, never the data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Current<'a> {
    /// The stored data is still at the version the caller passed as `known`: the caller's own
    /// copy is current, so the store did not read (or send) the bytes again.
    Unchanged,
    /// Nothing is stored.
    Missing,
    /// The stored bytes.
    Data(&'a [u8]),
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loaded::Unchanged => f.write_str("Unchanged"),
            Loaded::Missing => f.write_str("Missing"),
            Loaded::Data { bytes, version } => f
                .debug_struct("Data")
                .field("bytes", &format_args!("[{} bytes]", bytes.len()))
                .field("version", version)
                .finish(),
        }
    }
}

impl std::fmt::Debug for Current<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Current::Unchanged => f.write_str("Unchanged"),
            Current::Missing => f.write_str("Missing"),
            Current::Data(bytes) => write!(f, "Data([{} bytes])", bytes.len()),
        }
    }
}

impl<'a> Current<'a> {
    /// The bytes, when the store passed them (`None` for [`Current::Unchanged`] as well as for
    /// [`Current::Missing`]: tell those apart by matching when `known` was given).
    pub fn data(self) -> Option<&'a [u8]> {
        match self {
            Current::Data(bytes) => Some(bytes),
            _ => None,
        }
    }
}

/// The update function handed to [`CacheStore::modify`]: given what is stored now, return the
/// bytes to store. It may be called more than once by stores that retry on conflict, and an
/// error from it aborts the write and leaves the stored data as it was.
pub type UpdateFn<'f> = dyn for<'a> FnMut(Current<'a>) -> Result<Vec<u8>, CacheError> + Send + 'f;

/// A held cross-process refresh lock (see [`CacheStore::lock_refresh`]); released on drop.
pub struct RefreshLock {
    _guard: Box<dyn Send + Sync>,
}

impl RefreshLock {
    /// Wrap whatever releases the lock when dropped (a locked file, a lease handle, ...).
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        RefreshLock {
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshLock")
    }
}

/// Where a serialized token cache lives. Implement it to keep the cache anywhere.
///
/// See the [module documentation](self) for the contract, partitions and an example
/// implementation.
#[async_trait::async_trait]
pub trait CacheStore: Send + Sync {
    /// Read the stored data, unless it is still at version `known`.
    ///
    /// Returns [`Loaded::Unchanged`] only when `known == Some(v)` and `v` is the current version
    /// of `partition`'s data; [`Loaded::Missing`] when nothing is stored; otherwise
    /// [`Loaded::Data`] with the bytes and the version that describes exactly those bytes.
    ///
    /// A version must never describe two different contents of a partition, not even across a
    /// delete and a re-create: a counter that restarts at 1 for a re-created partition would
    /// make a caller holding the old version 1 trust stale data. Start new partitions from a
    /// clock, a random value or a global counter (as `RedisCache` and `MemoryCache` do).
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError>;

    /// Read-modify-write the stored data as one atomic step and return the new version.
    ///
    /// `update` receives what is stored now ([`Current`]) and returns the bytes to store. No other writer the store knows about may write between the read and the
    /// write. `update` may run more than once; if it returns an error, nothing is written and
    /// that error is returned. The returned version is the one a following
    /// [`load`](CacheStore::load) reports while nobody else has written.
    ///
    /// `known` is the version the caller already holds. When the stored data is still at that
    /// version a store may pass [`Current::Unchanged`] instead of reading the bytes again (the
    /// caller then updates its own copy); without `known`, or when the data changed, it passes
    /// [`Current::Data`] or [`Current::Missing`].
    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError>;

    /// Take the lock that serializes token refreshes across every process sharing this store,
    /// waiting for it as long as it takes (the caller bounds the wait). Rotating refresh tokens
    /// are single-use: two processes redeeming the same one at once can get the user's whole
    /// session revoked, so the second process waits here, then re-reads the cache and finds the
    /// first one's result.
    ///
    /// The default returns `Ok(None)`: the store does not coordinate. Then only each
    /// application object's own single-flight applies, so two application objects (or two
    /// processes) sharing such a store may both redeem the same refresh token. A lock must be
    /// released when the [`RefreshLock`] is dropped and when its holder dies (a file lock is; a
    /// lease needs a time limit).
    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        let _ = partition;
        Ok(None)
    }

    /// Where the data lives, for error messages (a file path; `None` for stores that have
    /// none). When stored data does not parse, the error names this location.
    fn location(&self) -> Option<&std::path::Path> {
        None
    }

    /// Whether the store keeps one document per [`Partition`] (default `false`: one document
    /// for everything, and partitions are ignored).
    ///
    /// The application keeps its in-memory copy the same way: one copy per partition for a
    /// partitioned store, so a confidential client serving many users or tenants reads, copies
    /// and writes only the partition a request touches; one copy in all for a whole-document
    /// store, so the document is held once however many partitions the requests name.
    fn partitioned(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl<T: CacheStore + ?Sized> CacheStore for Arc<T> {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        (**self).load(partition, known).await
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        (**self).modify(partition, known, update).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        (**self).lock_refresh(partition).await
    }

    fn location(&self) -> Option<&std::path::Path> {
        (**self).location()
    }

    fn partitioned(&self) -> bool {
        (**self).partitioned()
    }
}

#[async_trait::async_trait]
impl<T: CacheStore + ?Sized> CacheStore for Box<T> {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        (**self).load(partition, known).await
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        (**self).modify(partition, known, update).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        (**self).lock_refresh(partition).await
    }

    fn location(&self) -> Option<&std::path::Path> {
        (**self).location()
    }

    fn partitioned(&self) -> bool {
        (**self).partitioned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_round_trips_its_tag() {
        assert_eq!(StoreVersion::new(42).tag(), 42);
        assert_eq!(StoreVersion::new(7), StoreVersion::new(7));
        assert_ne!(StoreVersion::new(7), StoreVersion::new(8));
    }

    fn assert_store<S: CacheStore>() {}

    #[test]
    fn smart_pointers_are_stores() {
        assert_store::<Arc<dyn CacheStore>>();
        assert_store::<Box<dyn CacheStore>>();
        assert_store::<Arc<crate::MemoryCache>>();
        assert_store::<Box<crate::FileCache>>();
    }
}
