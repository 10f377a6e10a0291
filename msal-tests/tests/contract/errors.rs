//! Contract tests of error handling against wiremock: "interaction required" classification,
//! service and protocol errors, what a failed refresh leaves in the cache, retries, throttling
//! and the near-expiry fallback.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::Duration;

use msal::{
    Account, Clock, Error, ServiceError, TokenSource, UiRequiredClassification, UiRequiredError,
    UiRequiredReason,
};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

/// The token endpoint answering `status` with a JSON `body`.
fn token_json(status: u16, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

/// The token endpoint answering `template`.
fn token_reply(template: ResponseTemplate) -> Mock {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(template)
}

fn ok_body(access_token: &str, refresh_token: &str) -> Value {
    token_response(access_token, Some(refresh_token), "User.Read", 3600)
}

fn ui(e: Error) -> UiRequiredError {
    match e {
        Error::UiRequired(u) => *u,
        other => panic!("expected UiRequired, got {other:?}"),
    }
}

fn service(e: Error) -> ServiceError {
    match e {
        Error::Service(s) => *s,
        other => panic!("expected Service, got {other:?}"),
    }
}

/// A harness whose cache holds the signed-in user with RT `rt-1` and no access token.
async fn signed_in() -> Harness {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    h
}

/// Behaviour: no account, or an account without a refresh token in the cache, is "UI
/// required" with classification AcquireTokenSilentFailed, and makes no request.
#[tokio::test]
async fn no_account_or_no_refresh_token_is_ui_required_without_a_request() {
    let h = signed_in().await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &Account::new("", ENV, ""))
        .correlation_id("corr-no-account")
        .await
        .unwrap_err();
    assert!(e.is_ui_required());
    assert!(!e.is_transient());
    assert_eq!(
        e.classification(),
        Some(UiRequiredClassification::AcquireTokenSilentFailed)
    );
    assert_eq!(e.correlation_id(), Some("corr-no-account"));
    let u = ui(e);
    assert_eq!(u.reason, UiRequiredReason::NoAccount);
    assert_eq!(u.oauth, None);
    assert_eq!(u.claims, None);

    // The account is known (account entry, ID token, an expired AT) but has no RT.
    let h = Harness::new().await;
    let doc = CacheDoc::new()
        .account(&hid(), ENV, UTID, "alice@contoso.example")
        .id_token(&hid(), ENV, CLIENT_ID, UTID)
        .access_token(CLIENT_ID, UTID, "User.Read", "at-expired", T0 - 10);
    h.seed(&doc).await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(e.is_ui_required());
    assert_eq!(
        e.classification(),
        Some(UiRequiredClassification::AcquireTokenSilentFailed)
    );
    let u = ui(e);
    assert_eq!(u.reason, UiRequiredReason::NoTokens);
    assert_eq!(u.oauth, None);

    // An RT for another client does not count either.
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(OTHER_CLIENT_ID, "rt-other"))
        .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert_eq!(ui(e).reason, UiRequiredReason::NoTokens);
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// Behaviour: `invalid_grant` with `suberror: basic_action` and `claims` is UI required with
/// classification BasicAction, the claims and the correlation id; the RT is not deleted and
/// the cache is untouched.
#[tokio::test]
async fn invalid_grant_basic_action_is_ui_required_with_claims_and_keeps_the_cache() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read",
        "at-expired",
        T0 - 10,
    ))
    .await;
    let before = h.stored().await;
    let claims = r#"{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}"#;
    token_json(
        400,
        json!({
            "error": "invalid_grant",
            "error_description": "AADSTS50076: you must use multi-factor authentication",
            "error_codes": [50076],
            "suberror": "basic_action",
            "claims": claims,
        }),
    )
    .expect(1)
    .mount(&h.server)
    .await;

    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .correlation_id("corr-14")
        .await
        .unwrap_err();
    assert!(e.is_ui_required());
    assert!(!e.is_transient());
    assert_eq!(
        e.classification(),
        Some(UiRequiredClassification::BasicAction)
    );
    assert_eq!(e.claims(), Some(claims));
    assert_eq!(e.correlation_id(), Some("corr-14"));
    let oauth = e.oauth_error().unwrap();
    assert_eq!(oauth.error, "invalid_grant");
    assert_eq!(oauth.suberror.as_deref(), Some("basic_action"));
    assert_eq!(oauth.error_codes, vec![50076]);
    assert_eq!(ui(e).reason, UiRequiredReason::ServerRequested);

    assert_eq!(h.token_requests().await.len(), 1);
    let after = h.stored().await;
    assert_eq!(refresh_token_secrets(&after), vec!["rt-1"]);
    assert_eq!(after, before);
}

