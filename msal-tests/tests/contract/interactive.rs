//! Interactive sign-in and `acquire_token` against wiremock, with a scripted web UI standing in
//! for the browser: the authorize URL, PKCE, state and nonce, code redemption, what is cached,
//! errors from the UI, the silent-first fallback and the shared prompt.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use msal::{Error, PublicClientApplication, TokenSource, WebUi, WebUiError};
use msal_interactive::{AuthorizationResponse, AuthorizationSession};
use msal_tests::harness::*;
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const AUTHORIZE_PATH: &str = "/common/oauth2/v2.0/authorize";
const SIGN_IN_TOKEN_PATH: &str = "/common/oauth2/v2.0/token";
const REDIRECT: &str = "http://localhost:8400/";

type Outcome = Arc<dyn Fn(&Url) -> Result<String, WebUiError> + Send + Sync>;

/// A web UI that "shows" the URL by recording it and answers with a code (or an error).
#[derive(Clone)]
pub(crate) struct FakeBrowser {
    starts: Arc<AtomicUsize>,
    shown: Arc<Mutex<Vec<Url>>>,
    outcome: Outcome,
    delay: Duration,
}

impl FakeBrowser {
    fn answering(
        outcome: impl Fn(&Url) -> Result<String, WebUiError> + Send + Sync + 'static,
    ) -> Self {
        FakeBrowser {
            starts: Arc::default(),
            shown: Arc::default(),
            outcome: Arc::new(outcome),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn signing_in() -> Self {
        Self::answering(|_| Ok("the-code".into()))
    }

    pub(crate) fn last_url(&self) -> Url {
        self.shown
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the UI was shown")
    }
}

struct FakeSession(FakeBrowser, Url);

#[async_trait::async_trait]
impl WebUi for FakeBrowser {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(FakeSession(
            self.clone(),
            Url::parse(REDIRECT).unwrap(),
        )))
    }
}

#[async_trait::async_trait]
impl AuthorizationSession for FakeSession {
    fn redirect_uri(&self) -> &Url {
        &self.1
    }

    async fn complete(
        self: Box<Self>,
        authorize_url: &Url,
        expected_state: &str,
    ) -> Result<AuthorizationResponse, WebUiError> {
        self.0.shown.lock().unwrap().push(authorize_url.clone());
        tokio::time::sleep(self.0.delay).await;
        let code = (self.0.outcome)(authorize_url)?;
        let state = query(authorize_url, "state").unwrap();
        AuthorizationResponse::from_redirect_query(
            &format!("code={code}&state={state}"),
            expected_state,
        )
    }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The token endpoint for code redemption: echoes the nonce of the last URL the browser
/// showed into the ID token (or a wrong one), in a token of `token_type`.
struct CodeRedemption {
    browser: FakeBrowser,
    wrong_nonce: bool,
    token_type: &'static str,
    issued: AtomicUsize,
}

impl Respond for CodeRedemption {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let nonce = if self.wrong_nonce {
            "forged".to_owned()
        } else {
            query(&self.browser.last_url(), "nonce").unwrap_or_default()
        };
        let mut body = token_response(
            &format!("at-{n}"),
            Some("rt-1"),
            "User.Read openid profile email",
            3600,
        );
        body["token_type"] = json!(self.token_type);
        body["id_token"] = json!(jwt(json!({
            "aud": CLIENT_ID, "sub": "subject", "oid": UID, "tid": UTID,
            "preferred_username": "alice@contoso.example", "name": "Alice", "nonce": nonce,
        })));
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn mount_code_redemption(h: &Harness, browser: &FakeBrowser, wrong_nonce: bool) {
    mount_code_redemption_of(h, browser, wrong_nonce, "Bearer").await;
}

/// [`mount_code_redemption`] answering tokens of `token_type` (`ssh-cert` for an SSH sign-in).
pub(crate) async fn mount_code_redemption_of(
    h: &Harness,
    browser: &FakeBrowser,
    wrong_nonce: bool,
    token_type: &'static str,
) {
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(CodeRedemption {
            browser: browser.clone(),
            wrong_nonce,
            token_type,
            issued: AtomicUsize::new(0),
        })
        .mount(&h.server)
        .await;
}

pub(crate) fn app_with(h: &Harness, browser: &FakeBrowser) -> PublicClientApplication {
    app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .web_ui(browser.clone())
        .build()
        .unwrap()
}

/// The authorization code flow: the authorize URL carries everything it must, the code is
/// redeemed with the PKCE verifier matching the challenge, and the sign-in is cached with its
/// account (then served silently).
#[tokio::test]
async fn interactive_sign_in_with_pkce_state_and_nonce() {
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, false).await;
    let app = app_with(&h, &browser);

