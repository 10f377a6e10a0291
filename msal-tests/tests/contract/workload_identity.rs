//! Workload identity federation contract tests: the assertion comes from
//! `AZURE_FEDERATED_TOKEN_FILE` (read again after the kubelet rotates it), the authority from
//! `AZURE_AUTHORITY_HOST` and `AZURE_TENANT_ID`, the client from `AZURE_CLIENT_ID`; a missing
//! or empty file, or a missing variable, is a typed error and nothing is sent.
//!
//! The environment is a map given to the constructor; every request goes through
//! [`LoopbackOnly`] to the local wiremock server.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use msal::http::ReqwestHttpClient;
use msal::{
    ConfidentialClientApplication, Error, TokenSource, WorkloadIdentityEnvironment,
    WorkloadIdentityError,
};
use msal_tests::loopback_guard::LoopbackOnly;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "6c1b0e9a-3333-4d5e-8f90-0123456789ef";
const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
const SCOPE: &str = "https://management.azure.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Setup {
    server: MockServer,
    dir: tempfile::TempDir,
}

impl Setup {
    /// A fake Entra tenant on loopback: its discovery document and token endpoint.
    async fn new() -> Setup {
        let server = MockServer::start().await;
        let uri = server.uri();
        Mock::given(method("GET"))
            .and(path(format!(
                "/{TENANT}/v2.0/.well-known/openid-configuration"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": format!("{uri}/{TENANT}/v2.0"),
                "authorization_endpoint": format!("{uri}/{TENANT}/oauth2/v2.0/authorize"),
                "token_endpoint": format!("{uri}/{TENANT}/oauth2/v2.0/token"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "app-token",
                "token_type": "Bearer",
                "expires_in": 3600,
            })))
            .mount(&server)
            .await;
        Setup {
            server,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn token_file(&self) -> std::path::PathBuf {
        self.dir.path().join("azure-identity-token")
    }

    fn environment(&self) -> WorkloadIdentityEnvironment {
        WorkloadIdentityEnvironment::from_vars([
            ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("AZURE_TENANT_ID", TENANT.to_owned()),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                self.token_file().display().to_string(),
            ),
            ("AZURE_AUTHORITY_HOST", self.server.uri()),
        ])
    }

    fn app(&self) -> ConfidentialClientApplication {
        ConfidentialClientApplication::workload_identity(self.environment())
            .unwrap()
            .http_client(LoopbackOnly::new(
                ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)),
            ))
            .build()
            .unwrap()
    }

    /// The forms POSTed to the token endpoint, in order.
    async fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .map(|r| {
                url::form_urlencoded::parse(&r.body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .collect()
    }
}

/// Replace the file as the kubelet does: a new file moved over the old one.
fn rotate(file: &Path, token: &str) {
    let next = file.with_extension("new");
    std::fs::write(&next, token).unwrap();
    std::fs::rename(&next, file).unwrap();
}

#[tokio::test]
async fn the_token_file_is_sent_as_the_client_assertion() {
    let s = Setup::new().await;
    rotate(&s.token_file(), "service-account-token-1\n");
    let app = s.app();
    assert_eq!(app.client_id(), CLIENT_ID);
    let r = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("app-token", TokenSource::IdentityProvider)
    );
    let forms = s.token_requests().await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["grant_type"], "client_credentials");
    assert_eq!(forms[0]["client_id"], CLIENT_ID);
    assert_eq!(forms[0]["client_assertion_type"], JWT_BEARER);
    assert_eq!(forms[0]["client_assertion"], "service-account-token-1");
    assert!(!forms[0].contains_key("client_secret"));
    // Cached like any app token: the second call reads neither the network nor the file.
    std::fs::remove_file(s.token_file()).unwrap();
    let r = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(s.token_requests().await.len(), 1);
}

#[tokio::test]
async fn a_rotated_token_file_sends_the_new_assertion() {
    let s = Setup::new().await;
    rotate(&s.token_file(), "service-account-token-before");
    let app = s.app();
    app.acquire_token_for_client([SCOPE]).await.unwrap();
    rotate(&s.token_file(), "service-account-token-after");
    app.acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    let assertions: Vec<String> = s
        .token_requests()
        .await
        .into_iter()
        .map(|f| f["client_assertion"].clone())
        .collect();
    assert_eq!(
        assertions,
        [
            "service-account-token-before",
            "service-account-token-after"
        ]
    );
}

#[tokio::test]
async fn a_missing_or_empty_token_file_is_a_typed_error_and_nothing_is_sent() {
    let s = Setup::new().await;
    let app = s.app();
    match app.acquire_token_for_client([SCOPE]).await {
        Err(Error::WorkloadIdentity(WorkloadIdentityError::TokenFileUnreadable {
            path,
            reason,
        })) => {
            assert_eq!(path, s.token_file());
            assert!(reason.contains("does not exist"), "{reason}");
        }
        other => panic!("expected TokenFileUnreadable, got {other:?}"),
    }
    std::fs::write(s.token_file(), "  \n").unwrap();
    let e = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::WorkloadIdentity(WorkloadIdentityError::TokenFileEmpty { .. })
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("is empty"), "{e}");
    assert!(s.token_requests().await.is_empty());
}

#[test]
fn a_missing_variable_is_a_typed_error() {
    for missing in [
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        let vars = [
            ("AZURE_CLIENT_ID", CLIENT_ID),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token"),
        ]
        .into_iter()
        .filter(|(k, _)| *k != missing);
        let env = WorkloadIdentityEnvironment::from_vars(vars);
        assert!(!env.is_configured());
        match ConfidentialClientApplication::workload_identity(env) {
            Err(Error::WorkloadIdentity(WorkloadIdentityError::MissingVariable(name))) => {
                assert_eq!(name, missing)
            }
            other => panic!("{missing}: expected MissingVariable, got {other:?}"),
        }
    }
}

#[test]
fn the_authority_is_the_host_and_tenant_with_the_public_cloud_by_default() {
    let env = WorkloadIdentityEnvironment::from_vars([
        ("AZURE_CLIENT_ID", CLIENT_ID),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token"),
    ]);
    let app = ConfidentialClientApplication::workload_identity(env)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        app.authority().canonical_url(),
        format!("https://login.microsoftonline.com/{TENANT}")
    );
    // The environment's Debug names the variables, not their values.
    let env = WorkloadIdentityEnvironment::from_vars([("AZURE_CLIENT_ID", CLIENT_ID)]);
    assert!(!format!("{env:?}").contains(CLIENT_ID));
}
