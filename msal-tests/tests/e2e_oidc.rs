//! End to end against a real OpenID Connect provider (`e2e/provider`, built on the certified
//! `oidc-provider` package, configured to behave like Entra) and a real browser (Debian's
//! headless Chromium, driven by `e2e/provider/browser.mjs`): sign-in through the real loopback
//! listener, silent from the cache, refresh after expiry, a new scope from the refresh token,
//! sign-out; device code; and the error paths. Needs `scripts/e2e-provider.sh setup` (the test
//! script runs it).

mod e2e_support;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use e2e_support::{browser_command, complete_device_code_in_browser, e2e_dir, Provider, SERIAL};
use msal::cache::FileCache;
use msal::{Error, ManualClock, PublicClientApplication, SystemBrowser, TokenSource, WebUiError};

const CLIENT_ID: &str = "msal-rs-e2e";

fn app(
    provider: &Provider,
    cache: &std::path::Path,
    clock: &ManualClock,
    browser: SystemBrowser,
) -> PublicClientApplication {
    PublicClientApplication::builder(CLIENT_ID)
        .oidc_authority(&provider.issuer)
        .cache(FileCache::new(cache))
        .clock(clock.clone())
        .web_ui(browser)
        .build()
        .unwrap()
}

/// The whole story through a real browser: sign in, silent from the cache, refresh once the
/// access token expired, a scope never asked for silently from the refresh token, sign out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_then_silent_refresh_new_scope_and_sign_out() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");
    let clock = ManualClock::new(SystemTime::now());
    let app = app(
        &provider,
        &cache,
        &clock,
        SystemBrowser::new().with_browser_command(browser_command("")),
    );

    let signed_in = app
        .acquire_token_interactive(["api://e2e/read"])
        .extra_scopes_to_consent(["api://e2e/write"])
        .await
        .unwrap();
    assert_eq!(signed_in.source(), TokenSource::IdentityProvider);
    let account = signed_in.account().cloned().unwrap();
    assert_eq!(account.username, "alice@example.com");
    assert_eq!(app.accounts().await.unwrap(), vec![account.clone()]);

    let hit = app
        .acquire_token_silent(["api://e2e/read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (hit.source(), &hit.access_token()),
        (TokenSource::Cache, &signed_in.access_token())
    );

    // The access token expires (for the app's clock); the cached refresh token buys a new one.
    clock.advance(Duration::from_secs(3600));
    let refreshed = app
        .acquire_token_silent(["api://e2e/read"], &account)
        .await
        .unwrap();
    assert_eq!(refreshed.source(), TokenSource::IdentityProvider);
    assert_ne!(refreshed.access_token(), signed_in.access_token());

    // A scope never asked for silently (consented at sign-in): from the rotated refresh token.
    let write = app
        .acquire_token_silent(["api://e2e/write"], &account)
        .await
        .unwrap();
    assert_eq!(write.source(), TokenSource::IdentityProvider);
    let both = app
        .acquire_token_silent(["api://e2e/read"], &account)
        .await
        .unwrap();
    assert_eq!(
        both.source(),
        TokenSource::Cache,
        "the read token survived the write token"
    );

    // A brand-new app over the same file is served from it without the network.
    let restarted = PublicClientApplication::builder(CLIENT_ID)
        .oidc_authority(&provider.issuer)
        .cache(FileCache::new(&cache))
        .clock(clock.clone())
        .build()
        .unwrap();
    let r = restarted
        .acquire_token_silent(["api://e2e/write"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::Cache);

    app.remove_account(&account).await.unwrap();
    assert!(app.accounts().await.unwrap().is_empty());
    let e = app
        .acquire_token_silent(["api://e2e/read"], &account)
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
}

/// Device code, completed by a browser on "another device" (a second process entering the code).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_sign_in() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[("DEVICE_INTERVAL", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let app = app(
        &provider,
        &dir.path().join("cache.json"),
        &clock,
        SystemBrowser::new(),
    );
    let r = app
        .acquire_token_with_device_code(["api://e2e/read"], move |info| {
            let uri = info.verification_uri.to_string();
            let code = info.user_code.clone();
            // The user, elsewhere, opens the page and types the code.
            std::thread::spawn(move || complete_device_code_in_browser(&uri, &code));
        })
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let account = r.account().unwrap();
    assert_eq!(account.username, "alice@example.com");
    let hit = app
        .acquire_token_silent(["api://e2e/read"], account)
        .await
        .unwrap();
    assert_eq!(hit.source(), TokenSource::Cache);
}

/// The user declines consent: a typed interaction error, nothing cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_declines_consent() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let app = app(
        &provider,
        &dir.path().join("cache.json"),
        &clock,
        SystemBrowser::new().with_browser_command(browser_command("--deny")),
    );
    let e = app
        .acquire_token_interactive(["api://e2e/read"])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Interaction(WebUiError::Provider { error, .. }) if error == "access_denied"),
        "{e:?}"
    );
    assert!(app.accounts().await.unwrap().is_empty());
}

