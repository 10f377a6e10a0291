//! The msal-rs quickstart: the silent-first story, end to end, on this machine.
//!
//! A local OpenID Connect provider stand-in (a token endpoint on 127.0.0.1) plays the identity
//! provider, and the app is an ordinary `PublicClientApplication` configured for it with a
//! `FileCache`. Nothing leaves the machine. Run it with:
//!
//! ```text
//! cargo run -p msal --example quickstart
//! ```
//!
//! The interactive sign-in that starts the story (browser or device code) arrives with the
//! interactive issue; until then, step 2 writes the refresh token such a sign-in leaves in the
//! cache, exactly as MSAL Python would have.

#![forbid(unsafe_code)]

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use msal::cache::FileCache;
use msal::{Account, Error, PublicClientApplication};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLIENT_ID: &str = "quickstart-app";
const USER: &str = "alice-subject-id";

/// The token endpoint: every refresh returns a new access token and a rotated refresh token,
/// each valid for 303 s, i.e. 3 s more than msal-rs's 5-minute expiry buffer.
struct TokenEndpoint {
    issued: AtomicUsize,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer",
            "access_token": format!("access-token-{n}"),
            "refresh_token": format!("refresh-token-{n}"),
            "expires_in": 303,
            "scope": form.get("scope").cloned().unwrap_or_default(),
        }))
    }
}

fn signed_in_cache(issuer_host: &str) -> serde_json::Value {
    json!({
        "Account": { format!("{USER}-{issuer_host}-"): {
            "home_account_id": USER, "environment": issuer_host, "realm": "",
            "local_account_id": USER, "username": "alice@example.com", "authority_type": "MSSTS"
        }},
        "RefreshToken": { format!("{USER}-{issuer_host}-refreshtoken-{CLIENT_ID}--"): {
            "credential_type": "RefreshToken", "secret": "refresh-token-0",
            "home_account_id": USER, "environment": issuer_host, "client_id": CLIENT_ID
        }}
    })
}

async fn timed(
    label: &str,
    server: &MockServer,
    call: impl std::future::Future<Output = Result<msal::AuthenticationResult, Error>>,
) -> Result<(), Error> {
    let before = server.received_requests().await.unwrap_or_default().len();
    let start = Instant::now();
    let result = call.await;
    let elapsed = start.elapsed();
    let requests = server.received_requests().await.unwrap_or_default().len() - before;
    match result {
        Ok(token) => println!(
            "{label:<44} {:<18} {:>9.3} ms  {requests} HTTP request(s)  -> {}",
            format!("{:?}", token.source()),
            elapsed.as_secs_f64() * 1e3,
            token.access_token(),
        ),
        Err(e) if e.is_ui_required() => println!(
            "{label:<44} {:<18} {:>9.3} ms  {requests} HTTP request(s)  -> {e}",
            "UiRequired",
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
        })))
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(TokenEndpoint {
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
            .build()
    };
    let app = new_app()?;
    let scopes = ["api://quickstart/read"];
    println!(
        "msal-rs quickstart: provider {issuer}, cache {}\n",
        cache_path.display()
    );

    println!(
        "1. nobody has signed in yet: accounts() = {:?}",
        app.accounts().await?
    );
    timed(
        "   silent call with no account",
        &provider,
        app.acquire_token_silent(scopes, &Account::new("", "", ""))
            .into_future(),
    )
    .await?;

    let host = issuer.trim_start_matches("http://").to_owned();
    std::fs::write(
        &cache_path,
        serde_json::to_vec_pretty(&signed_in_cache(&host))?,
    )?;
    let account = app.accounts().await?.remove(0);
    println!(
        "\n2. a sign-in left a refresh token in the cache; account: {}",
        account.username
    );

    println!("\n3. silent-first, step by step:");
    timed(
        "   first call: discovery + refresh token",
        &provider,
        app.acquire_token_silent(scopes, &account).into_future(),
    )
    .await?;
    timed(
        "   second call: cache hit",
        &provider,
        app.acquire_token_silent(scopes, &account).into_future(),
    )
    .await?;
    let restarted = new_app()?;
    timed(
        "   a new process, same cache file",
        &provider,
        restarted
            .acquire_token_silent(scopes, &account)
            .into_future(),
    )
    .await?;
    timed(
        "   scopes never asked before",
        &provider,
        app.acquire_token_silent(["api://quickstart/write"], &account)
            .into_future(),
    )
    .await?;

    println!("\n4. waiting 3.5 s: the token gets within 5 minutes of expiry...");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let before = provider.received_requests().await.unwrap_or_default().len();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            // A request borrows the app and the account: a spawned task owns clones of them.
            let (app, account) = (app.clone(), account.clone());
            tokio::spawn(async move { app.acquire_token_silent(scopes, &account).await })
        })
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for call in calls {
        tokens.insert(call.await??.access_token().to_owned());
    }
    let sent = provider.received_requests().await.unwrap_or_default().len() - before;
    println!(
        "   16 concurrent callers on the expiring token: {sent} HTTP request(s), tokens {tokens:?}"
    );

    app.remove_account(&account).await?;
    println!("\n5. signed out: accounts() = {:?}", app.accounts().await?);
    timed(
        "   silent call after sign-out",
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
