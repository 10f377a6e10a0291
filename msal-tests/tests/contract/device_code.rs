//! The device code flow (RFC 8628) against a scripted identity provider, on Tokio's paused
//! clock: polling intervals, `slow_down`, expiry and cancellation are checked exactly and
//! instantly. (No sockets here, so virtual time cannot fire a network timeout; for the same
//! reason these tests keep the cache in memory whatever `MSAL_TEST_BACKEND` says.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use msal::cache::MemoryCache;
use msal::{
    Clock, DeviceCodeInfo, Error, ManualClock, PublicClientApplication, TokenSource, WebUiError,
};
use msal_tests::harness::*;
use serde_json::{json, Value};
use tokio::time::Instant;

const DEVICE_PATH: &str = "/common/oauth2/v2.0/devicecode";
const SIGN_IN_TOKEN_PATH: &str = "/common/oauth2/v2.0/token";

pub(crate) fn device_authorization(expires_in: u64, interval: Option<u64>) -> (u16, Value) {
    let mut v = json!({
        "device_code": "secret-device-code",
        "user_code": "ABCD-EFGH",
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": expires_in,
        "message": "To sign in, go to https://microsoft.com/devicelogin and enter ABCD-EFGH."
    });
    if let Some(i) = interval {
        v["interval"] = json!(i);
    }
    (200, v)
}

fn pending() -> (u16, Value) {
    (400, json!({"error": "authorization_pending"}))
}

pub(crate) fn app(transport: &ScriptedTransport, cache: &MemoryCache) -> PublicClientApplication {
    PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(transport.clone())
        .clock(ManualClock::at_unix(T0))
        .cache(cache.clone())
        .build()
        .unwrap()
}

pub(crate) fn shown() -> (
    Arc<Mutex<Vec<DeviceCodeInfo>>>,
    impl Fn(&DeviceCodeInfo) + Send + Sync + 'static,
) {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    (shown, move |info: &DeviceCodeInfo| {
        sink.lock().unwrap().push(info.clone())
    })
}

/// The whole flow: the code is shown, the app polls every `interval` through
/// `authorization_pending`, the tokens land in the cache with the account, and the next silent
/// call is a cache hit.
#[tokio::test(start_paused = true)]
async fn device_code_sign_in_polls_then_caches_the_account() {
    let transport = ScriptedTransport::new(vec![
        device_authorization(900, Some(2)),
        pending(),
        // An error body with HTTP 200 is still "pending", not a token.
        (200, json!({"error": "authorization_pending"})),
        (
            200,
            token_response("at-1", Some("rt-1"), "User.Read openid profile email", 3600),
        ),
    ]);
    let cache = MemoryCache::new();
    let app = app(&transport, &cache);
    let (shown, callback) = shown();

    let r = app
        .acquire_token_with_device_code(["User.Read"], callback)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-1", TokenSource::IdentityProvider)
    );
    let shown = shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].user_code, "ABCD-EFGH");
    assert!(!format!("{:?}", shown[0]).contains("secret-device-code"));

    let seen = transport.seen();
    assert_eq!(seen[0].1, DEVICE_PATH);
    let device_form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(seen[0].2.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(device_form["client_id"], CLIENT_ID);
    assert_eq!(
        device_form["scope"],
        "User.Read offline_access openid profile"
    );
    for (i, (at, path, body)) in seen.iter().enumerate().skip(1) {
        assert_eq!(path, SIGN_IN_TOKEN_PATH);
        assert!(body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"));
        assert!(body.contains("device_code=secret-device-code"));
        assert_eq!(
            at.duration_since(seen[i - 1].0),
            Duration::from_secs(2),
            "poll {i}"
        );
    }

    let accounts = app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].home_account_id, hid());
    assert_eq!(accounts[0].username, "alice@contoso.example");
    let stored: Value = serde_json::from_slice(&cache.snapshot().unwrap()).unwrap();
    let account = entries(&stored, "Account").remove(0);
    assert_eq!(
        account["account_source"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(account["realm"], UTID);
    assert_eq!(refresh_token_secrets(&stored), vec!["rt-1"]);

    let hit = app
        .acquire_token_silent(["User.Read"], &accounts[0])
        .await
        .unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        ("at-1", TokenSource::Cache)
    );
    assert_eq!(transport.seen().len(), 4, "the cache hit made no request");
}

