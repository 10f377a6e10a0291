//! Concurrency contracts: single-flight refreshes, background (proactive) refresh, refreshes that
//! outlive their callers, a contention run with a moving clock, and sign-out racing a refresh.
//!
//! Nothing here asserts on elapsed time: "wait for a background task" polls a condition in a
//! bounded loop and fails if it is not reached.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use msal::{Error, PublicClientApplication, TokenSource};
use msal_tests::harness::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const TARGET: &str = "User.Read email openid profile";

/// Poll `condition` every 10 ms for up to 5 s; panic naming `what` if it never holds.
async fn wait_for<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..500 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A token endpoint that mints a new, numbered token pair per request (`at-N`/`rt-N`, N from
/// 1), answering with the requested scopes (minus `offline_access`) and a fixed lifetime.
struct Mint {
    issued: AtomicUsize,
    expires_in: u64,
    delay: Duration,
}

impl Mint {
    fn new(expires_in: u64, delay: Duration) -> Self {
        Mint {
            issued: AtomicUsize::new(0),
            expires_in,
            delay,
        }
    }
}

impl wiremock::Respond for Mint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let requested = form(request).get("scope").cloned().unwrap_or_default();
        let scope: Vec<&str> = requested
            .split(' ')
            .filter(|s| !s.eq_ignore_ascii_case("offline_access"))
            .collect();
        let first = scope
            .iter()
            .find(|s| !matches!(s.to_ascii_lowercase().as_str(), "openid" | "profile"))
            .copied()
            .unwrap_or("none");
        ResponseTemplate::new(200)
            .set_body_json(token_response(
                &format!("at-{n}-{first}"),
                Some(&format!("rt-{n}")),
                &scope.join(" "),
                self.expires_in,
            ))
            .set_delay(self.delay)
    }
}

/// The signed-in user with refresh token `rt-1` and an access token `at-1` for [`TARGET`]
/// expiring at `expires_on`, refreshable from `refresh_on`.
fn seeded(expires_on: u64, refresh_on: Option<u64>) -> CacheDoc {
    CacheDoc::signed_in_with_refresh_on("rt-1", TARGET, "at-1", expires_on, refresh_on)
}

fn spawn_silent(
    app: &PublicClientApplication,
    account: &msal::Account,
    scopes: &'static [&'static str],
    force_refresh: bool,
) -> tokio::task::JoinHandle<Result<msal::AuthenticationResult, Error>> {
    let (app, account) = (app.clone(), account.clone());
    tokio::spawn(async move {
        app.acquire_token_silent(scopes.iter().copied(), &account)
            .force_refresh(force_refresh)
            .await
    })
}

/// Single-flight: 64 concurrent silent calls on an expired access token make exactly one token
/// request, and all 64 get the token it returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_calls_on_an_expired_token_share_one_refresh() {
    concurrent_calls_on_an_expired_token_share_one_refresh(64).await;
}

/// The performance issue's load: 10,000 concurrent silent calls on an expired access token, one
/// token request, every caller served with its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_calls_on_an_expired_token_share_one_refresh() {
    concurrent_calls_on_an_expired_token_share_one_refresh(10_000).await;
}

async fn concurrent_calls_on_an_expired_token_share_one_refresh(callers: usize) {
    let h = Harness::new().await;
    h.seed(&seeded(T0 - 60, None)).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response(
                    "at-2",
                    Some("rt-2"),
                    "User.Read openid profile email",
                    3600,
                ))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    let account = h.account();

    let tasks: Vec<_> = (0..callers)
        .map(|_| spawn_silent(&h.app, &account, &["User.Read"], false))
        .collect();
    let mut served = 0;
    for task in tasks {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.access_token(), "at-2");
        served += 1;
    }
    assert_eq!(served, callers);

    assert_eq!(h.token_requests().await.len(), 1);
    assert_eq!(form(&h.token_requests().await[0])["refresh_token"], "rt-1");
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-2"]);
    assert_eq!(access_token_secrets(&h.stored().await), vec!["at-2"]);
    // Dropping the harness drops its MockServer, which verifies its mocks by blocking on an
    // async lock from inside this task. Awaiting 10,000 join handles can leave this task's
    // Tokio coop budget spent, and a spent budget makes that lock answer "not yet" forever: a
    // busy hang (seen once on the encrypted backend). Yielding first gives the drop a fresh
    // budget.
    tokio::task::yield_now().await;
    drop(h);
}