/// Behaviour: `invalid_grant` with suberror `client_mismatch` (or
/// `protection_policy_required`) is a service error, not UI required; `interaction_required`,
/// `consent_required`, `login_required` and a bare `invalid_grant` are UI required.
#[tokio::test]
async fn error_classification_table() {
    let cases: [(&str, Option<&str>, bool); 6] = [
        ("invalid_grant", Some("client_mismatch"), false),
        ("invalid_grant", Some("protection_policy_required"), false),
        ("invalid_grant", None, true),
        ("interaction_required", None, true),
        ("consent_required", None, true),
        ("login_required", None, true),
    ];
    for (error, suberror, ui_required) in cases {
        let h = signed_in().await;
        let before = h.stored().await;
        let mut body = json!({"error": error, "error_description": format!("{error} described")});
        if let Some(s) = suberror {
            body["suberror"] = json!(s);
        }
        token_json(400, body).expect(1).mount(&h.server).await;
        let e = h
            .app
            .acquire_token_silent(["User.Read"], &h.account())
            .await
            .unwrap_err();
        assert_eq!(
            e.is_ui_required(),
            ui_required,
            "{error} {suberror:?}: {e:?}"
        );
        assert!(!e.is_transient(), "{error} {suberror:?}");
        assert_eq!(e.classification(), None, "{error} {suberror:?}");
        let oauth = e.oauth_error().unwrap();
        assert_eq!(oauth.error, error);
        assert_eq!(oauth.suberror.as_deref(), suberror);
        if ui_required {
            assert_eq!(ui(e).reason, UiRequiredReason::ServerRequested);
        } else {
            let s = service(e);
            assert_eq!(s.status, 400);
            assert_eq!(
                s.oauth.error_description.as_deref(),
                Some(format!("{error} described").as_str())
            );
        }
        assert_eq!(h.stored().await, before, "{error} {suberror:?}");
    }
}

/// Behaviour: `invalid_client` (HTTP 401) is a service error with the status, the OAuth error,
/// its description and the server's correlation id (else the request's).
#[tokio::test]
async fn invalid_client_is_a_service_error_with_details() {
    let h = signed_in().await;
    let before = h.stored().await;
    token_json(
        401,
        json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000218: The request body must contain client_assertion",
            "error_codes": [7000218],
            "correlation_id": "5e1b2c3d-0000-4000-8000-00000000c0de",
            "trace_id": "trace-1",
        }),
    )
    .up_to_n_times(1)
    .mount(&h.server)
    .await;
    token_json(
        401,
        json!({"error": "invalid_client", "error_description": "again"}),
    )
    .mount(&h.server)
    .await;

    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(!e.is_ui_required());
    assert!(!e.is_transient());
    assert_eq!(e.classification(), None);
    assert_eq!(
        e.correlation_id(),
        Some("5e1b2c3d-0000-4000-8000-00000000c0de")
    );
    let s = service(e);
    assert_eq!(s.status, 401);
    assert_eq!(s.oauth.error, "invalid_client");
    assert_eq!(
        s.oauth.error_description.as_deref(),
        Some("AADSTS7000218: The request body must contain client_assertion")
    );
    assert_eq!(s.oauth.error_codes, vec![7000218]);
    assert_eq!(s.oauth.trace_id.as_deref(), Some("trace-1"));
    assert_eq!(
        s.correlation_id.as_deref(),
        Some("5e1b2c3d-0000-4000-8000-00000000c0de")
    );

    // Without a correlation id in the body, the request's own is reported. A 401 does not
    // throttle: the identical request goes to the network again.
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .correlation_id("corr-16")
        .await
        .unwrap_err();
    let s = service(e);
    assert_eq!(s.status, 401);
    assert_eq!(s.correlation_id.as_deref(), Some("corr-16"));
    assert_eq!(h.token_requests().await.len(), 2);
    assert_eq!(h.stored().await, before);
}

