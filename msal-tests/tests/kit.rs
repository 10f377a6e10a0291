//! Tests of the user-facing test kit (`msal_tests::kit`): each endpoint and grant of the fake,
//! each scripted fault, the browserless web UI, and the log assertions (including their
//! failure messages).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use msal::{Error, TokenSource, WebUiError};
use msal_tests::kit::*;

const GRAPH_READ: &str = "User.Read";
const API_SCOPE: &str = "api://web-api/access_as_user";

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the assertion should fail");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// A signed-in public client: the app, its account, and the first result.
async fn signed_in(
    entra: &FakeEntra,
) -> (
    msal::PublicClientApplication,
    msal::Account,
    msal::AuthenticationResult,
) {
    let app = entra.public_client(PUBLIC_CLIENT_ID).build().unwrap();
    let result = app.acquire_token_interactive([GRAPH_READ]).await.unwrap();
    let account = result.account().expect("an account").clone();
    (app, account, result)
}

#[tokio::test]
async fn interactive_sign_in_without_a_browser_then_cache_then_refresh_two_hours_later() {
    let entra = FakeEntra::start().await;
    let (app, account, first) = signed_in(&entra).await;
    assert_eq!(account.username, USERNAME);
    assert_eq!(account.home_account_id, format!("{USER_OID}.{TENANT_ID}"));
    let claims = entra.validate(first.access_token(), GRAPH).unwrap();
    assert_eq!(
        (claims.oid.as_str(), claims.tid.as_str()),
        (USER_OID, TENANT_ID)
    );
    assert_eq!(claims.scp, ["User.Read".to_owned()].into());
    assert_eq!(claims.azp, PUBLIC_CLIENT_ID);
    let code_redemption = &entra.token_requests()[0];
    assert_eq!(code_redemption.grant, Some(Grant::AuthorizationCode));
    assert!(code_redemption.param("code_verifier").is_some());

    entra.clear_log();
    let hit = app
        .acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap();
    assert_eq!(hit.source(), TokenSource::Cache);
    entra.assert_no_requests();

    entra.clock().advance(Duration::from_secs(2 * 3600));
    let refreshed = app
        .acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap();
    assert_eq!(refreshed.source(), TokenSource::IdentityProvider);
    entra.assert_token_requests(1);
    entra.assert_token_requests_for(Grant::RefreshToken, 1);
    assert!(entra.validate(refreshed.access_token(), GRAPH).is_ok());
    assert_eq!(
        entra.validate(first.access_token(), GRAPH),
        Err(TokenValidationError::Expired {
            exp: claims.exp,
            now: claims.exp + 3600
        })
    );
}

#[tokio::test]
async fn the_next_two_token_requests_get_503_then_service_resumes() {
    let entra = FakeEntra::start().await;
    let (app, account, _) = signed_in(&entra).await;
    entra.clear_log();
    entra.fault(Fault::status(503).times(2));
    entra.clock().advance(Duration::from_secs(2 * 3600));

    // msal-rs retries a 503 once: both faults are spent on one call.
    let err = app
        .acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        matches!(err, Error::ServiceUnavailable { status: 503, .. }),
        "{err:?}"
    );
    let statuses: Vec<u16> = entra.token_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503]);

    // After the throttle window the third request gets the normal answer.
    entra.clock().advance(Duration::from_secs(120));
    app.acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap();
    let statuses: Vec<u16> = entra.token_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn status_faults_carry_retry_after_and_can_be_limited_to_one_grant() {
    let entra = FakeEntra::start().await;
    entra.fault(
        Fault::status(429)
            .retry_after(30)
            .only(Grant::RefreshToken)
            .always(),
    );
    // Interactive sign-in (authorization code) is not affected.
    let (app, account, _) = signed_in(&entra).await;
    entra.clock().advance(Duration::from_secs(2 * 3600));
    let err = app
        .acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap_err();
    match err {
        Error::ServiceUnavailable {
            status: 429,
            retry_after,
            ..
        } => assert_eq!(retry_after, Some(Duration::from_secs(30))),
        other => panic!("expected a 429 with Retry-After, got {other:?}"),
    }
}

