//! `msal_interactive::AuthorizationResponse::from_redirect_query(query, expected_state)`.
//!
//! Input: `mode byte, then [expected state bytes, '\n'] query`. The expected state is derived
//! from the input so that both the accepting and the refusing paths are reached (the comparison
//! is constant time, so libFuzzer's comparison tracing cannot guess a state by itself):
//! - mode % 4 == 0: the expected state is the text before the first newline, the query after it;
//! - mode % 4 == 1: the whole rest is the query and the expected state is the query's own
//!   `state` (what an honest redirect carries);
//! - mode % 4 == 2: as 1, with the expected state's last byte changed (a near miss);
//! - mode % 4 == 3: as 1, with the expected state one character longer (a prefix attack).
//!
//! Properties (the query is decoded independently with `url::form_urlencoded`; as in the
//! library, the last of repeated parameters is the one that counts):
//! - never panics;
//! - a success, or a provider error, only when the expected state is non-empty and equals the
//!   query's `state`; `StateMismatch` exactly when it does not;
//! - a success carries the query's non-empty `code` and its `client_info`, and only when there
//!   is no `error`; a provider error carries the query's `error` and `error_description`;
//! - `Debug` of a success never shows the code (checked when the code is not a substring of the
//!   fixed `Debug` text).
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use msal_fuzz::split_at_byte;
use msal_interactive::{AuthorizationResponse, WebUiError};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let params_of = |q: &str| -> HashMap<String, String> {
        url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    };
    let (query, expected): (String, String) = match mode % 4 {
        0 => {
            let (state, query) = split_at_byte(rest, b'\n');
            (
                String::from_utf8_lossy(query).into_owned(),
                String::from_utf8_lossy(state).into_owned(),
            )
        }
        m => {
            let query = String::from_utf8_lossy(rest).into_owned();
            let mut state = params_of(&query).remove("state").unwrap_or_default();
            if m == 2 {
                match state.pop() {
                    Some(c) if c != 'x' => state.push('x'),
                    Some(_) => state.push('y'),
                    None => state.push('z'),
                }
            } else if m == 3 {
                state.push('0');
            }
            (query, state)
        }
    };

    let params = params_of(&query);
    let state_matches = !expected.is_empty()
        && params.get("state").map(String::as_str).unwrap_or_default() == expected;
    let result = AuthorizationResponse::from_redirect_query(&query, &expected);
    match &result {
        Err(WebUiError::StateMismatch) => {
            assert!(!state_matches, "refused a matching state: {query:?} / {expected:?}")
        }
        Ok(r) => {
            assert!(state_matches, "accepted a wrong state: {query:?} / {expected:?}");
            assert!(!params.contains_key("error"), "a success despite an error: {query:?}");
            let code = r.code.expose_secret();
            assert!(!code.is_empty());
            assert_eq!(Some(code), params.get("code").map(String::as_str));
            assert_eq!(r.client_info.as_ref(), params.get("client_info"));
            // `client_info` is shown (it is not a secret) and may hold the code's text by chance.
            let mut without_client_info = r.clone();
            without_client_info.client_info = None;
            let shown = format!("{without_client_info:?}");
            if code.len() >= 2
                && !"AuthorizationResponse { code: Secret([redacted]), client_info: None }".contains(code)
            {
                assert!(!shown.contains(code), "Debug shows the code: {shown}");
            }
        }
        Err(WebUiError::Provider { error, description }) => {
            assert!(state_matches, "a provider error with a wrong state: {query:?}");
            assert_eq!(Some(error), params.get("error"));
            assert_eq!(description.as_ref(), params.get("error_description"));
        }
        Err(WebUiError::MissingCode) => {
            assert!(state_matches, "MissingCode with a wrong state: {query:?}");
            assert!(!params.contains_key("error"));
            assert!(params.get("code").is_none_or(|c| c.is_empty()));
        }
        Err(other) => panic!("unexpected error from a query: {other:?}"),
    }
});
