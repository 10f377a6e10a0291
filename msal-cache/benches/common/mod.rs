//! Shared by the cache benches and `examples/memory_per_account.rs`: the realistic cache file.
//!
//! Each account holds what one interactive sign-in to Entra writes: an access token (1.6 KB
//! secret), a refresh token (1.2 KB), an ID token (1 KB) and an account entry, all for one
//! client in one tenant. The same shape as `msal/benches/silent_hit.rs`, written with
//! `format!` instead of `serde_json::json!` so that generating a million accounts stays quick.

#![allow(dead_code)]

use std::fmt::Write;

/// The client every entry belongs to.
pub(crate) const CLIENT: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
/// The tenant of every account.
pub(crate) const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
/// The cloud.
pub(crate) const ENV: &str = "login.microsoftonline.com";

/// The home account id of account `i`.
pub(crate) fn hid(i: usize) -> String {
    format!("{i:08x}-aaaa-4bbb-8ccc-111111111111.{TENANT}")
}

/// A compact unified-schema document of `n` accounts (what `serde_json::to_vec` of the same
/// entries gives: the 100k file is the 535 MB one BENCHMARKS.md has always quoted).
pub(crate) fn cache_json(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 5_400 + 64);
    // `format!("{i:0>1600}")` pads one char at a time, which made generating a million accounts
    // slower than loading them: pad from a ready string instead (same bytes).
    let zeros = "0".repeat(1_600);
    let pad = |i: usize, width: usize| {
        let digits = i.to_string();
        format!("{}{digits}", &zeros[..width.saturating_sub(digits.len())])
    };
    let section = |s: &mut String, name: &str, entry: &dyn Fn(&mut String, usize)| {
        let _ = write!(s, "\"{name}\":{{");
        for i in 0..n {
            if i > 0 {
                s.push(',');
            }
            entry(s, i);
        }
        s.push('}');
    };
    s.push('{');
    section(&mut s, "AccessToken", &|s, i| {
        let h = hid(i);
        let _ = write!(
            s,
            "\"{h}-at\":{{\"credential_type\":\"AccessToken\",\"secret\":\"eyJ0eX{}\",\
             \"home_account_id\":\"{h}\",\"environment\":\"{ENV}\",\"client_id\":\"{CLIENT}\",\
             \"realm\":\"{TENANT}\",\"target\":\"User.Read email openid profile\",\
             \"token_type\":\"Bearer\",\"cached_at\":\"1700000000\",\"expires_on\":\"1700003600\",\
             \"extended_expires_on\":\"1700003600\"}}",
            pad(i, 1600)
        );
    });
    s.push(',');
    section(&mut s, "RefreshToken", &|s, i| {
        let h = hid(i);
        let _ = write!(
            s,
            "\"{h}-rt\":{{\"credential_type\":\"RefreshToken\",\"secret\":\"0.AAAA{}\",\
             \"home_account_id\":\"{h}\",\"environment\":\"{ENV}\",\"client_id\":\"{CLIENT}\"}}",
            pad(i, 1200)
        );
    });
    s.push(',');
    section(&mut s, "IdToken", &|s, i| {
        let h = hid(i);
        let _ = write!(
            s,
            "\"{h}-idt\":{{\"credential_type\":\"IdToken\",\"secret\":\"eyJhb{}\",\
             \"home_account_id\":\"{h}\",\"environment\":\"{ENV}\",\"realm\":\"{TENANT}\",\
             \"client_id\":\"{CLIENT}\"}}",
            pad(i, 1000)
        );
    });
    s.push(',');
    section(&mut s, "Account", &|s, i| {
        let h = hid(i);
        let _ = write!(
            s,
            "\"{h}-acc\":{{\"home_account_id\":\"{h}\",\"environment\":\"{ENV}\",\
             \"realm\":\"{TENANT}\",\"local_account_id\":\"{i:08x}\",\
             \"username\":\"user{i}@contoso.example\",\"authority_type\":\"MSSTS\"}}"
        );
    });
    s.push('}');
    s.into_bytes()
}

/// The bytes of secrets per account in [`cache_json`]'s entries (the floor for memory use).
pub(crate) fn secret_bytes_per_account() -> usize {
    (6 + 1600) + (6 + 1200) + (5 + 1000)
}
