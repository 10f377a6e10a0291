//! Secrets never leak.
//!
//! One test runs every flow of the library (silent hit, refresh with rotation, refresh failures,
//! 5xx, protocol errors, throttling and its replay, interactive sign-in, `acquire_token`, the
//! device code flow, `accounts`, `remove_account`, the file and encrypted caches) with every
//! `tracing` event and span at TRACE captured into memory, plus every `log` record (reqwest and
//! rustls log through the `log` crate). msal-rs has no PII-logging switch: what is captured is
//! all it ever emits. It then `Debug`-prints (and `Display`s, where implemented) every public
//! value it obtained or can build, and asserts that no access token, refresh token, ID token
//! (whole, its signature, its payload or a claim only the payload holds), authorization code,
//! device code, PKCE verifier, cache passphrase or cache key appears anywhere: in msal-rs's own
//! output (targets `msal*`), in the HTTP stack's output (reqwest, hyper, h2, rustls...), or in
//! any `Debug`/`Display` string. Secrets are also looked for as a `Vec<u8>` prints them
//! (`[65, 84, ...]`), since a derived `Debug` on raw bytes is as readable as the text.
//!
//! The fake identity provider (wiremock, targets `wiremock*`) sees every secret by design; its
//! own log records are kept apart and not checked.
//!
//! The test registers each secret when it creates it, with unique recognisable values
//! (`AT-SECRET-...`, `RT-SECRET-...`, `IDT-SIG-SECRET-...`, `CODE-SECRET-...`,
//! `DEVICE-SECRET-...`), and learns the PKCE verifier from the code redemption form the fake
//! identity provider receives.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use msal::cache::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};
use msal::cache::{
    CacheStore, Current, EncryptedFileCache, FileCache, Loaded, MemoryCache, Partition,
    RedeemedRefreshToken, TokenCache, TokenWrite,
};
use msal::http::{HttpClient, HttpError, ReqwestHttpClient, RetryPolicy};
use msal::{
    Error, ManualClock, PublicClientApplication, PublicClientApplicationBuilder, SystemBrowser,
    TokenSource, WebUi, WebUiError,
};
use msal_core::{IdTokenClaims, Pkce};
use msal_interactive::{AuthorizationResponse, AuthorizationSession, DeviceAuthorizationResponse};
use msal_tests::harness::{
    self, b64, client_info, CacheDoc, LoopbackTransport, ScriptedTransport, CLIENT_ID, ENV, T0,
    TOKEN_PATH, UID, UTID,
};
use serde_json::{json, Value};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// ------------------------------------------------------------------------------------------
// Capturing everything that is logged.
// ------------------------------------------------------------------------------------------

/// An in-memory sink for a `fmt` layer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    fn push(&self, line: &str) {
        let mut bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = BufferWriter;

    fn make_writer(&'a self) -> BufferWriter {
        BufferWriter(Arc::clone(&self.0))
    }
}

/// What was logged, by who logged it.
#[derive(Default)]
struct Captured {
    /// `tracing` output of msal-rs itself (targets `msal*`), spans included.
    msal: Buffer,
    /// Everything else but the fake identity provider: reqwest, hyper, h2, rustls, tokio...
    /// (`tracing` events and `log` records alike).
    stack: Buffer,
    /// The fake identity provider's (wiremock's) own records: it sees every secret by design.
    idp: Buffer,
    /// Whether `log` records reach `stack`/`idp` through our logger.
    log_installed: bool,
}

fn is_msal(target: &str) -> bool {
    target.starts_with("msal")
}

fn is_idp(target: &str) -> bool {
    target.starts_with("wiremock")
}

struct LogSink {
    stack: Buffer,
    idp: Buffer,
}

impl log::Log for LogSink {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        if is_idp(record.target()) {
            self.idp.push(&line);
        } else {
            // msal-rs logs with `tracing` only; anything from `log` is the stack's.
            self.stack.push(&line);
        }
    }

    fn flush(&self) {}
}

/// Install, once per test binary, a global subscriber at TRACE for every target, and a `log`
/// logger at TRACE, all writing into memory.
fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let mut captured = Captured::default();
        let layer = |sink: &Buffer, keep: fn(&str) -> bool| {
            tracing_subscriber::fmt::layer()
                .with_writer(sink.clone())
                .with_ansi(false)
                .with_target(true)
                .with_span_events(FmtSpan::FULL)
                .with_filter(filter_fn(move |m| keep(m.target())))
                .boxed()
        };
        tracing_subscriber::registry()
            .with(vec![
                layer(&captured.msal, is_msal),
                layer(&captured.stack, |t| !is_msal(t) && !is_idp(t)),
                layer(&captured.idp, is_idp),
            ])
            .try_init()
            .expect("no other global subscriber in this test binary");
        let sink = LogSink {
            stack: captured.stack.clone(),
            idp: captured.idp.clone(),
        };
        // If `tracing-subscriber`'s `tracing-log` feature is ever unified in, `try_init` has
        // already routed `log` into the layers above and this fails harmlessly.
        captured.log_installed = log::set_logger(Box::leak(Box::new(sink))).is_ok();
        log::set_max_level(log::LevelFilter::Trace);
        captured
    })
}

// ------------------------------------------------------------------------------------------
// Secrets and what has been printed.
// ------------------------------------------------------------------------------------------

/// Every secret the test created or learnt, by label.
#[derive(Default)]
struct Secrets(Mutex<Vec<(String, String)>>);

impl Secrets {
    fn add(&self, label: impl Into<String>, value: impl Into<String>) -> String {
        let value = value.into();
        assert!(value.len() >= 16, "secret markers must be recognisable");
        self.0.lock().unwrap().push((label.into(), value.clone()));
        value
    }

    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }

    /// Where any secret appears in `haystack`: as text, or as `Debug` prints its bytes.
    fn find_in(&self, haystack: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (label, secret) in self.all() {
            if haystack.contains(&secret) {
                found.push(format!("{label} ({secret})"));
            } else if haystack.contains(&byte_list(secret.as_bytes())) {
                found.push(format!("{label} ({secret}) as a byte list"));
            }
        }
        found
    }
}

/// How `Debug` prints these bytes inside a `[u8]`: `65, 84, 45`.
fn byte_list(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `Debug` or `Display` rendering of a public value.
struct Printed {
    label: String,
    text: String,
}

#[derive(Default)]
struct Prints(Vec<Printed>);

impl Prints {
    fn debug(&mut self, label: &str, value: &impl std::fmt::Debug) {
        self.0.push(Printed {
            label: format!("{label} {{:?}}"),
            text: format!("{value:?}"),
        });
        self.0.push(Printed {
            label: format!("{label} {{:#?}}"),
            text: format!("{value:#?}"),
        });
    }

    fn display(&mut self, label: &str, value: &impl std::fmt::Display) {
        self.0.push(Printed {
            label: format!("{label} {{}}"),
            text: value.to_string(),
        });
    }

    fn error(&mut self, label: &str, e: &Error) {
        self.debug(label, e);
        self.display(label, e);
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.0.push(Printed {
                label: format!("{label} source {{}}"),
                text: s.to_string(),
            });
            source = s.source();
        }
    }

    fn leaks(&self, secrets: &Secrets) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|p| {
                secrets
                    .find_in(&p.text)
                    .into_iter()
                    .map(move |s| format!("{} shows {s}", p.label))
            })
            .collect()
    }
}

