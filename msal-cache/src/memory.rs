//! [`MemoryCache`]: a token cache store that lives in process memory.
//!
//! It keeps one serialized document (whole-document store: the [`Partition`] hint is ignored)
//! and forgets it when the last clone is dropped. Clones share the same storage, so two
//! application objects holding clones of one `MemoryCache` see each other's tokens the way two
//! processes sharing a [`FileCache`](crate::FileCache) do.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};

/// The shared state: the stored bytes (if any) and their version counter.
#[derive(Default)]
struct Slot {
    bytes: Option<Vec<u8>>,
    /// 0 while nothing was ever stored; incremented by every successful write.
    version: u64,
}

/// An in-memory, whole-document [`CacheStore`].
///
/// Cloning is cheap and the clones share storage. Versions are a counter that starts at 1 for the
/// first stored data and grows with every successful [`modify`](CacheStore::modify).
///
/// ```
/// use msal_cache::{CacheStore, Loaded, MemoryCache, Partition};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cache = MemoryCache::new();
/// let shared = cache.clone();
/// shared.modify(Partition::All, None, &mut |_| Ok(b"{}".to_vec())).await?;
/// assert_eq!(cache.snapshot().as_deref(), Some(&b"{}"[..]));
/// assert!(matches!(cache.load(Partition::All, None).await?, Loaded::Data { .. }));
/// # Ok::<(), msal_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct MemoryCache {
    slot: Arc<Mutex<Slot>>,
    /// The version of the stored bytes, readable without the lock (0: nothing stored). Every
    /// cache hit asks "still at version v?"; answering from an atomic keeps threads sharing
    /// an app from queueing on the mutex for it.
    published: Arc<AtomicU64>,
    refresh: Arc<AsyncLock>,
}

/// A fair async lock that needs no runtime: waiters queue with one-shot channels and the holder
/// hands the lock to the next one when its guard drops. Application objects sharing one
/// `MemoryCache` take it around refreshes, so they redeem a refresh token once, like processes
/// sharing a `FileCache`.
#[derive(Default)]
struct AsyncLock {
    state: Mutex<LockState>,
}

#[derive(Default)]
struct LockState {
    held: bool,
    waiters: std::collections::VecDeque<futures_channel::oneshot::Sender<LockGuard>>,
}

/// Holding the refresh lock; dropping it hands the lock on. (`None` once handed on or refused.)
struct LockGuard {
    lock: Option<Arc<AsyncLock>>,
}

impl AsyncLock {
    async fn acquire(self: &Arc<Self>) -> LockGuard {
        let waiter = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if !state.held {
                state.held = true;
                return LockGuard {
                    lock: Some(Arc::clone(self)),
                };
            }
            let (tx, rx) = futures_channel::oneshot::channel();
            state.waiters.push_back(tx);
            rx
        };
        match waiter.await {
            Ok(guard) => guard,
            // The holder's guard is always sent to a live waiter or releases the lock; a
            // cancelled send cannot reach us, so this arm only runs if the lock itself vanished.
            Err(_) => LockGuard {
                lock: Some(Arc::clone(self)),
            },
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        let mut state = lock.state.lock().unwrap_or_else(|p| p.into_inner());
        // Hand the lock to the first waiter still waiting; a waiter that gave up refuses the
        // guard, which is disarmed (so its drop does nothing) and offered to the next.
        while let Some(next) = state.waiters.pop_front() {
            let guard = LockGuard {
                lock: Some(Arc::clone(&lock)),
            };
            match next.send(guard) {
                Ok(()) => return,
                Err(mut refused) => refused.lock = None,
            }
        }
        state.held = false;
    }
}

impl MemoryCache {
    /// An empty cache: [`load`](CacheStore::load) answers [`Loaded::Missing`] until the first
    /// write.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cache that starts with `bytes` (a serialized cache, e.g. exported earlier with
    /// [`snapshot`](Self::snapshot)) stored at version 1.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        MemoryCache {
            slot: Arc::new(Mutex::new(Slot {
                bytes: Some(bytes),
                version: 1,
            })),
            published: Arc::new(AtomicU64::new(1)),
            refresh: Arc::default(),
        }
    }

    /// A copy of the stored bytes, `None` when nothing is stored. For tests and export.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        self.lock().bytes.clone()
    }

    /// Lock the slot. A panic inside an update function poisons the mutex, but the slot is only
    /// changed after the update returned, so its contents are always consistent: recover them.
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for MemoryCache {
    /// Prints only the stored length and version, never the contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("MemoryCache");
        // `try_lock`: Debug may be called from inside an update function holding the lock.
        match self.slot.try_lock() {
            Ok(slot) => out
                .field("len", &slot.bytes.as_ref().map(Vec::len))
                .field("version", &slot.version),
            Err(_) => out.field("state", &"<locked>"),
        };
        out.finish()
    }
}

