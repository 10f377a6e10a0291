//! `msal_core::IdTokenClaims::decode(&str)` and `msal_core::ClientInfo::decode(&str)`.
//!
//! The first byte picks how the rest is used, so that the fuzzer reaches the JSON decoding
//! behind the base64url layer without having to invent valid base64 itself:
//! - even: the rest (lossy UTF-8) is given as is to both decoders;
//! - odd: the rest is a JSON *payload*: it is base64url-encoded (unpadded, and padded) into a
//!   `header.payload.signature` JWT and into a `client_info`.
//!
//! Properties:
//! - never panics;
//! - errors are typed with a non-empty static reason and never quote the input;
//! - padded and unpadded base64url decode alike (both are documented as accepted), and so does
//!   the value surrounded by whitespace for `client_info`;
//! - an encoded payload decodes exactly when it is a JSON object of the expected claim types, and
//!   the decoded claims agree with it (`local_account_id` = `oid` else `sub`, `username` =
//!   `preferred_username` else `upn` else `email`, `home_account_id` = `uid.utid` when both are
//!   non-empty).
#![no_main]

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use msal_core::{ClientInfo, IdTokenClaims};
use serde_json::Value;

fn claims_summary(c: &IdTokenClaims) -> String {
    format!("{c:?}")
}

fn check_claims(c: &IdTokenClaims) {
    assert_eq!(
        c.local_account_id(),
        c.oid.as_deref().or(c.sub.as_deref())
    );
    assert_eq!(
        c.username(),
        c.preferred_username
            .as_deref()
            .or(c.upn.as_deref())
            .or(c.email.as_deref())
    );
    if let Some(aud) = &c.aud {
        let _ = aud.contains("client");
    }
}

fn check_client_info(ci: &ClientInfo) {
    let expected = match (ci.uid.as_deref(), ci.utid.as_deref()) {
        (Some(u), Some(t)) if !u.is_empty() && !t.is_empty() => Some(format!("{u}.{t}")),
        _ => None,
    };
    assert_eq!(ci.home_account_id(), expected);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let text = String::from_utf8_lossy(rest);
        match IdTokenClaims::decode(&text) {
            Ok(c) => check_claims(&c),
            Err(e) => {
                assert!(!e.reason.is_empty());
                let shown = e.to_string();
                assert!(shown.starts_with("id_token is malformed: "), "{shown}");
            }
        }
        match ClientInfo::decode(&text) {
            Ok(ci) => check_client_info(&ci),
            Err(e) => {
                assert!(!e.reason.is_empty());
                let shown = e.to_string();
                assert!(shown.starts_with("client_info is malformed: "), "{shown}");
            }
        }
        return;
    }

    // `rest` is a JSON payload.
    let unpadded = URL_SAFE_NO_PAD.encode(rest);
    let padded = URL_SAFE.encode(rest);
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"k1"}"#);

    let a = IdTokenClaims::decode(&format!("{header}.{unpadded}.c2lnbmF0dXJl"));
    let b = IdTokenClaims::decode(&format!("{header}.{padded}.c2lnbmF0dXJl"));
    let c = IdTokenClaims::decode(&format!("{header}.{unpadded}."));
    let direct = serde_json::from_slice::<IdTokenClaims>(rest);
    match (&a, &b, &c) {
        (Ok(a), Ok(b), Ok(c)) => {
            check_claims(a);
            assert_eq!(claims_summary(a), claims_summary(b));
            assert_eq!(claims_summary(a), claims_summary(c));
            let d = direct.expect("the JWT decoded but its payload does not deserialize");
            assert_eq!(claims_summary(a), claims_summary(&d));
            // The payload is a JSON object: the decoded claims agree with it.
            let v: Value = serde_json::from_slice(rest).unwrap();
            let s = |k: &str| v.get(k).and_then(Value::as_str);
            assert_eq!(a.sub.as_deref(), s("sub"));
            assert_eq!(a.oid.as_deref(), s("oid"));
            assert_eq!(a.tid.as_deref(), s("tid"));
        }
        (Err(_), Err(_), Err(_)) => {
            assert!(direct.is_err(), "a valid payload was refused once encoded");
        }
        _ => panic!("padding or an empty signature changed the outcome: {a:?} {b:?} {c:?}"),
    }

    let ci_a = ClientInfo::decode(&unpadded);
    let ci_b = ClientInfo::decode(&padded);
    let ci_c = ClientInfo::decode(&format!(" {padded}\n"));
    assert_eq!(ci_a, ci_b, "padding changed the outcome");
    assert_eq!(ci_a, ci_c, "surrounding whitespace changed the outcome");
    match (&ci_a, serde_json::from_slice::<ClientInfo>(rest)) {
        (Ok(ci), Ok(direct)) => {
            check_client_info(ci);
            assert_eq!(ci, &direct);
        }
        (Err(_), Err(_)) => {}
        (got, direct) => panic!("client_info: decoded {got:?}, direct {direct:?}"),
    }
});
