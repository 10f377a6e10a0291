//! `ConfidentialClientCredential` (client credentials) and `OnBehalfOfCredential` against a
//! wiremock Entra: cache hits, tenant and claims options, expiry mapping, errors, Debug.
mod common;

use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use common::*;
use msal::cache::MemoryCache;
use msal::http::RetryPolicy;
use msal::ConfidentialClientApplication;
use msal_azure::{
    is_sign_in_required, token_request_options, ConfidentialClientCredential, OnBehalfOfCredential,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "very-secret-client-secret";
const GRAPH: &str = "https://graph.microsoft.com/.default";

fn confidential_app(server: &MockServer) -> ConfidentialClientApplication {
    ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(TENANT))
        .client_secret(SECRET)
        .http_client(LoopbackTransport::new(server))
        .cache(MemoryCache::new())
        .retry_policy(RetryPolicy {
            max_retries: 0,
            delay: Duration::from_millis(10),
        })
        .build()
        .unwrap()
}

fn app_token(access_token: &str) -> serde_json::Value {
    json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": access_token})
}

#[tokio::test]
async fn client_credentials_then_cache_hits_with_expiry_minus_five_minutes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("app-at")))
        .expect(1)
        .mount(&server)
        .await;
    let credential = ConfidentialClientCredential::new(confidential_app(&server));
    let before = now_secs();
    let first = credential.get_token(&[VAULT], None).await.unwrap();
    let after = now_secs();
    assert_eq!(first.token.secret(), "app-at");
    let reported = first.expires_on.unix_timestamp() as u64;
    assert!(
        (before + 3300..=after + 3300).contains(&reported),
        "expires_on {reported} is not the real expiry minus 5 minutes"
    );
    for _ in 0..3 {
        let again = credential.get_token(&[VAULT], None).await.unwrap();
        assert_eq!(again.token.secret(), "app-at");
    }
    let requests = idp_requests(&server).await;
    assert_eq!(requests.len(), 1);
    let form = form(&requests[0]);
    assert_eq!(form["client_secret"], SECRET);
    assert!(form["scope"].contains(VAULT));
}

#[tokio::test]
async fn client_credentials_honour_the_tenant_and_claims_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path(OTHER_TENANT)))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("app-at-other")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("claims="))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("app-at-claims")))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("app-at-home")))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let credential = ConfidentialClientCredential::new(confidential_app(&server));

    let home = credential.get_token(&[GRAPH], None).await.unwrap();
    assert_eq!(home.token.secret(), "app-at-home");
    for _ in 0..2 {
        let options = token_request_options(Some(OTHER_TENANT), None);
        let other = credential.get_token(&[GRAPH], Some(options)).await.unwrap();
        assert_eq!(other.token.secret(), "app-at-other");
    }
    let claims = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;
    let options = token_request_options(None, Some(claims));
    let fresh = credential.get_token(&[GRAPH], Some(options)).await.unwrap();
    assert_eq!(
        fresh.token.secret(),
        "app-at-claims",
        "claims skip the cache"
    );
    assert_eq!(idp_requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_rejected_client_secret_is_a_credential_error_without_the_secret() {
    let server = MockServer::start().await;
    invalid_client_secret().mount(&server).await;
    let credential = ConfidentialClientCredential::new(confidential_app(&server));
    let err = credential.get_token(&[VAULT], None).await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Credential);
    assert!(!is_sign_in_required(&err));
    assert!(err.downcast_ref::<msal::Error>().is_some());
    assert!(err.to_string().contains("invalid_client"), "{err}");
    let shown = format!("{err} {err:?} {credential:?}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[tokio::test]
async fn on_behalf_of_exchanges_the_assertion_once_per_user() {
    let server = MockServer::start().await;
    let now = now_secs();
    for (assertion, token) in [
        ("alice-incoming-token", "obo-alice"),
        ("bob-incoming-token", "obo-bob"),
    ] {
        Mock::given(method("POST"))
            .and(path(token_path(TENANT)))
            .and(body_string_contains(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
            ))
            .and(body_string_contains(format!("assertion={assertion}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(tokens(token, "obo-rt", GRAPH, now)),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let app = confidential_app(&server);
    for _ in 0..2 {
        let alice = OnBehalfOfCredential::new(app.clone(), "alice-incoming-token");
        assert_eq!(
            alice
                .get_token(&[GRAPH], None)
                .await
                .unwrap()
                .token
                .secret(),
            "obo-alice"
        );
        let bob = OnBehalfOfCredential::new(app.clone(), "bob-incoming-token");
        assert_eq!(
            bob.get_token(&[GRAPH], None).await.unwrap().token.secret(),
            "obo-bob"
        );
        let debug = format!("{alice:?} {bob:?}");
        assert!(!debug.contains("incoming-token"), "{debug}");
        assert!(!debug.contains(SECRET), "{debug}");
    }
    let requests = idp_requests(&server).await;
    assert_eq!(requests.len(), 2, "one exchange per user, then cache hits");
    for request in &requests {
        let form = form(request);
        assert_eq!(form["requested_token_use"], "on_behalf_of");
        assert!(form["scope"].contains(GRAPH));
    }
}

#[tokio::test]
async fn on_behalf_of_interaction_required_is_a_sign_in_error_with_the_claims() {
    let server = MockServer::start().await;
    let claims = r#"{"access_token":{"capolids":{"essential":true,"values":["1"]}}}"#;
    token_error(
        400,
        json!({
            "error": "interaction_required",
            "error_description": "AADSTS50076: multi-factor authentication required.",
            "claims": claims,
        }),
    )
    .mount(&server)
    .await;
    let credential = OnBehalfOfCredential::new(confidential_app(&server), "incoming-token");
    let err = credential.get_token(&[GRAPH], None).await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Credential);
    assert!(is_sign_in_required(&err));
    let msal_error = err.downcast_ref::<msal::Error>().unwrap();
    assert_eq!(msal_error.claims(), Some(claims));
}