/// Behaviour: an OAuth error body with HTTP 200 is an error (UI required for
/// `invalid_grant`), never a token.
#[tokio::test]
async fn error_body_with_http_200_is_an_error() {
    let h = signed_in().await;
    let before = h.stored().await;
    token_json(
        200,
        json!({"error": "invalid_grant", "error_description": "AADSTS70008: expired"}),
    )
    .expect(1)
    .mount(&h.server)
    .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
    assert_eq!(e.oauth_error().unwrap().error, "invalid_grant");
    assert_eq!(ui(e).reason, UiRequiredReason::ServerRequested);
    assert_eq!(h.stored().await, before);
}

/// Behaviour: a body that is not JSON (HTML 503) is a transient `ServiceUnavailable` quoting
/// the status and the start of the body; a truncated JSON 200 is a protocol error that quotes
/// nothing of it; `{}` is a protocol error (no access_token). The cache never changes.
#[tokio::test]
async fn unparsable_bodies_are_protocol_errors() {
    // HTML 503, twice (one retry).
    let h = signed_in().await;
    let before = h.stored().await;
    token_reply(
        ResponseTemplate::new(503)
            .insert_header("content-type", "text/html")
            .set_body_string(
                "<html><head><title>Service Unavailable</title></head><body>down</body></html>",
            ),
    )
    .expect(2)
    .mount(&h.server)
    .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ServiceUnavailable { status: 503, .. }),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert!(!e.is_ui_required());
    let text = e.to_string();
    assert!(text.contains("503"), "{text}");
    assert!(
        text.contains("<html><head><title>Service Unavailable"),
        "{text}"
    );
    assert_eq!(h.token_requests().await.len(), 2);
    assert_eq!(h.stored().await, before);

    // Truncated JSON with HTTP 200: never quoted.
    let h = signed_in().await;
    let before = h.stored().await;
    token_reply(ResponseTemplate::new(200).set_body_string(r#"{"access_token": "abc"#))
        .expect(1)
        .mount(&h.server)
        .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Protocol {
                status: Some(200),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert!(!e.to_string().contains("abc"), "{e}");
    assert!(!format!("{e:?}").contains("abc"), "{e:?}");
    assert_eq!(h.stored().await, before);

    // `{}` with HTTP 200: no access token.
    let h = signed_in().await;
    let before = h.stored().await;
    token_json(200, json!({})).expect(1).mount(&h.server).await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Protocol {
                status: Some(200),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("access_token"), "{e}");
    assert_eq!(h.stored().await, before);
}

/// Behaviour: a 200 response with a garbage id_token or client_info is a protocol error, but
/// the new refresh token it carries is stored (rotation is never lost) and the access token
/// is not; a client_info for another user is `UserMismatch` and stores nothing.
#[tokio::test]
async fn malformed_success_response_keeps_the_rotated_refresh_token_only() {
    let expired_at = CacheDoc::signed_in_with("rt-1", "User.Read", "at-expired", T0 - 10);
    for (field, value) in [
        ("id_token", json!("not-a-jwt")),
        ("client_info", json!("%%%not-base64%%%")),
        ("client_info", json!(b64("this is not json"))),
    ] {
        let h = Harness::new().await;
        h.seed(&expired_at).await;
        let mut body = ok_body("at-new", "rt-2");
        body[field] = value.clone();
        token_json(200, body).expect(1).mount(&h.server).await;
        let e = h
            .app
            .acquire_token_silent(["User.Read"], &h.account())
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Protocol {
                    status: Some(200),
                    ..
                }
            ),
            "{field}={value}: {e:?}"
        );
        assert!(!e.is_ui_required());
        assert!(!e.to_string().contains("at-new"), "{e}");
        // The bad value itself (an ID token or client_info may carry personal data) is not
        // quoted either.
        let bad = value.as_str().unwrap();
        assert!(!e.to_string().contains(bad), "{e}");
        let after = h.stored().await;
        assert_eq!(
            refresh_token_secrets(&after),
            vec!["rt-2"],
            "{field}={value}"
        );
        // Nothing of the malformed answer is cached; the write that kept the rotated refresh
        // token purged the access token that had already expired (every write does).
        assert_eq!(
            access_token_secrets(&after),
            Vec::<String>::new(),
            "{field}={value}"
        );
    }

    // client_info of another user.
    let h = Harness::new().await;
    h.seed(&expired_at).await;
    let before = h.stored().await;
    let mut body = ok_body("at-new", "rt-2");
    body["client_info"] = json!(client_info("99999999-aaaa-4bbb-8ccc-999999999999", UTID));
    token_json(200, body).expect(1).mount(&h.server).await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UserMismatch), "{e:?}");
    assert!(!e.is_ui_required());
    assert_eq!(h.stored().await, before);
}