/// A redirect whose `state` is not ours (here: the browser is sent to a tampered authorize
/// URL, as a cross-site attacker would) is refused by the listener, which goes on waiting for
/// the real one; at the deadline the sign-in fails with `StateMismatch` (not a plain timeout),
/// and no code is redeemed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_with_a_foreign_state_is_refused() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let browser_mjs = e2e_dir().join("browser.mjs");
    let tampering = SystemBrowser::new()
        .with_opener(std::sync::Arc::new(move |url: &url::Url| {
            let mut forged = url.clone();
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "state" {
                        "attacker-state".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            forged.query_pairs_mut().clear().extend_pairs(pairs);
            Command::new("node")
                .arg(&browser_mjs)
                .arg(forged.as_str())
                .stdout(Stdio::null())
                .spawn()
                .map(|_| ())
                .map_err(|e| e.to_string())
        }))
        // Long enough for headless Chromium to sign in and be redirected (a few seconds), short
        // enough not to slow the suite: the listener now waits for the real redirect until then.
        .with_timeout(Duration::from_secs(20));
    let app = app(&provider, &dir.path().join("cache.json"), &clock, tampering);
    let e = app
        .acquire_token_interactive(["api://e2e/read"])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Interaction(WebUiError::StateMismatch)),
        "{e:?}"
    );
    assert!(app.accounts().await.unwrap().is_empty());
}

/// A local process that guessed the listener's port sends a forged redirect before the real
/// one arrives: it is refused (400) and the real redirect still completes the sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_redirect_then_the_real_one_completes_the_sign_in() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let browser_mjs = e2e_dir().join("browser.mjs");
    let forged_answer = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let answer = forged_answer.clone();
    let forger_first =
        SystemBrowser::new().with_opener(std::sync::Arc::new(move |url: &url::Url| {
            let redirect: url::Url = url
                .query_pairs()
                .find(|(k, _)| k == "redirect_uri")
                .and_then(|(_, v)| v.parse().ok())
                .ok_or("no redirect_uri in the authorize URL")?;
            let port = redirect.port().ok_or("no port in the redirect URI")?;
            let (url, browser_mjs, answer) = (url.clone(), browser_mjs.clone(), answer.clone());
            // The listener starts reading once this opener returns: forge from a thread, then start
            // the real browser once the forged redirect was answered.
            std::thread::spawn(move || {
                *answer.lock().unwrap() = Some(forge_redirect(port));
                let _ = Command::new("node")
                    .arg(&browser_mjs)
                    .arg(url.as_str())
                    .stdout(Stdio::null())
                    .spawn();
            });
            Ok(())
        }));
    let app = app(
        &provider,
        &dir.path().join("cache.json"),
        &clock,
        forger_first,
    );
    let signed_in = app
        .acquire_token_interactive(["api://e2e/read"])
        .await
        .unwrap();
    assert_eq!(signed_in.source(), TokenSource::IdentityProvider);
    assert_eq!(signed_in.account().unwrap().username, "alice@example.com");
    let answer = forged_answer.lock().unwrap().clone().unwrap_or_default();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "the forged redirect got: {answer:?}"
    );
}

/// Send a redirect with a foreign state to the listener on `port` and return its answer (or
/// the error), bounded by a 10 s read timeout.
fn forge_redirect(port: u16) -> String {
    use std::io::{Read, Write};
    let attempt = || -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"GET /?code=FORGED&state=attacker-state HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    };
    attempt().unwrap_or_else(|e| format!("error: {e}"))
}

/// Nobody completes the sign-in: the listener gives up after its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_times_out() {
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let idle = SystemBrowser::new()
        .with_opener(std::sync::Arc::new(|_: &url::Url| Ok(())))
        .with_timeout(Duration::from_secs(1));
    let app = app(&provider, &dir.path().join("cache.json"), &clock, idle);
    let e = app
        .acquire_token_interactive(["api://e2e/read"])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Interaction(WebUiError::TimedOut)),
        "{e:?}"
    );
}

/// The provider is down: a transient transport error, never "interaction required".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_down_is_a_transient_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = PublicClientApplication::builder(CLIENT_ID)
        .oidc_authority(&format!("http://127.0.0.1:{port}"))
        .retry_policy(msal::http::RetryPolicy::none())
        .build()
        .unwrap();
    let e = app
        .acquire_token_interactive(["api://e2e/read"])
        .await
        .unwrap_err();
    assert!(e.is_transient() && !e.is_ui_required(), "{e:?}");
}

/// A provider that starts but never listens (here: held before its first line by a preloaded
/// module) fails the test within the bound, and the failure carries what it wrote on stderr,
/// instead of hanging the suite.
#[test]
fn a_provider_that_never_listens_fails_in_time_with_its_stderr() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let preload = dir.path().join("hang.mjs");
    std::fs::write(
        &preload,
        "console.error('stuck before listening');\n\
         setInterval(() => {}, 1000);\n\
         await new Promise(() => {});\n",
    )
    .unwrap();
    let hang = format!("--import={}", url::Url::from_file_path(&preload).unwrap());
    let Err(failure) = std::panic::catch_unwind(|| {
        Provider::start_within(&[("NODE_OPTIONS", &hang)], Duration::from_secs(3))
    }) else {
        panic!("the provider cannot have started");
    };
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("printed no line within 3s"), "{message}");
    assert!(message.contains("stuck before listening"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
