//! B2C and CIAM (Entra External ID) authorities across sign-in, silent refresh and
//! remove_account, and a B2C policy (user flow) chosen per request.

use std::sync::{Arc, Mutex};

use msal::{ConfidentialClientApplication, Error, WebUi, WebUiError};
use msal_interactive::{AuthorizationResponse, AuthorizationSession};
use msal_tests::harness::*;
use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const B2C: &str = "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin";
const B2C_HOST: &str = "contoso.b2clogin.com";
const B2C_TID: &str = "775527ff-9a37-4307-8b3d-cc311f58d925";
const CIAM: &str = "https://contoso.ciamlogin.com/";
const CIAM_HOST: &str = "contoso.ciamlogin.com";
const REDIRECT_URI: &str = "https://app.example/callback";

/// A sign-in answer as B2C or CIAM sends it: `client_info` (B2C's `uid` carries the policy)
/// and an ID token with the tenant's own issuer and the request's nonce.
fn sign_in_tokens(uid: &str, tid: &str, iss: &str, nonce: Option<&str>, at: &str) -> Value {
    let mut claims = json!({
        "aud": CLIENT_ID, "iss": iss, "sub": "subject-b2c", "oid": "oid-1", "tid": tid,
        "name": "Alice", "emails": [USERNAME], "iat": T0, "exp": T0 + 3600,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    json!({
        "access_token": at, "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": format!("{at}-rt"), "scope": "User.Read openid profile",
        "client_info": client_info(uid, tid), "id_token": jwt(claims),
    })
}

/// One authority kind: where its endpoints are and who signs in.
struct Case {
    authority: &'static str,
    host: &'static str,
    /// The path of the token and authorize endpoints, without `/token` or `/authorize`.
    base: &'static str,
    uid: String,
    tid: &'static str,
    iss: String,
}

fn cases() -> [Case; 2] {
    [
        Case {
            authority: B2C,
            host: B2C_HOST,
            base: "/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0",
            uid: "oid-1-b2c_1_signin".into(),
            tid: B2C_TID,
            iss: format!("https://{B2C_HOST}/{B2C_TID}/v2.0/"),
        },
        Case {
            authority: CIAM,
            host: CIAM_HOST,
            base: "/contoso.onmicrosoft.com/oauth2/v2.0",
            uid: "oid-1".into(),
            tid: UTID,
            iss: format!("https://{UTID}.ciamlogin.com/{UTID}/v2.0"),
        },
    ]
}

/// A web app signs a user in at a B2C or CIAM authority, refreshes silently at the same
/// authority's token endpoint, and signs the user out; no discovery request is ever made.
#[tokio::test]
async fn b2c_and_ciam_sign_in_refresh_and_remove_account() {
    for case in cases() {
        let server = MockServer::start().await;
        let transport = LoopbackTransport::new(&server);
        let app = ConfidentialClientApplication::builder(CLIENT_ID)
            .authority(case.authority)
            .client_secret("s3cret")
            .http_client(transport.clone())
            .clock(msal::ManualClock::at_unix(T0))
            .cache(TestStore::from_env())
            .build()
            .unwrap();
        let flow = app
            .authorization_request(["User.Read"], REDIRECT_URI)
            .await
            .unwrap();
        let authorize = Url::parse(flow.authorization_url()).unwrap();
        assert_eq!(authorize.host_str(), Some(case.host), "{}", case.authority);
        assert_eq!(authorize.path(), format!("{}/authorize", case.base));

        let token_path = format!("{}/token", case.base);
        let nonce = flow.nonce().to_owned();
        Mock::given(method("POST"))
            .and(path(&token_path))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(ResponseTemplate::new(200).set_body_json(sign_in_tokens(
                &case.uid,
                case.tid,
                &case.iss,
                Some(&nonce),
                "at-1",
            )))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(&token_path))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains("refresh_token=at-1-rt"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(sign_in_tokens(&case.uid, case.tid, &case.iss, None, "at-2")),
            )
            .expect(1)
            .mount(&server)
            .await;

        let query = format!("code=the-code&state={}", flow.state());
        let signed_in = app
            .acquire_token_by_auth_code_flow(&flow, &query)
            .unwrap()
            .await
            .unwrap();
        let home_account_id = format!("{}.{}", case.uid, case.tid);
        let account = signed_in.account().unwrap().clone();
        assert_eq!(account.home_account_id, home_account_id);
        assert_eq!(account.environment, case.host);

        let found = app.account(&home_account_id).await.unwrap().unwrap();
        let cached = app
            .acquire_token_silent(["User.Read"], &found)
            .await
            .unwrap();
        assert_eq!(cached.access_token(), "at-1");
        let refreshed = app
            .acquire_token_silent(["User.Read"], &found)
            .force_refresh(true)
            .await
            .unwrap();
        assert_eq!(refreshed.access_token(), "at-2");

        app.remove_account(&found).await.unwrap();
        assert!(app.account(&home_account_id).await.unwrap().is_none());
        let err = app
            .acquire_token_silent(["User.Read"], &found)
            .await
            .unwrap_err();
        assert!(err.is_ui_required(), "{err:?}");

        let urls = transport.sent_urls();
        assert_eq!(
            urls,
            vec![format!("https://{}{token_path}", case.host); 2],
            "{}",
            case.authority
        );
    }
}

/// A public client's silent call with `.policy(..)` refreshes at that policy's token endpoint
/// (the configured policy's endpoint is not called).
#[tokio::test]
async fn a_b2c_policy_per_request_refreshes_at_that_policy() {
    let h = Harness::with_authority(B2C).await;
    h.seed(
        &CacheDoc::new()
            .account(&hid(), B2C_HOST, "contoso.onmicrosoft.com", USERNAME)
            .refresh_token(&hid(), B2C_HOST, CLIENT_ID, "rt-1", None),
    )
    .await;
    let edit_path = "/contoso.onmicrosoft.com/b2c_1_edit_profile/oauth2/v2.0/token";
    Mock::given(method("POST"))
        .and(path(edit_path))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-edit",
            Some("rt-2"),
            "User.Read openid profile",
            3600,
        )))
        .expect(1)
        .mount(&h.server)
        .await;
    let mut account = h.account();
    account.environment = B2C_HOST.into();
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .policy("B2C_1_Edit_Profile")
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-edit");
    let paths: Vec<String> = h
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, vec![edit_path.to_owned()]);
}

