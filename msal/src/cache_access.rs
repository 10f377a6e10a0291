//! The app's view of its token cache: the indexed in-memory cache, kept in step with the store.
//!
//! Reads ask the store whether the data changed since the version in memory (one cheap call,
//! e.g. a `stat` for files) and re-parse only when it did. Writes are expressed as operations
//! that the store replays on its current data under its own lock ([`CacheStore::modify`]), so a
//! write never loses what another process wrote since we last read. Data that does not parse
//! aborts the write: an unreadable cache is never overwritten.
//!
//! # Partitions in memory
//!
//! With a whole-document store (a file, or no store for a public client) there is one
//! in-memory cache. With a partitioned store ([`CacheStore::partitioned`], e.g. Redis), and for
//! a confidential client keeping its cache in memory, there is one in-memory cache per
//! [`Partition`]: a web app or API serving many users and tenants then copies and writes only
//! the partition a request touches, never everyone's tokens (MSAL.NET does the same). The map
//! of partitions is bounded ([`PartitionMap`]: 10,000 by default, least recently used out
//! first); an evicted partition of a persistent store is simply read again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use msal_cache::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, TokenCache,
};

use crate::hit_memo::HitMemo;
use crate::partition_map::PartitionMap;
use crate::Error;

#[derive(Clone)]
pub(crate) struct State {
    cache: Arc<TokenCache>,
    version: Option<StoreVersion>,
    /// Unique to this copy of the cache (see [`HitMemo`]): a new copy, a new generation.
    generation: u64,
}

/// Generations are unique in the process, so an entry of one app's memo can never match a
/// copy it was not built from.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

impl State {
    fn new(cache: Arc<TokenCache>, version: Option<StoreVersion>) -> Self {
        State {
            cache,
            version,
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State::new(Arc::new(TokenCache::new()), None)
    }
}

/// The in-memory copies: one for a whole-document store, one per partition otherwise.
///
/// The single copy is read lock-free (`ArcSwap`): every cache hit reads it, and threads sharing
/// an app must not contend on a lock or a reference count for that. Writers serialize on the
/// mutex beside it.
enum Slots {
    Single(ArcSwap<State>, Mutex<()>),
    Partitioned(PartitionMap<State>),
}

/// The in-memory cache and, when configured, the store that persists it.
pub(crate) struct CacheAccess {
    store: Option<Arc<dyn CacheStore>>,
    slots: Slots,
    /// Recent silent hits, valid for the generation they were built from.
    pub(crate) memo: HitMemo,
}

impl CacheAccess {
    /// `partition_in_memory`: keep one in-memory cache per partition even without a store
    /// (confidential clients).
    /// `max_partitions`: the bound on in-memory partitions (see [`PartitionMap`]).
    pub(crate) fn new(
        store: Option<Arc<dyn CacheStore>>,
        partition_in_memory: bool,
        max_partitions: usize,
    ) -> Self {
        let partitioned = match &store {
            Some(store) => store.partitioned(),
            None => partition_in_memory,
        };
        CacheAccess {
            store,
            slots: if partitioned {
                Slots::Partitioned(PartitionMap::new(max_partitions))
            } else {
                Slots::Single(ArcSwap::from_pointee(State::default()), Mutex::new(()))
            },
            memo: HitMemo::new(),
        }
    }

    /// The in-memory state of `partition` (a copy: two `Arc`s and a version).
    fn state(&self, partition: Partition<'_>) -> State {
        match &self.slots {
            Slots::Single(state, _) => State::clone(&state.load()),
            Slots::Partitioned(map) => map.get(&partition.key()).unwrap_or_default(),
        }
    }

    /// Set `partition`'s state, when `only_if_at` is `None` or the state is still at that
    /// version (a concurrent call may have moved it on).
    fn set_state(
        &self,
        partition: Partition<'_>,
        new: State,
        only_if_at: Option<Option<StoreVersion>>,
    ) {
        let stale = |current: &State| only_if_at.is_some_and(|v| current.version != v);
        self.memo.clear();
        match &self.slots {
            Slots::Single(state, writer) => {
                let _writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                if !stale(&state.load()) {
                    state.store(Arc::new(new));
                }
            }
            Slots::Partitioned(map) => map.update(partition.key(), |slot| {
                if !stale(slot) {
                    *slot = new;
                }
            }),
        }
    }

    /// A snapshot of the cache, up to date with the store.
    pub(crate) async fn snapshot(
        &self,
        partition: Partition<'_>,
    ) -> Result<Arc<TokenCache>, Error> {
        let current = self.state(partition);
        let Some(store) = &self.store else {
            return Ok(current.cache);
        };
        Ok(self
            .load_changed(store.as_ref(), partition, current.version)
            .await?
            .map_or(current.cache, |fresh| fresh.cache))
    }

    /// The generation of `partition`'s in-memory copy, up to date with the store (the
    /// memo's validity check: one "unchanged?" question to the store, as every hit asks).
    pub(crate) async fn generation(&self, partition: Partition<'_>) -> Result<u64, Error> {
        self.read(partition, None, |_, generation| generation).await
    }

