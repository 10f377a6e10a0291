//! Pausing on the app's clock: the one time source for the facade's deliberate pauses.

use std::time::Duration;

use msal_core::Clock;

/// Pause for `duration` on `clock`: the clock's own pause when it takes one over (a
/// [`msal_core::ManualClock::with_auto_advance`] moves its time and returns at once), else
/// Tokio's timer. Every deliberate pause of the facade (retry delays, device code polling,
/// managed identity backoff) comes here, so tests have one time source; the timeouts that race
/// real work (`max_refresh_wait`, `refresh_lock_wait`) stay on Tokio's timer.
pub(crate) async fn sleep_on(clock: &dyn Clock, duration: Duration) {
    match clock.sleep(duration) {
        Some(sleep) => sleep.await,
        None => tokio::time::sleep(duration).await,
    }
}