/// Behaviour: one retry on 5xx without Retry-After: 500 then 200 succeeds after exactly 2
/// identical requests; 500 twice fails after exactly 2 requests.
#[tokio::test]
async fn one_retry_on_5xx_without_retry_after() {
    let h = signed_in().await;
    token_json(500, json!({"error": "server_error"}))
        .up_to_n_times(1)
        .mount(&h.server)
        .await;
    token_json(200, ok_body("at-2", "rt-2"))
        .mount(&h.server)
        .await;
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        requests[0].headers.get("client-request-id"),
        requests[1].headers.get("client-request-id")
    );
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-2"]);

    let h = signed_in().await;
    let before = h.stored().await;
    token_json(
        500,
        json!({"error": "server_error", "error_description": "boom"}),
    )
    .expect(2)
    .mount(&h.server)
    .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert!(!e.is_ui_required());
    assert_eq!(service(e).status, 500);
    assert_eq!(h.token_requests().await.len(), 2);
    assert_eq!(h.stored().await, before);
}

/// Behaviour (issue 13 §5): the retry delay is a pause on the app's clock. With an
/// auto-advancing `ManualClock` a 60 s delay takes no real time and the clock shows exactly
/// the 60 s that passed (before, the pause was Tokio's own and the clock stood still).
#[tokio::test]
async fn retry_delay_goes_through_the_apps_clock() {
    let server = wiremock::MockServer::start().await;
    let clock = msal::ManualClock::at_unix(T0).with_auto_advance();
    let cache = TestStore::from_env();
    let app = app_builder(&server, &clock, &cache, CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .retry_policy(msal::http::RetryPolicy {
            max_retries: 1,
            delay: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    let h = Harness {
        server,
        clock,
        cache,
        app,
    };
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    token_json(500, json!({"error": "server_error"}))
        .up_to_n_times(1)
        .mount(&h.server)
        .await;
    token_json(200, ok_body("at-2", "rt-2"))
        .mount(&h.server)
        .await;

    let started = std::time::Instant::now();
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    assert_eq!(h.token_requests().await.len(), 2);
    assert_eq!(
        h.clock.now(),
        at(T0 + 60),
        "the clock moved by exactly the retry delay"
    );
    // A bound only to prove the 60 s were not waited for real.
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// Behaviour: `Retry-After` (seconds) blocks identical requests locally until it passes
/// (fail fast with `Throttled`, no request); other requests are not blocked; a 429 with
/// Retry-After is not retried.
#[tokio::test]
async fn retry_after_seconds_blocks_identical_requests() {
    let h = signed_in().await;
    token_reply(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .set_body_json(json!({"error": "temporarily_unavailable"})),
    )
    .up_to_n_times(1)
    .mount(&h.server)
    .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("scope=Mail.Read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-mail",
            Some("rt-2"),
            "Mail.Read",
            3600,
        )))
        .mount(&h.server)
        .await;
    token_json(200, ok_body("at-2", "rt-3"))
        .mount(&h.server)
        .await;
    let account = h.account();

    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert!(!e.is_ui_required());
    assert_eq!(service(e).status, 429);
    assert_eq!(h.token_requests().await.len(), 1);

    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Throttled { until, status: 429 } if until == at(T0 + 7)),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.advance(Duration::from_secs(6));
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    assert_eq!(h.token_requests().await.len(), 1);

    // A different request (other scopes) is not blocked.
    let r = h
        .app
        .acquire_token_silent(["Mail.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-mail", TokenSource::IdentityProvider)
    );
    assert_eq!(h.token_requests().await.len(), 2);

    h.clock.advance(Duration::from_secs(2));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(h.token_requests().await.len(), 3);
}

/// Behaviour: a 5xx carrying `Retry-After` is not retried and blocks identical requests for
/// the time it gives.
#[tokio::test]
async fn server_error_with_retry_after_is_not_retried_and_blocks() {
    assert_retry_after_blocks_until(503, "5", T0 + 5).await;
}

/// Behaviour: `Retry-After` on a successful (200) token response does not throttle: only
/// 429/5xx answers block identical requests (decisions.md; MSAL.NET only throttles on
/// service exceptions).
#[tokio::test]
async fn retry_after_on_a_success_does_not_throttle() {
    let h = signed_in().await;
    token_reply(
        ResponseTemplate::new(200)
            .insert_header("Retry-After", "30")
            .set_body_json(ok_body("at-2", "rt-2")),
    )
    .up_to_n_times(1)
    .mount(&h.server)
    .await;
    token_json(200, ok_body("at-3", "rt-3"))
        .mount(&h.server)
        .await;
    let account = h.account();

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-2");

    // An identical request (forced past the cache) goes to the network.
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-3", TokenSource::IdentityProvider)
    );
    assert_eq!(h.token_requests().await.len(), 2);
}

