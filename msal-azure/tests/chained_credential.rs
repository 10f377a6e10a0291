//! The chained credential (environment → workload identity → managed identity → developer
//! account) and the managed identity and workload identity credentials, inside a real Azure
//! SDK pipeline (azure_core's `BearerTokenAuthorizationPolicy`) against loopback fakes.
//!
//! Every link reads a variable map given to the builder, never the process environment; the
//! managed identity link's IMDS is pointed at the local fake with
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST`, and every msal request goes through the loopback guard
//! ([`LoopbackOnly`]): nothing is ever sent to 169.254.169.254 or any other non-loopback host.
mod common;

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::policies::Policy;
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, Request, StatusCode, Transport, Url,
};
use common::*;
use msal::http::ReqwestHttpClient;
use msal::{
    ManagedIdentityApplication, ManagedIdentityEnvironment, ManagedIdentityId,
    ManagedIdentityRetryPolicy,
};
use msal_azure::{
    ChainedCredential, ChainedCredentialBuilder, CredentialError, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use msal_tests::loopback_guard::LoopbackOnly;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
const VAULT_RESOURCE: &str = "https://vault.azure.net";

fn guarded() -> LoopbackOnly<ReqwestHttpClient> {
    LoopbackOnly::new(ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)))
}

/// The chain an environment configured for a client secret builds (tenant at the fake).
fn client_secret_chain(server: &MockServer, secret: &str) -> ChainedCredential {
    chain(&[
        imds_var(server),
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("AZURE_CLIENT_SECRET", secret.to_owned()),
        ("AZURE_AUTHORITY_HOST", server.uri()),
    ])
    .build()
}

/// A chain over exactly `vars`, IMDS at the fake, fast retries.
fn chain(vars: &[(&str, String)]) -> ChainedCredentialBuilder {
    ChainedCredential::builder()
        .environment_variables(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .http_client(guarded())
        .managed_identity_retry_policy(
            ManagedIdentityRetryPolicy::new(1, Duration::from_millis(5))
                .max_elapsed(Duration::from_secs(2)),
        )
        .cli_cache_folder("/nonexistent-msal-azure-test-folder")
}

fn imds_var(server: &MockServer) -> (&'static str, String) {
    ("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.uri())
}

/// IMDS answering `token` (numbers as strings, as IMDS sends them).
async fn mount_imds(server: &MockServer, token: &str) {
    let now = now_secs();
    Mock::given(method("GET"))
        .and(path(IMDS_PATH))
        .and(header("metadata", "true"))
        .and(query_param("resource", VAULT_RESOURCE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "expires_in": "3599",
            "expires_on": (now + 3599).to_string(),
            "resource": VAULT_RESOURCE,
            "token_type": "Bearer",
        })))
        .mount(server)
        .await;
}

/// IMDS saying the identity is not assigned to this VM.
async fn mount_imds_identity_not_found(server: &MockServer) {
    Mock::given(path(IMDS_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "Identity not found",
        })))
        .mount(server)
        .await;
}

/// An Entra tenant at the fake's own address (`AZURE_AUTHORITY_HOST`): its discovery document
/// and a token endpoint answering `token`.
async fn mount_tenant(server: &MockServer, token: &str) {
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path(format!(
            "/{TENANT}/v2.0/.well-known/openid-configuration"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": format!("{uri}/{TENANT}/v2.0"),
            "authorization_endpoint": format!("{uri}/{TENANT}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{uri}{}", token_path(TENANT)),
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 3600,
        })))
        .mount(server)
        .await;
}

/// The service: answers 200 to `Bearer {token}` and counts the calls.
async fn mount_service(server: &MockServer, token: &str, calls: u64) {
    Mock::given(method("GET"))
        .and(path("/secrets/s"))
        .and(header("authorization", format!("Bearer {token}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(calls)
        .mount(server)
        .await;
}

/// Two calls through an Azure SDK pipeline whose bearer-token policy uses `credential`.
async fn call_service_twice(server: &MockServer, credential: Arc<dyn TokenCredential>) {
    let policy: Arc<dyn Policy> =
        Arc::new(BearerTokenAuthorizationPolicy::new(credential, [VAULT]));
    let pipeline = Pipeline::new(
        Some("msal-azure-test"),
        Some("0"),
        ClientOptions {
            transport: Some(Transport::new(Arc::new(SdkLoopback::new(server)))),
            ..ClientOptions::default()
        },
        Vec::new(),
        vec![policy],
        None,
    );
    for _ in 0..2 {
        let mut request = Request::new(
            Url::parse("https://myvault.vault.azure.net/secrets/s").unwrap(),
            Method::Get,
        );
        let response = pipeline
            .send(&Context::new(), &mut request, None)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::Ok);
    }
}

async fn requests_to(server: &MockServer, path_suffix: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().ends_with(path_suffix))
        .collect()
}

fn chain_attempts(error: &azure_core::Error) -> Vec<msal_azure::ChainAttempt> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(CredentialError::Chain { attempts }) = e.downcast_ref::<CredentialError>() {
            return attempts.clone();
        }
        source = e.source();
    }
    panic!("not a chain error: {error}");
}

#[tokio::test]
async fn in_production_on_a_vm_the_chain_uses_managed_identity_in_an_sdk_pipeline() {
    let server = MockServer::start().await;
    mount_imds(&server, "mi-token").await;
    mount_service(&server, "mi-token", 2).await;
    let credential = chain(&[imds_var(&server)]).build();
    assert_eq!(
        credential.links(),
        [
            ("environment".to_owned(), false),
            ("workload identity".to_owned(), false),
            ("managed identity (IMDS)".to_owned(), true),
            ("developer account (msal CLI)".to_owned(), false),
        ]
    );
    call_service_twice(&server, Arc::new(credential)).await;
    // One IMDS request: the second call is the SDK's (or msal's) cached token.
    let imds = requests_to(&server, IMDS_PATH).await;
    assert_eq!(imds.len(), 1);
    assert_eq!(
        imds[0]
            .url
            .query_pairs()
            .find(|(k, _)| k == "api-version")
            .unwrap()
            .1,
        "2018-02-01"
    );
}

#[tokio::test]
async fn on_a_laptop_the_chain_falls_through_to_the_developer_account() {
    let server = MockServer::start().await;
    // No managed identity here: IMDS (the fake) says the identity is not found.
    mount_imds_identity_not_found(&server).await;
    mount_service(&server, "dev-token", 2).await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", Some(("dev-token", VAULT, now + 3600)));
    let credential = chain(&[imds_var(&server)])
        .developer_app(app(&server, TENANT, &cache, None))
        .build();
    call_service_twice(&server, Arc::new(credential)).await;
    // The cached token: no token request; IMDS asked once, then the chain sticks to the
    // developer link.
    assert!(requests_to(&server, "/oauth2/v2.0/token").await.is_empty());
    assert_eq!(requests_to(&server, IMDS_PATH).await.len(), 1);
}

#[tokio::test]
async fn the_developer_link_reads_the_msal_cli_cache_from_its_variables() {
    let server = MockServer::start().await;
    mount_imds_identity_not_found(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msal_token_cache.json");
    let now = now_secs();
    let doc = signed_in_document("rt-1", Some(("cli-token", VAULT, now + 3600)));
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let credential = chain(&[
        imds_var(&server),
        ("MSAL_CLIENT_ID", CLIENT_ID.to_owned()),
        ("MSAL_AUTHORITY", authority(TENANT)),
        ("MSAL_CACHE", file.display().to_string()),
    ])
    .build();
    let token = credential.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(token.token.secret(), "cli-token");
}

#[tokio::test]
async fn the_environment_link_comes_first_and_sends_the_client_secret() {
    let server = MockServer::start().await;
    mount_tenant(&server, "secret-token").await;
    mount_imds(&server, "mi-token").await;
    mount_service(&server, "secret-token", 2).await;
    let credential = client_secret_chain(&server, "s3cret-value");
    call_service_twice(&server, Arc::new(credential)).await;
    let token_requests = requests_to(&server, "/oauth2/v2.0/token").await;
    assert_eq!(token_requests.len(), 1);
    let form = form(&token_requests[0]);
    assert_eq!(form["client_secret"], "s3cret-value");
    assert_eq!(form["grant_type"], "client_credentials");
    assert!(requests_to(&server, IMDS_PATH).await.is_empty());
}

#[tokio::test]
async fn the_workload_identity_link_sends_the_token_file() {
    let server = MockServer::start().await;
    mount_tenant(&server, "federated-token").await;
    mount_service(&server, "federated-token", 2).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "projected-service-account-token").unwrap();
    let credential = chain(&[
        imds_var(&server),
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
        ("AZURE_AUTHORITY_HOST", server.uri()),
    ])
    .build();
    call_service_twice(&server, Arc::new(credential)).await;
    let token_requests = requests_to(&server, "/oauth2/v2.0/token").await;
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        form(&token_requests[0])["client_assertion"],
        "projected-service-account-token"
    );
    assert!(requests_to(&server, IMDS_PATH).await.is_empty());
}

#[tokio::test]
async fn the_error_lists_what_each_link_tried() {
    let server = MockServer::start().await;
    mount_imds_identity_not_found(&server).await;
    let credential = chain(&[imds_var(&server)]).build();
    let error = credential.get_token(&[VAULT], None).await.unwrap_err();
    let attempts = chain_attempts(&error);
    let links: Vec<&str> = attempts.iter().map(|a| a.link.as_str()).collect();
    assert_eq!(
        links,
        [
            "environment",
            "workload identity",
            "managed identity (IMDS)",
            "developer account (msal CLI)"
        ]
    );
    assert!(attempts[0].outcome.contains("not configured"), "{error}");
    assert!(
        attempts[2].outcome.contains("Identity not found"),
        "{error}"
    );
    assert!(attempts[3].outcome.contains("MSAL_CLIENT_ID"), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("no credential in the chain got a token"),
        "{text}"
    );
}

#[tokio::test]
async fn a_configured_link_that_is_rejected_stops_the_chain() {
    let server = MockServer::start().await;
    mount_imds(&server, "mi-token").await;
    invalid_client_secret().mount(&server).await;
    mount_tenant(&server, "unused").await;
    let credential = client_secret_chain(&server, "wrong-secret-value");
    let error = credential.get_token(&[VAULT], None).await.unwrap_err();
    let attempts = chain_attempts(&error);
    assert_eq!(attempts.len(), 1, "{error}");
    assert_eq!(attempts[0].link, "environment");
    assert!(attempts[0].outcome.contains("invalid_client"), "{error}");
    assert!(!error.to_string().contains("wrong-secret-value"));
    // Not silently another identity: managed identity was never asked.
    assert!(requests_to(&server, IMDS_PATH).await.is_empty());
}

#[tokio::test]
async fn managed_identity_and_workload_identity_credentials_on_their_own() {
    let server = MockServer::start().await;
    mount_imds(&server, "mi-token").await;
    mount_tenant(&server, "federated-token").await;
    let mi = ManagedIdentityCredential::new(
        ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
            .environment(ManagedIdentityEnvironment::from_vars([imds_var(&server)]))
            .http_client(guarded())
            .build()
            .unwrap(),
    );
    let token = mi.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(token.token.secret(), "mi-token");
    let e = mi
        .get_token(&[VAULT, "https://graph.microsoft.com/.default"], None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("one resource"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "sa-token").unwrap();
    let wi = WorkloadIdentityCredential::new(
        msal::ConfidentialClientApplication::workload_identity(
            msal::WorkloadIdentityEnvironment::from_vars([
                ("AZURE_TENANT_ID", TENANT.to_owned()),
                ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
                ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
                ("AZURE_AUTHORITY_HOST", server.uri()),
            ]),
        )
        .unwrap()
        .http_client(guarded())
        .build()
        .unwrap(),
    );
    let token = wi.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(token.token.secret(), "federated-token");
}

#[tokio::test]
async fn an_imds_that_does_not_answer_within_the_probe_counts_as_absent() {
    let server = MockServer::start().await;
    // Some networks drop packets to IMDS's address: the fake answers far too late.
    Mock::given(path(IMDS_PATH))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", Some(("dev-token", VAULT, now + 3600)));
    let credential = chain(&[imds_var(&server)])
        .imds_probe(Duration::from_millis(200))
        .developer_app(app(&server, TENANT, &cache, None))
        .build();
    let token = credential.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(token.token.secret(), "dev-token");
}
