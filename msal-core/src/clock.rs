//! Time, read through a trait so that tests can move it.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time. Every expiry decision in msal-rs goes through one.
pub trait Clock: Send + Sync + Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: SystemTime) -> Self {
        ManualClock {
            millis: Arc::new(AtomicU64::new(to_millis(at))),
        }
    }

    /// A clock reading `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Set the time.
    pub fn set(&self, at: SystemTime) {
        self.millis.store(to_millis(at), Ordering::SeqCst);
    }

    /// Move the time forward.
    pub fn advance(&self, by: Duration) {
        self.millis.fetch_add(
            by.as_millis().min(u64::MAX as u128) as u64,
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

fn to_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis().min(u64::MAX as u128) as u64)
        .unwrap_or(0)
}

/// Whole seconds since the Unix epoch (0 for times before it), the unit of every cache timestamp.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The time `secs` seconds after the Unix epoch (saturating far in the future).
pub fn from_unix_seconds(secs: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH + Duration::from_secs(u32::MAX as u64 * 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let c = ManualClock::at_unix(1_000);
        let d = c.clone();
        assert_eq!(unix_seconds(c.now()), 1_000);
        d.advance(Duration::from_secs(299));
        assert_eq!(unix_seconds(c.now()), 1_299);
        c.set(from_unix_seconds(5));
        assert_eq!(unix_seconds(d.now()), 5);
    }

    #[test]
    fn huge_timestamps_saturate() {
        let t = from_unix_seconds(u64::MAX);
        assert!(unix_seconds(t) > 60_000_000_000);
    }
}
