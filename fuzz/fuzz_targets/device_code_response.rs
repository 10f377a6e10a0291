//! `msal_interactive::DeviceAuthorizationResponse::parse(&[u8])` (RFC 8628 §3.2).
//!
//! Properties:
//! - never panics;
//! - a success has a non-empty device code and user code, `http(s)` verification URIs, a
//!   non-zero polling interval, and agrees with the JSON it came from;
//! - `display_message` never panics and is the server's message when there is one;
//! - the `device_code` value never influences an error's `Display`/`Debug` or a success's
//!   `Debug` (replacing a non-empty `device_code` string by another gives the same text), and a
//!   non-JSON body is quoted only as a prefix with no run of 20+ token-like characters;
//! - an OAuth error body (string `error`) gives `DeviceCodeError::OAuth` with that error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msal_fuzz::{longest_token_run, replacement_for};
use msal_interactive::{DeviceAuthorizationResponse, DeviceCodeError};
use serde_json::Value;

fn describe(r: &Result<DeviceAuthorizationResponse, DeviceCodeError>) -> String {
    match r {
        Ok(d) => format!("OK {d:?} / {}", d.info().display_message()),
        Err(e) => format!("ERR {e} / {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let result = DeviceAuthorizationResponse::parse(data);
    let json = serde_json::from_slice::<Value>(data).ok();
    let map = match &json {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };

    match &result {
        Ok(d) => {
            let map = map.expect("a success from a body that is not a JSON object");
            assert!(!d.device_code().is_empty());
            let info = d.info();
            assert!(!info.user_code.is_empty());
            assert!(matches!(info.verification_uri.scheme(), "http" | "https"));
            if let Some(u) = &info.verification_uri_complete {
                assert!(matches!(u.scheme(), "http" | "https"));
            }
            assert!(!info.interval.is_zero());
            assert_eq!(
                Some(d.device_code()),
                map.get("device_code").and_then(Value::as_str)
            );
            assert_eq!(
                Some(info.user_code.as_str()),
                map.get("user_code").and_then(Value::as_str)
            );
            assert!(
                !map.get("error").is_some_and(Value::is_string),
                "a success from an error body"
            );
            let shown = info.display_message();
            if let Some(m) = &info.message {
                assert_eq!(&shown, m);
            }
            let (code, parts_info) = d.clone().into_parts();
            assert_eq!(code, d.device_code());
            assert_eq!(&parts_info, info);
        }
        Err(e) => {
            let _ = e.to_string();
            if let DeviceCodeError::Malformed(m) = e {
                if json.is_none() {
                    assert!(longest_token_run(m) < 20, "quotes token-like text: {m:?}");
                }
            }
            if let Some(Value::String(err)) = map.and_then(|m| m.get("error")) {
                match e {
                    DeviceCodeError::OAuth(o) => assert_eq!(&o.error, err),
                    other => panic!("an error body gave {other:?}"),
                }
            }
        }
    }

    // The device code's value never shows in what is printed.
    let Some(map) = map else { return };
    let Some(Value::String(code)) = map.get("device_code") else {
        return;
    };
    if code.is_empty() {
        return;
    }
    let canonical = serde_json::to_vec(&Value::Object(map.clone())).unwrap();
    // (The raw body is not compared with its re-serialization: serde_json may move a float by
    // an ULP when it re-reads it.)
    let again = DeviceAuthorizationResponse::parse(&canonical);
    let mut replaced = map.clone();
    let other = replacement_for(code);
    replaced.insert("device_code".into(), Value::String(other.clone()));
    let swapped = DeviceAuthorizationResponse::parse(&serde_json::to_vec(&Value::Object(replaced)).unwrap());
    assert_eq!(describe(&again), describe(&swapped), "device_code changed what is printed");
    if let Ok(s) = &swapped {
        assert_eq!(s.device_code(), other);
    }
});
