//! The refresh lease: a row per partition naming its holder and expiry (by the server's clock),
//! renewed while held, deleted on drop, taken over once expired. See
//! [Refresh lock](super#refresh-lock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::connection::Shared;
use crate::{CacheError, RefreshLock};

/// Wait (as long as it takes: the caller bounds it) until the lease on `key` is ours.
pub(super) async fn take(
    shared: Arc<Shared>,
    key: String,
    ttl: Duration,
) -> Result<RefreshLock, CacheError> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| CacheError::store("PostgreSQL: the store must be used on a tokio runtime"))?;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    // Made before the first try: if the caller stops waiting just after a try succeeded on the
    // server, dropping the guard still releases the lease (releasing one we never got is a
    // no-op: the holder does not match).
    let mut guard = LeaseGuard {
        shared,
        key,
        holder: holder_token(),
        runtime,
        stop: None,
    };
    loop {
        let conn = guard.shared.conn().await?;
        let taken = guard
            .shared
            .bounded(
                "taking a refresh lease on",
                conn.client
                    .execute(&conn.take, &[&guard.key, &guard.holder, &ttl_ms]),
            )
            .await?;
        if taken == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20 + random_u64() % 31)).await;
    }
    let (stop, stopped) = tokio::sync::oneshot::channel();
    guard.runtime.spawn(renew_until(
        Arc::clone(&guard.shared),
        guard.key.clone(),
        guard.holder.clone(),
        ttl,
        stopped,
    ));
    guard.stop = Some(stop);
    Ok(RefreshLock::new(guard))
}

/// A held (or being taken) lease.
struct LeaseGuard {
    shared: Arc<Shared>,
    key: String,
    holder: String,
    runtime: tokio::runtime::Handle,
    /// Set once held: dropped with the guard, which tells the renewal task to release.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if self.stop.is_some() {
            // The renewal task releases the lease when it sees the channel close, so a release
            // never races a renewal in flight.
            return;
        }
        let (shared, key, holder) = (
            Arc::clone(&self.shared),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        // A runtime shutting down drops the task: the lease then expires by itself.
        drop(
            self.runtime
                .spawn(async move { release(&shared, &key, &holder).await }),
        );
    }
}

/// Extend the lease every third of its lifetime until the guard is dropped, then release it.
/// Dies with its runtime (as with its process), which leaves the lease to expire.
async fn renew_until(
    shared: Arc<Shared>,
    key: String,
    holder: String,
    ttl: Duration,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let every = (ttl / 3).max(Duration::from_millis(1));
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    loop {
        // A send (never made) or a closed channel (the guard was dropped) both mean: release.
        if tokio::time::timeout(every, &mut stopped).await.is_ok() {
            release(&shared, &key, &holder).await;
            return;
        }
        let renewed = match shared.conn().await {
            Ok(conn) => {
                shared
                    .bounded(
                        "renewing a refresh lease on",
                        conn.client.execute(&conn.renew, &[&key, &holder, &ttl_ms]),
                    )
                    .await
            }
            Err(err) => Err(err),
        };
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(
                    "PostgreSQL cache: a refresh lease expired while its holder was still \
                     refreshing; another process may refresh the same token"
                );
                return;
            }
            Err(err) => {
                tracing::debug!(%err, "PostgreSQL cache: renewing a refresh lease failed; retrying");
            }
        }
    }
}

async fn release(shared: &Shared, key: &str, holder: &str) {
    let released = match shared.conn().await {
        Ok(conn) => {
            shared
                .bounded(
                    "releasing a refresh lease on",
                    conn.client.execute(&conn.release, &[&key, &holder]),
                )
                .await
        }
        Err(err) => Err(err),
    };
    if let Err(err) = released {
        tracing::debug!(%err, "PostgreSQL cache: releasing a refresh lease failed; it will expire");
    }
}

/// A value unique to this holder across processes and hosts: the host-independent part comes
/// from the standard library's per-process random hash keys.
fn holder_token() -> String {
    format!(
        "{:016x}{:016x}-{}",
        random_u64(),
        random_u64(),
        std::process::id()
    )
}

/// A fresh pseudo-random 64-bit value (lease tokens, jitter).
pub(super) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}
