//! A rotating refresh token is never redeemed twice, across processes sharing one cache file,
//! whatever the provider's speed: slower than a request's timeout, hanging, or a process
//! killed in the middle of a redemption.
//!
//! The provider here is an OpenID Connect provider with rotation and reuse detection, as Auth0
//! and Okta are: every refresh token it receives is logged, a valid one is exchanged for a new
//! one (the old one dies), a used one gets `invalid_grant`. A double redemption is the same
//! refresh token in its log twice. The workers are real processes (`msal-cache-worker
//! refresh`), each an app over the same `FileCache`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use msal_tests::harness::mount_oidc_discovery;
use msal_tests::process::Supervised;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const WORKER: &str = env!("CARGO_BIN_EXE_msal-cache-worker");
/// The bound on any one worker process.
const WORKER_WITHIN: Duration = Duration::from_secs(180);
const SCOPE: &str = "api://x/read";
const FIRST_RT: &str = "single-use-rt";

/// What the provider saw and holds.
#[derive(Default)]
struct Ledger {
    /// Refresh tokens that may still be redeemed.
    valid: HashSet<String>,
    /// Every refresh token received, in order.
    received: Vec<String>,
    issued: u32,
}

impl Ledger {
    fn double_redemptions(&self) -> usize {
        let unique: HashSet<&String> = self.received.iter().collect();
        self.received.len() - unique.len()
    }
}

/// The token endpoint of a provider with rotation and reuse detection. It decides at once
/// (the refresh token is spent the moment it arrives) and answers after `delay`.
struct RotatingProvider {
    ledger: Arc<Mutex<Ledger>>,
    delay: Duration,
}

impl Respond for RotatingProvider {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let rt = url::form_urlencoded::parse(&request.body)
            .find(|(k, _)| k == "refresh_token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut ledger = self.ledger.lock().unwrap();
        ledger.received.push(rt.clone());
        let template = if ledger.valid.remove(&rt) {
            ledger.issued += 1;
            let n = ledger.issued;
            ledger.valid.insert(format!("rt-{n}"));
            ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "access_token": format!("at-{n}"),
                "refresh_token": format!("rt-{n}"), "expires_in": 3600, "scope": SCOPE
            }))
        } else {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": "refresh token reused"
            }))
        };
        template.set_delay(self.delay)
    }
}

struct Fixture {
    server: MockServer,
    ledger: Arc<Mutex<Ledger>>,
    _dir: tempfile::TempDir,
    cache: PathBuf,
}

impl Fixture {
    /// A provider answering after `delay`, and a cache file holding one account whose only
    /// token is the refresh token (so every worker needs a refresh).
    async fn new(delay: Duration) -> Fixture {
        let server = MockServer::start().await;
        let issuer = server.uri();
        mount_oidc_discovery(&server).await;
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        ledger.lock().unwrap().valid.insert(FIRST_RT.into());
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(RotatingProvider {
                ledger: Arc::clone(&ledger),
                delay,
            })
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        write_cache(&cache, &issuer);
        Fixture {
            server,
            ledger,
            _dir: dir,
            cache,
        }
    }

    /// A worker refreshing through the cache, with a per-request timeout and a refresh-lock
    /// wait when given (milliseconds).
    fn worker(&self, timeout_ms: Option<u64>, lock_wait_ms: Option<u64>) -> Supervised {
        let mut command = Command::new(WORKER);
        command.args([
            "refresh",
            self.cache.to_str().unwrap(),
            &self.server.uri(),
            SCOPE,
        ]);
        if let Some(t) = timeout_ms {
            command.arg(t.to_string());
            if let Some(w) = lock_wait_ms {
                command.arg(w.to_string());
            }
        }
        Supervised::spawn(command, "refresh worker")
    }

    fn received(&self) -> Vec<String> {
        self.ledger.lock().unwrap().received.clone()
    }

    fn double_redemptions(&self) -> usize {
        self.ledger.lock().unwrap().double_redemptions()
    }
}

fn write_cache(cache: &Path, issuer: &str) {
    let host = issuer.trim_start_matches("http://");
    let hid = "subject-1";
    std::fs::write(
        cache,
        serde_json::to_vec(&json!({
            "Account": { "a": {"home_account_id": hid, "environment": host, "realm": "",
                "local_account_id": hid, "username": "u@example.com", "authority_type": "MSSTS"}},
            "RefreshToken": { "r": {"credential_type": "RefreshToken", "secret": FIRST_RT,
                "home_account_id": hid, "environment": host, "client_id": "multiprocess-app"}}
        }))
        .unwrap(),
    )
    .unwrap();
}

