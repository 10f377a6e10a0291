//! The credential inside real Azure SDK pipelines: azure_core's `BearerTokenAuthorizationPolicy`
//! and the Key Vault `SecretClient`, talking (through a loopback transport) to a wiremock
//! "service" that checks the `Authorization` header and answers one CAE claims challenge.
mod common;

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::policies::Policy;
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, Request, StatusCode, Transport, Url,
};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use base64::Engine;
use common::*;
use msal_azure::{ClaimsChallengeHandler, Interaction, PublicClientCredential};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
use wiremock::{Match, Mock, MockServer, ResponseTemplate};

const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

fn cae_challenge(extra: &str) -> String {
    format!(
        r#"Bearer realm="", {extra}authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{}""#,
        base64::engine::general_purpose::STANDARD.encode(CLAIMS)
    )
}

/// Token endpoint: a refresh without claims answers `plain`, one with claims `with_claims`.
async fn mount_token_endpoint(server: &MockServer, plain: &str, with_claims: &str, now: u64) {
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("claims="))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(
            with_claims,
            "rt-3",
            VAULT,
            now,
        )))
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(plain, "rt-2", VAULT, now)))
        .with_priority(2)
        .expect(1)
        .mount(server)
        .await;
}

fn credential(server: &MockServer) -> PublicClientCredential {
    let cache = signed_in_cache("rt-1", None);
    PublicClientCredential::new(app(server, TENANT, &cache, None), Interaction::Fail)
}

fn client_options(server: &MockServer) -> ClientOptions {
    ClientOptions {
        transport: Some(Transport::new(Arc::new(SdkLoopback::new(server)))),
        ..ClientOptions::default()
    }
}

async fn token_requests(server: &MockServer) -> Vec<wiremock::Request> {
    idp_requests(server)
        .await
        .into_iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .collect()
}

#[tokio::test]
async fn bearer_token_policy_sends_our_token_and_retries_a_cae_challenge_with_its_claims() {
    let server = MockServer::start().await;
    let now = now_secs();
    mount_token_endpoint(&server, "at-1", "at-2", now).await;
    // The service: the first token is revoked (CAE challenge, once); the second one works.
    Mock::given(method("GET"))
        .and(path("/resource"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", cae_challenge("")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/resource"))
        .and(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
        .expect(2)
        .mount(&server)
        .await;

    let credential: Arc<dyn TokenCredential> = Arc::new(credential(&server));
    let policy: Arc<dyn Policy> = Arc::new(
        BearerTokenAuthorizationPolicy::new(credential, [VAULT])
            .with_on_challenge(Arc::new(ClaimsChallengeHandler::new([VAULT]))),
    );
    let pipeline = Pipeline::new(
        Some("msal-azure-test"),
        Some("0"),
        client_options(&server),
        Vec::new(),
        vec![policy],
        None,
    );
    let url = Url::parse("https://service.example/resource").unwrap();

    let mut request = Request::new(url.clone(), Method::Get);
    let response = pipeline
        .send(&Context::new(), &mut request, None)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::Ok);
    let tokens = token_requests(&server).await;
    assert_eq!(
        tokens.len(),
        2,
        "the first token, then one for the challenge"
    );
    assert!(!form(&tokens[0]).contains_key("claims"));
    let sent: serde_json::Value = serde_json::from_str(&form(&tokens[1])["claims"]).unwrap();
    assert_eq!(
        sent,
        serde_json::from_str::<serde_json::Value>(CLAIMS).unwrap()
    );

    // The policy keeps the new token: the next request asks nobody.
    let mut request = Request::new(url, Method::Get);
    let response = pipeline
        .send(&Context::new(), &mut request, None)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::Ok);
    assert_eq!(token_requests(&server).await.len(), 2);
}

/// A request without an `Authorization` header.
struct Anonymous;

impl Match for Anonymous {
    fn matches(&self, request: &wiremock::Request) -> bool {
        !request.headers.contains_key("authorization")
    }
}

#[tokio::test]
async fn key_vault_secret_client_on_the_credential_with_the_claims_challenge_policy() {
    let server = MockServer::start().await;
    let now = now_secs();
    mount_token_endpoint(&server, "at-1", "at-2", now).await;
    let secret = json!({
        "value": "hunter2",
        "id": "https://myvault.vault.azure.net/secrets/db-password/0123456789abcdef",
        "attributes": {"enabled": true},
    });
    let kv_params = format!(
        r#"authorization="https://login.microsoftonline.com/{TENANT}", resource="https://vault.azure.net", "#
    );
    // Key Vault clients first send no token: the challenge names the resource.
    Mock::given(method("GET"))
        .and(path_regex("^/secrets/db-password"))
        .and(Anonymous)
        .respond_with(
            ResponseTemplate::new(401).insert_header(
                "WWW-Authenticate",
                format!(r#"Bearer {kv_params}"#)
                    .trim_end_matches(", ")
                    .to_owned(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/secrets/db-password"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&secret))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;

    let credential = credential(&server);
    let options = SecretClientOptions {
        client_options: ClientOptions {
            per_try_policies: vec![credential.claims_challenge_policy()],
            ..client_options(&server)
        },
        ..SecretClientOptions::default()
    };
    let client = SecretClient::new(
        "https://myvault.vault.azure.net/",
        Arc::new(credential.clone()),
        Some(options),
    )
    .unwrap();

    for _ in 0..2 {
        let got = client
            .get_secret("db-password", None)
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert_eq!(got.value.as_deref(), Some("hunter2"));
    }
    let tokens = token_requests(&server).await;
    assert_eq!(tokens.len(), 1, "one token for both calls");
    assert!(form(&tokens[0])["scope"].contains(VAULT));

    // The token is revoked: the vault answers with a CAE challenge (naming the resource too, as
    // Key Vault's authorizer requires), once.
    Mock::given(method("GET"))
        .and(path_regex("^/secrets/db-password"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", cae_challenge(&kv_params)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/secrets/db-password"))
        .and(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&secret))
        .expect(1)
        .mount(&server)
        .await;
    let got = client
        .get_secret("db-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(got.value.as_deref(), Some("hunter2"));
    let tokens = token_requests(&server).await;
    assert_eq!(tokens.len(), 2);
    let sent: serde_json::Value = serde_json::from_str(&form(&tokens[1])["claims"]).unwrap();
    assert_eq!(
        sent,
        serde_json::from_str::<serde_json::Value>(CLAIMS).unwrap()
    );
}
