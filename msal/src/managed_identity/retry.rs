//! How managed identity requests are retried: exponential backoff within an overall bound.

use std::time::Duration;

/// Retries of managed identity requests.
///
/// Which answers are retried depends on the source (see [`crate::managed_identity`]): IMDS
/// 404, 410, 429 and 5xx (as the VM docs recommend; 410 while IMDS updates), the other sources
/// 429 and 5xx (Service Fabric never 404), and timeouts everywhere. Attempt `n` (from 0) waits
/// `initial_delay × 2ⁿ` (at most `max_delay`, or longer when a `Retry-After` asks for it), and
/// no retry starts whose wait would end past `max_elapsed` since the first attempt.
///
/// The default: 3 retries, 1 s initial delay, 8 s longest delay, 30 s overall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentityRetryPolicy {
    max_retries: u32,
    initial_delay: Duration,
    max_delay: Duration,
    max_elapsed: Duration,
}

impl Default for ManagedIdentityRetryPolicy {
    fn default() -> Self {
        ManagedIdentityRetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

impl ManagedIdentityRetryPolicy {
    /// `max_retries` retries, the first after `initial_delay`, doubling (other bounds as in
    /// the default).
    pub fn new(max_retries: u32, initial_delay: Duration) -> Self {
        ManagedIdentityRetryPolicy {
            max_retries,
            initial_delay,
            max_delay: Duration::from_secs(8).max(initial_delay),
            ..Default::default()
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self::new(0, Duration::ZERO)
    }

    /// The longest wait between two attempts.
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// The overall bound: no retry starts whose wait would end later than this after the
    /// first attempt.
    pub fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// The wait before retry `retry` (from 0), or `None` when no retry is left: out of
    /// retries, or past the overall bound given `elapsed` so far.
    pub(crate) fn delay(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        let backoff = self
            .initial_delay
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let delay = retry_after.map_or(backoff, |r| r.max(backoff));
        (elapsed.saturating_add(delay) <= self.max_elapsed).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_the_bounds() {
        let p = ManagedIdentityRetryPolicy::default();
        let s = Duration::from_secs;
        assert_eq!(p.delay(0, s(0), None), Some(s(1)));
        assert_eq!(p.delay(1, s(1), None), Some(s(2)));
        assert_eq!(p.delay(2, s(3), None), Some(s(4)));
        assert_eq!(p.delay(3, s(7), None), None, "out of retries");
        assert_eq!(p.delay(0, s(0), Some(s(5))), Some(s(5)), "Retry-After");
        assert_eq!(
            p.delay(0, s(0), Some(s(60))),
            None,
            "past the overall bound"
        );
        assert_eq!(p.delay(1, s(29), None), None, "past the overall bound");
        let big = ManagedIdentityRetryPolicy::new(40, s(1)).max_elapsed(s(1_000_000));
        assert_eq!(big.delay(39, s(0), None), Some(s(8)), "capped, no overflow");
        assert_eq!(
            ManagedIdentityRetryPolicy::none().delay(0, s(0), None),
            None
        );
    }
}
