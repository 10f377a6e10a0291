//! The refresh lease: taken with `SET NX PX`, kept alive by its holder, released on drop.
//!
//! See [Refresh lock](super#refresh-lock) for the behaviour; this file holds how it is done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::ConnectionManager;
use ::redis::Value;
use tokio::sync::oneshot;

use super::scripts::{RELEASE, RENEW};

/// A refresh lease on one key, identified by a random token only its taker knows. Dropping it
/// releases the lease in the background (compare-and-delete, so a lease that already passed to
/// someone else is left alone).
pub(super) struct Lease {
    pub(super) conn: ConnectionManager,
    pub(super) key: String,
    pub(super) token: String,
    /// The lease's lifetime, renewed every third of it while held.
    pub(super) ttl: Duration,
    /// The runtime the lease was taken on; without one the lease is left to expire.
    pub(super) runtime: Option<tokio::runtime::Handle>,
}

impl Lease {
    /// A lease on `key` with a fresh random token; nothing is sent yet.
    pub(super) fn new(conn: ConnectionManager, key: String, ttl: Duration) -> Lease {
        Lease {
            conn,
            key,
            token: format!("{:016x}{:016x}", random_u64(), random_u64()),
            ttl,
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// The lifetime in ms as sent to Redis: at least 1 ms, at most a year (Redis refuses absurd
    /// expiry times).
    pub(super) fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, 365 * 24 * 3600 * 1000)
    }

    /// Start renewing the (taken) lease every third of its lifetime, for as long as the
    /// returned guard lives. Dropping the guard stops the renewal and releases the lease. A
    /// holder that dies stops renewing with it, so its lease expires within one lifetime.
    pub(super) fn keep_alive(self) -> LeaseGuard {
        let (stop, stopped) = oneshot::channel();
        match self.runtime.clone() {
            Some(runtime) => {
                runtime.spawn(self.renew_until(stopped));
            }
            // No runtime to renew on (not reachable from `lock_refresh`, which runs on one):
            // the lease simply lives one lifetime.
            None => drop(self),
        }
        LeaseGuard { _stop: stop }
    }

    /// Extend the lease every third of its lifetime until `stopped` fires (the guard was
    /// dropped) or the lease turns out to be lost; then drop it, which releases it.
    async fn renew_until(mut self, mut stopped: oneshot::Receiver<()>) {
        // A third of the lifetime: two renewals in a row may fail (a slow or reconnecting
        // server) before the lease can lapse under a live holder.
        let every = (self.ttl / 3).max(Duration::from_millis(1));
        let ttl_ms = self.ttl_ms();
        loop {
            // `Ok` (a send, never made) or `Err` (the guard was dropped) both mean: stop.
            if tokio::time::timeout(every, &mut stopped).await.is_ok() {
                return;
            }
            let renewed: Result<Value, _> = RENEW
                .key(&self.key)
                .arg(&self.token)
                .arg(ttl_ms)
                .invoke_async(&mut self.conn)
                .await;
            match renewed {
                Ok(Value::Int(1)) => {}
                Ok(_) => {
                    // Expired (renewals failed for a whole lifetime) and maybe taken by
                    // another process: nothing left to keep alive.
                    tracing::warn!(
                        "Redis cache: a refresh lease expired while its holder was still \
                         refreshing; another process may refresh the same token"
                    );
                    return;
                }
                Err(err) => {
                    tracing::debug!(kind = ?err.kind(), "Redis cache: renewing a refresh lease failed; retrying");
                }
            }
        }
    }
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

/// Held inside a [`RefreshLock`](crate::RefreshLock): while it lives, the lease is renewed;
/// dropping it closes the channel, which stops the renewal task and releases the lease.
pub(super) struct LeaseGuard {
    _stop: oneshot::Sender<()>,
}

/// A hard to guess, never repeating 64-bit value (lease tokens, back-off jitter). Seeded by the
/// standard library's per-process random hash keys; no extra dependency.
pub(super) fn random_u64() -> u64 {
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