/// Single-flight keys: concurrent calls for two different scope sets make two requests (one per
/// set, each shared by its callers); concurrent force_refresh calls share one request among
/// themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_is_keyed_by_scopes_and_force_refresh_calls_share_one_request() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(Mint::new(3600, Duration::from_millis(500)))
        .mount(&h.server)
        .await;
    let account = h.account();

    let user_read: Vec<_> = (0..8)
        .map(|_| spawn_silent(&h.app, &account, &["User.Read"], false))
        .collect();
    let mail_read: Vec<_> = (0..8)
        .map(|_| spawn_silent(&h.app, &account, &["Mail.Read"], false))
        .collect();
    let mut user_tokens = Vec::new();
    for t in user_read {
        user_tokens.push(t.await.unwrap().unwrap().access_token().to_owned());
    }
    let mut mail_tokens = Vec::new();
    for t in mail_read {
        mail_tokens.push(t.await.unwrap().unwrap().access_token().to_owned());
    }
    assert_eq!(h.token_requests().await.len(), 2);
    user_tokens.dedup();
    mail_tokens.dedup();
    assert_eq!(user_tokens.len(), 1, "User.Read callers shared one result");
    assert_eq!(mail_tokens.len(), 1, "Mail.Read callers shared one result");
    assert!(user_tokens[0].ends_with("-User.Read"), "{user_tokens:?}");
    assert!(mail_tokens[0].ends_with("-Mail.Read"), "{mail_tokens:?}");
    let mut scopes_sent: Vec<String> = h
        .token_requests()
        .await
        .iter()
        .map(|r| form(r)["scope"].clone())
        .collect();
    scopes_sent.sort();
    assert_eq!(
        scopes_sent,
        vec![
            "Mail.Read offline_access openid profile",
            "User.Read offline_access openid profile"
        ]
    );

    let forced: Vec<_> = (0..8)
        .map(|_| spawn_silent(&h.app, &account, &["User.Read"], true))
        .collect();
    let mut forced_tokens = Vec::new();
    for t in forced {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.source(), TokenSource::IdentityProvider);
        forced_tokens.push(r.access_token().to_owned());
    }
    forced_tokens.dedup();
    assert_eq!(forced_tokens, vec!["at-3-User.Read".to_owned()]);
    assert_eq!(h.token_requests().await.len(), 3);
}