#[async_trait::async_trait]
impl CacheStore for MemoryCache {
    async fn load(
        &self,
        _partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        // A write publishes its version only once its bytes are in place (under the lock), so
        // a match here means those bytes are still the current ones.
        let published = self.published.load(Ordering::Acquire);
        if published != 0 && known == Some(StoreVersion::new(published)) {
            return Ok(Loaded::Unchanged);
        }
        let slot = self.lock();
        let version = StoreVersion::new(slot.version);
        Ok(match &slot.bytes {
            None => Loaded::Missing,
            Some(_) if known == Some(version) => Loaded::Unchanged,
            Some(bytes) => Loaded::Data {
                bytes: bytes.clone(),
                version,
            },
        })
    }

    async fn lock_refresh(
        &self,
        _partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        Ok(Some(RefreshLock::new(self.refresh.acquire().await)))
    }

    async fn modify(
        &self,
        _partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        // Held across the read, the update and the write: that is what makes them atomic.
        // There is no `.await` in this function.
        let mut slot = self.lock();
        let current = match slot.bytes.as_deref() {
            None => Current::Missing,
            Some(_) if known == Some(StoreVersion::new(slot.version)) => Current::Unchanged,
            Some(bytes) => Current::Data(bytes),
        };
        let new_bytes = update(current)?;
        slot.bytes = Some(new_bytes);
        slot.version += 1;
        self.published.store(slot.version, Ordering::Release);
        Ok(StoreVersion::new(slot.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refresh_lock_is_handed_on_in_order_and_skips_cancelled_waiters() {
        let cache = MemoryCache::new();
        let first = cache.lock_refresh(Partition::All).await.unwrap();
        // A waiter that gives up before its turn must not keep the lock from the others.
        let mut gave_up = Box::pin(cache.lock_refresh(Partition::All));
        tokio::select! {
            biased;
            _ = &mut gave_up => panic!("the lock is held"),
            _ = std::future::ready(()) => {}
        }
        drop(gave_up);
        let (tx, rx) = std::sync::mpsc::channel();
        for n in [1, 2] {
            let (cache, tx) = (cache.clone(), tx.clone());
            tokio::spawn(async move {
                let _guard = cache.lock_refresh(Partition::All).await.unwrap();
                tx.send(n).unwrap();
                tokio::task::yield_now().await;
            });
            tokio::task::yield_now().await; // let it queue up, in order
        }
        assert!(
            rx.try_recv().is_err(),
            "nobody may get the lock while it is held"
        );
        drop(first);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1, 2]);
        // Free again afterwards.
        assert!(cache.lock_refresh(Partition::All).await.unwrap().is_some());
    }

    #[test]
    fn debug_shows_length_and_version_only() {
        let cache = MemoryCache::from_bytes(b"secret-token".to_vec());
        let text = format!("{cache:?}");
        assert_eq!(text, "MemoryCache { len: Some(12), version: 1 }");
        assert!(!text.contains("secret"));
        assert_eq!(
            format!("{:?}", MemoryCache::new()),
            "MemoryCache { len: None, version: 0 }"
        );
    }

    #[tokio::test]
    async fn versions_count_up_from_one() {
        let cache = MemoryCache::new();
        let v1 = cache
            .modify(Partition::All, None, &mut |_| Ok(vec![1]))
            .await
            .unwrap();
        let v2 = cache
            .modify(Partition::All, None, &mut |_| Ok(vec![2]))
            .await
            .unwrap();
        assert_eq!((v1.tag(), v2.tag()), (1, 2));
    }

    #[tokio::test]
    async fn from_bytes_starts_at_version_one() {
        let cache = MemoryCache::from_bytes(b"{}".to_vec());
        assert_eq!(
            cache.load(Partition::All, None).await.unwrap(),
            Loaded::Data {
                bytes: b"{}".to_vec(),
                version: StoreVersion::new(1)
            }
        );
    }

    #[tokio::test]
    async fn survives_a_panicking_update() {
        let cache = MemoryCache::from_bytes(b"kept".to_vec());
        let clone = cache.clone();
        let result = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(clone.modify(Partition::All, None, &mut |_| panic!("boom")))
        })
        .join();
        assert!(result.is_err());
        assert_eq!(cache.snapshot().as_deref(), Some(&b"kept"[..]));
        cache
            .modify(Partition::All, None, &mut |_| Ok(vec![]))
            .await
            .unwrap();
    }
}
