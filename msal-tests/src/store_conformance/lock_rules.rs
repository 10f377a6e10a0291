//! The refresh-lock rules: one holder at a time, released on drop, and (for leases) released
//! within a bound when the holder dies.

use std::sync::Arc;
use std::time::Duration;

use msal_cache::{CacheStore, Partition};

use super::{bounded, fail, ConformanceFailure};

pub(super) const EXCLUSIVE: &str = "refresh_lock_exclusive";
pub(super) const RELEASED_ON_DROP: &str = "refresh_lock_released_on_drop";
pub(super) const RELEASED_ON_HOLDER_DEATH: &str = "refresh_lock_released_on_holder_death";

/// How long a second taker is watched while the first holds the lock: long enough for any
/// store to hand out a lock it should not, short enough to keep the suite quick.
const CONTENDED_WATCH: Duration = Duration::from_millis(400);

/// `Ok(false)` when the store does not lock (`lock_refresh` answers `None`).
pub(super) async fn exclusive_and_released<S: CacheStore + 'static>(
    store: Arc<S>,
    bound: Duration,
) -> Result<bool, ConformanceFailure> {
    let take = |rule| {
        let store = Arc::clone(&store);
        async move {
            bounded(
                rule,
                "an uncontended lock_refresh",
                bound,
                store.lock_refresh(Partition::All),
            )
            .await?
            .map_err(|e| fail(rule, format!("lock_refresh failed: {e}")))
        }
    };
    let Some(first) = take(EXCLUSIVE).await? else {
        return Ok(false);
    };
    let contender = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.lock_refresh(Partition::All).await })
    };
    tokio::time::sleep(CONTENDED_WATCH).await;
    if contender.is_finished() {
        let got = contender.await;
        let what = match got {
            Ok(Ok(Some(_))) => "took the lock".to_owned(),
            Ok(Ok(None)) => "answered None".to_owned(),
            Ok(Err(e)) => format!("failed ({e})"),
            Err(e) => format!("panicked ({e})"),
        };
        return Err(fail(EXCLUSIVE, format!("while one RefreshLock was held, a second lock_refresh on the same partition {what} instead of waiting")));
    }
    drop(first);
    let second = bounded(
        RELEASED_ON_DROP,
        "the waiting lock_refresh after the holder dropped its lock",
        bound,
        contender,
    )
    .await?
    .map_err(|e| fail(RELEASED_ON_DROP, format!("the waiting task panicked: {e}")))?
    .map_err(|e| {
        fail(
            RELEASED_ON_DROP,
            format!("the waiting lock_refresh failed: {e}"),
        )
    })?;
    if second.is_none() {
        return Err(fail(
            RELEASED_ON_DROP,
            "the waiting lock_refresh answered None though the store locks",
        ));
    }
    drop(second);
    // And once more: the second holder's drop released it too.
    if take(RELEASED_ON_DROP).await?.is_none() {
        return Err(fail(
            RELEASED_ON_DROP,
            "lock_refresh answered None though the store locks",
        ));
    }
    Ok(true)
}

/// Take the lock on a runtime of its own, forget it and kill that runtime; the lock must come
/// free within `within`.
pub(super) async fn released_on_holder_death<S: CacheStore + 'static>(
    store: Arc<S>,
    within: Duration,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = RELEASED_ON_HOLDER_DEATH;
    // Connect on this runtime first, so a store that caches its connection keeps one that
    // outlives the holder's runtime (as the surviving processes' own connections would).
    bounded(rule, "load", bound, store.load(Partition::All, None))
        .await?
        .map_err(|e| fail(rule, format!("load failed: {e}")))?;
    let holder_store = Arc::clone(&store);
    let holder = std::thread::spawn(move || -> Result<bool, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("could not start the holder's runtime: {e}"))?;
        let taken = runtime.block_on(async {
            match tokio::time::timeout(bound, holder_store.lock_refresh(Partition::All)).await {
                Ok(Ok(Some(lock))) => {
                    // Dies holding it: no drop, no release.
                    std::mem::forget(lock);
                    Ok(true)
                }
                Ok(Ok(None)) => Ok(false),
                Ok(Err(e)) => Err(format!("the holder's lock_refresh failed: {e}")),
                Err(_) => Err(format!(
                    "the holder's lock_refresh did not finish within {bound:?}"
                )),
            }
        });
        runtime.shutdown_background();
        taken
    });
    let taken = tokio::task::spawn_blocking(move || holder.join())
        .await
        .map_err(|e| fail(rule, format!("the holder thread could not be joined: {e}")))?
        .map_err(|_| fail(rule, "the holder thread panicked"))?
        .map_err(|message| fail(rule, message))?;
    if !taken {
        return Err(fail(rule, "lock_refresh answered None, yet the store claims its lock is released when the holder dies"));
    }
    let lock = tokio::time::timeout(within, store.lock_refresh(Partition::All))
        .await
        .map_err(|_| fail(rule, format!("the lock of a holder that died was still held after {within:?} (the store claims it is released within that)")))?
        .map_err(|e| fail(rule, format!("lock_refresh failed: {e}")))?;
    if lock.is_none() {
        return Err(fail(
            rule,
            "lock_refresh answered None though the store locks",
        ));
    }
    Ok(())
}