// ------------------------------------------------------------------------------------------
// The fake identity provider's answers.
// ------------------------------------------------------------------------------------------

const REDIRECT: &str = "http://localhost:8400/";
const SIGN_IN_TOKEN_PATH: &str = "/common/oauth2/v2.0/token";

/// An ID token whose payload holds a unique marker claim and whose signature is a marker too.
/// Registers the whole token, its payload and signature segments and the decoded marker.
fn id_token(secrets: &Secrets, tag: &str, nonce: Option<&str>) -> String {
    let marker = secrets.add(
        format!("id token payload claim ({tag})"),
        format!("IDT-PAYLOAD-SECRET-{tag}-c41d9e"),
    );
    let mut claims = json!({
        "aud": CLIENT_ID, "iss": format!("https://login.microsoftonline.com/{UTID}/v2.0"),
        "sub": "subject", "oid": UID, "tid": UTID, "preferred_username": "alice@contoso.example",
        "name": "Alice", "iat": T0, "exp": T0 + 3600, "xms_leak_marker": marker,
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let payload = secrets.add(
        format!("id token payload segment ({tag})"),
        b64(&claims.to_string()),
    );
    let signature = secrets.add(
        format!("id token signature ({tag})"),
        format!("IDT-SIG-SECRET-{tag}-8b2f6a0d"),
    );
    let token = format!(
        "{}.{payload}.{signature}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#)
    );
    secrets.add(format!("id token ({tag})"), token)
}

/// A token endpoint success body.
fn tokens(access_token: &str, refresh_token: Option<&str>, id_token: &str, scope: &str) -> Value {
    let mut v = json!({
        "token_type": "Bearer", "scope": scope, "expires_in": 3600, "ext_expires_in": 3600,
        "access_token": access_token, "id_token": id_token, "client_info": client_info(UID, UTID),
    });
    if let Some(rt) = refresh_token {
        v["refresh_token"] = json!(rt);
    }
    v
}

/// The signed-in user with refresh token `rt` and ID token `idt`, optionally with a valid
/// cached access token for `User.Read`.
fn signed_in(rt: &str, idt: &str, at: Option<&str>) -> Vec<u8> {
    let mut doc = CacheDoc::new().signed_in(CLIENT_ID, rt);
    if let Some(at) = at {
        doc = doc.access_token(CLIENT_ID, UTID, "User.Read", at, T0 + 3600);
    }
    for entry in doc.0["IdToken"].as_object_mut().unwrap().values_mut() {
        entry["secret"] = json!(idt);
    }
    serde_json::to_vec(&doc.0).unwrap()
}

async fn seed(store: &dyn CacheStore, bytes: Vec<u8>) {
    store
        .modify(Partition::All, None, &mut |_| Ok(bytes.clone()))
        .await
        .unwrap();
}

fn builder(server: &MockServer, clock: &ManualClock) -> PublicClientApplicationBuilder {
    PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(LoopbackTransport::new(server))
        .clock(clock.clone())
        .retry_policy(RetryPolicy {
            max_retries: 1,
            delay: Duration::from_millis(20),
        })
}

/// An app over `store` talking to a fresh fake identity provider.
async fn app_over(
    store: impl CacheStore + 'static,
) -> (MockServer, ManualClock, PublicClientApplication) {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let app = builder(&server, &clock).cache(store).build().unwrap();
    (server, clock, app)
}

fn token_endpoint(status: u16, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

fn form(request: &Request) -> HashMap<String, String> {
    harness::form(request)
}

/// A web UI that answers with `code` (or an error), as a browser would after the user signed
/// in; `state` is echoed unless `forge_state`.
#[derive(Clone)]
struct FakeBrowser {
    code: String,
    forge_state: bool,
    deny: bool,
    shown: Arc<Mutex<Vec<Url>>>,
}

impl FakeBrowser {
    fn new(code: &str) -> Self {
        FakeBrowser {
            code: code.into(),
            forge_state: false,
            deny: false,
            shown: Arc::default(),
        }
    }

    fn last_nonce(&self) -> Option<String> {
        let url = self.shown.lock().unwrap().last().cloned()?;
        let nonce = url
            .query_pairs()
            .find(|(k, _)| k == "nonce")?
            .1
            .into_owned();
        Some(nonce)
    }
}

struct FakeSession(FakeBrowser, Url);

#[async_trait::async_trait]
impl WebUi for FakeBrowser {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
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
        let state = if self.0.forge_state {
            "forged-state".to_owned()
        } else {
            expected_state.to_owned()
        };
        let query = if self.0.deny {
            format!(
                "error=access_denied&error_description=the+user+declined&code={}&state={state}",
                self.0.code
            )
        } else {
            format!("code={}&state={state}", self.0.code)
        };
        AuthorizationResponse::from_redirect_query(&query, expected_state)
    }
}

/// The token endpoint for code redemption: records the form (code, PKCE verifier) and answers
/// with tokens whose ID token carries the nonce the browser was shown.
struct CodeRedemption {
    browser: FakeBrowser,
    secrets: Arc<Secrets>,
    forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
    issued: AtomicUsize,
}

impl Respond for CodeRedemption {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = form(request);
        if let Some(verifier) = form.get("code_verifier") {
            self.secrets.add("PKCE verifier", verifier.clone());
        }
        self.forms.lock().unwrap().push(form);
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let s = &self.secrets;
        let at = s.add(
            format!("interactive AT {n}"),
            format!("AT-SECRET-7f3a-interactive-{n:04}"),
        );
        let rt = s.add(
            format!("interactive RT {n}"),
            format!("RT-SECRET-9c2e-interactive-{n:04}"),
        );
        let idt = id_token(
            s,
            &format!("interactive-{n}"),
            self.browser.last_nonce().as_deref(),
        );
        ResponseTemplate::new(200).set_body_json(tokens(
            &at,
            Some(&rt),
            &idt,
            "User.Read openid profile",
        ))
    }
}

/// The real reqwest transport sent to a loopback port nobody listens on.
struct Refused {
    port: u16,
    inner: ReqwestHttpClient,
}

#[async_trait::async_trait]
impl HttpClient for Refused {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let (mut parts, body) = request.into_parts();
        let pq = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        parts.uri = format!("http://127.0.0.1:{}{pq}", self.port)
            .parse()
            .unwrap();
        self.inner
            .send(http::Request::from_parts(parts, body))
            .await
    }
}

