//! The telemetry and protocol headers MSAL sends with every request.

use http::header::{HeaderName, HeaderValue, ACCEPT};

/// The library name sent in `x-client-SKU`.
pub const SKU: &str = "MSAL.Rust";

/// The library version sent in `x-client-Ver`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `x-client-SKU`.
const CLIENT_SKU: HeaderName = HeaderName::from_static("x-client-sku");
/// `x-client-Ver`.
const CLIENT_VER: HeaderName = HeaderName::from_static("x-client-ver");
/// `x-client-OS`.
const CLIENT_OS: HeaderName = HeaderName::from_static("x-client-os");
/// `client-request-id`.
pub(crate) const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
/// `return-client-request-id`.
const RETURN_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("return-client-request-id");
/// `x-ms-lib-capability`.
const LIB_CAPABILITY: HeaderName = HeaderName::from_static("x-ms-lib-capability");

/// Set the MSAL headers on `headers`, replacing any previous values:
///
/// * `x-client-SKU: MSAL.Rust`, `x-client-Ver: <crate version>`,
///   `x-client-OS: <std::env::consts::OS>`;
/// * `client-request-id: <correlation_id>` and `return-client-request-id: true`;
/// * `x-ms-lib-capability: retry-after, h429` (we honour `Retry-After` and 429);
/// * `Accept: application/json`.
///
/// If `correlation_id` is not a valid header value, `client-request-id` is left out
/// (never panics).
pub(crate) fn apply_msal_headers(headers: &mut http::HeaderMap, correlation_id: &str) {
    headers.insert(CLIENT_SKU, HeaderValue::from_static(SKU));
    headers.insert(CLIENT_VER, HeaderValue::from_static(VERSION));
    if let Ok(os) = HeaderValue::from_str(std::env::consts::OS) {
        headers.insert(CLIENT_OS, os);
    }
    match HeaderValue::from_str(correlation_id) {
        Ok(id) => {
            headers.insert(CLIENT_REQUEST_ID, id);
        }
        Err(_) => {
            headers.remove(CLIENT_REQUEST_ID);
        }
    }
    headers.insert(RETURN_CLIENT_REQUEST_ID, HeaderValue::from_static("true"));
    headers.insert(
        LIB_CAPABILITY,
        HeaderValue::from_static("retry-after, h429"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_all_headers() {
        let mut h = http::HeaderMap::new();
        apply_msal_headers(&mut h, "0b8e9a34-0000-4000-8000-000000000001");
        assert_eq!(h["x-client-SKU"], "MSAL.Rust");
        assert_eq!(h["x-client-Ver"], VERSION);
        assert_eq!(h["x-client-OS"], std::env::consts::OS);
        assert_eq!(
            h["client-request-id"],
            "0b8e9a34-0000-4000-8000-000000000001"
        );
        assert_eq!(h["return-client-request-id"], "true");
        assert_eq!(h["x-ms-lib-capability"], "retry-after, h429");
        assert_eq!(h["accept"], "application/json");
    }

    #[test]
    fn invalid_correlation_id_is_skipped() {
        let mut h = http::HeaderMap::new();
        apply_msal_headers(&mut h, "bad\nvalue");
        assert!(!h.contains_key("client-request-id"));
        assert_eq!(h["x-client-SKU"], "MSAL.Rust");
    }
}
