//! The msal-rs quickstart: the silent-first story, end to end, on this machine.
//!
//! A local stand-in identity provider (an OpenID Connect discovery document, a device code
//! endpoint and a token endpoint on 127.0.0.1) plays Entra ID, and the app is an ordinary
//! `PublicClientApplication` with a `FileCache`. Nothing leaves the machine. Run it with:
//!
//! ```text
//! cargo run -p msal --example quickstart
//! ```
//!
//! The sign-in is real protocol (`acquire_token` falls back to the device code flow because
//! this example opens no browser; the code is requested, shown and polled for, and the tokens
//! and ID token it returns are cached), but no one types the code: the stand-in provider
//! approves it at once, playing the user. `scripts/quickstart.sh` does the same story with the
//! `msal` tool, a real OpenID Connect provider and a headless browser signing in.

#![forbid(unsafe_code)]

use std::future::{Future, IntoFuture};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use msal::cache::FileCache;
use msal::{AuthenticationResult, Error, PublicClientApplication, WebUi, WebUiError};
use msal_interactive::AuthorizationSession;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLIENT_ID: &str = "quickstart-app";
const USER: &str = "alice-subject-id";

/// The token endpoint: a device code is approved at once (the stand-in plays the user), and
/// every answer carries a new access token and a rotated refresh token valid for 303 s, i.e.
/// 3 s more than msal-rs's 5-minute expiry buffer.
struct TokenEndpoint {
    issuer: String,
    issued: AtomicUsize,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // An unsigned ID token: enough for the stand-in (msal-rs reads it, the app trusts TLS).
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let id_token = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(json!({
                "iss": self.issuer, "sub": USER, "aud": CLIENT_ID, "iat": now, "exp": now + 3600,
                "preferred_username": "alice@example.com", "name": "Alice",
            }))
        );
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer",
            "access_token": format!("access-token-{n}"),
            "refresh_token": format!("refresh-token-{n}"),
            "id_token": id_token,
            "expires_in": 303,
            "scope": form.get("scope").cloned().unwrap_or_default(),
        }))
    }
}

/// This example opens no browser: `acquire_token` then signs in with the device code flow.
struct NoBrowser;

#[async_trait::async_trait]
impl WebUi for NoBrowser {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
        Err(WebUiError::Unavailable(
            "the quickstart opens no browser".into(),
        ))
    }
}

/// Run one call; print how the token was obtained, how long it took and how many HTTP requests
/// it made.
async fn timed(
    label: &str,
    server: &MockServer,
    call: impl Future<Output = Result<AuthenticationResult, Error>>,
) -> Result<(), Error> {
    let before = server.received_requests().await.unwrap_or_default().len();
    let start = Instant::now();
    let result = call.await;
    let elapsed = start.elapsed();
    let requests = server.received_requests().await.unwrap_or_default().len() - before;
    match result {
        Ok(token) => println!(
            "{label:<46} {:<16} {:>9.3} ms  {requests} HTTP request(s)  -> {}, expires {}",
            token.acquisition().to_string(),
            elapsed.as_secs_f64() * 1e3,
            token.access_token(),
            token.expires_on_utc(),
        ),
        Err(e) if e.is_ui_required() => println!(
            "{label:<46} {:<16} {:>9.3} ms  {requests} HTTP request(s)  -> {e}",
            "sign-in needed",
            elapsed.as_secs_f64() * 1e3,
        ),
        Err(e) => return Err(e),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = MockServer::start().await;
    let issuer = provider.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "device_authorization_endpoint": format!("{issuer}/devicecode"),
        })))
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "quickstart-device-code", "user_code": "QUICK-START",
            "verification_uri": format!("{issuer}/device"), "expires_in": 300, "interval": 1,
        })))
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(TokenEndpoint {
            issuer: issuer.clone(),
            issued: AtomicUsize::new(0),
        })
        .mount(&provider)
        .await;

    let dir = tempfile::tempdir()?;
    let cache_path = dir.path().join("msal-cache.json");
    let new_app = || {
        PublicClientApplication::builder(CLIENT_ID)
            .oidc_authority(&issuer)
            .cache(FileCache::new(&cache_path))
            .web_ui(NoBrowser)
            .build()
    };
    let app = new_app()?;
    let scopes = ["api://quickstart/read"];
    println!(
        "msal-rs quickstart: stand-in provider {issuer}, cache {}\n",
        cache_path.display()
    );

    println!(
        "1. nobody has signed in yet: accounts() = {:?}",
        app.accounts().await?
    );
    println!("   acquire_token: nothing cached, no browser here, so the device code flow:");
    timed(
        "   sign-in (discovery, device code, 1 s poll)",
        &provider,
        app.acquire_token(scopes)
            .device_code_fallback(|info| {
                println!(
                    "   | {} (the stand-in approves it at once)",
                    info.display_message()
                )
            })
            .into_future(),
    )
    .await?;
    let account = app
        .accounts()
        .await?
        .into_iter()
        .next()
        .ok_or("the sign-in cached no account")?;
    println!("   signed in as {}", account.username);

    println!("\n2. silent-first, step by step:");
    timed(
        "   the same call again: cache hit",
        &provider,
        app.acquire_token(scopes).into_future(),
    )
    .await?;
    println!(
        "   (a hit makes no request: one `stat` of the cache file to see that no other process\n    \
         changed it, and a hash lookup in memory; microseconds, see BENCHMARKS.md)"
    );
    let next_run = new_app()?;
    timed(
        "   another app on the same cache file: hit",
        &provider,
        next_run.acquire_token(scopes).into_future(),
    )
    .await?;
    println!("   (as your program's next run would: this one first reads and parses the file)");
    timed(
        "   scopes never asked before: refresh",
        &provider,
        app.acquire_token(["api://quickstart/write"]).into_future(),
    )
    .await?;

    println!("\n3. waiting 3.5 s: the token gets within 5 minutes of expiry...");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let before = provider.received_requests().await.unwrap_or_default().len();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.acquire_token(scopes).await })
        })
        .collect();
    let mut outcomes = std::collections::BTreeSet::new();
    for call in calls {
        let token = call.await??;
        outcomes.insert(format!(
            "{} by {}",
            token.access_token(),
            token.acquisition()
        ));
    }
    let sent = provider.received_requests().await.unwrap_or_default().len() - before;
    println!(
        "   16 concurrent callers on the expiring token: {sent} HTTP request(s), {outcomes:?}"
    );

    app.remove_account(&account).await?;
    println!("\n4. signed out: accounts() = {:?}", app.accounts().await?);
    timed(
        "   a silent call after sign-out",
        &provider,
        app.acquire_token_silent(scopes, &account).into_future(),
    )
    .await?;

    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache_path)?)?;
    let sections: Vec<_> = stored
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    println!("\nthe cache file is MSAL's unified schema (sections {sections:?}), shared with MSAL.NET and MSAL Python.");
    Ok(())
}