fn expect_err<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> Error {
    match r {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

// ------------------------------------------------------------------------------------------
// The test.
// ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_or_debug_output_across_every_flow() {
    let captured = capture();
    let secrets = Arc::new(Secrets::default());
    let s = &*secrets;
    let mut p = Prints::default();

    // --- Silent hit, then a refresh for a new scope with RT rotation (memory cache). ---------
    let at_cached = s.add("cached AT", "AT-SECRET-7f3a01-cached-hit-0001");
    let rt_seed = s.add("seeded RT", "RT-SECRET-9c2e01-seeded-0001");
    let idt_seed = id_token(s, "seeded", None);
    let memory = MemoryCache::new();
    seed(&memory, signed_in(&rt_seed, &idt_seed, Some(&at_cached))).await;
    let (server, clock, app) = app_over(memory.clone()).await;
    p.debug("PublicClientApplication", &app);

    let accounts = app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    let account = accounts[0].clone();
    p.debug("Vec<Account>", &accounts);
    p.debug(
        "Option<Account>",
        &app.account(&harness::hid()).await.unwrap(),
    );

    let silent = app.acquire_token_silent(["User.Read"], &account);
    p.debug("AcquireTokenSilent", &silent);
    let hit = silent.await.unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        (at_cached.as_str(), TokenSource::Cache)
    );
    assert_eq!(hit.id_token(), Some(idt_seed.as_str()));
    p.debug("AuthenticationResult (cache hit)", &hit);

    let at_refreshed = s.add("refreshed AT", "AT-SECRET-7f3a02-refreshed-0002");
    let rt_rotated = s.add("rotated RT", "RT-SECRET-9c2e02-rotated-0002");
    let idt_refreshed = id_token(s, "refreshed", None);
    token_endpoint(
        200,
        tokens(
            &at_refreshed,
            Some(&rt_rotated),
            &idt_refreshed,
            "Mail.Read",
        ),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    let refreshed = app
        .acquire_token_silent(["Mail.Read"], &account)
        .claims(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#)
        .await
        .unwrap();
    assert_eq!(refreshed.access_token(), at_refreshed);
    assert_eq!(refreshed.source(), TokenSource::IdentityProvider);
    p.debug("AuthenticationResult (refresh)", &refreshed);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(form(requests.last().unwrap())["refresh_token"], rt_seed);

    // A second rotation, forced.
    let at_forced = s.add("force-refreshed AT", "AT-SECRET-7f3a03-forced-0003");
    let rt_rotated2 = s.add("rotated RT 2", "RT-SECRET-9c2e03-rotated-0003");
    token_endpoint(
        200,
        tokens(&at_forced, Some(&rt_rotated2), &idt_refreshed, "User.Read"),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    let forced = app
        .acquire_token_silent(["User.Read"], &account)
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(forced.access_token(), at_forced);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(form(requests.last().unwrap())["refresh_token"], rt_rotated);
    let stored = String::from_utf8(memory.snapshot().unwrap()).unwrap();
    assert!(stored.contains(&rt_rotated2) && !stored.contains(&rt_rotated));
    p.debug("MemoryCache (holding tokens)", &memory);
    let token_cache = TokenCache::from_json(stored.as_bytes()).unwrap();
    p.debug("TokenCache", &token_cache);
    clock.advance(Duration::from_secs(1));

    // --- Refresh failure: invalid_grant with claims, then its replay from the throttle. -----
    let rt_revoked = s.add("revoked RT", "RT-SECRET-9c2e04-revoked-0004");
    let store = MemoryCache::new();
    seed(&store, signed_in(&rt_revoked, &idt_seed, None)).await;
    let (server, clock, app) = app_over(store).await;
    token_endpoint(
        400,
        json!({
            "error": "invalid_grant",
            "error_description": "AADSTS50076: you must use multi-factor authentication",
            "error_codes": [50076], "suberror": "basic_action",
            "claims": r#"{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}"#,
            "correlation_id": "11111111-0000-4000-8000-000000000001",
        }),
    )
    .mount(&server)
    .await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "invalid_grant",
    );
    assert!(e.is_ui_required() && e.claims().is_some());
    p.error("Error::UiRequired (invalid_grant)", &e);
    if let Error::UiRequired(u) = &e {
        p.debug("UiRequiredError", u);
        p.display("UiRequiredError", u);
    }
    let replayed = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "replay",
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "replayed, not sent"
    );
    p.error("Error::UiRequired (replayed from the throttle)", &replayed);
    clock.advance(Duration::from_secs(1));

    // No refresh token at all / no account: UI required without a request.
    let (_server, _clock, app) = app_over(MemoryCache::new()).await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "no tokens",
    );
    p.error("Error::UiRequired (no tokens)", &e);

    // --- 5xx: an HTML body that carries a token, retried once, then throttled. -------------
    let rt_5xx = s.add("RT used against a 5xx", "RT-SECRET-9c2e05-fivexx-0005");
    let at_in_html = s.add(
        "AT inside a 503 HTML body",
        "AT-SECRET-7f3a05-in-html-body-0005",
    );
    let store = MemoryCache::new();
    seed(&store, signed_in(&rt_5xx, &idt_seed, None)).await;
    let (server, clock, app) = app_over(store).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503).insert_header("content-type", "text/html").set_body_string(
            format!("<html><body>upstream said access_token={at_in_html} and refresh_token={rt_5xx}</body></html>"),
        ))
        .mount(&server)
        .await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "503",
    );
    assert!(
        matches!(e, Error::ServiceUnavailable { status: 503, .. }),
        "{e:?}"
    );
    p.error("Error::ServiceUnavailable (503 HTML)", &e);
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "throttled",
    );
    assert!(matches!(e, Error::Throttled { .. }), "{e:?}");
    p.error("Error::Throttled (after 503)", &e);
    clock.advance(Duration::from_secs(1));

    // 500 with an OAuth body, then 429: service errors; the 429 then throttles.
    let rt_429 = s.add("RT used against a 429", "RT-SECRET-9c2e06-toomany-0006");
    let store = MemoryCache::new();
    seed(&store, signed_in(&rt_429, &idt_seed, None)).await;
    let (server, _clock, app) = app_over(store).await;
    token_endpoint(
        429,
        json!({"error": "temporarily_unavailable", "error_description": "slow down"}),
    )
    .mount(&server)
    .await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "429",
    );
    assert!(matches!(e, Error::Service(_)), "{e:?}");
    p.error("Error::Service (429)", &e);
    if let Error::Service(svc) = &e {
        p.debug("ServiceError", svc);
        p.display("ServiceError", svc);
        p.debug("OAuthError", &svc.oauth);
        p.display("OAuthError", &svc.oauth);
    }
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "throttled 429",
    );
    assert!(matches!(e, Error::Throttled { status: 429, .. }), "{e:?}");
    p.error("Error::Throttled (after 429)", &e);

    let rt_500 = s.add(
        "RT used against invalid_client",
        "RT-SECRET-9c2e07-invalidclient-0007",
    );
    let store = MemoryCache::new();
    seed(&store, signed_in(&rt_500, &idt_seed, None)).await;
    let (server, _clock, app) = app_over(store).await;
    token_endpoint(401, json!({"error": "invalid_client", "error_description": "AADSTS7000218: the request body must contain client_assertion or client_secret", "error_codes": [7000218]}))
        .mount(&server)
        .await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "invalid_client",
    );
    p.error("Error::Service (invalid_client)", &e);

    // --- Protocol errors: truncated JSON holding tokens; a good AT with a bad ID token. ----
    let at_trunc = s.add("AT in truncated JSON", "AT-SECRET-7f3a08-truncated-0008");
    let rt_trunc = s.add("RT in truncated JSON", "RT-SECRET-9c2e08-truncated-0008");
    let rt_p = s.add(
        "RT used against malformed answers",
        "RT-SECRET-9c2e09-protocol-0009",
    );
    let store = MemoryCache::new();
    seed(&store, signed_in(&rt_p, &idt_seed, None)).await;
    let (server, clock, app) = app_over(store.clone()).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"token_type":"Bearer","access_token":"{at_trunc}","refresh_token":"{rt_trunc}","id_token":"{idt_seed}"#
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "truncated",
    );
    assert!(
        matches!(
            e,
            Error::Protocol {
                status: Some(200),
                ..
            }
        ),
        "{e:?}"
    );
    p.error("Error::Protocol (truncated JSON)", &e);
    clock.advance(Duration::from_secs(1));

    let at_badidt = s.add(
        "AT next to a bad ID token",
        "AT-SECRET-7f3a10-badidtoken-0010",
    );
    let rt_badidt = s.add(
        "RT next to a bad ID token",
        "RT-SECRET-9c2e10-badidtoken-0010",
    );
    let bad_idt = s.add("malformed ID token", "IDT-SIG-SECRET-not-a-jwt-0010");
    token_endpoint(
        200,
        tokens(&at_badidt, Some(&rt_badidt), &bad_idt, "User.Read"),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "bad id token",
    );
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    p.error("Error::Protocol (bad ID token)", &e);

    // --- Http: the real transport to a closed loopback port. -------------------------------
    let rt_http = s.add("RT sent to a closed port", "RT-SECRET-9c2e11-refused-0011");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let store = MemoryCache::new();
    seed(&store, signed_in(&rt_http, &idt_seed, None)).await;
    let app = PublicClientApplication::builder(CLIENT_ID)
        .http_client(Refused {
            port,
            inner: ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)),
        })
        .clock(ManualClock::at_unix(T0))
        .cache(store)
        .retry_policy(RetryPolicy {
            max_retries: 1,
            delay: Duration::from_millis(20),
        })
        .build()
        .unwrap();
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "refused",
    );
    assert!(matches!(e, Error::Http(_)), "{e:?}");
    p.error("Error::Http (connection refused)", &e);

    // --- Interactive sign-in through a fake web UI; acquire_token; remove_account. --------
    let code = s.add("authorization code", "CODE-SECRET-4e8d01-authz-0001");
    let browser = FakeBrowser::new(&code);
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let forms = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(CodeRedemption {
            browser: browser.clone(),
            secrets: Arc::clone(&secrets),
            forms: Arc::clone(&forms),
            issued: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    let interactive_store = MemoryCache::new();
    let app_builder = builder(&server, &clock)
        .cache(interactive_store.clone())
        .web_ui(browser.clone());
    p.debug("PublicClientApplicationBuilder", &app_builder);
    let app = app_builder.build().unwrap();
    let request = app
        .acquire_token_interactive(["User.Read"])
        .login_hint("alice@contoso.example")
        .claims(r#"{"id_token":{"auth_time":{"essential":true}}}"#);
    p.debug("AcquireTokenInteractive", &request);
    let signed = request.await.unwrap();
    assert_eq!(signed.source(), TokenSource::IdentityProvider);
    p.debug("AuthenticationResult (interactive)", &signed);
    {
        let forms = forms.lock().unwrap();
        assert_eq!(forms[0]["code"], code);
        assert!(
            forms[0]["code_verifier"].len() >= 43,
            "the PKCE verifier was captured"
        );
    }

    // acquire_token: silent-first (a cache hit now)...
    let request = app
        .acquire_token(["User.Read"])
        .login_hint("alice@contoso.example");
    p.debug("AcquireToken", &request);
    let again = request.await.unwrap();
    assert_eq!(again.source(), TokenSource::Cache);
    p.debug("AuthenticationResult (acquire_token, cached)", &again);
    // ... and falling back to the web UI for an empty cache.
    let fresh = builder(&server, &clock)
        .cache(MemoryCache::new())
        .web_ui(browser.clone())
        .build()
        .unwrap();
    let via_ui = fresh.acquire_token(["User.Read"]).await.unwrap();
    assert_eq!(via_ui.source(), TokenSource::IdentityProvider);
    p.debug("AuthenticationResult (acquire_token, signed in)", &via_ui);
    assert_eq!(forms.lock().unwrap().len(), 2);

    let accounts = app.accounts().await.unwrap();
    p.debug("Vec<Account> (after sign-in)", &accounts);
    app.remove_account(&accounts[0]).await.unwrap();
    assert!(app.accounts().await.unwrap().is_empty());
    let after_removal = expect_err(
        app.acquire_token_silent(["User.Read"], &accounts[0]).await,
        "removed account",
    );
    p.error("Error::UiRequired (removed account)", &after_removal);

    // Interaction errors: a forged state (the code must not be quoted), a declined consent.
    let code_forged = s.add("code with a forged state", "CODE-SECRET-4e8d02-forged-0002");
    let forged = FakeBrowser {
        forge_state: true,
        ..FakeBrowser::new(&code_forged)
    };
    let app = builder(&server, &clock).web_ui(forged).build().unwrap();
    let e = expect_err(
        app.acquire_token_interactive(["User.Read"]).await,
        "forged state",
    );
    assert!(
        matches!(e, Error::Interaction(WebUiError::StateMismatch)),
        "{e:?}"
    );
    p.error("Error::Interaction (state mismatch)", &e);
    let code_denied = s.add("code next to an error", "CODE-SECRET-4e8d03-denied-0003");
    let denied = FakeBrowser {
        deny: true,
        ..FakeBrowser::new(&code_denied)
    };
    let app = builder(&server, &clock).web_ui(denied).build().unwrap();
    let e = expect_err(
        app.acquire_token_interactive(["User.Read"]).await,
        "declined",
    );
    assert!(
        matches!(e, Error::Interaction(WebUiError::Provider { .. })),
        "{e:?}"
    );
    p.error("Error::Interaction (declined)", &e);

    // --- Device code (scripted transport). --------------------------------------------------
    let device_code = s.add("device code", "DEVICE-SECRET-2b7c01-devcode-0001");
    let at_dev = s.add("device-code AT", "AT-SECRET-7f3a12-devicecode-0012");
    let rt_dev = s.add("device-code RT", "RT-SECRET-9c2e12-devicecode-0012");
    let idt_dev = id_token(s, "devicecode", None);
    let device_auth = json!({
        "device_code": device_code, "user_code": "ABCD-EFGH",
        "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 1,
        "message": "To sign in, go to https://microsoft.com/devicelogin and enter ABCD-EFGH.",
    });
    let scripted = ScriptedTransport::new(vec![
        (200, device_auth.clone()),
        (400, json!({"error": "authorization_pending"})),
        (
            200,
            tokens(&at_dev, Some(&rt_dev), &idt_dev, "User.Read openid profile"),
        ),
    ]);
    let app = PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(scripted.clone())
        .clock(ManualClock::at_unix(T0))
        .cache(MemoryCache::new())
        .build()
        .unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    let request = app
        .acquire_token_with_device_code(["User.Read"], move |info: &msal::DeviceCodeInfo| {
            sink.lock().unwrap().push(info.clone())
        });
    p.debug("AcquireTokenWithDeviceCode", &request);
    let dev = request.await.unwrap();
    assert_eq!(dev.access_token(), at_dev);
    p.debug("AuthenticationResult (device code)", &dev);
    assert!(scripted.bodies()[1].contains(&device_code));
    for info in shown.lock().unwrap().iter() {
        p.debug("DeviceCodeInfo", info);
        p.display("DeviceCodeInfo::display_message", &info.display_message());
    }
    // Device code errors: declined, and a malformed device authorization answer.
    let scripted = ScriptedTransport::new(vec![
        (200, device_auth.clone()),
        (
            400,
            json!({"error": "authorization_declined", "error_description": "declined"}),
        ),
    ]);
    let app = PublicClientApplication::builder(CLIENT_ID)
        .http_client(scripted)
        .clock(ManualClock::at_unix(T0))
        .build()
        .unwrap();
    let e = expect_err(
        app.acquire_token_with_device_code(["User.Read"], |_| {})
            .await,
        "declined",
    );
    p.error("Error::Interaction (device code declined)", &e);
    let mut no_uri = device_auth.clone();
    no_uri.as_object_mut().unwrap().remove("verification_uri");
    let scripted = ScriptedTransport::new(vec![(200, no_uri)]);
    let app = PublicClientApplication::builder(CLIENT_ID)
        .http_client(scripted)
        .build()
        .unwrap();
    let e = expect_err(
        app.acquire_token_with_device_code(["User.Read"], |_| {})
            .await,
        "malformed",
    );
    p.error("Error::Protocol (device authorization)", &e);

    // --- File and encrypted caches: write (a refresh), read (a hit in a new app), errors. --
    let dir = tempfile::tempdir().unwrap();
    let key: [u8; 32] = std::array::from_fn(|i| 0xA0 ^ (i as u8).wrapping_mul(29));
    s.add("cache key (bytes)", byte_list(&key));
    s.add(
        "cache key (hex)",
        key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    );
    let passphrase = s.add("cache passphrase", "PASSPHRASE-SECRET-d00d-0001");
    let file_cache = FileCache::new(dir.path().join("cache.json"));
    let keyed = EncryptedFileCache::with_key(dir.path().join("cache.bin"), key);
    let protected =
        EncryptedFileCache::with_passphrase(dir.path().join("pass.bin"), passphrase.clone())
            .with_argon2_params(64, 1, 1)
            .unwrap();
    let stores: Vec<(&str, Arc<dyn CacheStore>, std::path::PathBuf)> = vec![
        (
            "FileCache",
            Arc::new(file_cache.clone()),
            dir.path().join("cache.json"),
        ),
        (
            "EncryptedFileCache (key)",
            Arc::new(keyed.clone()),
            dir.path().join("cache.bin"),
        ),
        (
            "EncryptedFileCache (passphrase)",
            Arc::new(protected.clone()),
            dir.path().join("pass.bin"),
        ),
    ];
    for (i, (name, store, file)) in stores.iter().enumerate() {
        let rt = s.add(
            format!("{name} seeded RT"),
            format!("RT-SECRET-9c2e2{i}-store-seeded"),
        );
        let at = s.add(
            format!("{name} refreshed AT"),
            format!("AT-SECRET-7f3a2{i}-store-refreshed"),
        );
        let rt2 = s.add(
            format!("{name} rotated RT"),
            format!("RT-SECRET-9c2e2{i}-store-rotated"),
        );
        seed(store.as_ref(), signed_in(&rt, &idt_seed, None)).await;
        let server = MockServer::start().await;
        let clock = ManualClock::at_unix(T0);
        token_endpoint(200, tokens(&at, Some(&rt2), &idt_refreshed, "User.Read"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let writer = builder(&server, &clock)
            .cache(SharedStore(Arc::clone(store)))
            .build()
            .unwrap();
        let r = writer
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_eq!(r.source(), TokenSource::IdentityProvider, "{name}");
        // A new app over the same file reads the refreshed token.
        let reader = builder(&server, &clock)
            .cache(SharedStore(Arc::clone(store)))
            .build()
            .unwrap();
        let r = reader
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_eq!(
            (r.access_token(), r.source()),
            (at.as_str(), TokenSource::Cache),
            "{name}"
        );
        p.debug(&format!("AuthenticationResult ({name})"), &r);
        let on_disk = std::fs::read(file).unwrap();
        if name.starts_with("Encrypted") {
            let text = String::from_utf8_lossy(&on_disk);
            let found = secrets.find_in(&text);
            assert!(
                found.is_empty(),
                "{name} has plaintext secrets on disk: {found:?}"
            );
        } else {
            assert!(
                String::from_utf8_lossy(&on_disk).contains(&rt2),
                "the plain file holds the RT"
            );
        }
    }
    p.debug("FileCache", &file_cache);
    p.debug("EncryptedFileCache (key)", &keyed);
    p.debug("EncryptedFileCache (passphrase, key derived)", &protected);
    // The wrong key, and a plaintext file that does not parse but holds a token.
    let wrong = EncryptedFileCache::with_key(dir.path().join("cache.bin"), [7; 32]);
    let app = builder(&server, &clock).cache(wrong).build().unwrap();
    let e = expect_err(app.accounts().await, "wrong key");
    assert!(matches!(e, Error::Cache(_)), "{e:?}");
    p.error("Error::Cache (wrong key)", &e);
    let rt_corrupt = s.add(
        "RT in a corrupt cache file",
        "RT-SECRET-9c2e30-corrupt-file",
    );
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(
        &corrupt,
        format!(r#"{{"RefreshToken": {{"k": {{"credential_type": "RefreshToken", "secret": "{rt_corrupt}""#),
    )
    .unwrap();
    let app = builder(&server, &clock)
        .cache(FileCache::new(&corrupt))
        .build()
        .unwrap();
    let e = expect_err(app.accounts().await, "corrupt file");
    assert!(matches!(e, Error::Cache(_)), "{e:?}");
    p.error("Error::Cache (corrupt file)", &e);
    let e = expect_err(
        app.acquire_token_silent(["User.Read"], &account).await,
        "corrupt file, silent",
    );
    p.error("Error::Cache (corrupt file, silent)", &e);

    // --- Protocol types built directly. --------------------------------------------------
    let pkce = Pkce::new();
    s.add("PKCE verifier (standalone)", pkce.verifier());
    p.debug("Pkce", &pkce);

    let body = tokens(&at_cached, Some(&rt_seed), &idt_seed, "User.Read").to_string();
    let parsed = msal_core::parse_token_response(200, body.as_bytes()).unwrap();
    p.debug("TokenResponse", &parsed);
    let e = msal_core::parse_token_response(200, &body.as_bytes()[..body.len() - 3]).unwrap_err();
    p.debug("TokenResponseError::Protocol", &e);
    p.display("TokenResponseError::Protocol", &e);
    let e = msal_core::parse_token_response(
        400,
        br#"{"error":"invalid_grant","error_description":"AADSTS70000"}"#,
    )
    .unwrap_err();
    p.debug("TokenResponseError::OAuth", &e);
    p.display("TokenResponseError::OAuth", &e);
    let e = msal_core::parse_token_response(
        502,
        format!("upstream error access_token={at_cached}").as_bytes(),
    )
    .unwrap_err();
    p.display("TokenResponseError::Protocol (not JSON)", &e);

    let device = DeviceAuthorizationResponse::parse(device_auth.to_string().as_bytes()).unwrap();
    p.debug("DeviceAuthorizationResponse", &device);
    let truncated = device_auth.to_string();
    let e = DeviceAuthorizationResponse::parse(&truncated.as_bytes()[..truncated.len() / 2 + 20])
        .unwrap_err();
    p.debug("DeviceCodeError", &e);
    p.display("DeviceCodeError", &e);

    let auth = AuthorizationResponse::from_redirect_query(
        &format!("code={code}&state=s-1&client_info=abc"),
        "s-1",
    )
    .unwrap();
    p.debug("AuthorizationResponse", &auth);
    let e = AuthorizationResponse::from_redirect_query(&format!("code={code}&state=s-2"), "s-1")
        .unwrap_err();
    p.debug("WebUiError", &e);
    p.display("WebUiError", &e);

    // The facade's endpoint response type is private since issue 13 §5; its `Debug` hiding the
    // body is checked by `msal::http::exchange`'s unit test `debug_hides_body`.

    let doc: Value =
        serde_json::from_slice(&signed_in(&rt_seed, &idt_seed, Some(&at_cached))).unwrap();
    let first = |section: &str| {
        doc[section]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone()
    };
    let at_entry: AccessTokenEntry = serde_json::from_value(first("AccessToken")).unwrap();
    let rt_entry: RefreshTokenEntry = serde_json::from_value(first("RefreshToken")).unwrap();
    let idt_entry: IdTokenEntry = serde_json::from_value(first("IdToken")).unwrap();
    let account_entry: AccountEntry = serde_json::from_value(first("Account")).unwrap();
    let app_metadata: AppMetadataEntry =
        serde_json::from_value(json!({"client_id": CLIENT_ID, "environment": ENV})).unwrap();
    p.debug("AccessTokenEntry", &at_entry);
    p.debug("RefreshTokenEntry", &rt_entry);
    p.debug("IdTokenEntry", &idt_entry);
    p.debug("AccountEntry", &account_entry);
    p.debug("AppMetadataEntry", &app_metadata);
    let write = TokenWrite {
        access_token: Some(at_entry),
        refresh_token: Some(rt_entry),
        id_token: Some(idt_entry),
        account: Some(account_entry),
        app_metadata: Some(app_metadata),
        ..TokenWrite::default()
    };
    p.debug("TokenWrite (sign-in, no rotation)", &write);

    p.debug("ReqwestHttpClient", &ReqwestHttpClient::new());
    p.debug("SystemBrowser", &SystemBrowser::new());

    // The decoded claims of an ID token are, by design, the token's content (the payload claim
    // shows): checked only for the raw token and its signature.
    let claims = IdTokenClaims::decode(&idt_seed).unwrap();
    let claims_debug = format!("{claims:?}");
    assert!(!claims_debug.contains(&idt_seed) && !claims_debug.contains("IDT-SIG-SECRET"));

    // --- The verdict. ------------------------------------------------------------------------
    let all = secrets.all();
    assert!(
        all.iter().any(|(l, _)| l == "PKCE verifier"),
        "the PKCE verifier was learnt"
    );
    let msal_log = captured.msal.text();
    let stack_log = captured.stack.text();
    assert!(
        msal_log.contains("access token refreshed")
            && msal_log.contains("signed in; tokens cached"),
        "msal-rs's TRACE output was captured:\n{msal_log}"
    );
    assert!(
        msal_log.contains("interaction-required answer replayed from the throttle cache")
            && msal_log.contains("request throttled locally")
            && msal_log.contains("device code issued"),
        "the throttle and device code paths ran:\n{msal_log}"
    );
    // For a look at what was captured: `MSAL_LEAK_TEST_DUMP=/some/dir cargo test ...`.
    if let Some(dir) = std::env::var_os("MSAL_LEAK_TEST_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("msal.log"), &msal_log).unwrap();
        std::fs::write(dir.join("stack.log"), &stack_log).unwrap();
        let printed: String =
            p.0.iter()
                .map(|x| format!("== {}\n{}\n", x.label, x.text))
                .collect();
        std::fs::write(dir.join("printed.txt"), printed).unwrap();
    }
    let mut leaks: Vec<String> = Vec::new();
    leaks.extend(
        secrets
            .find_in(&msal_log)
            .into_iter()
            .map(|s| format!("msal-rs log shows {s}")),
    );
    leaks.extend(
        secrets
            .find_in(&stack_log)
            .into_iter()
            .map(|s| format!("HTTP stack log shows {s}")),
    );
    leaks.extend(p.leaks(&secrets));
    assert!(
        leaks.is_empty(),
        "secrets leaked:\n{}\n(checked {} secrets, {} printed values, {} bytes of msal-rs log, \
         {} bytes of HTTP stack log)",
        leaks.join("\n"),
        all.len(),
        p.0.len(),
        msal_log.len(),
        stack_log.len()
    );
    eprintln!(
        "checked {} secrets against {} printed values, {} lines of msal-rs log and {} lines of \
         HTTP stack log (`log` records {}); {} lines of fake-IdP log unchecked",
        all.len(),
        p.0.len(),
        msal_log.lines().count(),
        stack_log.lines().count(),
        if captured.log_installed {
            "captured directly"
        } else {
            "routed through tracing"
        },
        captured.idp.text().lines().count(),
    );
}

/// A store shared between several apps (the "new process" reading what another wrote).
#[derive(Clone)]
struct SharedStore(Arc<dyn CacheStore>);

#[async_trait::async_trait]
impl CacheStore for SharedStore {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<msal::cache::StoreVersion>,
    ) -> Result<Loaded, msal::cache::CacheError> {
        self.0.load(partition, known).await
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<msal::cache::StoreVersion>,
        update: &mut msal::cache::UpdateFn<'_>,
    ) -> Result<msal::cache::StoreVersion, msal::cache::CacheError> {
        self.0.modify(partition, known, update).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<msal::cache::RefreshLock>, msal::cache::CacheError> {
        self.0.lock_refresh(partition).await
    }

    fn location(&self) -> Option<&std::path::Path> {
        self.0.location()
    }
}

/// Public cache-store and write types a custom `CacheStore` might log: the serialized cache a
/// store hands over (`Loaded::Data`, `Current::Data`: every token, shown as a length) and the
/// rotated refresh token of a refresh's write (`RedeemedRefreshToken::new_secret`, a `Secret`,
/// also inside `TokenWrite`, whose `Debug` is derived).
#[tokio::test]
async fn cache_store_and_write_types_redact_secrets_in_debug() {
    let secrets = Secrets::default();
    let rt = secrets.add("stored RT", "RT-SECRET-9c2e40-loaded-0040");
    let rotated = secrets.add("rotated RT", "RT-SECRET-9c2e41-newsecret-0041");
    let store = MemoryCache::new();
    seed(
        &store,
        format!(r#"{{"RefreshToken":{{"k":{{"secret":"{rt}"}}}}}}"#).into_bytes(),
    )
    .await;
    let mut p = Prints::default();
    let loaded = store.load(Partition::All, None).await.unwrap();
    assert!(matches!(loaded, Loaded::Data { .. }));
    p.debug("Loaded::Data", &loaded);
    store
        .modify(Partition::All, None, &mut |current: Current<'_>| {
            p.debug("Current::Data", &current);
            Ok(current.data().unwrap_or_default().to_vec())
        })
        .await
        .unwrap();
    let redeemed = RedeemedRefreshToken {
        home_account_id: harness::hid().into(),
        environment: ENV.into(),
        client_or_family: CLIENT_ID.into(),
        redeemed_secret_fingerprint: msal::cache::index::secret_fingerprint(&rt),
        new_secret: Some(rotated.as_str().into()),
        now: T0,
        family_id: None,
    };
    p.debug("RedeemedRefreshToken", &redeemed);
    p.debug(
        "TokenWrite (refresh)",
        &TokenWrite {
            redeemed_refresh_token: Some(redeemed),
            ..TokenWrite::default()
        },
    );
    let leaks = p.leaks(&secrets);
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

// ------------------------------------------------------------------------------------------
// A provider or proxy that echoes the request in its error answers (issue 14 §3).
// ------------------------------------------------------------------------------------------

/// How [`Echo`] answers a token request, quoting the request it received.
#[derive(Clone, Copy, Debug)]
enum EchoAnswer {
    /// 400 `invalid_grant` ("interaction required") whose description, claims and trace id
    /// quote every form value and the raw form.
    InvalidGrant,
    /// 401 `invalid_client` (a service error), quoting the same way.
    InvalidClient,
    /// 503 with an HTML page quoting every form value, then the raw form.
    Html503,
    /// 400 with a plain-text page quoting the raw (form-urlencoded) body first.
    Text400,
}

/// A transport playing a fake identity provider that echoes every token request in its error
/// answer; the device authorization endpoint answers normally.
#[derive(Clone)]
struct Echo {
    answer: EchoAnswer,
    device_code: String,
}

#[async_trait::async_trait]
impl HttpClient for Echo {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let raw = String::from_utf8_lossy(request.body()).into_owned();
        let (status, body) = if request.uri().path().ends_with("/devicecode") {
            let answer = json!({
                "device_code": self.device_code, "user_code": "ABCD-EFGH",
                "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900,
                "interval": 1,
            });
            (200, answer.to_string())
        } else {
            let values: Vec<String> = url::form_urlencoded::parse(request.body())
                .map(|(_, v)| v.into_owned())
                .collect();
            let values = values.join(" ");
            let described = |error: &str| {
                json!({
                    "error": error,
                    "error_description": format!("AADSTS9002313: bad request {values}; got {raw}"),
                    "claims": format!("{{\"echo\":\"{raw}\"}}"),
                    "trace_id": values,
                })
                .to_string()
            };
            match self.answer {
                EchoAnswer::InvalidGrant => (400, described("invalid_grant")),
                EchoAnswer::InvalidClient => (401, described("invalid_client")),
                EchoAnswer::Html503 => (503, format!("<p>{values} <!-- {raw} --></p>")),
                EchoAnswer::Text400 => (400, format!("{raw} rejected")),
            }
        };
        Ok(http::Response::builder()
            .status(status)
            .body(body.into_bytes())
            .unwrap())
    }
}

/// Every 12-character piece of `secret`, as sent and form-urlencoded: finding any of them in a
/// text means part of the secret survived (a token cut at a clipping boundary included).
fn pieces(secret: &str) -> Vec<String> {
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut pieces = Vec::new();
    for form in [secret.to_owned(), encoded] {
        let chars: Vec<char> = form.chars().collect();
        for window in chars.windows(12) {
            pieces.push(window.iter().collect());
        }
    }
    pieces
}

/// Behaviour (issue 14 §3): whatever grant is sent (refresh token; client secret; on-behalf-of
/// assertion; authorization code with its PKCE verifier and a client assertion; device code),
/// an identity provider or proxy that echoes the request in an `error_description`, claims, a
/// trace id, an HTML page or a text body gets none of those secrets, or any 12-character piece
/// of one, into the error's `Display`, `Debug` or sources, nor into any log line.
#[tokio::test(start_paused = true)]
async fn secrets_echoed_by_the_server_never_reach_errors_or_logs() {
    let captured = capture();
    // `~`, `/` and `+` change when form-urlencoded, so the echoed raw form splits them into
    // short runs that a token-shape heuristic alone would print.
    let rt = "RT-SECRET~e7f3/91a2+c8d4~b6e5~f0a1~7c3e";
    let client_secret = "CS~SECRET~5b9d~a3c1~e8f2~d4b7~Q1w2";
    let user_assertion = "eyJ0eXAi.OBO-SECRET~c2e9~f7a4.sig/b3d8+e1f6";
    let code = "CODE-SECRET~d9a7~b2e4~c6f1~a8d3";
    let verifier = "PKCE-SECRET~f4c2~e9b7~d1a6~c3e8~b5f2";
    let client_assertion = "eyJhbGci.CA-SECRET~a6f9~d3c7.sig/e2b8+f5a1";
    let device_code = "DEVICE-SECRET~b8e3~f6d2~a9c4~e7b1";
    let password = "PASSWORD-SECRET~c4a8~e1d7~b9f3~a2c6";
    let external_rt = "RT-EXTERNAL-SECRET~a1d4/c7e2+b9f6~d3a8";
    let secrets = [
        ("password", password),
        ("external refresh_token", external_rt),
        ("refresh_token", rt),
        ("client_secret", client_secret),
        ("assertion", user_assertion),
        ("code", code),
        ("code_verifier", verifier),
        ("client_assertion", client_assertion),
        ("device_code", device_code),
    ];

    let mut p = Prints::default();
    let answers = [
        EchoAnswer::InvalidGrant,
        EchoAnswer::InvalidClient,
        EchoAnswer::Html503,
        EchoAnswer::Text400,
    ];
    for answer in answers {
        let echo = Echo {
            answer,
            device_code: device_code.into(),
        };
        let public = |echo: &Echo| {
            PublicClientApplication::builder(CLIENT_ID)
                .authority("https://login.microsoftonline.com/common")
                .http_client(echo.clone())
                .clock(ManualClock::at_unix(T0))
                .retry_policy(RetryPolicy::none())
        };
        let confidential = |echo: &Echo| {
            msal::ConfidentialClientApplication::builder(CLIENT_ID)
                .authority(&format!("https://login.microsoftonline.com/{UTID}"))
                .http_client(echo.clone())
                .clock(ManualClock::at_unix(T0))
                .retry_policy(RetryPolicy::none())
        };
        let label = |flow: &str| format!("{flow} ({answer:?})");

        // Refresh token.
        let store = MemoryCache::new();
        seed(&store, signed_in(rt, "idt", None)).await;
        let app = public(&echo).cache(store).build().unwrap();
        let account = app.accounts().await.unwrap().remove(0);
        let e = expect_err(
            app.acquire_token_silent(["User.Read"], &account).await,
            "refresh",
        );
        p.error(&label("refresh token"), &e);

        // Client secret.
        let app = confidential(&echo)
            .client_secret(client_secret)
            .build()
            .unwrap();
        let e = expect_err(
            app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
                .await,
            "client secret",
        );
        p.error(&label("client secret"), &e);

        // On-behalf-of: the user's assertion and the client secret.
        let e = expect_err(
            app.acquire_token_on_behalf_of(user_assertion, ["User.Read"])
                .await,
            "on-behalf-of",
        );
        p.error(&label("on-behalf-of"), &e);

        // Authorization code with its PKCE verifier, and a client assertion.
        let assertion = client_assertion.to_owned();
        let app = confidential(&echo)
            .client_assertion(move |_| {
                let assertion = assertion.clone();
                async move { Ok(assertion) }
            })
            .build()
            .unwrap();
        let e = expect_err(
            app.acquire_token_by_authorization_code(code, ["User.Read"], Some(verifier))
                .redirect_uri("http://localhost:8400/")
                .await,
            "authorization code",
        );
        p.error(&label("authorization code"), &e);

        // Device code.
        let app = public(&echo).build().unwrap();
        let e = expect_err(
            app.acquire_token_with_device_code(["User.Read"], |_| {})
                .await,
            "device code",
        );
        p.error(&label("device code"), &e);

        // Issue 17: username/password, a migrated refresh token (public and confidential), a
        // long-running on-behalf-of process.
        let app = public(&echo).build().unwrap();
        let e = expect_err(
            app.acquire_token_by_username_password(
                "alice@contoso.example",
                password,
                ["User.Read"],
            )
            .await,
            "username/password",
        );
        p.error(&label("username/password"), &e);
        let e = expect_err(
            app.acquire_token_by_refresh_token(external_rt, ["User.Read"])
                .await,
            "migrated refresh token",
        );
        p.error(&label("migrated refresh token"), &e);
        let app = confidential(&echo)
            .client_secret(client_secret)
            .build()
            .unwrap();
        let e = expect_err(
            app.acquire_token_by_refresh_token(external_rt, ["User.Read"])
                .await,
            "migrated refresh token (confidential)",
        );
        p.error(&label("migrated refresh token (confidential)"), &e);
        let e = expect_err(
            app.initiate_long_running_process_in_web_api(user_assertion, ["User.Read"])
                .await,
            "long-running on-behalf-of",
        );
        p.error(&label("long-running on-behalf-of"), &e);
    }

    let logs = format!("{}\n{}", captured.msal.text(), captured.stack.text());
    let mut leaks = Vec::new();
    for (field, secret) in secrets {
        let pieces = pieces(secret);
        for printed in &p.0 {
            if let Some(piece) = pieces.iter().find(|piece| printed.text.contains(*piece)) {
                leaks.push(format!("{} shows `{piece}` of the {field}", printed.label));
            }
        }
        if let Some(piece) = pieces.iter().find(|piece| logs.contains(*piece)) {
            leaks.push(format!("a log line shows `{piece}` of the {field}"));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // The answers were read, not dropped: the server's own words are kept.
    assert!(
        p.0.iter().any(|x| x.text.contains("AADSTS9002313")),
        "the error descriptions were kept"
    );
    assert!(
        p.0.iter().any(|x| x.text.contains("[redacted]")),
        "the echoed secrets were replaced"
    );
}

/// Answers every request with one fixed status and body.
#[derive(Clone)]
struct Fixed(u16, String);

#[async_trait::async_trait]
impl HttpClient for Fixed {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        Ok(http::Response::builder()
            .status(self.0)
            .body(self.1.clone().into_bytes())
            .unwrap())
    }
}

/// Behaviour (issue 14 §3): a token that a gateway's page carries across the 80-character
/// excerpt boundary is redacted whole (was: the excerpt was clipped first, leaving the token's
/// first 16 characters, too short to look like a token, in clear).
#[tokio::test]
async fn a_token_cut_by_the_excerpt_boundary_is_never_shown() {
    let token = "AT0SECRET0boundary0c41d9e7f3a2b8d6e1f4a9c3";
    // 64 characters before the token: an 80-character clip keeps 16 of its characters.
    let page = format!("<html><body>{} {token} ...</body></html>", "x".repeat(51));
    assert_eq!(page.find(token), Some(64));
    for status in [200, 400, 503] {
        let store = MemoryCache::new();
        seed(&store, signed_in("RT-SECRET-boundary-rt-0001", "idt", None)).await;
        let app = PublicClientApplication::builder(CLIENT_ID)
            .authority("https://login.microsoftonline.com/common")
            .http_client(Fixed(status, page.clone()))
            .clock(ManualClock::at_unix(T0))
            .retry_policy(RetryPolicy::none())
            .cache(store)
            .build()
            .unwrap();
        let account = app.accounts().await.unwrap().remove(0);
        let e = expect_err(
            app.acquire_token_silent(["User.Read"], &account).await,
            "boundary",
        );
        let shown = format!("{e} {e:?}");
        for piece in pieces(token) {
            assert!(
                !shown.contains(&piece),
                "HTTP {status}: `{piece}` in {shown}"
            );
        }
        assert!(
            shown.contains("<html><body>"),
            "the excerpt is kept: {shown}"
        );
    }
}