    let r = app
        .acquire_token_interactive(["User.Read"])
        .extra_scopes_to_consent(["https://vault.azure.net/user_impersonation"])
        .login_hint("alice@contoso.example")
        .domain_hint("organizations")
        .prompt(msal::Prompt::Consent)
        .claims(r#"{"id_token":{"auth_time":{"essential":true}}}"#)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-1", TokenSource::IdentityProvider)
    );

    let url = browser.last_url();
    assert_eq!(url.path(), AUTHORIZE_PATH);
    let q = |n| query(&url, n).unwrap_or_default();
    assert_eq!(q("client_id"), CLIENT_ID);
    assert_eq!(q("response_type"), "code");
    assert_eq!(q("redirect_uri"), REDIRECT);
    assert_eq!(
        q("scope"),
        "User.Read https://vault.azure.net/user_impersonation offline_access openid profile"
    );
    assert_eq!(q("code_challenge_method"), "S256");
    assert_eq!(q("prompt"), "consent");
    assert_eq!(q("login_hint"), "alice@contoso.example");
    assert_eq!(q("domain_hint"), "organizations");
    assert_eq!(
        q("claims"),
        r#"{"id_token":{"auth_time":{"essential":true}}}"#
    );
    assert!(q("state").len() >= 43 && q("nonce").len() >= 43 && q("state") != q("nonce"));

    let redemption = form(&h.token_requests().await[0]);
    assert_eq!(redemption["grant_type"], "authorization_code");
    assert_eq!(redemption["code"], "the-code");
    assert_eq!(redemption["redirect_uri"], REDIRECT);
    assert_eq!(
        redemption["scope"],
        "User.Read offline_access openid profile"
    );
    assert_eq!(
        msal_core::pkce::s256(&redemption["code_verifier"]),
        q("code_challenge")
    );

    let accounts = app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].username, "alice@contoso.example");
    let stored = h.stored().await;
    let account = entries(&stored, "Account").remove(0);
    assert_eq!(account["account_source"], "authorization_code");
    let silent = app
        .acquire_token_silent(["User.Read"], &accounts[0])
        .await
        .unwrap();
    assert_eq!(silent.source(), TokenSource::Cache);
}

/// Two sign-ins never reuse a state, nonce or PKCE verifier.
#[tokio::test]
async fn every_sign_in_has_fresh_secrets() {
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, false).await;
    let app = app_with(&h, &browser);
    app.acquire_token_interactive(["User.Read"]).await.unwrap();
    app.acquire_token_interactive(["User.Read"]).await.unwrap();
    let urls = browser.shown.lock().unwrap().clone();
    for name in ["state", "nonce", "code_challenge"] {
        assert_ne!(query(&urls[0], name), query(&urls[1], name), "{name}");
    }
}

/// An ID token whose nonce is not the one sent is refused and nothing is cached.
#[tokio::test]
async fn an_id_token_with_a_foreign_nonce_is_refused() {
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, true).await;
    let e = app_with(&h, &browser)
        .acquire_token_interactive(["User.Read"])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Protocol { message, .. } if message.contains("nonce")),
        "{e:?}"
    );
    assert!(h.stored().await["Account"]
        .as_object()
        .is_none_or(|a| a.is_empty()));
}

/// What the UI reports (declined consent, forged redirect, cancelled, no browser) comes back as
/// `Error::Interaction`, with no code redeemed.
#[tokio::test]
async fn web_ui_failures_are_interaction_errors() {
    for failure in [
        WebUiError::Provider {
            error: "access_denied".into(),
            description: Some("declined".into()),
        },
        WebUiError::StateMismatch,
        WebUiError::Cancelled,
        WebUiError::TimedOut,
    ] {
        let h = Harness::new().await;
        let expected = failure.clone();
        let browser = FakeBrowser::answering(move |_| Err(failure.clone()));
        let e = app_with(&h, &browser)
            .acquire_token_interactive(["User.Read"])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Interaction(got) if *got == expected),
            "{e:?}"
        );
        assert!(h.token_requests().await.is_empty());
    }
}