/// Behaviour: `Retry-After` as an HTTP date blocks identical requests until that date
/// (measured against the app's clock).
#[tokio::test]
async fn retry_after_http_date_blocks_until_the_date() {
    assert_eq!(http_date(T0), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_retry_after_blocks_until(429, &http_date(T0 + 30), T0 + 30).await;
}

/// Behaviour: `Retry-After` is capped at 3600 s.
#[tokio::test]
async fn retry_after_is_capped_at_one_hour() {
    assert_retry_after_blocks_until(429, "99999", T0 + 3600).await;
}

/// An answer with `status` carrying `Retry-After: {retry_after}` fails (transient, not
/// retried), identical requests then fail fast with `Throttled { until }` and no request until
/// one second before `until`, and go to the network again one second after it.
async fn assert_retry_after_blocks_until(status: u16, retry_after: &str, until: u64) {
    let h = signed_in().await;
    token_reply(
        ResponseTemplate::new(status)
            .insert_header("Retry-After", retry_after)
            .set_body_json(json!({"error": "temporarily_unavailable"})),
    )
    .up_to_n_times(1)
    .mount(&h.server)
    .await;
    token_json(200, ok_body("at-2", "rt-2"))
        .mount(&h.server)
        .await;
    let account = h.account();
    let silent = || {
        h.app
            .acquire_token_silent(["User.Read"], &account)
            .into_future()
    };

    let e = silent().await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(service(e).status, status);
    assert_eq!(h.token_requests().await.len(), 1, "not retried");

    h.clock.set(at(until - 1));
    let e = silent().await.unwrap_err();
    assert!(
        matches!(e, Error::Throttled { until: u, status: s } if u == at(until) && s == status),
        "{e:?}"
    );
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.set(at(until + 1));
    assert_eq!(
        silent().await.unwrap().source(),
        TokenSource::IdentityProvider
    );
    assert_eq!(h.token_requests().await.len(), 2);
}

/// Behaviour: 429 (and 5xx, after its retry) without Retry-After blocks identical requests for
/// 60 s.
#[tokio::test]
async fn status_without_retry_after_blocks_for_sixty_seconds() {
    for (status, attempts) in [(429, 1), (503, 2)] {
        let h = signed_in().await;
        token_json(status, json!({"error": "temporarily_unavailable"}))
            .up_to_n_times(attempts)
            .mount(&h.server)
            .await;
        token_json(200, ok_body("at-2", "rt-2"))
            .mount(&h.server)
            .await;
        let account = h.account();

        let e = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap_err();
        assert_eq!(service(e).status, status);
        assert_eq!(h.token_requests().await.len(), attempts as usize);

        h.clock.advance(Duration::from_secs(59));
        let e = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Throttled { until, status: s } if until == at(T0 + 60) && s == status),
            "{status}: {e:?}"
        );
        assert_eq!(h.token_requests().await.len(), attempts as usize);

        h.clock.advance(Duration::from_secs(2));
        let r = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_eq!(r.source(), TokenSource::IdentityProvider, "{status}");
        assert_eq!(h.token_requests().await.len(), attempts as usize + 1);
    }
}

