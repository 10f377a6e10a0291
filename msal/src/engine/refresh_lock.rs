//! The cross-process refresh lock, and how long a refresh waits for it.
//!
//! A rotating refresh token must never be redeemed twice, in one process or across processes
//! sharing a cache (the second redemption fails with `invalid_grant` and, at providers with
//! reuse detection, revokes the whole token family). Within a process, single-flight joins
//! identical refreshes; across processes the store's refresh lock serialises them, and the
//! waiter that gets the lock after the holder re-reads the cache and finds the holder's token.
//!
//! The rules that keep this true whatever the provider's speed:
//! - A waiter waits for as long as a holder can legitimately hold the lock: discovery and the
//!   token request, each with every retry at the configured per-request timeout, plus a
//!   margin ([`ClientCore::refresh_lock_wait`], derived from the transport's timeout and the
//!   retry policy when the app is built, or set with `refresh_lock_wait(..)`).
//! - A waiter that still cannot get the lock never refreshes without it: it fails with
//!   [`Error::RefreshInProgress`], which is transient, so a caller holding a still-valid
//!   token is served that token and the others may simply try again.
//! - A crashed holder does not block the others: a file lock is released by the operating
//!   system when its process dies, a Redis lease expires (and is renewed while its holder
//!   lives).
//! - A store that fails to lock fails the refresh with its error, rather than refreshing
//!   unprotected.

use std::time::{Duration, Instant};

use msal_cache::{Partition, RefreshLock};

use crate::client_core::ClientCore;
use crate::Error;

/// The per-request timeout a holder is assumed to have: the default transport's (30 s).
pub(crate) const ASSUMED_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What is added to a holder's computed worst case: writing the cache, scheduling, a slow disk.
const MARGIN: Duration = Duration::from_secs(15);

/// The longest a holder can legitimately keep the refresh lock: endpoint discovery and one
/// token request, each with all its attempts at `per_request` plus the pauses between them,
/// and a margin.
pub(crate) fn holder_worst_case(
    per_request: Duration,
    retry: &crate::http::RetryPolicy,
) -> Duration {
    let attempts = retry.max_retries.saturating_add(1);
    let one_call = per_request
        .saturating_mul(attempts)
        .saturating_add(retry.delay.saturating_mul(retry.max_retries));
    one_call.saturating_mul(2).saturating_add(MARGIN)
}

/// Take the store's cross-process refresh lock for `partition`, waiting at most
/// `core.refresh_lock_wait`. `Ok(None)`: the store has no such lock (in-process stores).
pub(crate) async fn take_refresh_lock(
    core: &ClientCore,
    partition: Partition<'_>,
    correlation_id: &str,
) -> Result<Option<RefreshLock>, Error> {
    let started = Instant::now();
    // This timeout races the real wait for another process, so it stays on Tokio's timer,
    // not the app's `Clock`.
    let outcome = if tokio::runtime::Handle::try_current().is_ok() {
        match tokio::time::timeout(core.refresh_lock_wait, core.cache.lock_refresh(partition)).await
        {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(%correlation_id, "another process has held the cache's refresh lock for {:?}; not refreshing without it", core.refresh_lock_wait);
                return Err(Error::RefreshInProgress {
                    waited: started.elapsed(),
                });
            }
        }
    } else {
        core.cache.lock_refresh(partition).await
    };
    let lock = outcome?;
    let waited = started.elapsed();
    if waited > Duration::from_millis(100) {
        tracing::debug!(%correlation_id, ?waited, "took the cache's refresh lock after another process's refresh");
    }
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_covers_discovery_and_the_token_request_with_their_retries() {
        // The defaults: 30 s per request, one retry after 1 s: 2 × (2 × 30 + 1) + 15.
        let default = holder_worst_case(Duration::from_secs(30), &Default::default());
        assert_eq!(default, Duration::from_secs(137));
        // A longer transport timeout lengthens the wait with it.
        let slow = holder_worst_case(Duration::from_secs(120), &Default::default());
        assert_eq!(slow, Duration::from_secs(2 * (2 * 120 + 1) + 15));
        let none = holder_worst_case(Duration::from_secs(10), &crate::http::RetryPolicy::none());
        assert_eq!(none, Duration::from_secs(35));
    }

    #[test]
    fn absurd_settings_saturate_instead_of_overflowing() {
        let policy = crate::http::RetryPolicy {
            max_retries: u32::MAX,
            delay: Duration::MAX,
        };
        assert_eq!(holder_worst_case(Duration::MAX, &policy), Duration::MAX);
    }
}
