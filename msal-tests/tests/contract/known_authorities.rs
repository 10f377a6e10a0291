//! Instance discovery metadata, known authorities and supplied OpenID Connect documents: private
//! clouds and offline hosts work with no discovery request at all, and an authority outside the
//! app's list is refused.

use msal::{AuthorityError, Error};
use msal_tests::harness::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const PRIVATE_HOST: &str = "login.contoso-cloud.example";
const PRIVATE_ALIAS: &str = "sts.contoso-cloud.example";

/// What Entra's instance discovery endpoint would answer for the private cloud, saved by the app.
fn metadata() -> String {
    json!({
        "tenant_discovery_endpoint": format!("https://{PRIVATE_HOST}/common/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": PRIVATE_HOST,
            "preferred_cache": PRIVATE_HOST,
            "aliases": [PRIVATE_HOST, PRIVATE_ALIAS]
        }]
    })
    .to_string()
}

async fn mount_token(h: &Harness) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
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
        .account(&hid(), env, UTID, USERNAME)
        .refresh_token(&hid(), env, CLIENT_ID, "rt-1", None)
}

/// The request log shows only token requests: no instance discovery, no OpenID configuration.
async fn assert_only_token_requests(h: &Harness, expected: usize) {
    let reqs = h.server.received_requests().await.unwrap();
    let paths: Vec<&str> = reqs.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, vec![TOKEN_PATH; expected], "{paths:?}");
}

/// A private cloud described by instance discovery metadata refreshes with zero discovery
/// requests (instance discovery is on, the default), on either of its aliases.
#[tokio::test]
async fn instance_metadata_makes_a_private_cloud_work_with_no_discovery_request() {
    for host in [PRIVATE_HOST, PRIVATE_ALIAS] {
        let h = Harness::new().await;
        let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
            .authority(&format!("https://{host}/common"))
            .instance_discovery_metadata(metadata())
            .build()
            .unwrap();
        h.seed(&seed_for(host)).await;
        mount_token(&h).await;
        let mut account = h.account();
        account.environment = host.into();
        for scope in ["User.Read", "Mail.Read"] {
            let r = app.acquire_token_silent([scope], &account).await.unwrap();
            assert_eq!(r.access_token(), "at-new", "{host}");
        }
        assert_only_token_requests(&h, 2).await;
    }
}

/// Known authorities alone trust a host without instance discovery (MSAL Node
/// `knownAuthorities`), given as a host name or as an authority URL.
#[tokio::test]
async fn known_authorities_skip_instance_discovery() {
    for known in [
        PRIVATE_HOST.to_owned(),
        format!("https://{PRIVATE_HOST}/common"),
    ] {
        let h = Harness::new().await;
        let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
            .authority(&format!("https://{PRIVATE_HOST}/common"))
            .known_authorities([known.as_str()])
            .build()
            .unwrap();
        h.seed(&seed_for(PRIVATE_HOST)).await;
        mount_token(&h).await;
        let mut account = h.account();
        account.environment = PRIVATE_HOST.into();
        app.acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_only_token_requests(&h, 1).await;
    }
}

/// An authority on a host outside the list is refused with a typed error at build, before any
/// request; so is a public-cloud host when the app listed only its private cloud.
#[tokio::test]
async fn an_authority_outside_the_list_is_refused() {
    for (authority, known, meta) in [
        ("https://evil.example/common", Some(PRIVATE_HOST), None),
        ("https://evil.example/common", None, Some(metadata())),
        (
            "https://login.microsoftonline.com/common",
            None,
            Some(metadata()),
        ),
        (
            "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin",
            Some("fabrikam.b2clogin.com"),
            None,
        ),
    ] {
        let mut b = msal::PublicClientApplication::builder(CLIENT_ID).authority(authority);
        if let Some(known) = known {
            b = b.known_authorities([known]);
        }
        if let Some(meta) = meta {
            b = b.instance_discovery_metadata(meta);
        }
        let err = b.build().unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Authority(AuthorityError::UntrustedAuthority { host })
                    if authority.contains(host.as_str())
            ),
            "{authority}: {err:?}"
        );
        assert!(err.to_string().contains("known authorities"), "{err}");
    }
}

/// Metadata that is not an instance discovery answer fails at build with a typed error.
#[tokio::test]
async fn unusable_metadata_fails_at_build() {
    for bad in ["not json", "{}", r#"{"metadata": []}"#] {
        let err = msal::PublicClientApplication::builder(CLIENT_ID)
            .authority(&format!("https://{PRIVATE_HOST}/common"))
            .instance_discovery_metadata(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Authority(AuthorityError::InvalidInstanceMetadata { .. })
            ),
            "{bad}: {err:?}"
        );
    }
}

/// A confidential client takes the same settings: its app token comes with no discovery
/// request.
#[tokio::test]
async fn confidential_client_with_known_authorities_makes_no_discovery_request() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path(format!("/{UTID}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "app-at", "token_type": "Bearer", "expires_in": 3600
        })))
        .mount(&h.server)
        .await;
    let app = msal::ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&format!("https://{PRIVATE_HOST}/{UTID}"))
        .known_authorities([PRIVATE_HOST])
        .client_secret("s3cret")
        .http_client(LoopbackTransport::new(&h.server))
        .clock(h.clock.clone())
        .build()
        .unwrap();
    let r = app
        .acquire_token_for_client(["https://graph.contoso-cloud.example/.default"])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "app-at");
    let reqs = h.server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
}

const OFFLINE_ISSUER: &str = "https://idp.contoso-offline.example/tenant-x";

/// The discovery document of the offline provider, as the app ships it.
fn offline_document(issuer: &str) -> String {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{OFFLINE_ISSUER}/authorize"),
        "token_endpoint": format!("{OFFLINE_ISSUER}/token"),
    })
    .to_string()
}

/// An OpenID Connect provider whose discovery document the app supplies (MSAL Node
/// `authorityMetadata`) refreshes with no discovery request: only the token request is sent.
#[tokio::test]
async fn authority_metadata_makes_an_offline_oidc_provider_work_with_no_discovery_request() {
    let h = Harness::new().await;
    let host = "idp.contoso-offline.example";
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .oidc_authority(OFFLINE_ISSUER)
        .authority_metadata(offline_document(OFFLINE_ISSUER))
        .known_authorities([host])
        .build()
        .unwrap();
    h.seed(
        &CacheDoc::new()
            .account(&hid(), host, "", USERNAME)
            .refresh_token(&hid(), host, CLIENT_ID, "rt-1", None),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/tenant-x/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-offline",
            Some("rt-2"),
            "User.Read openid profile",
            3600,
        )))
        .mount(&h.server)
        .await;
    let mut account = msal::Account::new(hid(), host, USERNAME);
    account.tenant_id = String::new();
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-offline");
    let reqs = h.server.received_requests().await.unwrap();
    let paths: Vec<&str> = reqs.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, vec!["/tenant-x/token"]);
}

/// A supplied document naming another issuer is refused at build, as a fetched one would be;
/// a document for an authority whose endpoints need no discovery is an invalid argument.
#[tokio::test]
async fn supplied_authority_metadata_is_checked_at_build() {
    let err = msal::PublicClientApplication::builder(CLIENT_ID)
        .oidc_authority(OFFLINE_ISSUER)
        .authority_metadata(offline_document("https://evil.example/tenant-x"))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Authority(AuthorityError::InvalidMetadata { .. })
        ),
        "{err:?}"
    );
    let err = msal::PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .authority_metadata(offline_document(OFFLINE_ISSUER))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}