/// Behaviour: a UI-required answer to a silent refresh is replayed for 120 s to identical
/// requests with the same refresh token (no request); after 120 s, or once the refresh token
/// changed, the request goes to the network again.
#[tokio::test]
async fn ui_required_answers_are_replayed_for_120_seconds() {
    let h = signed_in().await;
    token_json(
        400,
        json!({
            "error": "invalid_grant",
            "error_description": "AADSTS50173: the grant was revoked",
            "suberror": "bad_token",
            "correlation_id": "11111111-0000-4000-8000-000000000023",
        }),
    )
    .mount(&h.server)
    .await;
    let account = h.account();
    let (app, account) = (&h.app, &account);
    let call = || async move {
        app.acquire_token_silent(["User.Read"], account)
            .await
            .unwrap_err()
    };

    let first = ui(call().await);
    assert_eq!(first.reason, UiRequiredReason::ServerRequested);
    assert_eq!(h.token_requests().await.len(), 1);

    let replayed = ui(call().await);
    assert_eq!(replayed, first);
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.advance(Duration::from_secs(119));
    assert_eq!(ui(call().await), first);
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.advance(Duration::from_secs(2));
    assert_eq!(ui(call().await), first);
    assert_eq!(h.token_requests().await.len(), 2);

    // Still within 120 s of the last answer, but the RT changed (e.g. an interactive
    // sign-in happened): straight to the network with the new RT.
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-after-sign-in"))
        .await;
    assert_eq!(ui(call().await), first);
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 3);
    assert_eq!(form(&requests[2])["refresh_token"], "rt-after-sign-in");

    // Other scopes are another request: not replayed.
    let e = h
        .app
        .acquire_token_silent(["Mail.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(e.is_ui_required());
    assert_eq!(h.token_requests().await.len(), 4);
}

/// Behaviour: when the refresh fails transiently and the cached AT is inside the buffer but
/// not expired, that AT is returned (source Cache) instead of the error; an expired AT, or a
/// non-transient failure, gives the error.
#[tokio::test]
async fn transient_failure_near_expiry_serves_the_cached_token() {
    let near_expiry =
        |expires_on: u64| CacheDoc::signed_in_with("rt-1", "User.Read", "at-old", expires_on);

    let h = Harness::new().await;
    h.seed(&near_expiry(T0 + 200)).await;
    let before = h.stored().await;
    token_json(503, json!({"error": "temporarily_unavailable"}))
        .expect(2)
        .mount(&h.server)
        .await;
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-old", TokenSource::Cache)
    );
    assert_eq!(r.expires_on(), at(T0 + 200));
    assert_eq!(h.token_requests().await.len(), 2);
    // Throttled locally now (503 blocks for 60 s): still the cached token, no request.
    h.clock.advance(Duration::from_secs(10));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-old", TokenSource::Cache)
    );
    assert_eq!(h.token_requests().await.len(), 2);
    assert_eq!(h.stored().await, before);

    // Already expired: the error.
    let h = Harness::new().await;
    h.seed(&near_expiry(T0 - 10)).await;
    token_json(503, json!({"error": "temporarily_unavailable"}))
        .expect(2)
        .mount(&h.server)
        .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(service(e).status, 503);

    // Near expiry but the failure is not transient: the error.
    let h = Harness::new().await;
    h.seed(&near_expiry(T0 + 200)).await;
    token_json(400, json!({"error": "invalid_grant"}))
        .expect(1)
        .mount(&h.server)
        .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Answers that are not the identity provider's, broken connections, error messages
// ---------------------------------------------------------------------------------------------

