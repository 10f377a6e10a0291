//! `RedisCache` against a real Redis server.
//!
//! Uses the server named by `MSAL_TEST_REDIS_URL` when set (see `scripts/redis-server.sh`);
//! otherwise each test starts a private `redis-server` on a free loopback port and kills it when
//! done. Every test uses its own key prefix, so they can share one server.
#![cfg(feature = "redis")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use msal_cache::redis::RedisCache;
use msal_cache::{CacheError, CacheStore, Current, Loaded, Partition, StoreVersion};

/// A Redis server for one test: the shared one from `MSAL_TEST_REDIS_URL`, or a private one that
/// is killed on drop.
struct Server {
    url: String,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn pings(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

fn server() -> Server {
    if let Ok(url) = std::env::var("MSAL_TEST_REDIS_URL") {
        if !url.is_empty() {
            return Server {
                url,
                child: None,
                _dir: None,
            };
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed. These tests need a real Redis: run \
                 `scripts/redis-server.sh start` (installs and starts one) and export the \
                 MSAL_TEST_REDIS_URL it prints, or install redis-server on the PATH"
            ),
            Err(err) => panic!("cannot start redis-server: {err}"),
        };
        let mut server = Server {
            url: format!("redis://127.0.0.1:{port}/"),
            child: Some(child),
            _dir: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if pings(port) {
                server._dir = Some(dir);
                return server;
            }
            if let Some(Ok(Some(_))) = server.child.as_mut().map(Child::try_wait) {
                break; // exited: the port was taken meanwhile, try another
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("redis-server did not start answering PING on a free loopback port");
}

/// A key prefix no other test (or earlier run against a shared server) uses.
fn unique_prefix(test: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "msal-test:{test}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn store(server: &Server, test: &str) -> RedisCache {
    RedisCache::new(&server.url)
        .unwrap()
        .key_prefix(unique_prefix(test))
}

async fn raw(server: &Server) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn pttl(server: &Server, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut raw(server).await)
        .await
        .unwrap()
}

async fn write(store: &RedisCache, partition: Partition<'_>, bytes: &[u8]) -> StoreVersion {
    store
        .modify(partition, None, &mut |_| Ok(bytes.to_vec()))
        .await
        .unwrap()
}

const ALICE: Partition<'static> = Partition::Account("alice.tenant");
const BOB: Partition<'static> = Partition::Account("bob.tenant");

#[tokio::test]
async fn missing_then_written_data_loads() {
    let server = server();
    let store = store(&server, "missing");
    assert_eq!(store.load(ALICE, None).await.unwrap(), Loaded::Missing);

    let mut seen = Vec::new();
    let version = store
        .modify(ALICE, None, &mut |current| {
            seen.push(format!("{current:?}"));
            Ok(b"{\"a\":1}".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(seen, ["Missing"]);
    assert_eq!(
        store.load(ALICE, None).await.unwrap(),
        Loaded::Data {
            bytes: b"{\"a\":1}".to_vec(),
            version
        }
    );
}

#[tokio::test]
async fn load_with_the_current_version_is_unchanged() {
    let server = server();
    let store = store(&server, "unchanged");
    let v1 = write(&store, ALICE, b"one").await;
    assert_eq!(
        store.load(ALICE, Some(v1)).await.unwrap(),
        Loaded::Unchanged
    );

    let v2 = write(&store, ALICE, b"two").await;
    assert!(v2.tag() > v1.tag(), "versions grow");
    assert_eq!(
        store.load(ALICE, Some(v1)).await.unwrap(),
        Loaded::Data {
            bytes: b"two".to_vec(),
            version: v2
        }
    );
    assert_eq!(
        store.load(ALICE, Some(v2)).await.unwrap(),
        Loaded::Unchanged
    );
    // Another partition at the same version tag is not "unchanged" if it is missing.
    assert_eq!(store.load(BOB, Some(v2)).await.unwrap(), Loaded::Missing);
}

#[tokio::test]
async fn modify_with_known_version_passes_unchanged() {
    let server = server();
    let store = store(&server, "modify-known");
    let v1 = write(&store, ALICE, b"one").await;

    let mut seen = Vec::new();
    let v2 = store
        .modify(ALICE, Some(v1), &mut |current| {
            seen.push(current == Current::Unchanged);
            Ok(b"two".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(seen, [true]);

    // A stale `known` gets the stored bytes.
    let mut got = Vec::new();
    store
        .modify(ALICE, Some(v1), &mut |current| {
            got = current.data().unwrap().to_vec();
            Ok(b"three".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(got, b"two");
    assert_ne!(
        store.load(ALICE, Some(v2)).await.unwrap(),
        Loaded::Unchanged
    );
}

#[tokio::test]
async fn a_failing_update_writes_nothing() {
    let server = server();
    let store = store(&server, "update-error");
    let v1 = write(&store, ALICE, b"kept").await;
    let err = store
        .modify(ALICE, None, &mut |_| Err(CacheError::store("nope")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope"));
    assert_eq!(
        store.load(ALICE, Some(v1)).await.unwrap(),
        Loaded::Unchanged
    );
}

#[tokio::test]
async fn partitions_are_separate_keys() {
    let server = server();
    let prefix = unique_prefix("partitions");
    let store = RedisCache::new(&server.url)
        .unwrap()
        .key_prefix(prefix.clone());
    let app = Partition::App {
        client_id: "client-1",
        tenant: "tenant-1",
    };
    write(&store, ALICE, b"alice's tokens").await;
    write(&store, BOB, b"bob's tokens").await;
    write(&store, app, b"{}").await;
    write(&store, Partition::All, b"everything").await;

    let load = |p| {
        let store = store.clone();
        async move {
            match store.load(p, None).await.unwrap() {
                Loaded::Data { bytes, .. } => bytes,
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(load(ALICE).await, b"alice's tokens");
    assert_eq!(load(BOB).await, b"bob's tokens");
    assert_eq!(load(Partition::All).await, b"everything");

    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    keys.sort();
    let mut expected = vec![
        format!("{prefix}account:alice.tenant"),
        format!("{prefix}account:bob.tenant"),
        format!("{prefix}all"),
        format!("{prefix}app:client-1:tenant-1"),
    ];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(
        store.key_for(ALICE),
        format!("{prefix}account:alice.tenant")
    );

    let data: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{prefix}account:bob.tenant"))
        .arg("d")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(data, b"bob's tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_never_lost() {
    let server = server();
    let store = Arc::new(store(&server, "concurrent"));
    // One more store (own connection), like a second process.
    let other = Arc::new(
        RedisCache::new(&server.url).unwrap().key_prefix(
            store
                .key_for(Partition::All)
                .trim_end_matches("all")
                .to_owned(),
        ),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..16 {
        let store = if task % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        let calls = calls.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let line = format!("task {task} line {i}\n");
                store
                    .modify(ALICE, None, &mut |current| {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let mut doc = current.data().unwrap_or_default().to_vec();
                        doc.extend_from_slice(line.as_bytes());
                        Ok(doc)
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let Loaded::Data { bytes, .. } = store.load(ALICE, None).await.unwrap() else {
        panic!("no data");
    };
    let text = String::from_utf8(bytes).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 400);
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 400, "every append is present exactly once");
    for task in 0..16 {
        for i in 0..25 {
            assert!(text.contains(&format!("task {task} line {i}\n")));
        }
    }
    eprintln!(
        "400 writes took {} update calls",
        calls.load(Ordering::Relaxed)
    );
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn app_only_documents_expire_after_their_last_access_token() {
    let server = server();
    let store = store(&server, "ttl-app");
    let app = Partition::App {
        client_id: "client-1",
        tenant: "tenant-1",
    };
    let expires_on = now() + 3600;
    let doc = format!(
        r#"{{"AccessToken": {{
            "a": {{"credential_type": "AccessToken", "expires_on": "{}"}},
            "b": {{"credential_type": "AccessToken", "expires_on": "{expires_on}"}}}},
            "RefreshToken": {{}}}}"#,
        expires_on - 1000
    );
    write(&store, app, doc.as_bytes()).await;
    let ttl = pttl(&server, &store.key_for(app)).await;
    let expected = (3600 + 300) * 1000;
    assert!(
        (expected - 10_000..=expected).contains(&ttl),
        "PTTL {ttl} ms, expected about {expected} ms"
    );
}

#[tokio::test]
async fn documents_with_refresh_tokens_never_expire() {
    let server = server();
    let store = store(&server, "ttl-rt");
    let expires_on = now() + 3600;
    let app_only = format!(r#"{{"AccessToken": {{"a": {{"expires_on": "{expires_on}"}}}}}}"#);
    let with_rt = format!(
        r#"{{"AccessToken": {{"a": {{"expires_on": "{expires_on}"}}}},
            "RefreshToken": {{"r": {{"credential_type": "RefreshToken", "secret": "rt"}}}}}}"#
    );
    write(&store, ALICE, with_rt.as_bytes()).await;
    assert_eq!(pttl(&server, &store.key_for(ALICE)).await, -1);

    // Gaining a refresh token removes an expiry set before.
    write(&store, BOB, app_only.as_bytes()).await;
    assert!(pttl(&server, &store.key_for(BOB)).await > 0);
    write(&store, BOB, with_rt.as_bytes()).await;
    assert_eq!(pttl(&server, &store.key_for(BOB)).await, -1);

    // With the option off nothing expires.
    let store = store.ttl_from_token_expiry(false);
    let app = Partition::App {
        client_id: "c",
        tenant: "t",
    };
    write(&store, app, app_only.as_bytes()).await;
    assert_eq!(pttl(&server, &store.key_for(app)).await, -1);
}

#[tokio::test]
async fn a_recreated_key_never_reuses_a_version() {
    let server = server();
    let store = store(&server, "recreate");
    let old = write(&store, ALICE, b"old").await;
    let _: i64 = redis::cmd("DEL")
        .arg(store.key_for(ALICE))
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    // As if the key had expired and another writer created it again.
    let new = write(&store, ALICE, b"new").await;
    assert_ne!(new, old);
    assert_eq!(
        store.load(ALICE, Some(old)).await.unwrap(),
        Loaded::Data {
            bytes: b"new".to_vec(),
            version: new
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_lock_waits_for_the_holder() {
    let server = server();
    let store = store(&server, "lock");
    let other = store.clone();
    let first = store.lock_refresh(ALICE).await.unwrap().expect("a lock");

    // Held: a second taker waits (a different partition does not).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), other.lock_refresh(ALICE))
            .await
            .is_err(),
        "second acquisition must block while the first lock is held"
    );
    let bob = tokio::time::timeout(Duration::from_secs(2), other.lock_refresh(BOB))
        .await
        .expect("another partition's lock is free")
        .unwrap();
    drop(bob);

    let order = Arc::new(Mutex::new(Vec::new()));
    let waiter = {
        let order = order.clone();
        tokio::spawn(async move {
            let lock = other.lock_refresh(ALICE).await.unwrap();
            order.lock().unwrap().push("second acquired");
            lock
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    order.lock().unwrap().push("first released");
    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("acquired after the first guard was dropped")
        .unwrap();
    assert!(second.is_some());
    assert_eq!(
        *order.lock().unwrap(),
        ["first released", "second acquired"]
    );
}

/// The value of a lease key (`None`: no lease).
async fn lease_holder(server: &Server, lock_key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(lock_key)
        .query_async(&mut raw(server).await)
        .await
        .unwrap()
}

fn alice_lock_key(store: &RedisCache) -> String {
    format!(
        "{}lock:account:alice.tenant",
        store.key_for(Partition::All).trim_end_matches("all")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holder_keeps_the_lease_for_three_lifetimes() {
    let server = server();
    let ttl = Duration::from_millis(400);
    let store = store(&server, "lock-renew").refresh_lock_ttl(ttl);
    let lock_key = alice_lock_key(&store);
    let held = store.lock_refresh(ALICE).await.unwrap().unwrap();
    let token = lease_holder(&server, &lock_key).await.expect("the lease");

    // Without renewal the lease would lapse after 400 ms and the contender would get it.
    let contender = store.clone();
    let overtaken = tokio::time::timeout(3 * ttl, contender.lock_refresh(ALICE)).await;
    assert!(
        overtaken.is_err(),
        "a live holder's lease was taken over after {ttl:?} x 3"
    );
    assert_eq!(
        lease_holder(&server, &lock_key).await.as_deref(),
        Some(token.as_str()),
        "still the first holder's lease"
    );
    let left = pttl(&server, &lock_key).await;
    assert!(
        left > 0 && left <= 400,
        "renewed to at most one lifetime: {left} ms"
    );

    // Released on drop: the contender gets it at once.
    drop(held);
    tokio::time::timeout(Duration::from_secs(5), store.lock_refresh(ALICE))
        .await
        .expect("free once the holder drops its lock")
        .unwrap()
        .unwrap();
}

/// The lease lifetime the "crashed" child process uses.
const CRASH_TTL: Duration = Duration::from_millis(1500);
/// Set in the child process: the Redis URL and the key prefix to take the lease under.
const CRASH_CHILD_VAR: &str = "MSAL_TEST_CRASHED_LEASE_CHILD";

/// The child side of [`a_crashed_holder_is_taken_over_within_one_lifetime`]: take the lease,
/// say so, and wait to be killed (bounded: it gives up after a minute).
async fn hold_lease_until_killed(spec: &str) {
    let (url, prefix) = spec.split_once('|').unwrap();
    let store = RedisCache::new(url)
        .unwrap()
        .key_prefix(prefix)
        .refresh_lock_ttl(CRASH_TTL);
    let _held = store.lock_refresh(ALICE).await.unwrap().unwrap();
    println!("LEASE-HELD");
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    panic!("the parent never killed this process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_holder_is_taken_over_within_one_lifetime() {
    if let Ok(spec) = std::env::var(CRASH_CHILD_VAR) {
        return hold_lease_until_killed(&spec).await;
    }
    let server = server();
    let store = store(&server, "lock-crash").refresh_lock_ttl(CRASH_TTL);
    let lock_key = alice_lock_key(&store);
    let prefix = store.key_for(Partition::All);
    let prefix = prefix.trim_end_matches("all");

    // A real process holds the lease (and renews it) ...
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_crashed_holder_is_taken_over_within_one_lifetime",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_VAR, format!("{}|{prefix}", server.url))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("LEASE-HELD") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child process never took the lease");
    }
    // ... for longer than one lifetime: it is renewed, not merely long.
    tokio::time::sleep(CRASH_TTL * 2).await;
    assert!(
        lease_holder(&server, &lock_key).await.is_some(),
        "the live child's lease outlived its lifetime"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), store.lock_refresh(ALICE))
            .await
            .is_err(),
        "the live child still holds the lease"
    );

    // Then it dies without releasing anything (SIGKILL).
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    let taken = tokio::time::timeout(Duration::from_secs(10), store.lock_refresh(ALICE))
        .await
        .expect("a crashed holder's lease is taken over")
        .unwrap();
    let waited = killed.elapsed();
    assert!(taken.is_some());
    eprintln!("crashed holder (lease lifetime {CRASH_TTL:?}) taken over after {waited:?}");
    // Generous bound: one lifetime plus polling and a loaded machine's scheduling.
    assert!(
        waited <= CRASH_TTL + Duration::from_secs(2),
        "took {waited:?} to take over a lease of {CRASH_TTL:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_is_neither_renewed_nor_released() {
    let server = server();
    let ttl = Duration::from_millis(300);
    let store = store(&server, "lock-lost").refresh_lock_ttl(ttl);
    let lock_key = alice_lock_key(&store);
    let held = store.lock_refresh(ALICE).await.unwrap().unwrap();

    // The lease passes to someone else (as if it had expired and been taken): the old holder's
    // renewals and release must leave the new lease alone.
    let _: () = redis::cmd("SET")
        .arg(&lock_key)
        .arg("someone-else")
        .arg("PX")
        .arg(5_000)
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    tokio::time::sleep(ttl).await; // at least two renewal periods
    let left = pttl(&server, &lock_key).await;
    assert!(left > 3_000 && left <= 5_000, "not re-extended: {left} ms");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        lease_holder(&server, &lock_key).await.as_deref(),
        Some("someone-else")
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_store_error_without_the_password() {
    let port = free_port(); // nothing listens there
    let store = RedisCache::new(&format!("redis://:s3cret@127.0.0.1:{port}/")).unwrap();
    assert!(!format!("{store:?}").contains("s3cret"));

    let start = Instant::now();
    let errors = [
        store.load(ALICE, None).await.unwrap_err(),
        store
            .modify(ALICE, None, &mut |_| Ok(b"x".to_vec()))
            .await
            .unwrap_err(),
        store.lock_refresh(ALICE).await.unwrap_err(),
    ];
    for err in errors {
        let CacheError::Store { message } = &err else {
            panic!("expected a store error, got {err:?}");
        };
        eprintln!("{err}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(!format!("{err:?}").contains("s3cret"));
    }
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "fails reasonably fast: {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn usable_as_a_shared_dyn_store() {
    let server = server();
    let store: Arc<dyn CacheStore> = Arc::new(store(&server, "dyn"));
    let version = store
        .modify(Partition::All, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        store.load(Partition::All, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );
    assert!(store.location().is_none());
}