/// A policy on an authority that is not B2C, or a policy name that would change the URL, is an
/// invalid argument, and nothing is sent.
#[tokio::test]
async fn a_policy_is_refused_outside_b2c_and_when_malformed() {
    for (authority, policy) in [
        ("https://login.microsoftonline.com/common", "B2C_1_signin"),
        (CIAM, "B2C_1_signin"),
        (B2C, "b2c_1_x/../../evil"),
        (B2C, "b2c_1_x?p=1"),
        (B2C, ""),
    ] {
        let h = Harness::with_authority(authority).await;
        h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
        let err = h
            .app
            .acquire_token_silent(["User.Read"], &h.account())
            .policy(policy)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{authority} {policy:?}: {err:?}"
        );
        assert!(h.server.received_requests().await.unwrap().is_empty());
    }
}

/// A web UI that records the authorize URL and answers with a code and its state.
#[derive(Clone, Default)]
struct RecordingUi {
    shown: Arc<Mutex<Vec<Url>>>,
}

struct RecordingSession(RecordingUi, Url);

#[async_trait::async_trait]
impl WebUi for RecordingUi {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
        let redirect = Url::parse("http://localhost:8400/").expect("a URL");
        Ok(Box::new(RecordingSession(self.clone(), redirect)))
    }
}

#[async_trait::async_trait]
impl AuthorizationSession for RecordingSession {
    fn redirect_uri(&self) -> &Url {
        &self.1
    }