/// Behaviour (issue 14 §4): a 503 whose body is an HTML page is a transient
/// `ServiceUnavailable` naming the status (was: a "malformed token response" protocol error).
#[tokio::test]
async fn html_503_is_a_transient_service_error_naming_the_status() {
    let h = signed_in().await;
    token_reply(
        ResponseTemplate::new(503)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><body>Service Unavailable</body></html>"),
    )
    .expect(2)
    .mount(&h.server)
    .await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ServiceUnavailable {
                status: 503,
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient());
    let text = e.to_string();
    assert!(text.contains("HTTP 503"), "{text}");
    assert!(text.contains("unavailable"), "{text}");
    assert!(!text.contains("malformed token response"), "{text}");
}

/// Behaviour (issue 14 §4): a 429 with an HTML body and `Retry-After: 30` is a transient
/// `ServiceUnavailable` (status 429, the wait it asked for) after one request (a 429 is never
/// retried); identical requests then fail fast with `Throttled` until the 30 s have passed.
#[tokio::test]
async fn html_429_is_transient_and_its_retry_after_is_honoured() {
    let h = signed_in().await;
    token_reply(
        ResponseTemplate::new(429)
            .insert_header("content-type", "text/html")
            .insert_header("Retry-After", "30")
            .set_body_string("<html><body>Too Many Requests</body></html>"),
    )
    .up_to_n_times(1)
    .mount(&h.server)
    .await;
    token_json(200, ok_body("at-2", "rt-3"))
        .mount(&h.server)
        .await;
    let account = h.account();

    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ServiceUnavailable { status: 429, retry_after: Some(wait), .. }
                if wait == Duration::from_secs(30)
        ),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert!(!e.is_ui_required());
    assert!(e.to_string().contains("HTTP 429, retry after 30 s"), "{e}");
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.advance(Duration::from_secs(29));
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Throttled { until, status: 429 } if until == at(T0 + 30)),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.advance(Duration::from_secs(2));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-2");
    assert_eq!(h.token_requests().await.len(), 2);
}

/// Accepts connections on 127.0.0.1, reads the start of each request and drops the connection
/// with the rest unread (the kernel answers with a reset). Serves at most `max` connections and
/// stops after 10 s.
fn reset_server(max: usize) -> (std::net::SocketAddr, std::sync::Arc<AtomicUsize>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&served);
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while count.load(Ordering::SeqCst) < max && std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let _ = stream.read(&mut [0u8; 16]);
                    count.fetch_add(1, Ordering::SeqCst);
                    drop(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (addr, served)
}

/// Behaviour (issue 14 §4): a connection reset after the request was sent is reported as a
/// reset or closed connection (`Http(ConnectionClosed)`), never as "could not connect"; it is
/// transient and retried once.
#[tokio::test]
async fn a_reset_after_the_request_was_sent_is_not_could_not_connect() {
    let (addr, served) = reset_server(2);
    let h = Harness::with_transport(LoopbackTransport::to(addr)).await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Http(msal::http::HttpError::ConnectionClosed { .. })
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(!text.contains("could not connect"), "{text}");
    assert!(text.contains("reset or closed"), "{text}");
    assert!(e.is_transient());
    assert_eq!(served.load(Ordering::SeqCst), 2, "one retry");
    // The transport's own account (reqwest's and hyper's error chain) follows the prefix.
    assert!(
        text.starts_with("no usable answer from the identity provider: the connection was reset or closed before the response was complete: "),
        "{text}"
    );
}

/// The words of a message segment, lower case, `_` and `-` read as spaces, without the small
/// words any sentence repeats.
fn words(segment: &str) -> Vec<String> {
    const SMALL: &[&str] = &[
        "the", "a", "an", "of", "to", "from", "for", "is", "was", "be", "by", "and", "or", "in",
        "on", "at", "with", "it", "its", "this", "that", "not", "no",
    ];
    segment
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !SMALL.contains(&w.as_str()))
        .collect()
}

/// Fails when a segment of `message` (split at `": "`) starts with a word the segment before it
/// already said: "token cache error: token cache ...", "invalid authority: authority ...".
fn assert_no_doubled_prefix(message: &str) {
    let segments: Vec<&str> = message.split(": ").collect();
    for pair in segments.windows(2) {
        let before = words(pair[0]);
        for lead in words(pair[1]).iter().take(2) {
            assert!(
                !before.contains(lead),
                "`{lead}` repeats the prefix `{}` in: {message}",
                pair[0]
            );
        }
    }
}

