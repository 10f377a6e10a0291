//! The app's view of its token cache: the indexed in-memory cache, kept in step with the store.
//!
//! Reads ask the store whether the data changed since the version in memory (one cheap call,
//! e.g. a `stat` for files) and re-parse only when it did. Writes are expressed as operations
//! that the store replays on its current data under its own lock ([`CacheStore::modify`]), so a
//! write never loses what another process wrote since we last read. Data that does not parse
//! aborts the write: an unreadable cache is never overwritten.

use std::sync::{Arc, RwLock};

use msal_cache::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, TokenCache,
};

use crate::Error;

struct State {
    cache: Arc<TokenCache>,
    version: Option<StoreVersion>,
}

/// The in-memory cache and, when configured, the store that persists it.
pub(crate) struct CacheAccess {
    store: Option<Arc<dyn CacheStore>>,
    state: RwLock<State>,
}

impl CacheAccess {
    pub(crate) fn new(store: Option<Arc<dyn CacheStore>>) -> Self {
        CacheAccess {
            store,
            state: RwLock::new(State {
                cache: Arc::new(TokenCache::new()),
                version: None,
            }),
        }
    }

    /// A snapshot of the cache, up to date with the store.
    pub(crate) async fn snapshot(
        &self,
        partition: Partition<'_>,
    ) -> Result<Arc<TokenCache>, Error> {
        if let Some(store) = &self.store {
            let known = self.read_state().version;
            match store.load(partition, known).await? {
                Loaded::Unchanged => {}
                Loaded::Missing => self.replace(Arc::new(TokenCache::new()), None, known),
                Loaded::Data { bytes, version } => {
                    let cache = TokenCache::from_json(&bytes).map_err(|e| self.locate(e))?;
                    self.replace(Arc::new(cache), Some(version), known);
                }
            }
        }
        Ok(Arc::clone(&self.read_state().cache))
    }

    /// Apply `op` to the cache, persisting it through the store. Returns what `op` returned
    /// when it ran on the stored data (or on the in-memory cache without a store).
    pub(crate) async fn write<T: Send>(
        &self,
        partition: Partition<'_>,
        mut op: impl FnMut(&mut TokenCache) -> T + Send,
    ) -> Result<T, Error> {
        let Some(store) = &self.store else {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            let out = op(Arc::make_mut(&mut state.cache));
            return Ok(out);
        };
        // The version our copy is at: when the store still holds it, the store skips reading
        // and parsing the data again and we apply the change to a copy of our own.
        let (known, ours) = {
            let state = self.read_state();
            (state.version, Arc::clone(&state.cache))
        };
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
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.cache = Arc::new(cache);
        state.version = Some(version);
        Ok(out)
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

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Install a freshly loaded cache unless a concurrent call already moved the state on.
    fn replace(
        &self,
        cache: Arc<TokenCache>,
        version: Option<StoreVersion>,
        expected: Option<StoreVersion>,
    ) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state.version == expected {
            state.cache = cache;
            state.version = version;
        }
    }
}
