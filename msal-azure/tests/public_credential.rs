//! The `TokenCredential` contract of `PublicClientCredential` against a wiremock Entra: sign-in
//! with a device code, cache hits with no request, refresh at expiry, claims challenges,
//! tenants, scopes, the expiry the Azure SDK is told, and errors.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use common::*;
use msal::cache::MemoryCache;
use msal_azure::{
    is_sign_in_required, token_request_options, CredentialError, Interaction,
    PublicClientCredential,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn device_authorization() -> serde_json::Value {
    json!({
        "device_code": "secret-device-code",
        "user_code": "ABCD-EFGH",
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": 900,
        "interval": 1,
        "message": "To sign in, go to https://microsoft.com/devicelogin and enter ABCD-EFGH."
    })
}

/// Device code endpoint (expected once) and a token endpoint answering
/// `authorization_pending` once, then tokens.
async fn mount_device_code_sign_in(server: &MockServer, access_token: &str, now: u64) {
    Mock::given(method("POST"))
        .and(path(device_code_path(TENANT)))
        .respond_with(ResponseTemplate::new(200).set_body_json(device_authorization()))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("device_code=secret-device-code"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "authorization_pending"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("device_code=secret-device-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(
            access_token,
            "rt-1",
            "https://vault.azure.net/user_impersonation",
            now,
        )))
        .with_priority(2)
        .expect(1)
        .mount(server)
        .await;
}

/// A credential on `cache` that never prompts (a sign-in it needs is an error).
fn silent_only(server: &MockServer, cache: &MemoryCache) -> PublicClientCredential {
    PublicClientCredential::new(app(server, TENANT, cache, None), Interaction::Fail)
}

fn device_code_credential(
    app: msal::PublicClientApplication,
    shown: Arc<AtomicUsize>,
) -> PublicClientCredential {
    PublicClientCredential::new(
        app,
        Interaction::device_code(move |info| {
            assert_eq!(info.user_code, "ABCD-EFGH");
            shown.fetch_add(1, Ordering::SeqCst);
        }),
    )
}

#[tokio::test]
async fn first_call_signs_in_with_a_device_code_then_calls_are_cache_hits() {
    let server = MockServer::start().await;
    let now = now_secs();
    mount_device_code_sign_in(&server, "at-device", now).await;
    let cache = MemoryCache::new();
    let shown = Arc::new(AtomicUsize::new(0));
    let credential = device_code_credential(app(&server, TENANT, &cache, None), shown.clone());

    let first = credential.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(first.token.secret(), "at-device");
    assert_eq!(shown.load(Ordering::SeqCst), 1, "the code is shown once");
    let after_sign_in = idp_requests(&server).await.len();
    assert_eq!(
        after_sign_in, 3,
        "device code + pending poll + successful poll"
    );

    for _ in 0..3 {
        let again = credential.get_token(&[VAULT], None).await.unwrap();
        assert_eq!(again.token.secret(), "at-device");
        assert_eq!(again.expires_on, first.expires_on);
    }
    assert_eq!(
        idp_requests(&server).await.len(),
        after_sign_in,
        "cache hits make no request"
    );
    assert_eq!(shown.load(Ordering::SeqCst), 1);
    // The sign-in is in the cache the app was given: a new credential on it is silent too.
    let fresh = silent_only(&server, &cache);
    assert_eq!(
        fresh
            .get_token(&[VAULT], None)
            .await
            .unwrap()
            .token
            .secret(),
        "at-device"
    );
    assert_eq!(idp_requests(&server).await.len(), after_sign_in);
}

#[tokio::test]
async fn concurrent_first_calls_share_one_device_code_sign_in() {
    let server = MockServer::start().await;
    let now = now_secs();
    mount_device_code_sign_in(&server, "at-device", now).await;
    let cache = MemoryCache::new();
    let shown = Arc::new(AtomicUsize::new(0));
    let credential = device_code_credential(app(&server, TENANT, &cache, None), shown.clone());

    let (a, b, c) = tokio::join!(
        credential.get_token(&[VAULT], None),
        credential.get_token(&[VAULT], None),
        credential.get_token(&[VAULT], None),
    );
    for token in [a, b, c] {
        assert_eq!(token.unwrap().token.secret(), "at-device");
    }
    assert_eq!(
        shown.load(Ordering::SeqCst),
        1,
        "one prompt for all callers"
    );
    // The mocks' `expect(1)` are verified when the server drops.
}

