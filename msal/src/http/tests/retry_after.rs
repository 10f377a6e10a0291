//! `parse_retry_after`.

use std::time::{Duration, SystemTime};

use crate::http::retry_after::parse_retry_after;

fn headers(value: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("retry-after", http::HeaderValue::from_str(value).unwrap());
    h
}

fn now() -> SystemTime {
    // Sun, 06 Nov 1994 08:49:37 GMT
    SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
}

#[test]
fn delta_seconds() {
    assert_eq!(
        parse_retry_after(&headers("30"), now()),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after(&headers("0"), now()),
        Some(Duration::ZERO)
    );
    // Not capped here.
    assert_eq!(
        parse_retry_after(&headers("86400"), now()),
        Some(Duration::from_secs(86_400))
    );
}

#[test]
fn http_date_in_the_future() {
    assert_eq!(
        parse_retry_after(&headers("Sun, 06 Nov 1994 08:51:37 GMT"), now()),
        Some(Duration::from_secs(120))
    );
}

#[test]
fn http_date_in_the_past_is_zero() {
    assert_eq!(
        parse_retry_after(&headers("Sun, 06 Nov 1994 08:00:00 GMT"), now()),
        Some(Duration::ZERO)
    );
}

#[test]
fn http_date_now_is_zero() {
    assert_eq!(
        parse_retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT"), now()),
        Some(Duration::ZERO)
    );
}

#[test]
fn garbage_is_none() {
    for value in [
        "soon",
        "",
        "1.5",
        "12abc",
        "Sun, 99 Nov 1994 08:49:37 GMT",
        "99999999999999999999999",
    ] {
        assert_eq!(parse_retry_after(&headers(value), now()), None, "{value}");
    }
}

#[test]
fn negative_is_none() {
    assert_eq!(parse_retry_after(&headers("-5"), now()), None);
}

#[test]
fn missing_is_none() {
    assert_eq!(parse_retry_after(&http::HeaderMap::new(), now()), None);
}

#[test]
fn non_ascii_is_none() {
    let mut h = http::HeaderMap::new();
    h.insert(
        "retry-after",
        http::HeaderValue::from_bytes(&[0xe9, b'1']).unwrap(),
    );
    assert_eq!(parse_retry_after(&h, now()), None);
}