/// Wait for every worker (bounded) and return what each printed.
async fn outputs(workers: Vec<Supervised>) -> Vec<String> {
    tokio::task::spawn_blocking(move || {
        workers
            .into_iter()
            .map(|w| {
                let out = w.finish(WORKER_WITHIN).unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    out.status.success(),
                    "worker failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            })
            .collect()
    })
    .await
    .unwrap()
}

/// Eight processes need the same refresh at once and the provider takes 2 s: one redeems the
/// refresh token, the seven others wait on the cache's refresh lock and then find its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_and_a_slow_provider_redeem_the_refresh_token_once() {
    let f = Fixture::new(Duration::from_secs(2)).await;
    let started = Instant::now();
    let workers = (0..8).map(|_| f.worker(None, None)).collect();
    let mut lines = outputs(workers).await;
    lines.sort();
    println!(
        "8 processes, provider at 2 s: {:?} in {:?}",
        f.received(),
        started.elapsed()
    );
    assert_eq!(
        f.received(),
        [FIRST_RT],
        "the provider saw: {:?}",
        f.received()
    );
    assert_eq!(f.double_redemptions(), 0);
    let from_provider = lines
        .iter()
        .filter(|l| *l == "IdentityProvider at-1")
        .count();
    let from_cache = lines.iter().filter(|l| *l == "Cache at-1").count();
    assert_eq!((from_provider, from_cache), (1, 7), "{lines:?}");
}

/// The provider answers after the workers' 1 s timeout (it does rotate the token, but the
/// answer never arrives). The process that sent the refresh token does not retry it, and the
/// seven others do not send it either: its state is unknown, so they report that the user must
/// sign in again. The provider sees it exactly once, and every process ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_slower_than_the_timeout_never_sees_a_refresh_token_twice() {
    let f = Fixture::new(Duration::from_secs(4)).await;
    let workers = (0..8).map(|_| f.worker(Some(1000), None)).collect();
    let lines = outputs(workers).await;
    // Give a late retry (if there were one) the time to arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    println!("8 processes, provider at 4 s, timeout 1 s: {lines:?}");
    assert_eq!(
        f.received(),
        [FIRST_RT],
        "the provider saw: {:?}",
        f.received()
    );
    assert_eq!(f.double_redemptions(), 0);
    let timed_out = lines.iter().filter(|l| l.contains("timed out")).count();
    let unknown = lines
        .iter()
        .filter(|l| *l == "UI_REQUIRED RefreshOutcomeUnknown")
        .count();
    assert_eq!((timed_out, unknown), (1, 7), "{lines:?}");
}

/// A provider that never answers: the same, bounded by the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_provider_never_sees_a_refresh_token_twice() {
    let f = Fixture::new(Duration::from_secs(3600)).await;
    let started = Instant::now();
    let workers = (0..8).map(|_| f.worker(Some(1000), None)).collect();
    let lines = outputs(workers).await;
    println!(
        "8 processes, hanging provider: done in {:?}",
        started.elapsed()
    );
    assert_eq!(f.received(), [FIRST_RT]);
    assert_eq!(f.double_redemptions(), 0);
    assert_eq!(
        lines.iter().filter(|l| l.contains("timed out")).count(),
        1,
        "{lines:?}"
    );
}

/// Another process holds the refresh lock past this one's wait: this one gives up without
/// redeeming the refresh token (a transient "refresh in progress" error), and the provider
/// sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_cannot_get_the_lock_in_time_redeems_nothing() {
    let f = Fixture::new(Duration::ZERO).await;
    let mut holder = {
        let mut command = Command::new(WORKER);
        command.args(["hold-lock", f.cache.to_str().unwrap(), "60"]);
        Supervised::spawn(command, "lock holder")
    };
    assert_eq!(holder.read_line(WORKER_WITHIN).unwrap(), "LOCKED");
    let workers = (0..4).map(|_| f.worker(Some(5000), Some(1000))).collect();
    let lines = outputs(workers).await;
    assert_eq!(lines, ["REFRESH_IN_PROGRESS"; 4], "{lines:?}");
    assert!(f.received().is_empty(), "{:?}", f.received());
    // The holder dies (SIGKILL): the operating system releases its lock at once, and the next
    // process refreshes.
    drop(holder);
    let started = Instant::now();
    let lines = outputs(vec![f.worker(Some(5000), Some(10_000))]).await;
    println!(
        "after the holder was killed: {lines:?} in {:?}",
        started.elapsed()
    );
    assert_eq!(lines, ["IdentityProvider at-1"]);
    assert_eq!(f.received(), [FIRST_RT]);
}

/// A process is killed while its redemption is in flight (the provider has the refresh token
/// and will rotate it). The next process does not send the same token again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_redemption_does_not_get_its_token_sent_again() {
    let f = Fixture::new(Duration::from_secs(5)).await;
    let first = f.worker(None, None);
    let deadline = Instant::now() + WORKER_WITHIN;
    while f.received().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first worker never sent its request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(first); // SIGKILL, its request in flight
    let lines = outputs(vec![f.worker(None, None)]).await;
    assert_eq!(lines, ["UI_REQUIRED RefreshOutcomeUnknown"], "{lines:?}");
    assert_eq!(f.received(), [FIRST_RT]);
    assert_eq!(f.double_redemptions(), 0);
}
