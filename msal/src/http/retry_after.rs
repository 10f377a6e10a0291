//! Parsing of the `Retry-After` response header.

use std::time::{Duration, SystemTime};

/// Read `Retry-After` from `headers`.
///
/// Accepts delta-seconds (a non-negative integer, surrounding whitespace ignored) or an
/// HTTP date (RFC 7231 `IMF-fixdate`, and the obsolete RFC 850 / asctime forms), which
/// is turned into a delay relative to `now`; a date in the past gives
/// [`Duration::ZERO`]. Anything else — negative or fractional numbers, garbage, a
/// non-ASCII value, a missing header — gives `None`. When the header is repeated the
/// first one is used. The value is **not** capped here; see
/// [`crate::http::throttle::MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, value.parse().unwrap());
        h
    }

    #[test]
    fn seconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(&headers(" 0 "), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&http::HeaderMap::new(), now), None);
    }
}