#[tokio::test]
async fn a_revoked_refresh_token_gets_invalid_grant_bad_token_and_ui_required() {
    let entra = FakeEntra::start().await;
    let (app, account, _) = signed_in(&entra).await;
    entra.revoke_sessions(USERNAME);
    entra.clock().advance(Duration::from_secs(2 * 3600));
    let err = app
        .acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap_err();
    assert!(err.is_ui_required(), "{err:?}");
    let oauth = err.oauth_error().expect("the server's answer");
    assert_eq!(oauth.error, "invalid_grant");
    assert_eq!(oauth.suberror.as_deref(), Some("bad_token"));
    assert_eq!(oauth.error_codes, [50173]);
}

#[tokio::test]
async fn a_scripted_oauth_error_is_answered_as_written() {
    let entra = FakeEntra::start().await;
    let (app, account, _) = signed_in(&entra).await;
    entra.fault(
        Fault::oauth_error("invalid_grant")
            .suberror("consent_required")
            .described("AADSTS65001: consent needed", &[65001]),
    );
    let err = app
        .acquire_token_silent(["Mail.Read"], &account)
        .await
        .unwrap_err();
    let oauth = err.oauth_error().expect("the server's answer");
    assert_eq!(
        (oauth.error.as_str(), oauth.suberror.as_deref()),
        ("invalid_grant", Some("consent_required"))
    );
    assert_eq!(
        oauth.error_description.as_deref(),
        Some("AADSTS65001: consent needed")
    );
    // One fault, one answer: the next request (after msal-rs's 120 s replay of a UI-required
    // answer) is served normally.
    entra.clock().advance(Duration::from_secs(300));
    app.acquire_token_silent(["Mail.Read"], &account)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_claims_challenge_lasts_until_a_request_sends_claims() {
    let entra = FakeEntra::start().await;
    let (app, account, _) = signed_in(&entra).await;
    let challenge = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    entra.fault(Fault::claims_challenge(challenge));
    for _ in 0..2 {
        let err = app
            .acquire_token_silent(["Mail.Read"], &account)
            .await
            .unwrap_err();
        let Error::UiRequired(ui) = &err else {
            panic!("expected UI required, got {err:?}")
        };
        assert_eq!(ui.claims.as_deref(), Some(challenge));
        assert_eq!(err.oauth_error().unwrap().error, "interaction_required");
        entra.clock().advance(Duration::from_secs(300)); // past the UI-required replay window
    }
    let ok = app
        .acquire_token_silent(["Mail.Read"], &account)
        .claims(challenge)
        .await
        .unwrap();
    assert_eq!(ok.source(), TokenSource::IdentityProvider);
    let last = entra.token_requests().pop().unwrap();
    assert!(last.param("claims").unwrap().contains("acrs"));
}

#[tokio::test]
async fn a_delay_fault_takes_real_time_and_trips_the_transport_timeout() {
    let entra = FakeEntra::start().await;
    let app = entra
        .confidential_client(WEB_API_CLIENT_ID)
        .http_client(entra.transport().with_timeout(Duration::from_millis(300)))
        .build()
        .unwrap();
    entra.fault(Fault::delay(Duration::from_secs(3)).times(2));
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        app.acquire_token_for_client([format!("{WEB_API_URI}/.default")]),
    )
    .await
    .expect("does not hang")
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(matches!(err, Error::Http(_)), "{err:?}");
}

#[tokio::test]
async fn client_credentials_tokens_carry_the_app_roles_and_wrong_secrets_are_refused() {
    let entra = FakeEntra::start().await;
    let daemon = entra
        .confidential_client(WEB_API_CLIENT_ID)
        .build()
        .unwrap();
    let token = daemon
        .acquire_token_for_client(["https://graph.microsoft.com/.default"])
        .await
        .unwrap();
    let claims = entra.validate(token.access_token(), GRAPH).unwrap();
    assert_eq!(claims.roles, [WEB_API_ROLE.to_owned()].into());
    assert_eq!(
        (claims.idtyp.as_str(), claims.tid.as_str()),
        ("app", TENANT_ID)
    );
    entra.assert_token_requests_for(Grant::ClientCredentials, 1);

    let impostor = entra
        .confidential_client(WEB_API_CLIENT_ID)
        .client_secret("wrong")
        .build()
        .unwrap();
    let err = impostor
        .acquire_token_for_client(["https://graph.microsoft.com/.default"])
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error().unwrap().error, "invalid_client");
}