/// Behaviour (issue 14 §4): the Display of each facade error that wraps another error says
/// each thing once (was: "token cache error: token cache ...", "HTTP request failed: HTTP
/// transport error: ...", "invalid authority: authority ...", "interactive sign-in failed:
/// sign-in was cancelled", "interaction required: interaction_required: ...").
#[test]
fn wrapped_error_messages_do_not_repeat_their_prefix() {
    use msal::http::HttpError;
    let oauth = |error: &str| msal_core::OAuthError {
        error: error.into(),
        error_description: Some("AADSTS50076: MFA is required.".into()),
        ..Default::default()
    };
    let mut errors: Vec<Error> = vec![
        Error::Http(HttpError::Timeout),
        Error::Http(HttpError::Connect {
            message: "error sending request: connection refused".into(),
        }),
        Error::Http(HttpError::ConnectionClosed {
            message: "error sending request: connection closed before message completed".into(),
        }),
        Error::Http(HttpError::BodyTooLarge { limit: 10 }),
        Error::Http(HttpError::InvalidRequest {
            message: "the URL is not a valid HTTP request target".into(),
        }),
        Error::Http(HttpError::Transport {
            message: "could not assemble the response".into(),
        }),
        Error::Cache(msal::cache::CacheError::Store {
            message: "redis: connection refused".into(),
        }),
        Error::Interaction(msal::WebUiError::Cancelled),
        Error::Interaction(msal::WebUiError::TimedOut),
        Error::Interaction(msal::WebUiError::Unavailable("no browser".into())),
        Error::ServiceUnavailable {
            status: 503,
            retry_after: None,
            detail: "the body is not JSON (20 bytes)".into(),
        },
    ];
    for error in ["interaction_required", "invalid_grant", "login_required"] {
        errors.push(Error::UiRequired(Box::new(ui_required_from(oauth(error)))));
    }
    errors.push(Error::Service(Box::new(ServiceError {
        status: 400,
        oauth: oauth("invalid_client"),
        correlation_id: None,
    })));
    for authority in ["https://exa mple.com/t", "http://login.example.com/tenant"] {
        let e = msal::Authority::parse(authority).unwrap_err();
        errors.push(Error::Authority(e));
    }
    for e in &errors {
        assert_no_doubled_prefix(&e.to_string());
    }
}

fn ui_required_from(oauth: msal_core::OAuthError) -> UiRequiredError {
    UiRequiredError {
        reason: UiRequiredReason::ServerRequested,
        classification: None,
        claims: None,
        oauth: Some(oauth),
        correlation_id: None,
    }
}

/// Behaviour: `is_transient` is true for network failures, timeouts, 5xx, 429 and answers that
/// are not JSON, and false for OAuth error answers (400/401 with an `error` code) and a user
/// mismatch.
#[test]
fn transient_classification() {
    use msal::http::HttpError;
    let service = |status: u16, error: &str| {
        Error::Service(Box::new(ServiceError {
            status,
            oauth: msal_core::OAuthError {
                error: error.into(),
                ..Default::default()
            },
            correlation_id: None,
        }))
    };
    let unavailable = |status: u16| Error::ServiceUnavailable {
        status,
        retry_after: None,
        detail: String::new(),
    };
    for e in [
        Error::Http(HttpError::Timeout),
        Error::Http(HttpError::Connect {
            message: String::new(),
        }),
        Error::Http(HttpError::ConnectionClosed {
            message: String::new(),
        }),
        service(500, "server_error"),
        service(503, "temporarily_unavailable"),
        service(429, "temporarily_unavailable"),
        unavailable(502),
        unavailable(429),
        unavailable(200),
        Error::Throttled {
            until: at(T0),
            status: 429,
        },
    ] {
        assert!(e.is_transient(), "{e:?}");
    }
    for e in [
        service(400, "invalid_scope"),
        service(401, "invalid_client"),
        service(400, "unknown_error"),
        Error::UiRequired(Box::new(ui_required_from(msal_core::OAuthError {
            error: "invalid_grant".into(),
            ..Default::default()
        }))),
        Error::UserMismatch,
    ] {
        assert!(!e.is_transient(), "{e:?}");
    }
}
