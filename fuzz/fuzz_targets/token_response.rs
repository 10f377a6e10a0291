//! `msal_core::parse_token_response(status, body)`: the HTTP status is the first two bytes (big
//! endian), the body the rest.
//!
//! Properties:
//! - never panics;
//! - a success has a non-empty `access_token` and `token_type`, and only comes with a 2xx status;
//! - every error's `Display` names the HTTP status;
//! - a `Protocol` error's message never holds a run of 20+ token-like characters (a non-JSON
//!   body is quoted only as a redacted prefix);
//! - the *values* of `access_token`, `refresh_token` and `id_token` never influence an error's
//!   `Display`/`Debug` or a success's `Debug`: replacing each non-empty secret string by another
//!   non-empty string gives the same text. This is the sound form of "an error never quotes the
//!   access token": a token that also appears in, say, `error_description` may legitimately be
//!   shown, but then it is shown whatever the `access_token` field holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msal_core::{parse_token_response, Secret, TokenResponseError};
use msal_fuzz::{longest_token_run, replacement_for};
use serde_json::Value;

const SECRETS: [&str; 3] = ["access_token", "refresh_token", "id_token"];

fn describe(r: &Result<msal_core::TokenResponse, TokenResponseError>) -> String {
    match r {
        Ok(t) => format!("OK {t:?}"),
        Err(e) => format!("ERR {e} / {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let body = &data[2..];
    let result = parse_token_response(status, body);

    match &result {
        Ok(t) => {
            assert!(!t.access_token.is_empty(), "a success with an empty access_token");
            assert!(!t.token_type.is_empty(), "a success with an empty token_type");
            assert!((200..300).contains(&status), "a success with HTTP {status}");
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains(&format!("HTTP {status}")), "{text}");
            if let TokenResponseError::Protocol { message, .. } = e {
                assert!(
                    longest_token_run(message) < 20,
                    "a protocol error quotes token-like text: {message:?}"
                );
            }
        }
    }

    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    // Compare bodies that differ only in the secrets: both are serialized from the same value
    // (re-serializing can move a float by an ULP, as serde_json does not parse every float
    // exactly, so the raw body itself is not compared).
    let canonical = serde_json::to_vec(&Value::Object(map.clone())).unwrap();
    let again = parse_token_response(status, &canonical);

    // The secrets' values never show in what is printed.
    let mut replaced = map.clone();
    let mut swapped_names = Vec::new();
    for name in SECRETS {
        if let Some(Value::String(s)) = map.get(name) {
            if !s.is_empty() {
                replaced.insert(name.to_owned(), Value::String(replacement_for(s)));
                swapped_names.push(name);
            }
        }
    }
    if swapped_names.is_empty() {
        return;
    }
    let swapped = parse_token_response(
        status,
        &serde_json::to_vec(&Value::Object(replaced.clone())).unwrap(),
    );
    assert_eq!(
        describe(&again),
        describe(&swapped),
        "a secret's value changed what is printed"
    );
    // And on the raw body: an error shows a secret only if it shows it whatever the secret is.
    if let Err(e) = &result {
        let shown = format!("{e} / {e:?}");
        for name in &swapped_names {
            if let Some(Value::String(secret)) = map.get(*name) {
                if shown.contains(secret.as_str()) {
                    assert!(
                        describe(&swapped).contains(secret.as_str()),
                        "the error quotes `{name}`: {shown}"
                    );
                }
            }
        }
    }
    if let (Ok(a), Ok(b)) = (&again, &swapped) {
        for (name, got) in [
            ("access_token", Some(&b.access_token)),
            ("refresh_token", b.refresh_token.as_ref()),
            ("id_token", b.id_token.as_ref()),
        ] {
            if !swapped_names.contains(&name) {
                continue;
            }
            if let Some(Value::String(s)) = replaced.get(name) {
                assert_eq!(got.map(Secret::expose_secret), Some(s.as_str()), "{name}");
            }
        }
        assert_eq!(a.expires_in, b.expires_in);
        assert_eq!(a.ext_expires_in, b.ext_expires_in);
    }
});