/// No `interval` in the answer means 5 s (RFC 8628 §3.2); `slow_down` adds 5 s for good.
#[tokio::test(start_paused = true)]
async fn default_interval_and_slow_down() {
    let transport = ScriptedTransport::new(vec![
        device_authorization(900, None),
        (400, json!({"error": "slow_down"})),
        pending(),
        (200, token_response("at-1", Some("rt-1"), "User.Read", 3600)),
    ]);
    let app = app(&transport, &MemoryCache::new());
    let start = Instant::now();
    app.acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap();
    let gaps: Vec<Duration> = transport
        .seen()
        .iter()
        .map(|(at, _, _)| at.duration_since(start))
        .collect();
    assert_eq!(
        gaps,
        [0, 5, 15, 25].map(Duration::from_secs),
        "polls at +5 s, then every 10 s after slow_down"
    );
}

/// Behaviour (issue 13 §5): polling pauses on the app's clock. With an auto-advancing
/// `ManualClock` (and Tokio's time not paused) the 5 s, 10 s and 10 s intervals take no real
/// time and the clock shows exactly the 25 s that passed; the code's deadline is counted on
/// the clock too, so an unfinished sign-in times out instead of polling without end.
#[tokio::test]
async fn polling_pauses_on_the_apps_clock() {
    let transport = ScriptedTransport::new(vec![
        device_authorization(900, None),
        (400, json!({"error": "slow_down"})),
        pending(),
        (200, token_response("at-1", Some("rt-1"), "User.Read", 3600)),
    ]);
    let clock = ManualClock::at_unix(T0).with_auto_advance();
    let app = PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(transport.clone())
        .clock(clock.clone())
        .cache(MemoryCache::new())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let r = app
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-1");
    assert_eq!(transport.seen().len(), 4);
    let moved = |clock: &ManualClock| {
        clock
            .now()
            .duration_since(std::time::UNIX_EPOCH + Duration::from_secs(T0))
            .unwrap()
    };
    assert_eq!(moved(&clock), Duration::from_secs(25), "5 + 10 + 10 s");

    // Never finished: polls at +5 and +10 s on the clock, and the next (+15 s) would pass the
    // 12 s lifetime.
    let transport = ScriptedTransport::new(vec![
        device_authorization(12, Some(5)),
        pending(),
        pending(),
    ]);
    let clock = ManualClock::at_unix(T0).with_auto_advance();
    let app = PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(transport.clone())
        .clock(clock.clone())
        .cache(MemoryCache::new())
        .build()
        .unwrap();
    let e = app
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Interaction(WebUiError::TimedOut)),
        "{e:?}"
    );
    assert_eq!(transport.seen().len(), 3);
    assert_eq!(moved(&clock), Duration::from_secs(10));
    // A bound only to prove the 35 s of polling were not waited for real.
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// The user declines: `access_denied` (Entra: `authorization_declined`) is a typed interaction
/// error, not "interaction required" and not a service error.
#[tokio::test(start_paused = true)]
async fn declined_sign_in_is_an_interaction_error() {
    for error in ["access_denied", "authorization_declined"] {
        let transport = ScriptedTransport::new(vec![
            device_authorization(900, Some(1)),
            (
                400,
                json!({"error": error, "error_description": "The user declined."}),
            ),
        ]);
        let e = app(&transport, &MemoryCache::new())
            .acquire_token_with_device_code(["User.Read"], |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Interaction(WebUiError::Provider { error, .. }) if error == "access_denied"),
            "{e:?}"
        );
        assert!(!e.is_ui_required());
    }
}