/// `acquire_token`: a cached token comes back without the UI; with nobody signed in the UI is
/// used once; after that, silent again.
#[tokio::test]
async fn acquire_token_is_silent_first() {
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, false).await;
    let app = app_with(&h, &browser);

    let first = app.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(first.source(), TokenSource::IdentityProvider);
    assert_eq!(browser.starts.load(Ordering::SeqCst), 1);
    let second = app.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(
        (second.source(), second.access_token()),
        (TokenSource::Cache, first.access_token())
    );
    assert_eq!(
        browser.starts.load(Ordering::SeqCst),
        1,
        "no prompt for a cached token"
    );
}

/// `acquire_token` on "interaction required" from the server prompts, passing the server's
/// claims challenge and the account's username on to the sign-in.
#[tokio::test]
async fn acquire_token_prompts_with_the_claims_challenge() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-revoked"))
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "suberror": "basic_action",
            "claims": "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1\"]}}}"
        })))
        .mount(&h.server)
        .await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, false).await;
    let r = app_with(&h, &browser)
        .acquire_token(["User.Read"])
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let url = browser.last_url();
    assert_eq!(
        query(&url, "claims").unwrap(),
        "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1\"]}}}"
    );
    assert_eq!(query(&url, "login_hint").unwrap(), "alice@contoso.example");
}

/// Eight concurrent `acquire_token` calls that all need the user share one prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_prompt() {
    let h = Harness::new().await;
    let mut browser = FakeBrowser::signing_in();
    browser.delay = Duration::from_millis(300);
    mount_code_redemption(&h, &browser, false).await;
    let app = app_with(&h, &browser);
    let calls: Vec<_> = (0..8)
        .map(|_| tokio::spawn(app.acquire_token(["User.Read"]).into_future()))
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for call in calls {
        tokens.insert(call.await.unwrap().unwrap().access_token().to_owned());
    }
    assert_eq!(browser.starts.load(Ordering::SeqCst), 1);
    assert_eq!(tokens.len(), 1);
    assert_eq!(h.token_requests().await.len(), 1);
}

/// When the browser cannot be opened, `acquire_token` falls back to the device code flow the
/// app allowed, and shows the code through its callback.
#[tokio::test]
async fn acquire_token_falls_back_to_device_code_without_a_browser() {
    let h = Harness::new().await;
    let browser = FakeBrowser::answering(|_| Err(WebUiError::Unavailable("no display".into())));
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc", "user_code": "WXYZ", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 60, "interval": 1
        })))
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("device_code=dc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-dc",
            Some("rt-dc"),
            "User.Read",
            3600,
        )))
        .mount(&h.server)
        .await;
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .web_ui(browser)
        .device_code_fallback(move |info| sink.lock().unwrap().push(info.user_code.clone()))
        .build()
        .unwrap();
    let r = app.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(r.access_token(), "at-dc");
    assert_eq!(*shown.lock().unwrap(), vec!["WXYZ".to_owned()]);

    // Without a fallback the UI's error is the answer.
    let h = Harness::new().await;
    let e = app_with(
        &h,
        &FakeBrowser::answering(|_| Err(WebUiError::Unavailable("no display".into()))),
    )
    .acquire_token(["User.Read"])
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::Interaction(WebUiError::Unavailable(_))),
        "{e:?}"
    );
}

use std::future::IntoFuture;

/// Extra query parameters reach the authorization URL the browser is shown and the code
/// redemption's token URL, after every protocol parameter and without replacing one.
#[tokio::test]
async fn extra_query_parameters_reach_the_authorization_and_token_urls() {
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, false).await;
    let app = app_with(&h, &browser);
    app.acquire_token_interactive(["User.Read"])
        .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
        .await
        .unwrap();
    let shown = browser.last_url();
    assert_eq!(query(&shown, "dc").as_deref(), Some("ESTS-PUB-WUS2"));
    assert_eq!(
        shown
            .query_pairs()
            .filter(|(k, _)| k == "client_id")
            .count(),
        1
    );
    let token = &h.token_requests().await[0];
    assert_eq!(query(&token.url, "dc").as_deref(), Some("ESTS-PUB-WUS2"));
}