/// Background refresh: with `refresh_on` passed and the token still valid, the call returns the
/// cached token at once; exactly one background request follows, after which the cache holds
/// the new token and the next call serves it from the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_on_passed_serves_the_cached_token_and_refreshes_once_in_the_background() {
    let h = Harness::new().await;
    h.seed(&seeded(T0 + 3600, Some(T0 - 10))).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response(
                    "at-2",
                    Some("rt-2"),
                    "User.Read openid profile email",
                    3600,
                ))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    let account = h.account();

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
    wait_for("one background token request", || async {
        h.token_requests().await.len() == 1
    })
    .await;
    wait_for("the refreshed token in the cache", || async {
        access_token_secrets(&h.stored().await) == vec!["at-2"]
    })
    .await;
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-2"]);
    assert_eq!(form(&h.token_requests().await[0])["refresh_token"], "rt-1");

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Background refresh, concurrently: 10 concurrent calls in the `refresh_on`-passed state all
/// get the cached token and trigger a single background request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_calls_past_refresh_on_trigger_one_background_refresh() {
    let h = Harness::new().await;
    h.seed(&seeded(T0 + 3600, Some(T0 - 10))).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response(
                    "at-2",
                    Some("rt-2"),
                    "User.Read openid profile email",
                    3600,
                ))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    let account = h.account();

    let tasks: Vec<_> = (0..10)
        .map(|_| spawn_silent(&h.app, &account, &["User.Read"], false))
        .collect();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        // Every call was answered from the cache (the refreshed token, if the background
        // refresh already finished when it looked, else the old one).
        assert_eq!(r.source(), TokenSource::Cache);
        assert!(
            r.access_token() == "at-1" || r.access_token() == "at-2",
            "{}",
            r.access_token()
        );
    }
    wait_for("the refreshed token in the cache", || async {
        access_token_secrets(&h.stored().await) == vec!["at-2"]
    })
    .await;
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Background refresh failure (400 invalid_grant): callers keep getting the cached token, no
/// error surfaces, the refresh token is not deleted, and the failing request is not repeated
/// (the UI-required answer is replayed from the throttle cache for 120 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_background_refresh_is_silent_and_keeps_the_refresh_token() {
    let h = Harness::new().await;
    h.seed(&seeded(T0 + 3600, Some(T0 - 10))).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant",
            "error_description": "AADSTS50173: the grant has expired",
            "suberror": "bad_token",
        })))
        .mount(&h.server)
        .await;
    let account = h.account();

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
    wait_for("the background token request", || async {
        h.token_requests().await.len() == 1
    })
    .await;
    // Keep calling while the failed refresh settles: every call is a quiet cache hit.
    for _ in 0..20 {
        let r = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-1"]);
    assert_eq!(access_token_secrets(&h.stored().await), vec!["at-1"]);
    assert_eq!(h.token_requests().await.len(), 1);
}

