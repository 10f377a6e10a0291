//! The refresh lease: a row per partition naming its holder and expiry, renewed while held,
//! deleted on drop, taken over once expired. See [Refresh lock](super#refresh-lock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{sqlite_error, Shared};
use crate::CacheError;

/// Take the lease if it is free or expired: one statement, so two takers cannot both win.
const TAKE: &str = "INSERT INTO msal_refresh_lease (partition, holder, expires_ms) \
                    VALUES (?1, ?2, ?3) ON CONFLICT (partition) DO UPDATE \
                    SET holder = excluded.holder, expires_ms = excluded.expires_ms \
                    WHERE msal_refresh_lease.expires_ms <= ?4";
const RENEW: &str = "UPDATE msal_refresh_lease SET expires_ms = ?3 \
                     WHERE partition = ?1 AND holder = ?2";
const RELEASE: &str = "DELETE FROM msal_refresh_lease WHERE partition = ?1 AND holder = ?2";

/// How long a taker waits between tries (plus up to as much again of jitter).
const RETRY: Duration = Duration::from_millis(20);

/// A held lease; dropping it stops the renewal and deletes the row.
pub(super) struct LeaseGuard {
    shared: Arc<Shared>,
    key: String,
    token: String,
    /// Dropped with the guard: the renewal task sees its channel close and stops.
    _stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Wait (as long as it takes: the caller bounds it) until the lease on `key` is ours.
pub(super) async fn take(
    shared: Arc<Shared>,
    key: String,
    ttl: Duration,
) -> Result<LeaseGuard, CacheError> {
    let token = format!("{:016x}{:016x}", random_u64(), random_u64());
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    loop {
        let taken = {
            let conn = shared.conn.lock().unwrap_or_else(|p| p.into_inner());
            let now = now_ms();
            conn.prepare_cached(TAKE)
                .and_then(|mut s| {
                    s.execute(rusqlite::params![
                        key,
                        token,
                        now.saturating_add(ttl_ms),
                        now
                    ])
                })
                .map_err(|e| sqlite_error(&shared.path, "taking a refresh lease in", &e))?
        };
        if taken == 1 {
            break;
        }
        let pause = RETRY + Duration::from_micros(random_u64() % 20_000);
        match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::time::sleep(pause).await,
            // Not on a tokio runtime: nothing else to run on this thread meanwhile.
            Err(_) => std::thread::sleep(pause),
        }
    }
    let stop = tokio::runtime::Handle::try_current().ok().map(|runtime| {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        runtime.spawn(renew_until(
            Arc::clone(&shared),
            key.clone(),
            token.clone(),
            ttl,
            stopped,
        ));
        stop
    });
    // Without a runtime there is no renewal: the lease lives one lifetime.
    Ok(LeaseGuard {
        shared,
        key,
        token,
        _stop: stop,
    })
}

/// Extend the lease every third of its lifetime until the guard is dropped. Dies with its
/// runtime (as with its process), which leaves the lease to expire.
async fn renew_until(
    shared: Arc<Shared>,
    key: String,
    token: String,
    ttl: Duration,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let every = (ttl / 3).max(Duration::from_millis(1));
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    loop {
        // A send (never made) or a closed channel (the guard was dropped) both mean: stop.
        if tokio::time::timeout(every, &mut stopped).await.is_ok() {
            return;
        }
        let renewed = {
            let conn = shared.conn.lock().unwrap_or_else(|p| p.into_inner());
            let expires = now_ms().saturating_add(ttl_ms);
            conn.prepare_cached(RENEW)
                .and_then(|mut s| s.execute(rusqlite::params![key, token, expires]))
        };
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(
                    "SQLite cache: a refresh lease expired while its holder was still \
                     refreshing; another process may refresh the same token"
                );
                return;
            }
            Err(err) => {
                tracing::debug!(%err, "SQLite cache: renewing a refresh lease failed; retrying");
            }
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let conn = self.shared.conn.lock().unwrap_or_else(|p| p.into_inner());
        let released = conn
            .prepare_cached(RELEASE)
            .and_then(|mut s| s.execute(rusqlite::params![self.key, self.token]));
        if let Err(err) = released {
            tracing::debug!(%err, "SQLite cache: releasing a refresh lease failed; it will expire");
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A hard to guess, never repeating 64-bit value for lease tokens and jitter, seeded by the
/// standard library's per-process random hash keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}
