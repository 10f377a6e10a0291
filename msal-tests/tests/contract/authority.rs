//! Authorities: instance discovery for unknown Entra hosts, and the endpoints each kind of
//! authority refreshes against.

use msal::Error;
use msal_tests::harness::*;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const UNKNOWN_HOST: &str = "login.contoso-cloud.example";

async fn mount_token(h: &Harness, token_path: &str) {
    Mock::given(method("POST"))
        .and(path(token_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-new",
            Some("rt-new"),
            "User.Read openid profile",
            3600,
        )))
        .mount(&h.server)
        .await;
}

fn seed_for(env: &str) -> CacheDoc {
    CacheDoc::new()
        .account(&hid(), env, UTID, "alice@contoso.example")
        .refresh_token(&hid(), env, CLIENT_ID, "rt-1", None)
}

fn discovery_requests(reqs: &[wiremock::Request]) -> usize {
    reqs.iter()
        .filter(|r| r.url.path() == "/common/discovery/instance")
        .count()
}

/// An unknown Entra host is validated with instance discovery before its first token request;
/// `invalid_instance` refuses it, and no refresh token is ever sent to it.
#[tokio::test]
async fn unknown_host_refused_by_instance_discovery_gets_no_refresh_token() {
    let h = Harness::with_authority(&format!("https://{UNKNOWN_HOST}/common")).await;
    h.seed(&seed_for(UNKNOWN_HOST)).await;
    Mock::given(method("GET"))
        .and(path("/common/discovery/instance"))
        .and(query_param("api-version", "1.1"))
        .and(query_param(
            "authorization_endpoint",
            format!("https://{UNKNOWN_HOST}/{UTID}/oauth2/v2.0/authorize"),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_instance",
            "error_description": "AADSTS50049: Unknown or invalid instance."
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    let mut account = h.account();
    account.environment = UNKNOWN_HOST.into();
    let err = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Authority(_)), "{err:?}");
    assert!(err.to_string().contains(UNKNOWN_HOST));
    assert!(h.token_requests().await.is_empty());
}

/// A host that instance discovery vouches for is validated once per application.
#[tokio::test]
async fn unknown_host_validated_once_then_refreshed() {
    let h = Harness::with_authority(&format!("https://{UNKNOWN_HOST}/common")).await;
    h.seed(&seed_for(UNKNOWN_HOST)).await;
    Mock::given(method("GET"))
        .and(path("/common/discovery/instance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tenant_discovery_endpoint": format!("https://{UNKNOWN_HOST}/common/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": UNKNOWN_HOST, "preferred_cache": UNKNOWN_HOST, "aliases": [UNKNOWN_HOST]}]
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    mount_token(&h, TOKEN_PATH).await;
    let mut account = h.account();
    account.environment = UNKNOWN_HOST.into();
    h.app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    h.app
        .acquire_token_silent(["Mail.Read"], &account)
        .await
        .unwrap();
    let reqs = h.server.received_requests().await.unwrap();
    assert_eq!(discovery_requests(&reqs), 1);
    assert_eq!(h.token_requests().await.len(), 2);
}

/// `instance_discovery(false)` trusts the configured host without asking.
#[tokio::test]
async fn instance_discovery_off_skips_validation() {
    let h = Harness::new().await;
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .authority(&format!("https://{UNKNOWN_HOST}/common"))
        .instance_discovery(false)
        .build()
        .unwrap();
    h.seed(&seed_for(UNKNOWN_HOST)).await;
    mount_token(&h, TOKEN_PATH).await;
    let mut account = h.account();
    account.environment = UNKNOWN_HOST.into();
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-new");
    let reqs = h.server.received_requests().await.unwrap();
    assert_eq!(discovery_requests(&reqs), 0);
}

/// Known Entra hosts (here a sovereign cloud) never need instance discovery.
#[tokio::test]
async fn known_sovereign_host_needs_no_discovery() {
    let h = Harness::with_authority("https://login.microsoftonline.us/common").await;
    h.seed(&seed_for("login.microsoftonline.us")).await;
    mount_token(&h, TOKEN_PATH).await;
    let mut account = h.account();
    account.environment = "login.microsoftonline.us".into();
    h.app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    let reqs = h.server.received_requests().await.unwrap();
    assert_eq!(discovery_requests(&reqs), 0);
    assert_eq!(h.token_requests().await.len(), 1);
}

/// B2C and ADFS authorities refresh at their templated token endpoints, with no discovery.
#[tokio::test]
async fn b2c_and_adfs_token_endpoints() {
    for (authority, env, token_path) in [
        (
            "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin",
            "contoso.b2clogin.com",
            "/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token",
        ),
        (
            "https://fs.contoso.example/adfs",
            "fs.contoso.example",
            "/adfs/oauth2/token",
        ),
    ] {
        let h = Harness::with_authority(authority).await;
        h.seed(&seed_for(env)).await;
        mount_token(&h, token_path).await;
        let mut account = h.account();
        account.environment = env.into();
        let r = h.app.acquire_token_silent(["User.Read"], &account).await;
        assert!(r.is_ok(), "{authority}: {r:?}");
        let reqs = h.server.received_requests().await.unwrap();
        assert_eq!(reqs.len(), 1, "{authority}");
        assert_eq!(reqs[0].url.path(), token_path);
    }
}

/// Invalid authorities fail at build time with a typed error and no I/O.
#[tokio::test]
async fn invalid_authorities_fail_at_build() {
    for bad in [
        "http://login.microsoftonline.com/common",
        "https://login.microsoftonline.com",
        "not a url",
        "https://login.microsoftonline.com/common?x=1",
    ] {
        let r = msal::PublicClientApplication::builder(CLIENT_ID)
            .authority(bad)
            .build();
        assert!(matches!(r, Err(Error::Authority(_))), "{bad}: {r:?}");
    }
    let r = msal::PublicClientApplication::builder(" ").build();
    assert!(matches!(r, Err(Error::InvalidArgument(_))));
}

/// A tampered cache cannot steer a refresh: for `common`, the refresh goes to the account's
/// home tenant, but a "tenant" that is not a tenant id or domain name (here with a `/` and a
/// query) is not put into the URL; the configured authority is used instead.
#[tokio::test]
async fn a_home_tenant_that_is_not_a_tenant_never_reaches_the_url() {
    let h = Harness::new().await;
    let bad_hid = "uid.evil/../x?tenant=other";
    h.seed(
        &CacheDoc::new()
            .account(bad_hid, ENV, "", "mallory@contoso.example")
            .refresh_token(bad_hid, ENV, CLIENT_ID, "rt-1", None),
    )
    .await;
    mount_token(&h, "/common/oauth2/v2.0/token").await;
    let account = msal::Account::new(bad_hid, ENV, "");

    // The mocked endpoint answers for the harness's usual user, so the result is a user
    // mismatch; what matters here is where the refresh token was sent.
    let outcome = h.app.acquire_token_silent(["User.Read"], &account).await;
    assert!(matches!(outcome, Err(Error::UserMismatch)), "{outcome:?}");
    let requests = h.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/common/oauth2/v2.0/token");
    assert_eq!(requests[0].url.query(), None);
}