/// One call, three outcomes, told apart: the first `acquire_token` signs in through the browser
/// (`Acquisition::SignIn`), the second is a cache hit with no prompt and no request
/// (`Acquisition::Cache`), and once the token has expired the third redeems the refresh token
/// with no prompt (`Acquisition::Refresh`). `expires_on_utc` prints the expiry in RFC 3339.
#[tokio::test]
async fn acquire_token_tells_a_sign_in_a_cache_hit_and_a_refresh_apart() {
    use msal::Acquisition;
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption(&h, &browser, false).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-refreshed",
            Some("rt-2"),
            "User.Read openid profile email",
            3600,
        )))
        .mount(&h.server)
        .await;
    let app = app_with(&h, &browser);

    let signed_in = app.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(
        (signed_in.source(), signed_in.acquisition()),
        (TokenSource::IdentityProvider, Acquisition::SignIn)
    );
    assert_eq!(signed_in.acquisition().to_string(), "a sign-in");
    // T0 + 3600 s.
    assert_eq!(
        signed_in.expires_on_utc().to_string(),
        "2023-11-14T23:13:20Z"
    );
    assert_eq!(
        signed_in.expires_on_utc().system_time(),
        signed_in.expires_on()
    );

    let hit = app.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(
        (hit.acquisition(), hit.access_token()),
        (Acquisition::Cache, signed_in.access_token())
    );
    assert_eq!(hit.acquisition().to_string(), "the token cache");

    h.clock.advance(Duration::from_secs(3600));
    let refreshed = app.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(
        (
            refreshed.source(),
            refreshed.acquisition(),
            refreshed.access_token()
        ),
        (
            TokenSource::IdentityProvider,
            Acquisition::Refresh,
            "at-refreshed"
        )
    );
    assert_eq!(refreshed.acquisition().to_string(), "a refresh");
    assert_eq!(
        browser.starts.load(Ordering::SeqCst),
        1,
        "one prompt in all"
    );
    assert_eq!(h.token_requests().await.len(), 2);
}

/// The device-code fallback can be given per request: with no browser, `acquire_token` calls
/// this request's callback (not the application's) once, and the result is a sign-in.
#[tokio::test]
async fn acquire_token_per_request_device_code_fallback_is_called() {
    let h = Harness::new().await;
    let browser = FakeBrowser::answering(|_| Err(WebUiError::Unavailable("no display".into())));
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc", "user_code": "QRST", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 60, "interval": 1
        })))
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("device_code=dc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-dc",
            Some("rt-dc"),
            "User.Read",
            3600,
        )))
        .mount(&h.server)
        .await;
    let app_wide = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&app_wide);
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .web_ui(browser)
        .device_code_fallback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    let r = app
        .acquire_token(["User.Read"])
        .device_code_fallback(move |info| sink.lock().unwrap().push(info.display_message()))
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.acquisition()),
        ("at-dc", msal::Acquisition::SignIn)
    );
    assert_eq!(
        *shown.lock().unwrap(),
        vec![
            "To sign in, use a web browser to open the page https://microsoft.com/devicelogin \
             and enter the code QRST to authenticate."
                .to_owned()
        ]
    );
    assert_eq!(
        app_wide.load(Ordering::SeqCst),
        0,
        "the request's callback wins"
    );

    // Without any fallback on the app, `print_device_code` alone enables it (the message goes
    // to stderr), and the silent-first call then finds the cached token: no second sign-in.
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc2", "user_code": "UVWX", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 60, "interval": 1
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("device_code=dc2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-dc2",
            Some("rt-dc2"),
            "User.Read",
            3600,
        )))
        .mount(&h.server)
        .await;
    let app = app_with(
        &h,
        &FakeBrowser::answering(|_| Err(WebUiError::Unavailable("no display".into()))),
    );
    let first = app
        .acquire_token(["User.Read"])
        .print_device_code()
        .await
        .unwrap();
    assert_eq!(first.access_token(), "at-dc2");
    let second = app
        .acquire_token(["User.Read"])
        .print_device_code()
        .await
        .unwrap();
    assert_eq!(
        (second.acquisition(), second.access_token()),
        (msal::Acquisition::Cache, "at-dc2")
    );
}