#[tokio::test]
async fn on_behalf_of_exchanges_a_token_for_the_api_and_refuses_others() {
    let entra = FakeEntra::start().await;
    let api = entra
        .confidential_client(WEB_API_CLIENT_ID)
        .build()
        .unwrap();
    let incoming = entra.issue_user_token(USERNAME, PUBLIC_CLIENT_ID, &[API_SCOPE]);
    let incoming_claims = entra.validate(&incoming, WEB_API_URI).unwrap();
    assert_eq!(incoming_claims.aud, WEB_API_CLIENT_ID);

    let downstream = api
        .acquire_token_on_behalf_of(incoming.clone(), [GRAPH_READ])
        .await
        .unwrap();
    let claims = entra.validate(downstream.access_token(), GRAPH).unwrap();
    assert_eq!(
        (claims.oid.as_str(), claims.azp.as_str()),
        (USER_OID, WEB_API_CLIENT_ID)
    );
    entra.assert_token_requests_for(Grant::OnBehalfOf, 1);

    let for_graph = entra.issue_user_token(USERNAME, PUBLIC_CLIENT_ID, &[GRAPH_READ]);
    let err = api
        .acquire_token_on_behalf_of(for_graph, [GRAPH_READ])
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error().unwrap().error, "invalid_grant");
}

#[tokio::test]
async fn device_code_is_approved_after_the_pending_polls_or_declined() {
    let entra = FakeEntra::start().await;
    entra.device_code_pending_polls(2);
    let app = entra.public_client(PUBLIC_CLIENT_ID).build().unwrap();
    let shown = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = shown.clone();
    let result = app
        .acquire_token_with_device_code([GRAPH_READ], move |info| {
            *seen.lock().unwrap() = info.user_code.clone();
        })
        .await
        .unwrap();
    assert!(shown.lock().unwrap().starts_with("FAKE"));
    assert_eq!(result.account().unwrap().username, USERNAME);
    entra.assert_token_requests_for(Grant::DeviceCode, 3);
    assert_eq!(
        entra
            .requests()
            .iter()
            .filter(|r| r.endpoint == Endpoint::DeviceCode)
            .count(),
        1
    );

    entra.decline_sign_ins(true);
    let err = app
        .acquire_token_with_device_code([GRAPH_READ], |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Interaction(WebUiError::Provider { error, .. }) if error == "access_denied"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_declined_interactive_sign_in_fails_with_access_denied() {
    let entra = FakeEntra::start().await;
    entra.decline_sign_ins(true);
    let app = entra.public_client(PUBLIC_CLIENT_ID).build().unwrap();
    let err = app
        .acquire_token_interactive([GRAPH_READ])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Interaction(WebUiError::Provider { error, .. }) if error == "access_denied"),
        "{err:?}"
    );
    entra.assert_token_requests(0);
}

#[tokio::test]
async fn sign_in_as_another_user_and_unknown_apps_are_refused() {
    let entra = FakeEntra::start().await;
    entra.add_user(User::new(
        "bob@contoso.example",
        "0b0b0b0b-0000-4000-8000-000000000000",
        TENANT_ID,
    ));
    entra.sign_in_as("bob@contoso.example");
    let (_, account, _) = signed_in(&entra).await;
    assert_eq!(account.username, "bob@contoso.example");

    let stranger = entra
        .public_client("00000000-dead-4000-8000-000000000000")
        .build()
        .unwrap();
    let err = stranger
        .acquire_token_interactive([GRAPH_READ])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS700016"), "{err}");
}