/// A refresh whose caller went away runs to completion: the rotated refresh token (and the new
/// access token) from the late answer still land in the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_completes_and_saves_the_rotated_token_after_the_caller_is_dropped() {
    let h = Harness::new().await;
    h.seed(&seeded(T0 - 60, None)).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response(
                    "at-2",
                    Some("rt-2"),
                    "User.Read openid profile email",
                    3600,
                ))
                .set_delay(Duration::from_millis(500)),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    let account = h.account();

    let caller = spawn_silent(&h.app, &account, &["User.Read"], false);
    wait_for("the token request to be sent", || async {
        h.token_requests().await.len() == 1
    })
    .await;
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-1"]);

    wait_for("the rotated refresh token in the cache", || async {
        refresh_token_secrets(&h.stored().await) == vec!["rt-2"]
    })
    .await;
    assert_eq!(access_token_secrets(&h.stored().await), vec!["at-2"]);
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Contention (in the spirit of aws-smithy's identity-cache tests): 200 tasks each make 20
/// silent calls while the clock jumps ahead 120 s at a time and the token endpoint mints a
/// fresh 600 s token per request. No call ever gets a token that is expired (or inside the
/// 5-minute buffer) by the race-free bound explained below, and the requests are far fewer
/// than the calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_with_a_moving_clock_never_returns_an_expired_token() {
    const TASKS: usize = 200;
    const CALLS: usize = 20;
    const STEP: Duration = Duration::from_secs(120);
    const MAX_STEPS: usize = 60;
    const BUFFER: Duration = Duration::from_secs(300);

    let h = Harness::new().await;
    h.seed(&seeded(T0 - 60, None)).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(Mint::new(600, Duration::ZERO))
        .mount(&h.server)
        .await;
    let account = h.account();

    // Calls in progress: id -> clock reading taken (under the lock) when the call started.
    //
    // Why the bound below is race-free: a result comes (a) from the cache check, which read the
    // clock after our start, so `expires_on > start + 300 s`; (b) from a refresh this call
    // started, whose re-check/save read the clock after our start (`> start + 300 s` or
    // `= later + 600 s`); or (c) from a refresh another call S started and we joined. A
    // single-flight task leaves the map before its result is delivered, so when we joined it S
    // was still in progress; S's start reading precedes every clock read of its refresh, so
    // `expires_on > S.start + 300 s`. S started either while we were in progress already
    // (S.start >= our start) or before us and was still running when we registered, so
    // `floor = min(start readings of the calls in progress when we registered, ours)` bounds
    // all three cases: `expires_on > floor + 300 s`. Asserting against our own start reading
    // alone would not be race-free in case (c): the clock may jump between the joined
    // refresh's save and our start.
    let in_progress: Arc<Mutex<BTreeMap<usize, SystemTime>>> = Arc::default();
    let calls_done = Arc::new(AtomicBool::new(false));

    let ticker = {
        let (clock, done) = (h.clock.clone(), Arc::clone(&calls_done));
        tokio::spawn(async move {
            let mut steps = 0;
            while steps < MAX_STEPS && !done.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(3)).await;
                clock.advance(STEP);
                steps += 1;
            }
            steps
        })
    };

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (app, account, clock, in_progress) = (
            h.app.clone(),
            account.clone(),
            h.clock.clone(),
            Arc::clone(&in_progress),
        );
        tasks.push(tokio::spawn(async move {
            for call in 0..CALLS {
                let id = task * CALLS + call;
                let floor = {
                    let mut calls = in_progress.lock().unwrap();
                    let start = msal::Clock::now(&clock);
                    calls.insert(id, start);
                    *calls.values().min().unwrap()
                };
                let r = app
                    .acquire_token_silent(["User.Read"], &account)
                    .await
                    .unwrap();
                in_progress.lock().unwrap().remove(&id);
                assert!(
                    r.expires_on() > floor + BUFFER,
                    "call {id} got {} expiring at {:?}, not after {:?} + 300 s",
                    r.access_token(),
                    r.expires_on(),
                    floor
                );
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    calls_done.store(true, Ordering::SeqCst);
    let steps = ticker.await.unwrap();

    let requests = h.token_requests().await.len();
    let total_calls = TASKS * CALLS;
    assert!(requests >= 1, "the expired seed token forced a refresh");
    // A new token is fresh for 300 s of clock time, i.e. at least two 120 s steps, and only one
    // refresh per key is in flight at a time: at most one request per step, plus the first.
    assert!(
        requests <= steps + 1,
        "{requests} requests for {steps} clock steps"
    );
    assert!(
        requests * 20 < total_calls,
        "{requests} requests for {total_calls} calls"
    );
}

/// Sign-out racing a refresh: the account is removed while its refresh is in flight; when the
/// answer arrives nothing is re-created (no refresh, access or ID token, no account) and the
/// silent call fails with "UI required".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_account_during_a_refresh_is_not_undone() {
    let h = Harness::new().await;
    h.seed(&seeded(T0 - 60, None)).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response(
                    "at-2",
                    Some("rt-2"),
                    "User.Read openid profile email",
                    3600,
                ))
                .set_delay(Duration::from_millis(500)),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    let account = h.account();

    let caller = spawn_silent(&h.app, &account, &["User.Read"], false);
    wait_for("the token request to be sent", || async {
        h.token_requests().await.len() == 1
    })
    .await;
    h.app.remove_account(&account).await.unwrap();
    let err = caller.await.unwrap().unwrap_err();
    assert!(err.is_ui_required(), "{err:?}");

    let stored = h.stored().await;
    let hid = hid();
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        let left: Vec<&String> = stored[section]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v["home_account_id"].as_str() == Some(hid.as_str()))
                    .map(|(k, _)| k)
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{section} still has {left:?}");
    }
    assert!(h.app.accounts().await.unwrap().is_empty());
    let err = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(err.is_ui_required(), "{err:?}");
    assert_eq!(h.token_requests().await.len(), 1);
}
