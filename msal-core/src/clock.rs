//! Time, read through a trait so that tests can move it.
//!
//! What goes through the [`Clock`]: every expiry decision ("now"), and every pause msal-rs
//! takes on purpose: the delay before an HTTP retry, the device code flow's polling interval
//! (and its deadline), and managed identity's retry backoff. What does not: the two timeouts
//! that race real work, a silent call's wait for a refresh (`max_refresh_wait`) and the wait
//! for another process's refresh lock (`refresh_lock_wait`); they stay on the async runtime's
//! timer (tests of them can pause Tokio's time), as do HTTP timeouts and the elapsed-time
//! figures in logs.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A pause a [`Clock`] takes over: completes once the pause has passed on that clock.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time. Every expiry decision in msal-rs goes through one, and so
/// does every deliberate pause (retry delays, device code polling, managed identity backoff).
pub trait Clock: Send + Sync + Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// A pause of `duration` on this clock, or `None` (the default) to pause on the async
    /// runtime's timer (`tokio::time::sleep`).
    ///
    /// msal-core does no I/O and has no runtime, so a clock that keeps real time returns
    /// `None` and lets the caller's runtime wait; a clock that moves only when told (see
    /// [`ManualClock::with_auto_advance`]) moves itself and returns a future that is ready.
    fn sleep(&self, duration: Duration) -> Option<Sleep> {
        let _ = duration;
        None
    }
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
///
/// By default a pause ([`Clock::sleep`]) is left to the runtime's timer and does not move this
/// clock, so real time passes while the clock stands still (tests where a browser or another
/// task acts meanwhile rely on that). [`ManualClock::with_auto_advance`] makes every pause
/// move the clock by its length and end at once instead.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
    auto_advance: bool,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: SystemTime) -> Self {
        ManualClock {
            millis: Arc::new(AtomicU64::new(to_millis(at))),
            auto_advance: false,
        }
    }

    /// This clock (the same time, shared), in the mode where a pause advances the time by
    /// its length and completes at once: a test of retries or polling runs without waiting,
    /// and the clock shows the time that passed. Clones made after this keep the mode.
    pub fn with_auto_advance(mut self) -> Self {
        self.auto_advance = true;
        self
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

    fn sleep(&self, duration: Duration) -> Option<Sleep> {
        if !self.auto_advance {
            return None;
        }
        self.advance(duration);
        Some(Box::pin(std::future::ready(())))
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
    fn manual_clock_sleeps_only_in_auto_advance_mode() {
        let plain = ManualClock::at_unix(1_000);
        assert!(plain.sleep(Duration::from_secs(5)).is_none());
        assert_eq!(unix_seconds(plain.now()), 1_000);
        assert!(SystemClock.sleep(Duration::from_secs(5)).is_none());

        let auto = plain.clone().with_auto_advance();
        let sleep = auto.sleep(Duration::from_millis(1_500));
        // The time moved when the pause was taken, and the pause is already over.
        assert_eq!(auto.now(), UNIX_EPOCH + Duration::from_millis(1_001_500));
        assert_eq!(plain.now(), auto.now(), "the mode shares the time");
        let mut sleep = sleep.expect("an auto-advancing clock takes the pause over");
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(sleep.as_mut().poll(&mut cx).is_ready());
        // Clones keep the mode.
        assert!(auto.clone().sleep(Duration::from_secs(2)).is_some());
        assert_eq!(unix_seconds(plain.now()), 1_003);
    }

    #[test]
    fn huge_timestamps_saturate() {
        let t = from_unix_seconds(u64::MAX);
        assert!(unix_seconds(t) > 60_000_000_000);
    }
}
