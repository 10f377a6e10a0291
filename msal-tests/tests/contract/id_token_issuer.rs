//! The ID token's `iss` from an OpenID Connect authority is checked against the issuer of its
//! discovery document; Entra's multi-tenant `{tenantid}` template stands for the token's `tid`.

use msal::{ConfidentialClientApplication, Error};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SUBJECT: &str = "subject-1";

fn app(server: &MockServer, authority: &str) -> ConfidentialClientApplication {
    ConfidentialClientApplication::builder(CLIENT_ID)
        .oidc_authority(authority)
        .client_secret("s3cret")
        .http_client(LoopbackTransport::new(server))
        .clock(msal::ManualClock::at_unix(T0))
        .build()
        .unwrap()
}

/// The discovery document at `{path_prefix}/.well-known/openid-configuration`, naming `issuer`.
async fn mount_discovery(server: &MockServer, path_prefix: &str, issuer: &str, host: &str) {
    Mock::given(method("GET"))
        .and(path(format!(
            "{path_prefix}/.well-known/openid-configuration"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("https://{host}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("https://{host}/oauth2/v2.0/token"),
        })))
        .mount(server)
        .await;
}

/// The token endpoint answers with an ID token claiming `iss` and `tid`.
async fn mount_tokens(server: &MockServer, iss: &str, tid: &str) {
    let id_token = jwt(json!({
        "aud": CLIENT_ID, "iss": iss, "sub": SUBJECT, "tid": tid,
        "preferred_username": USERNAME, "iat": T0, "exp": T0 + 3600,
    }));
    let body: Value = json!({
        "access_token": "at-1", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "rt-1", "scope": "User.Read openid profile", "id_token": id_token,
    });
    Mock::given(method("POST"))
        .and(path("/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

async fn redeem(app: &ConfidentialClientApplication) -> Result<msal::AuthenticationResult, Error> {
    app.acquire_token_by_authorization_code("code-1", ["User.Read"], None)
        .redirect_uri("https://app.example/callback")
        .await
}

/// The ID token of the provider's own issuer signs the user in.
#[tokio::test]
async fn the_discovered_issuer_is_accepted() {
    let server = MockServer::start().await;
    let issuer = "https://idp.example.test/tenant-x";
    mount_discovery(&server, "/tenant-x", issuer, "idp.example.test").await;
    mount_tokens(&server, &format!("{issuer}/"), "t").await;
    let app = app(&server, issuer);
    let r = redeem(&app).await.unwrap();
    assert_eq!(r.access_token(), "at-1");
    assert!(app.account(SUBJECT).await.unwrap().is_some());
}

/// An ID token naming another issuer is refused with `IssuerMismatch`, and nothing is cached.
#[tokio::test]
async fn another_issuer_is_refused_and_nothing_is_cached() {
    let server = MockServer::start().await;
    let issuer = "https://idp.example.test/tenant-x";
    mount_discovery(&server, "/tenant-x", issuer, "idp.example.test").await;
    mount_tokens(&server, "https://evil.example.test/tenant-x", "t").await;
    let app = app(&server, issuer);
    let err = redeem(&app).await.unwrap_err();
    match &err {
        Error::IssuerMismatch { expected, found } => {
            assert_eq!(expected, issuer);
            assert_eq!(found, "https://evil.example.test/tenant-x");
        }
        other => panic!("expected IssuerMismatch, got {other:?}"),
    }
    assert!(!err.is_transient() && !err.is_ui_required());
    assert!(!err.to_string().contains("at-1"));
    assert!(app.account(SUBJECT).await.unwrap().is_none());
}

/// Entra's multi-tenant document names `https://login.microsoftonline.com/{tenantid}/v2.0`:
/// the document is accepted for `common`, and the ID token's issuer must carry its own `tid`.
#[tokio::test]
async fn the_entra_tenant_template_takes_the_tokens_tid() {
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let own = format!("https://login.microsoftonline.com/{UTID}/v2.0");
    for (tid, accepted) in [
        (UTID, true),
        ("00000000-0000-4000-8000-000000000000", false),
    ] {
        let server = MockServer::start().await;
        mount_discovery(
            &server,
            "/common/v2.0",
            template,
            "login.microsoftonline.com",
        )
        .await;
        mount_tokens(&server, &own, tid).await;
        let app = app(&server, "https://login.microsoftonline.com/common/v2.0");
        let outcome = redeem(&app).await;
        if accepted {
            assert!(outcome.is_ok(), "{outcome:?}");
        } else {
            assert!(
                matches!(outcome, Err(Error::IssuerMismatch { .. })),
                "{outcome:?}"
            );
        }
    }
}
