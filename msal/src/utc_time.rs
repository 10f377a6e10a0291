//! [`UtcTime`]: a point in time that prints itself (RFC 3339, UTC), for `expires_on`.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time that `Display`s as RFC 3339 in UTC, to the second
/// (`2026-12-06T07:15:00Z`), as `az account get-access-token` and MSAL.NET's `ExpiresOn` print
/// it. `Debug` prints the same. Get the [`SystemTime`] back with
/// [`system_time`](Self::system_time), or seconds since the Unix epoch with
/// [`unix_seconds`](Self::unix_seconds).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(SystemTime);

impl UtcTime {
    /// This time as a [`SystemTime`].
    pub fn system_time(self) -> SystemTime {
        self.0
    }

    /// Whole seconds since the Unix epoch (0 for a time before it).
    pub fn unix_seconds(self) -> u64 {
        self.0
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    }
}

impl From<SystemTime> for UtcTime {
    fn from(time: SystemTime) -> Self {
        UtcTime(time)
    }
}

impl From<UtcTime> for SystemTime {
    fn from(time: UtcTime) -> Self {
        time.0
    }
}

impl std::fmt::Display for UtcTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whole seconds: a token's expiry is whole seconds on the wire and in the cache.
        let seconds = i64::try_from(self.unix_seconds()).unwrap_or(i64::MAX);
        match OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(text) => f.write_str(&text),
            // Beyond year 9999, which RFC 3339 cannot write: say what it is rather than fail.
            None => write!(f, "@{seconds} (Unix seconds)"),
        }
    }
}

impl std::fmt::Debug for UtcTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn prints_rfc3339_in_utc_to_the_second() {
        let t = UtcTime::from(UNIX_EPOCH + Duration::from_millis(1_796_541_300_750));
        assert_eq!(t.to_string(), "2026-12-06T07:15:00Z");
        assert_eq!(format!("{t:?}"), "2026-12-06T07:15:00Z");
        assert_eq!(t.unix_seconds(), 1_796_541_300);
        assert_eq!(
            UtcTime::from(UNIX_EPOCH).to_string(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn times_rfc3339_cannot_write_are_printed_as_unix_seconds() {
        let far = UtcTime::from(UNIX_EPOCH + Duration::from_secs(400_000_000_000));
        assert_eq!(far.to_string(), "@400000000000 (Unix seconds)");
        let before = UtcTime::from(UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(before.unix_seconds(), 0);
    }
}
