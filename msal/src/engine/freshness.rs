//! How fresh a cached access token is: the one place that decides between serving it, serving
//! it while refreshing in the background, refreshing before serving, and not serving it.

use std::time::Duration;

/// Where a cached access token stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Valid beyond the expiry buffer, and its `refresh_on` (if any) not reached: serve it.
    Fresh,
    /// Valid beyond the expiry buffer, but `refresh_on` has passed: serve it, and refresh in
    /// the background.
    RefreshDue,
    /// Not expired, but inside the expiry buffer: refresh first; serve it only when the
    /// refresh fails transiently or takes too long.
    InBuffer,
    /// Expired (or expiring this second): never served.
    Expired,
}

/// The [`Freshness`] of a token expiring at `expires_on` (Unix seconds), with MSAL's
/// proactive-refresh time `refresh_on`, at `now`, with an expiry buffer of `buffer`.
pub(crate) fn freshness(
    expires_on: u64,
    refresh_on: Option<u64>,
    now: u64,
    buffer: Duration,
) -> Freshness {
    if expires_on <= now {
        Freshness::Expired
    } else if expires_on <= now.saturating_add(buffer.as_secs()) {
        Freshness::InBuffer
    } else if refresh_on.is_some_and(|r| r <= now) {
        Freshness::RefreshDue
    } else {
        Freshness::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUFFER: Duration = Duration::from_secs(300);
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn beyond_the_buffer_is_fresh() {
        assert_eq!(freshness(NOW + 301, None, NOW, BUFFER), Freshness::Fresh);
        assert_eq!(
            freshness(NOW + 3600, Some(NOW + 1), NOW, BUFFER),
            Freshness::Fresh
        );
    }

    #[test]
    fn a_passed_refresh_on_is_due() {
        assert_eq!(
            freshness(NOW + 3600, Some(NOW), NOW, BUFFER),
            Freshness::RefreshDue
        );
    }

    #[test]
    fn the_buffer_boundary_is_inside() {
        assert_eq!(freshness(NOW + 300, None, NOW, BUFFER), Freshness::InBuffer);
        assert_eq!(freshness(NOW + 1, None, NOW, BUFFER), Freshness::InBuffer);
        // Inside the buffer, refresh_on does not matter: the token is refreshed first.
        assert_eq!(
            freshness(NOW + 1, Some(NOW - 10), NOW, BUFFER),
            Freshness::InBuffer
        );
    }

    #[test]
    fn at_or_past_expiry_is_expired() {
        assert_eq!(freshness(NOW, None, NOW, BUFFER), Freshness::Expired);
        assert_eq!(freshness(0, None, NOW, BUFFER), Freshness::Expired);
    }

    #[test]
    fn a_zero_buffer_serves_until_expiry() {
        assert_eq!(
            freshness(NOW + 1, None, NOW, Duration::ZERO),
            Freshness::Fresh
        );
        // Near the end of time the sum saturates instead of overflowing.
        assert_eq!(
            freshness(u64::MAX, None, u64::MAX - 1, BUFFER),
            Freshness::InBuffer
        );
    }
}