#[tokio::test]
async fn expiry_refreshes_with_the_refresh_token_and_the_sdk_sees_expiry_minus_five_minutes() {
    let server = MockServer::start().await;
    let (clock, now) = manual_clock_now();
    let target = "https://vault.azure.net/.default";
    let cache = signed_in_cache("rt-1", Some(("at-cached", target, now + 3600)));
    let credential = PublicClientCredential::new(
        app(&server, TENANT, &cache, Some(&clock)),
        Interaction::Fail,
    );
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(
            "at-refreshed",
            "rt-2",
            target,
            now,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let cached = credential.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(cached.token.secret(), "at-cached");
    assert_eq!(
        cached.expires_on.unix_timestamp(),
        (now + 3600 - 300) as i64,
        "real expiry minus msal's 5-minute buffer"
    );
    assert!(idp_requests(&server).await.is_empty());

    // 4 minutes before the buffer: still the cached token, no request.
    clock.advance(Duration::from_secs(3600 - 300 - 240));
    assert_eq!(
        credential
            .get_token(&[VAULT], None)
            .await
            .unwrap()
            .token
            .secret(),
        "at-cached"
    );
    assert!(idp_requests(&server).await.is_empty());

    // Inside the buffer: the refresh token buys a new one.
    clock.advance(Duration::from_secs(241));
    let refreshed = credential.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(refreshed.token.secret(), "at-refreshed");
    let requests = idp_requests(&server).await;
    assert_eq!(requests.len(), 1);
    let form = form(&requests[0]);
    assert_eq!(form["refresh_token"], "rt-1");
    assert!(form["scope"].contains("https://vault.azure.net/.default"));
    // msal's clock moved 3301 s; the new token lives 3600 s from then, minus the buffer.
    assert_eq!(
        refreshed.expires_on.unix_timestamp(),
        (now + 3301 + 3600 - 300) as i64
    );
}

#[tokio::test]
async fn a_custom_expiry_margin_is_what_the_sdk_sees() {
    let server = MockServer::start().await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", Some(("at-cached", VAULT, now + 3600)));
    let credential = PublicClientCredential::builder(app(&server, TENANT, &cache, None))
        .expiry_margin(Duration::from_secs(600))
        .build();
    let token = credential.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(token.expires_on.unix_timestamp(), (now + 3600 - 600) as i64);
}

#[tokio::test]
async fn a_claims_challenge_bypasses_the_cache_and_sends_the_claims() {
    let server = MockServer::start().await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", Some(("at-revoked", VAULT, now + 3600)));
    let credential = silent_only(&server, &cache);
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(
            "at-with-claims",
            "rt-2",
            VAULT,
            now,
        )))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        credential
            .get_token(&[VAULT], None)
            .await
            .unwrap()
            .token
            .secret(),
        "at-revoked"
    );
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let options = token_request_options(None, Some(claims));
    let fresh = credential.get_token(&[VAULT], Some(options)).await.unwrap();
    assert_eq!(fresh.token.secret(), "at-with-claims");
    let requests = idp_requests(&server).await;
    assert_eq!(requests.len(), 1);
    let sent: serde_json::Value = serde_json::from_str(&form(&requests[0])["claims"]).unwrap();
    assert_eq!(
        sent,
        serde_json::from_str::<serde_json::Value>(claims).unwrap()
    );

    // The new token replaced the revoked one in the cache.
    assert_eq!(
        credential
            .get_token(&[VAULT], None)
            .await
            .unwrap()
            .token
            .secret(),
        "at-with-claims"
    );
    assert_eq!(idp_requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_tenant_in_the_options_gets_a_token_in_that_tenant() {
    let server = MockServer::start().await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", Some(("at-home", VAULT, now + 3600)));
    let factory = {
        let cache = cache.clone();
        let loopback = LoopbackTransport::new(&server);
        move |tenant: &str| {
            msal::PublicClientApplication::builder(CLIENT_ID)
                .authority(&authority(tenant))
                .http_client(loopback.clone())
                .cache(cache.clone())
                .build()
        }
    };
    let credential = PublicClientCredential::builder(app(&server, TENANT, &cache, None))
        .tenant_apps(factory)
        .build();
    Mock::given(method("POST"))
        .and(path(token_path(OTHER_TENANT)))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(tokens("at-other", "rt-2", VAULT, now)),
        )
        .expect(1)
        .mount(&server)
        .await;

    // The app's own tenant (any case) and no tenant: the cached home-tenant token.
    for options in [
        None,
        Some(token_request_options(Some(&TENANT.to_uppercase()), None)),
    ] {
        let token = credential.get_token(&[VAULT], options).await.unwrap();
        assert_eq!(token.token.secret(), "at-home");
    }
    assert!(idp_requests(&server).await.is_empty());

    // Another tenant: the same user's refresh token, redeemed at that tenant; then cached.
    for _ in 0..2 {
        let options = token_request_options(Some(OTHER_TENANT), None);
        let token = credential.get_token(&[VAULT], Some(options)).await.unwrap();
        assert_eq!(token.token.secret(), "at-other");
    }
    assert_eq!(idp_requests(&server).await.len(), 1);
}