    async fn complete(
        self: Box<Self>,
        authorize_url: &Url,
        expected_state: &str,
    ) -> Result<AuthorizationResponse, WebUiError> {
        self.0.shown.lock().unwrap().push(authorize_url.clone());
        AuthorizationResponse::from_redirect_query(
            &format!("code=the-code&state={expected_state}"),
            expected_state,
        )
    }
}

/// Interactive sign-in with `.policy(..)` shows that policy's authorize page and redeems the
/// code at its token endpoint (the ID token echoes the nonce of the page shown).
#[tokio::test]
async fn a_b2c_policy_per_request_signs_in_interactively_at_that_policy() {
    let server = MockServer::start().await;
    let ui = RecordingUi::default();
    let app = app_builder(
        &server,
        &msal::ManualClock::at_unix(T0),
        &TestStore::from_env(),
        CLIENT_ID,
    )
    .authority(B2C)
    .web_ui(ui.clone())
    .build()
    .unwrap();
    let signup = "/contoso.onmicrosoft.com/b2c_1_signup/oauth2/v2.0";
    let shown = Arc::clone(&ui.shown);
    let iss = format!("https://{B2C_HOST}/{B2C_TID}/v2.0/");
    Mock::given(method("POST"))
        .and(path(format!("{signup}/token")))
        .respond_with(move |_: &wiremock::Request| {
            let url = shown.lock().unwrap().last().cloned().expect("a page shown");
            let nonce = url
                .query_pairs()
                .find(|(k, _)| k == "nonce")
                .map(|(_, v)| v.into_owned());
            ResponseTemplate::new(200).set_body_json(sign_in_tokens(
                "oid-1-b2c_1_signup",
                B2C_TID,
                &iss,
                nonce.as_deref(),
                "at-signup",
            ))
        })
        .expect(1)
        .mount(&server)
        .await;
    let r = app
        .acquire_token_interactive(["User.Read"])
        .policy("B2C_1_signup")
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-signup");
    assert_eq!(
        r.account().unwrap().home_account_id,
        format!("oid-1-b2c_1_signup.{B2C_TID}")
    );
    let page = ui.shown.lock().unwrap()[0].clone();
    assert_eq!(page.host_str(), Some(B2C_HOST));
    assert_eq!(page.path(), format!("{signup}/authorize"));
}

/// A web app's sign-in with `.policy(..)` sends the browser to that policy's authorize page;
/// the flow (kept in the session, here through its serialized form) remembers the policy, so
/// the code is redeemed at the same policy's token endpoint.
#[tokio::test]
async fn a_b2c_policy_per_request_in_a_web_app_sign_in() {
    let server = MockServer::start().await;
    let transport = LoopbackTransport::new(&server);
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(B2C)
        .client_secret("s3cret")
        .http_client(transport.clone())
        .clock(msal::ManualClock::at_unix(T0))
        .cache(TestStore::from_env())
        .build()
        .unwrap();
    let reset = "/contoso.onmicrosoft.com/b2c_1_password_reset/oauth2/v2.0";
    let flow = app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .policy("B2C_1_password_reset")
        .await
        .unwrap();
    let page = Url::parse(flow.authorization_url()).unwrap();
    assert_eq!(page.path(), format!("{reset}/authorize"));
    let session = serde_json::to_string(&flow).unwrap();
    let flow: msal::AuthorizationCodeFlow = serde_json::from_str(&session).unwrap();

    Mock::given(method("POST"))
        .and(path(format!("{reset}/token")))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sign_in_tokens(
            "oid-1-b2c_1_password_reset",
            B2C_TID,
            &format!("https://{B2C_HOST}/{B2C_TID}/v2.0/"),
            Some(flow.nonce()),
            "at-reset",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let query = format!("code=the-code&state={}", flow.state());
    let r = app
        .acquire_token_by_auth_code_flow(&flow, &query)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-reset");
    assert_eq!(
        transport.sent_urls(),
        vec![format!("https://{B2C_HOST}{reset}/token")]
    );
}