    /// Run `f` on the cache, up to date with the store, with the copy's generation: like
    /// [`snapshot`](Self::snapshot), but the single in-memory copy is read in place, without
    /// taking a reference to it (the cache-hit path).
    ///
    /// `validated`: a generation this call already had the store confirm (the hit memo asked
    /// it just before); while it is still the one in memory, the store is not asked again.
    pub(crate) async fn read<T>(
        &self,
        partition: Partition<'_>,
        validated: Option<u64>,
        f: impl FnOnce(&TokenCache, u64) -> T,
    ) -> Result<T, Error> {
        let Slots::Single(state, _) = &self.slots else {
            let current = self.state(partition);
            let fresh = match &self.store {
                Some(_) if validated == Some(current.generation) => None,
                Some(store) => {
                    self.load_changed(store.as_ref(), partition, current.version)
                        .await?
                }
                None => None,
            };
            let state = fresh.unwrap_or(current);
            return Ok(f(&state.cache, state.generation));
        };
        let current = state.load();
        let store = match &self.store {
            Some(store) if validated != Some(current.generation) => store,
            _ => return Ok(f(&current.cache, current.generation)),
        };
        let known = current.version;
        drop(current);
        match self.load_changed(store.as_ref(), partition, known).await? {
            None => {
                let current = state.load();
                Ok(f(&current.cache, current.generation))
            }
            Some(fresh) => Ok(f(&fresh.cache, fresh.generation)),
        }
    }

    /// Ask the store whether `partition` changed since `known`; if it did, parse and install
    /// the new data and return it.
    async fn load_changed(
        &self,
        store: &dyn CacheStore,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Option<State>, Error> {
        let fresh = match store.load(partition, known).await? {
            Loaded::Unchanged => return Ok(None),
            Loaded::Missing => State::default(),
            Loaded::Data { bytes, version } => State::new(
                Arc::new(TokenCache::from_json(&bytes).map_err(|e| self.locate(e))?),
                Some(version),
            ),
        };
        self.set_state(partition, fresh.clone(), Some(known));
        Ok(Some(fresh))
    }

    /// Apply `op` to the cache, persisting it through the store. Returns what `op` returned
    /// when it ran on the stored data (or on the in-memory cache without a store).
    pub(crate) async fn write<T: Send>(
        &self,
        partition: Partition<'_>,
        mut op: impl FnMut(&mut TokenCache) -> T + Send,
    ) -> Result<T, Error> {
        let Some(store) = &self.store else {
            return Ok(self.write_in_memory(partition, op));
        };
        // The version our copy is at: when the store still holds it, the store skips reading
        // and parsing the data again and we apply the change to a copy of our own.
        let State {
            version: known,
            cache: ours,
            ..
        } = self.state(partition);
        let mut result: Option<(T, TokenCache)> = None;
        let mut update = |current: Current<'_>| -> Result<Vec<u8>, CacheError> {
            let mut cache = match current {
                Current::Unchanged => (*ours).clone(),
                Current::Data(bytes) => TokenCache::from_json(bytes)?,
                Current::Missing => TokenCache::new(),
            };
            let out = op(&mut cache);
            let bytes = cache.to_json();
            result = Some((out, cache));
            Ok(bytes)
        };
        let version = store
            .modify(partition, known, &mut update)
            .await
            .map_err(|e| self.locate(e))?;
        let (out, cache) = result
            .ok_or_else(|| Error::Internal("the cache store did not run the update".into()))?;
        self.set_state(partition, State::new(Arc::new(cache), Some(version)), None);
        Ok(out)
    }

    /// Without a store the in-memory cache is the cache. A partition's copy is changed in place
    /// under the map's lock. The single copy is read lock-free, so a write changes a copy of it
    /// and publishes that: O(cache) per write, like a store's whole-document save, and writes
    /// are rare (a sign-in, or one refresh per token lifetime) next to reads.
    fn write_in_memory<T>(
        &self,
        partition: Partition<'_>,
        mut op: impl FnMut(&mut TokenCache) -> T,
    ) -> T {
        match &self.slots {
            Slots::Single(state, writer) => {
                let _writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                let current = state.load();
                let mut cache = Arc::clone(&current.cache);
                let out = op(Arc::make_mut(&mut cache));
                state.store(Arc::new(State::new(cache, current.version)));
                self.memo.clear();
                out
            }
            Slots::Partitioned(map) => {
                let out = map.update(partition.key(), |slot| {
                    let out = op(Arc::make_mut(&mut slot.cache));
                    slot.generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
                    out
                });
                self.memo.clear();
                out
            }
        }
    }

    /// Name the store's location in a "corrupt data" error that does not say where it was.
    fn locate(&self, error: CacheError) -> CacheError {
        match (error, self.store.as_ref().and_then(|s| s.location())) {
            (
                CacheError::Corrupt {
                    location: None,
                    message,
                },
                Some(path),
            ) => CacheError::Corrupt {
                location: Some(path.to_path_buf()),
                message,
            },
            (error, _) => error,
        }
    }

    /// Take the store's cross-process refresh lock, if it has one (see
    /// [`CacheStore::lock_refresh`]).
    pub(crate) async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, Error> {
        match &self.store {
            Some(store) => Ok(store.lock_refresh(partition).await?),
            None => Ok(None),
        }
    }
}
