//! The expiry a document gets from its token lifetimes (see [Expiry from token
//! lifetimes](super#expiry-from-token-lifetimes)).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A document with no refresh token lives this long after its last access token expires.
const EXPIRY_GRACE_SECS: u64 = 300;

/// Access tokens claiming to live longer than this are treated as corrupt (as the lookups do)
/// and do not count towards a document's expiry.
const MAX_PLAUSIBLE_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// The expiry MSAL.NET would suggest for a serialized cache: none when it holds a refresh token
/// or no access token (or is not a JSON object); otherwise until 5 minutes after the last access
/// token expires.
pub(super) fn suggested_expiry(bytes: &[u8], now: u64) -> Option<Duration> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let doc = doc.as_object()?;
    let holds_refresh_token = match doc.get("RefreshToken") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Object(entries)) => !entries.is_empty(),
        Some(_) => true, // not what MSAL writes: keep it rather than guess
    };
    if holds_refresh_token {
        return None;
    }
    let last_expiry = doc
        .get("AccessToken")?
        .as_object()?
        .values()
        .filter_map(|at| match at.get("expires_on")? {
            serde_json::Value::String(text) => text.trim().parse::<u64>().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .filter(|&expires_on| expires_on <= now.saturating_add(MAX_PLAUSIBLE_LIFETIME_SECS))
        .max()?;
    Some(Duration::from_secs(
        last_expiry.saturating_sub(now) + EXPIRY_GRACE_SECS,
    ))
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
