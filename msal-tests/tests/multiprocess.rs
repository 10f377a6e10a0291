//! The file cache across real processes (the `msal-cache-worker` binary): concurrent
//! read-modify-writes lose nothing, a writer killed mid-write leaves a whole file, and two
//! processes needing the same refresh redeem the refresh token once. The SQLite store too:
//! no lost write across processes, and a killed lease holder is taken over.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use msal::cache::{CacheStore, Loaded, Partition, SqliteCache, TokenCache};
use msal_tests::harness::mount_oidc_discovery;
use msal_tests::process::{output_within_async, Supervised};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WORKER: &str = env!("CARGO_BIN_EXE_msal-cache-worker");
/// The bound on any one wait for a worker process (the slowest, 200 locked cycles among 16
/// processes, takes a few seconds).
const WORKER_WITHIN: Duration = Duration::from_secs(300);

fn temp_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count()
}

/// 16 processes × 200 read-modify-write cycles on one cache file: every entry written is there
/// at the end, every state a worker read under the lock parsed (else the worker fails), and
/// every state an unlocked reader saw meanwhile parsed too.
#[test]
fn sixteen_processes_lose_no_write_and_every_state_parses() {
    const WORKERS: usize = 16;
    const CYCLES: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (cache, stop) = (cache.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(bytes) = std::fs::read(&cache) {
                    TokenCache::from_json(&bytes)
                        .expect("a reader saw a state that does not parse");
                    reads += 1;
                }
            }
            reads
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let mut command = Command::new(WORKER);
            command.args([
                "stress",
                cache.to_str().unwrap(),
                &w.to_string(),
                &CYCLES.to_string(),
            ]);
            Supervised::spawn(command, &format!("stress worker {w}"))
        })
        .collect();
    for worker in workers {
        let out = worker
            .finish(WORKER_WITHIN)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();

    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    let entries = doc["AppMetadata"].as_object().unwrap();
    assert_eq!(entries.len(), WORKERS * CYCLES, "writes were lost");
    for w in 0..WORKERS {
        for c in 0..CYCLES {
            let id = format!("w{w}-{c}");
            assert!(
                entries.values().any(|e| e["client_id"] == id.as_str()),
                "{id} missing"
            );
        }
    }
    assert!(reads > 0);
    assert_eq!(temp_files(dir.path()), 0);
    println!("stress: {} entries from {WORKERS} processes, {reads} concurrent unlocked reads, all parsed", entries.len());
}

/// A writer SIGKILLed at random moments, 100 times: the file always parses and holds the last
/// write that returned (or the one in flight, if its rename had happened), and at most the one
/// interrupted write's temporary file is ever left behind.
#[cfg(unix)]
#[test]
fn a_writer_killed_mid_write_leaves_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");
    let started = Instant::now();
    let mut last_committed = 0u64;
    for round in 0..100u64 {
        let mut command = Command::new(WORKER);
        command.args(["writer", cache.to_str().unwrap()]);
        let mut child = Supervised::spawn(command, "writer worker");
        // Wait for at least one committed write, then let it run a little (varying) longer.
        let line = child
            .read_line(WORKER_WITHIN)
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_micros(300 + (round * 7919) % 4000));
        let out = child.kill_and_finish(WORKER_WITHIN); // SIGKILL
        let mut printed: Vec<u64> = line.trim().parse().into_iter().collect();
        printed.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().parse::<u64>().ok()),
        );
        let last_printed = printed.into_iter().max().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap())
            .unwrap_or_else(|e| panic!("round {round}: the file does not parse: {e}"));
        let counter = doc["counter"].as_u64().unwrap();
        assert!(
            counter == last_printed || counter == last_printed + 1,
            "round {round}: file holds {counter}, last committed write was {last_printed}"
        );
        assert!(
            counter > last_committed,
            "round {round}: the file went back in time"
        );
        last_committed = counter;
        assert!(
            temp_files(dir.path()) <= 1,
            "round {round}: stale temporary files pile up"
        );
    }
    println!(
        "crash safety: 100 SIGKILLs in {:?}, {last_committed} writes, file always whole",
        started.elapsed()
    );
}