/// The code expires: by the server's `expired_token`, or by our own deadline (`expires_in`)
/// with the user never finishing. Nothing is cached.
#[tokio::test(start_paused = true)]
async fn expired_codes_time_out() {
    let transport = ScriptedTransport::new(vec![
        device_authorization(900, Some(1)),
        (400, json!({"error": "expired_token"})),
    ]);
    let cache = MemoryCache::new();
    let e = app(&transport, &cache)
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Interaction(WebUiError::TimedOut)),
        "{e:?}"
    );

    let mut script = vec![device_authorization(10, Some(3))];
    script.extend(std::iter::repeat_with(pending).take(10));
    let transport = ScriptedTransport::new(script);
    let e = app(&transport, &cache)
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Interaction(WebUiError::TimedOut)),
        "{e:?}"
    );
    assert_eq!(
        transport.seen().len(),
        1 + 3,
        "polls at 3, 6 and 9 s, then the 10 s code expired"
    );
    assert!(cache.snapshot().is_none(), "nothing cached");
}

/// Dropping the future stops the polling.
#[tokio::test(start_paused = true)]
async fn dropping_the_request_stops_polling() {
    let mut script = vec![device_authorization(900, Some(1))];
    script.extend(std::iter::repeat_with(pending).take(100));
    let transport = ScriptedTransport::new(script);
    let app = app(&transport, &MemoryCache::new());
    let task = tokio::spawn(
        app.acquire_token_with_device_code(["User.Read"], |_| {})
            .into_future(),
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    task.abort();
    let polls = transport.seen().len();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        transport.seen().len(),
        polls,
        "no poll after the request was dropped"
    );
    assert_eq!(polls, 1 + 3);
}

/// Errors answering the device authorization request itself are typed (here `invalid_client`,
/// a service error); a provider without a device endpoint is refused before any request.
#[tokio::test(start_paused = true)]
async fn device_authorization_errors() {
    let transport = ScriptedTransport::new(vec![(
        400,
        json!({"error": "invalid_client", "error_description": "AADSTS7000218"}),
    )]);
    let e = app(&transport, &MemoryCache::new())
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Service(s) if s.oauth.error == "invalid_client"),
        "{e:?}"
    );
}

use std::future::IntoFuture;

/// Found by the `device_code_response` fuzz target: a device authorization answer with an
/// absurd `interval` or `expires_in` (u64::MAX seconds) parses, and must neither panic on
/// clock overflow nor park the caller: both are bounded (interval 10 min, lifetime 1 day).
#[tokio::test(start_paused = true)]
async fn absurd_interval_and_lifetime_are_bounded_not_a_panic() {
    // A huge interval: capped at 10 minutes; with a 900 s code that leaves one poll.
    let transport = ScriptedTransport::new(vec![
        (
            200,
            json!({"device_code": "d", "user_code": "U", "verification_uri": "https://microsoft.com/devicelogin",
                     "expires_in": 900, "interval": "18446744073709551615"}),
        ),
        (200, token_response("at-1", Some("rt-1"), "User.Read", 3600)),
    ]);
    let start = Instant::now();
    let r = app(&transport, &MemoryCache::new())
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-1");
    assert_eq!(
        transport.seen()[1].0.duration_since(start),
        Duration::from_secs(600)
    );

    // A huge lifetime: capped at a day, polling as asked.
    let transport = ScriptedTransport::new(vec![
        (
            200,
            json!({"device_code": "d", "user_code": "U", "verification_uri": "https://microsoft.com/devicelogin",
                     "expires_in": 18446744073709551615u64, "interval": 5}),
        ),
        pending(),
        (200, token_response("at-2", Some("rt-2"), "User.Read", 3600)),
    ]);
    let r = app(&transport, &MemoryCache::new())
        .acquire_token_with_device_code(["User.Read"], |_| {})
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-2");
}