/// Without a tenant app factory, the credential's one app gets the token in the named tenant
/// (msal-rs's per-request tenant): the home refresh token redeemed there, the token cached
/// under that tenant and never served for the app's own tenant.
#[tokio::test]
async fn another_tenant_without_a_factory_uses_the_per_request_tenant() {
    let server = MockServer::start().await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", Some(("at-home", VAULT, now + 3600)));
    let credential = silent_only(&server, &cache);
    Mock::given(method("POST"))
        .and(path(token_path(OTHER_TENANT)))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(tokens("at-other", "rt-2", VAULT, now)),
        )
        .expect(1)
        .mount(&server)
        .await;
    for _ in 0..2 {
        let options = token_request_options(Some(OTHER_TENANT), None);
        let token = credential.get_token(&[VAULT], Some(options)).await.unwrap();
        assert_eq!(token.token.secret(), "at-other");
        let home = credential.get_token(&[VAULT], None).await.unwrap();
        assert_eq!(home.token.secret(), "at-home");
    }
    assert_eq!(idp_requests(&server).await.len(), 1);
}

#[tokio::test]
async fn default_and_multiple_scopes_are_sent_as_the_sdk_gives_them() {
    let server = MockServer::start().await;
    let now = now_secs();
    let cache = signed_in_cache("rt-1", None);
    let credential = silent_only(&server, &cache);
    // Entra answers a `.default` request with the resource's scopes.
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("vault.azure.net"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(
            "at-vault",
            "rt-2",
            "https://vault.azure.net/user_impersonation",
            now,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let graph = [
        "https://graph.microsoft.com/User.Read",
        "https://graph.microsoft.com/Mail.Read",
    ];
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .and(body_string_contains("graph.microsoft.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(
            "at-graph",
            "rt-3",
            &graph.join(" "),
            now,
        )))
        .expect(1)
        .mount(&server)
        .await;

    for _ in 0..2 {
        let token = credential.get_token(&[VAULT], None).await.unwrap();
        assert_eq!(token.token.secret(), "at-vault");
        let token = credential.get_token(&graph, None).await.unwrap();
        assert_eq!(token.token.secret(), "at-graph");
    }
    let requests = idp_requests(&server).await;
    assert_eq!(requests.len(), 2, "the second round is all cache hits");
    let scopes = |i: usize| -> Vec<String> {
        form(&requests[i])["scope"]
            .split(' ')
            .map(str::to_owned)
            .collect()
    };
    assert!(scopes(0).contains(&VAULT.to_owned()), "{:?}", scopes(0));
    for scope in graph {
        assert!(scopes(1).contains(&scope.to_owned()), "{:?}", scopes(1));
    }
}

#[tokio::test]
async fn with_nobody_signed_in_the_fail_policy_says_to_sign_in() {
    let server = MockServer::start().await;
    let cache = MemoryCache::new();
    let credential = PublicClientCredential::builder(app(&server, TENANT, &cache, None))
        .sign_in_hint("run `mytool login`")
        .build();
    let err = credential.get_token(&[VAULT], None).await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Credential);
    assert!(is_sign_in_required(&err));
    let text = err.to_string();
    assert!(text.contains("sign-in required"), "{text}");
    assert!(text.contains("no signed-in account"), "{text}");
    assert!(text.contains("run `mytool login`"), "{text}");
    assert!(idp_requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_refresh_token_entra_rejects_becomes_sign_in_required_with_the_msal_error() {
    let server = MockServer::start().await;
    let cache = signed_in_cache("rt-expired", None);
    let credential = silent_only(&server, &cache);
    token_error(
        400,
        json!({
            "error": "invalid_grant",
            "error_description": "AADSTS70043: The refresh token has expired.",
            "suberror": "bad_token",
        }),
    )
    .expect(1)
    .mount(&server)
    .await;
    let err = credential.get_token(&[VAULT], None).await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Credential);
    assert!(is_sign_in_required(&err));
    assert!(err.to_string().contains(USERNAME), "{err}");
    let source = std::error::Error::source(&err).expect("a source");
    let Some(CredentialError::SignInRequired { source, .. }) =
        source.downcast_ref::<CredentialError>()
    else {
        panic!("expected SignInRequired, got {source:?}");
    };
    let msal_error = source.as_ref().expect("the msal error");
    assert!(msal_error.is_ui_required());
    assert_eq!(msal_error.oauth_error().unwrap().error, "invalid_grant");
    assert!(!format!("{err:?}").contains("rt-expired"));
}

#[tokio::test]
async fn other_failures_are_credential_errors_with_the_msal_error_as_source() {
    let server = MockServer::start().await;
    let cache = signed_in_cache("rt-1", None);
    let credential = silent_only(&server, &cache);
    token_error(
        400,
        json!({
            "error": "invalid_scope",
            "error_description": "AADSTS70011: The provided value for scope is not valid.",
        }),
    )
    .mount(&server)
    .await;
    let err = credential.get_token(&[VAULT], None).await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Credential);
    assert!(!is_sign_in_required(&err));
    let msal_error = err
        .downcast_ref::<msal::Error>()
        .expect("msal error source");
    assert!(matches!(msal_error, msal::Error::Service(_)));
    assert!(err.to_string().contains("invalid_scope"), "{err}");
}

#[tokio::test]
async fn no_scopes_is_an_error_without_a_request() {
    let server = MockServer::start().await;
    let cache = MemoryCache::new();
    let credential = silent_only(&server, &cache);
    for scopes in [&[][..], &[" "][..]] {
        let err = credential.get_token(scopes, None).await.unwrap_err();
        assert!(matches!(
            err.downcast_ref::<CredentialError>(),
            Some(CredentialError::NoScopes)
        ));
    }
    assert!(idp_requests(&server).await.is_empty());
}

#[tokio::test]
async fn debug_shows_no_token() {
    let server = MockServer::start().await;
    let now = now_secs();
    let cache = signed_in_cache("rt-secret", Some(("at-secret", VAULT, now + 3600)));
    let credential = PublicClientCredential::new(
        app(&server, TENANT, &cache, None),
        Interaction::device_code(|_| {}),
    );
    let token = credential.get_token(&[VAULT], None).await.unwrap();
    let debug = format!("{credential:?} {token:?}");
    assert!(debug.contains("PublicClientCredential"), "{debug}");
    assert!(debug.contains("DeviceCode"), "{debug}");
    assert!(!debug.contains("secret"), "{debug}");
}
