//! Cache fixtures shared by the facade's benches: unified-schema documents in MSAL Python's
//! dialect, deterministic but for expiry times.
#![allow(dead_code)] // each bench uses its own subset

use serde_json::{json, Map, Value};

pub(crate) const CLIENT: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
pub(crate) const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
pub(crate) const ENV: &str = "login.microsoftonline.com";

pub(crate) fn hid(i: usize) -> String {
    format!("{i:08x}-aaaa-4bbb-8ccc-111111111111.{TENANT}")
}

/// A unified-schema cache with `n` signed-in accounts, each with an AT (~1.6 KB), an RT
/// (~1.2 KB), an ID token (~1 KB) and an account entry.
pub(crate) fn cache_json(n: usize, expires_on: u64) -> Vec<u8> {
    let (mut at, mut rt, mut idt, mut acc) = (Map::new(), Map::new(), Map::new(), Map::new());
    for i in 0..n {
        let h = hid(i);
        at.insert(
            format!("{h}-at"),
            json!({
                "credential_type": "AccessToken", "secret": format!("eyJ0eX{i:0>1600}"),
                "home_account_id": h, "environment": ENV, "client_id": CLIENT, "realm": TENANT,
                "target": "User.Read email openid profile", "token_type": "Bearer",
                "cached_at": "1700000000", "expires_on": expires_on.to_string(),
                "extended_expires_on": expires_on.to_string(),
            }),
        );
        rt.insert(
            format!("{h}-rt"),
            json!({
                "credential_type": "RefreshToken", "secret": format!("0.AAAA{i:0>1200}"),
                "home_account_id": h, "environment": ENV, "client_id": CLIENT,
            }),
        );
        idt.insert(
            format!("{h}-idt"),
            json!({
                "credential_type": "IdToken", "secret": format!("eyJhb{i:0>1000}"),
                "home_account_id": h, "environment": ENV, "realm": TENANT, "client_id": CLIENT,
            }),
        );
        acc.insert(format!("{h}-acc"), json!({
            "home_account_id": h, "environment": ENV, "realm": TENANT,
            "local_account_id": format!("{i:08x}"), "username": format!("user{i}@contoso.example"),
            "authority_type": "MSSTS",
        }));
    }
    serde_json::to_vec(&json!({
        "AccessToken": Value::Object(at), "RefreshToken": Value::Object(rt),
        "IdToken": Value::Object(idt), "Account": Value::Object(acc),
    }))
    .unwrap()
}

pub(crate) fn in_a_day() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400
}
