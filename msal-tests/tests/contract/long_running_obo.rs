//! Long-running on-behalf-of (MSAL.NET's `InitiateLongRunningProcessInWebApi` /
//! `AcquireTokenInLongRunningProcess`): initiated with the incoming token under a session key,
//! then served by the key alone from the cache or its refresh token; a typed error when
//! nothing is cached for a key.

use std::time::Duration;

use msal::{ConfidentialClientApplication, Error, ManualClock, TokenSource};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GRAPH: &str = "https://graph.microsoft.com/User.Read";
const INCOMING: &str = "incoming-user-token-for-the-web-api-0123456789";

fn token_path() -> String {
    format!("/{UTID}/oauth2/v2.0/token")
}

struct Api {
    server: MockServer,
    clock: ManualClock,
    app: ConfidentialClientApplication,
}

async fn api() -> Api {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&format!("https://login.microsoftonline.com/{UTID}"))
        .client_secret("api-secret")
        .http_client(LoopbackTransport::new(&server))
        .clock(clock.clone())
        .cache(TestStore::from_env())
        .build()
        .unwrap();
    Api { server, clock, app }
}

fn exchange(body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("requested_token_use=on_behalf_of"))
        .and(body_string_contains(format!("assertion={INCOMING}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn refresh(rt: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!("refresh_token={rt}")))
}

async fn token_forms(server: &MockServer) -> Vec<std::collections::HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .map(form)
        .collect()
}

/// Initiate without a key: the key is the incoming token's hash (MSAL.NET's); the key alone
/// then gets the cached token, and after expiry the refresh token's, never the assertion.
#[tokio::test]
async fn initiate_then_acquire_by_key_from_cache_then_by_refresh_token() {
    let a = api().await;
    exchange(token_response("lr-at-1", Some("lr-rt-1"), GRAPH, 3600))
        .expect(1)
        .mount(&a.server)
        .await;
    let session = a
        .app
        .initiate_long_running_process_in_web_api(INCOMING, [GRAPH])
        .await
        .unwrap();
    assert_eq!(
        session.session_key,
        msal::on_behalf_of::user_assertion_hash(INCOMING)
    );
    assert_eq!(session.result.access_token(), "lr-at-1");

    let cached = a
        .app
        .acquire_token_in_long_running_process(&session.session_key, [GRAPH])
        .await
        .unwrap();
    assert_eq!(
        (cached.access_token(), cached.source()),
        ("lr-at-1", TokenSource::Cache)
    );
    assert_eq!(token_forms(&a.server).await.len(), 1);

    refresh("lr-rt-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "lr-at-2",
            Some("lr-rt-2"),
            GRAPH,
            3600,
        )))
        .expect(1)
        .mount(&a.server)
        .await;
    a.clock.advance(Duration::from_secs(3600));
    let refreshed = a
        .app
        .acquire_token_in_long_running_process(&session.session_key, [GRAPH])
        .await
        .unwrap();
    assert_eq!(
        (refreshed.access_token(), refreshed.source()),
        ("lr-at-2", TokenSource::IdentityProvider)
    );
    let forms = token_forms(&a.server).await;
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[1]["grant_type"], "refresh_token");
    assert!(!forms[1].contains_key("assertion"));
}

/// A key of the caller's choice; another key finds nothing: the typed error, no request.
#[tokio::test]
async fn a_chosen_key_works_and_an_unknown_key_is_a_typed_error() {
    let a = api().await;
    exchange(token_response("lr-at-1", Some("lr-rt-1"), GRAPH, 3600))
        .expect(1)
        .mount(&a.server)
        .await;
    let session = a
        .app
        .initiate_long_running_process_in_web_api(INCOMING, [GRAPH])
        .session_key("job-42")
        .await
        .unwrap();
    assert_eq!(session.session_key, "job-42");
    let r = a
        .app
        .acquire_token_in_long_running_process("job-42", [GRAPH])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "lr-at-1");

    let err = a
        .app
        .acquire_token_in_long_running_process("job-43", [GRAPH])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LongRunningSessionNotFound), "{err:?}");
    assert!(!err.is_transient());
    let err = a
        .app
        .acquire_token_in_long_running_process("", [GRAPH])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!(token_forms(&a.server).await.len(), 1);
}

/// A refused refresh token is the provider's answer ("interaction required"); there is no
/// assertion to fall back on, so nothing else is sent.
#[tokio::test]
async fn a_refused_refresh_token_is_ui_required_without_an_assertion_exchange() {
    let a = api().await;
    exchange(token_response("lr-at-1", Some("lr-rt-1"), GRAPH, 3600))
        .expect(1)
        .mount(&a.server)
        .await;
    refresh("lr-rt-1")
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "AADSTS700082: expired"
        })))
        .expect(1)
        .mount(&a.server)
        .await;
    let session = a
        .app
        .initiate_long_running_process_in_web_api(INCOMING, [GRAPH])
        .await
        .unwrap();
    a.clock.advance(Duration::from_secs(3600));
    let err = a
        .app
        .acquire_token_in_long_running_process(&session.session_key, [GRAPH])
        .await
        .unwrap_err();
    assert!(err.is_ui_required(), "{err:?}");
    assert_eq!(token_forms(&a.server).await.len(), 2);
}