/// Two processes whose cached access token expired start at the same moment: one redeems the
/// refresh token, the other waits on the cache's refresh lock, then finds the new token in the
/// file. Exactly one token request; both get the same token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_at_once_redeem_the_refresh_token_once() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    let host = issuer.trim_start_matches("http://").to_owned();
    mount_oidc_discovery(&server).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "token_type": "Bearer", "access_token": "the-one-new-token",
                    "refresh_token": "rotated-rt", "expires_in": 3600, "scope": "api://x/read"
                }))
                .set_delay(Duration::from_millis(800)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");
    let hid = "subject-1";
    std::fs::write(
        &cache,
        serde_json::to_vec(&json!({
            "Account": { "a": {"home_account_id": hid, "environment": host, "realm": "",
                "local_account_id": hid, "username": "u@example.com", "authority_type": "MSSTS"}},
            "RefreshToken": { "r": {"credential_type": "RefreshToken", "secret": "single-use-rt",
                "home_account_id": hid, "environment": host, "client_id": "multiprocess-app"}}
        }))
        .unwrap(),
    )
    .unwrap();

    let spawn = || {
        let mut command = Command::new(WORKER);
        command.args(["refresh", cache.to_str().unwrap(), &issuer, "api://x/read"]);
        output_within_async(command, "refresh worker", WORKER_WITHIN)
    };
    let (a, b) = tokio::join!(spawn(), spawn());
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut lines = [
        String::from_utf8_lossy(&a.stdout).trim().to_owned(),
        String::from_utf8_lossy(&b.stdout).trim().to_owned(),
    ];
    lines.sort();
    assert_eq!(
        lines,
        [
            "Cache the-one-new-token",
            "IdentityProvider the-one-new-token"
        ]
    );
    let tokens = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(tokens, 1, "the refresh token was redeemed more than once");
    let stored = std::fs::read_to_string(&cache).unwrap();
    assert!(stored.contains("rotated-rt") && !stored.contains("single-use-rt"));
}

/// The SQLite store across real processes: 8 processes × 100 read-modify-writes of one
/// partition row (each a `BEGIN IMMEDIATE` transaction) lose nothing.
#[test]
fn eight_processes_on_one_sqlite_database_lose_no_write() {
    const WORKERS: usize = 8;
    const CYCLES: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let mut command = Command::new(WORKER);
            command.args([
                "stress",
                db.to_str().unwrap(),
                &w.to_string(),
                &CYCLES.to_string(),
            ]);
            Supervised::spawn(command, &format!("sqlite stress worker {w}"))
        })
        .collect();
    for worker in workers {
        let out = worker
            .finish(WORKER_WITHIN)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = SqliteCache::open(&db).unwrap();
    let Loaded::Data { bytes, .. } = runtime.block_on(store.load(Partition::All, None)).unwrap()
    else {
        panic!("nothing stored");
    };
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        doc["AppMetadata"].as_object().unwrap().len(),
        WORKERS * CYCLES,
        "writes were lost"
    );
}

/// A process holding the SQLite refresh lease is SIGKILLed: the lease blocks others while the
/// holder lives, and is taken over once its (1 s) lifetime has passed without renewal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sqlite_lease_holder_is_taken_over_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let mut holder = {
        let mut command = Command::new(WORKER);
        command.args(["hold-lock", db.to_str().unwrap(), "60"]);
        Supervised::spawn(command, "sqlite lease holder")
    };
    assert_eq!(holder.read_line(WORKER_WITHIN).unwrap(), "LOCKED");
    let store = SqliteCache::open(&db).unwrap();
    // Alive and renewing (every third of a second): held for longer than its lifetime.
    let waited = tokio::time::timeout(
        Duration::from_millis(2500),
        store.lock_refresh(Partition::All),
    )
    .await;
    assert!(waited.is_err(), "the lease of a live holder was taken");
    drop(holder); // SIGKILL: no release, no renewal
    let lock = tokio::time::timeout(Duration::from_secs(20), store.lock_refresh(Partition::All))
        .await
        .expect("the dead holder's lease was never taken over")
        .unwrap();
    assert!(lock.is_some());
}