#[tokio::test]
async fn single_use_refresh_tokens_refuse_a_second_redemption() {
    let entra = FakeEntra::start().await;
    entra.single_use_refresh_tokens(true);
    let (app, account, _) = signed_in(&entra).await;
    entra.clock().advance(Duration::from_secs(2 * 3600));
    app.acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap();
    // The first refresh token was redeemed once: a second redemption is refused.
    let redeemed = entra.token_requests()[1]
        .param("refresh_token")
        .expect("a refresh")
        .to_owned();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", PUBLIC_CLIENT_ID)
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", &redeemed)
        .append_pair("scope", "User.Read offline_access openid profile")
        .finish();
    use msal::http::HttpClient;
    let response = entra
        .transport()
        .send(
            http::Request::post("https://login.microsoftonline.com/common/oauth2/v2.0/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        (body["error"].as_str(), body["suberror"].as_str()),
        (Some("invalid_grant"), Some("bad_token"))
    );
}

#[tokio::test]
async fn log_assertions_fail_with_a_clear_message_and_no_secrets() {
    let entra = FakeEntra::start().await;
    let (app, account, _) = signed_in(&entra).await;
    entra.clock().advance(Duration::from_secs(2 * 3600));
    app.acquire_token_silent([GRAPH_READ], &account)
        .await
        .unwrap();

    let msg = panic_message(|| entra.assert_token_requests(1));
    assert!(
        msg.contains("expected 1 token request(s), the fake identity provider received 2"),
        "{msg}"
    );
    assert!(
        msg.contains("[AuthorizationCode] -> 200") && msg.contains("[RefreshToken] -> 200"),
        "{msg}"
    );
    let msg = panic_message(|| entra.assert_token_requests_for(Grant::ClientCredentials, 1));
    assert!(
        msg.contains(
            "expected 1 ClientCredentials token request(s), the fake identity provider received 0"
        ),
        "{msg}"
    );
    let msg = panic_message(|| entra.assert_no_requests());
    assert!(
        msg.contains(
            "expected no request to reach the network, the fake identity provider received 3"
        ),
        "{msg}"
    );
    assert!(msg.contains("oauth2/v2.0/authorize"), "{msg}");

    // Neither the messages nor the log's Debug show a code, verifier or refresh token.
    let debug = format!("{:?}", entra.requests());
    for r in entra.requests() {
        for field in ["code", "code_verifier", "refresh_token"] {
            if let Some(secret) = r.param(field) {
                assert!(
                    !debug.contains(secret) && !msg.contains(secret),
                    "{field} leaked"
                );
            }
        }
    }
    assert!(debug.contains("[redacted]"));

    // And they pass when right.
    entra.assert_token_requests(2);
    entra.assert_token_requests_for(Grant::RefreshToken, 1);
    entra.clear_log();
    entra.assert_no_requests();
}

#[tokio::test]
async fn validate_refuses_other_audiences_and_foreign_tokens() {
    let entra = FakeEntra::start().await;
    let token = entra.issue_user_token(USERNAME, PUBLIC_CLIENT_ID, &[API_SCOPE]);
    assert!(entra.validate(&token, WEB_API_CLIENT_ID).is_ok());
    assert_eq!(
        entra.validate(&token, GRAPH),
        Err(TokenValidationError::WrongAudience {
            expected: GRAPH.into(),
            actual: WEB_API_CLIENT_ID.into()
        })
    );
    assert_eq!(
        entra.validate("not-a-jwt", GRAPH),
        Err(TokenValidationError::Unknown)
    );
    let foreign = msal_tests::harness::jwt(serde_json::json!({"aud": GRAPH}));
    assert_eq!(
        entra.validate(&foreign, GRAPH),
        Err(TokenValidationError::Unknown)
    );
}

#[tokio::test]
async fn discovery_endpoints_answer_like_entra_and_unknown_tenants_are_refused() {
    let entra = FakeEntra::start().await;
    let app = entra
        .confidential_client(WEB_API_CLIENT_ID)
        .authority("https://login.microsoftonline.com/fabrikam.example")
        .build()
        .unwrap();
    let err = app
        .acquire_token_for_client([format!("{WEB_API_URI}/.default")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS90002"), "{err}");

    let by_domain = entra
        .confidential_client(WEB_API_CLIENT_ID)
        .authority(&format!(
            "https://login.microsoftonline.com/{TENANT_DOMAIN}"
        ))
        .build()
        .unwrap();
    by_domain
        .acquire_token_for_client([format!("{WEB_API_URI}/.default")])
        .await
        .unwrap();

    let transport = entra.transport();
    use msal::http::HttpClient;
    for (url, field) in [
        ("https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/v2.0/authorize", "tenant_discovery_endpoint"),
        ("https://login.microsoftonline.com/contoso.example/v2.0/.well-known/openid-configuration", "token_endpoint"),
    ] {
        let response = transport
            .send(http::Request::get(url).body(Vec::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert!(body[field].is_string(), "{body}");
    }
}

#[tokio::test]
async fn managed_identity_on_a_vm_and_on_app_service() {
    let entra = FakeEntra::start().await;
    let vm = entra
        .managed_identity_on_vm(msal::ManagedIdentityId::SystemAssigned)
        .build()
        .unwrap();
    let token = vm
        .acquire_token_for_managed_identity(WEB_API_URI)
        .await
        .unwrap();
    let claims = entra.validate(token.access_token(), WEB_API_URI).unwrap();
    assert_eq!(
        (claims.azp.as_str(), claims.idtyp.as_str()),
        (MANAGED_IDENTITY_CLIENT_ID, "app")
    );
    let imds = &entra.token_requests()[0];
    assert_eq!(
        (imds.path.as_str(), imds.grant.clone()),
        (
            "/metadata/identity/oauth2/token",
            Some(Grant::ManagedIdentity)
        )
    );
    // Cached: the second call makes no request; two hours later it asks again.
    vm.acquire_token_for_managed_identity(WEB_API_URI)
        .await
        .unwrap();
    entra.assert_token_requests(1);
    entra.clock().advance(Duration::from_secs(2 * 3600));
    vm.acquire_token_for_managed_identity(WEB_API_URI)
        .await
        .unwrap();
    entra.assert_token_requests_for(Grant::ManagedIdentity, 2);

    let user_assigned = "0a0a0a0a-6666-4777-8888-999999999999";
    let app_service = entra
        .managed_identity_on_app_service(msal::ManagedIdentityId::UserAssignedClientId(
            user_assigned.into(),
        ))
        .build()
        .unwrap();
    let token = app_service
        .acquire_token_for_managed_identity("https://vault.azure.net")
        .await
        .unwrap();
    let claims = entra
        .validate(token.access_token(), "https://vault.azure.net")
        .unwrap();
    assert_eq!(claims.azp, user_assigned);
    assert_eq!(entra.token_requests().last().unwrap().path, "/msi/token");
}

#[tokio::test]
async fn managed_identity_requests_take_faults_too() {
    let entra = FakeEntra::start().await;
    entra.fault(Fault::status(500).always().only(Grant::ManagedIdentity));
    let vm = entra
        .managed_identity_on_vm(msal::ManagedIdentityId::SystemAssigned)
        .build()
        .unwrap();
    let err = vm
        .acquire_token_for_managed_identity(WEB_API_URI)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(entra.token_requests().iter().all(|r| r.status == 500));
}

/// POSTs a form to the fake's token endpoint for `common`; the status and JSON body.
async fn post_token(entra: &FakeEntra, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    use msal::http::HttpClient;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let response = entra
        .transport()
        .send(
            http::Request::post("https://login.microsoftonline.com/common/oauth2/v2.0/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(response.body()).unwrap())
}

/// A code from the authorize endpoint for this PKCE challenge and nonce.
async fn authorize(entra: &FakeEntra, challenge: &str, nonce: &str) -> String {
    use msal::http::HttpClient;
    let mut url =
        url::Url::parse("https://login.microsoftonline.com/common/oauth2/v2.0/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", PUBLIC_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", "http://localhost:1/")
        .append_pair("scope", "User.Read openid profile offline_access")
        .append_pair("state", "s1")
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    let response = entra
        .transport()
        .send(http::Request::get(url.as_str()).body(Vec::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let get = |k: &str| {
        location
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("state").as_deref(), Some("s1"));
    assert!(get("client_info").is_some());
    get("code").expect("a code")
}

#[tokio::test]
async fn the_code_redemption_checks_pkce_and_the_redirect_uri_and_echoes_the_nonce() {
    let entra = FakeEntra::start().await;
    // A verifier and its S256 challenge (computed independently with Python's hashlib).
    let verifier = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";
    let redeem = |code: String, verifier: &'static str, redirect: &'static str| {
        let entra = &entra;
        async move {
            post_token(
                entra,
                &[
                    ("client_id", PUBLIC_CLIENT_ID),
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", verifier),
                    ("redirect_uri", redirect),
                    ("scope", "User.Read openid profile offline_access"),
                ],
            )
            .await
        }
    };

    let code = authorize(&entra, challenge, "n1").await;
    let (status, body) = redeem(code, "wrong-verifier", "http://localhost:1/").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(body["error_codes"][0], 501481);

    let code = authorize(&entra, challenge, "n1").await;
    let (status, body) = redeem(code, verifier, "http://localhost:2/").await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(500112))
    );

    let code = authorize(&entra, challenge, "n2").await;
    let (status, body) = redeem(code.clone(), verifier, "http://localhost:1/").await;
    assert_eq!(status, 200, "{body}");
    let id_token = decode_claims(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id_token["nonce"], "n2");
    assert!(body["refresh_token"].is_string());
    // A code is redeemed once.
    let (status, body) = redeem(code, verifier, "http://localhost:1/").await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(54005))
    );
}
