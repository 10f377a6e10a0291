//! `PostgresCache` against a real PostgreSQL server: damaged rows refused and kept, the refresh
//! lease (a live holder keeps it, a crashed one is taken over after its lifetime), two
//! connections and two processes writing one partition at once, bounded waits, no password in
//! messages.
//!
//! The server is the one `MSAL_TEST_POSTGRES_URL` names (`scripts/postgres.sh start` prints it;
//! `scripts/test.sh` always sets it). Without it every test here prints a note and passes
//! without checking anything, as the Redis conformance test does: a PostgreSQL cluster takes
//! seconds and an unprivileged user to start, too much to do per test. Every test works in a
//! schema of its own, dropped at the end.
#![cfg(feature = "postgres")]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use msal_cache::{CacheError, CacheStore, Current, Loaded, Partition, PostgresCache};

const ALICE: Partition<'static> = Partition::Account("alice.tenant");

/// A schema of its own for one test: its URL (search_path set), and a raw connection to it.
struct Schema {
    url: String,
    name: String,
    raw: tokio_postgres::Client,
}

impl Schema {
    /// `None` (with a note) when no server is configured.
    async fn new(test: &str) -> Option<Schema> {
        let Ok(base) = std::env::var("MSAL_TEST_POSTGRES_URL") else {
            eprintln!("MSAL_TEST_POSTGRES_URL is not set (scripts/postgres.sh start): skipped");
            return None;
        };
        let name = format!("t_{test}_{}", std::process::id());
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        let raw = raw(&url).await;
        raw.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .await
        .unwrap();
        Some(Schema { url, name, raw })
    }

    async fn store(&self) -> PostgresCache {
        PostgresCache::connect(&self.url).await.unwrap()
    }

    async fn drop_schema(self) {
        let _ = self
            .raw
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .await;
    }
}

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn data_of(schema: &Schema, key: &str) -> Option<Vec<u8>> {
    schema
        .raw
        .query_opt("SELECT data FROM msal_cache WHERE partition = $1", &[&key])
        .await
        .unwrap()
        .map(|row| row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}

#[tokio::test]
async fn garbage_in_a_row_is_handed_over_and_never_overwritten() {
    let Some(schema) = Schema::new("garbage").await else {
        return;
    };
    let store = schema.store().await;
    store
        .modify(ALICE, None, &mut |_| Ok(br#"{"AccessToken":{}}"#.to_vec()))
        .await
        .unwrap();
    let garbage = b"\x00\xffnot a token cache{{{".to_vec();
    schema
        .raw
        .execute("UPDATE msal_cache SET data = $1", &[&garbage])
        .await
        .unwrap();
    match store.load(ALICE, None).await.unwrap() {
        Loaded::Data { bytes, .. } => assert_eq!(bytes, garbage),
        other => panic!("damaged data loaded as {other:?}"),
    }
    // What the application does with bytes it cannot parse: refuse, write nothing.
    let err = store
        .modify(ALICE, None, &mut |current: Current<'_>| match current {
            Current::Data(bytes) => msal_cache::TokenCache::from_json(bytes).map(|_| Vec::new()),
            _ => Ok(b"{}".to_vec()),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err}");
    assert_eq!(
        data_of(&schema, "account:alice.tenant").await,
        Some(garbage)
    );
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_row_without_data_is_corrupt_and_left_alone() {
    let Some(schema) = Schema::new("nulldata").await else {
        return;
    };
    let store = schema.store().await;
    store
        .modify(ALICE, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap();
    // Another program altered the table and emptied the row.
    schema
        .raw
        .batch_execute(
            "ALTER TABLE msal_cache ALTER COLUMN data DROP NOT NULL; \
             UPDATE msal_cache SET data = NULL",
        )
        .await
        .unwrap();
    let err = store.load(ALICE, None).await.unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("account:alice.tenant"), "{err}");
    let mut called = false;
    let err = store
        .modify(ALICE, None, &mut |_| {
            called = true;
            Ok(b"{\"overwritten\":1}".to_vec())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err}");
    assert!(!called, "the update ran over damaged data");
    assert_eq!(
        data_of(&schema, "account:alice.tenant").await,
        Some(Vec::new())
    );
    let still_null: bool = schema
        .raw
        .query_one("SELECT data IS NULL FROM msal_cache", &[])
        .await
        .unwrap()
        .get(0);
    assert!(still_null);
    schema.drop_schema().await;
}

/// Appends `line` to the document's `lines` array (the update every writer below makes).
fn append(current: Current<'_>, line: &str) -> Result<Vec<u8>, CacheError> {
    let mut doc: serde_json::Value = match current {
        Current::Data(bytes) => serde_json::from_slice(bytes).unwrap(),
        _ => serde_json::json!({ "lines": [] }),
    };
    doc["lines"].as_array_mut().unwrap().push(line.into());
    Ok(serde_json::to_vec(&doc).unwrap())
}

async fn lines_in(store: &PostgresCache) -> usize {
    match store.load(ALICE, None).await.unwrap() {
        Loaded::Data { bytes, .. } => {
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            doc["lines"].as_array().unwrap().len()
        }
        other => panic!("nothing stored: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_writing_one_partition_lose_nothing() {
    let Some(schema) = Schema::new("twoconns").await else {
        return;
    };
    // Two stores, two connections: as two hosts of a farm.
    let stores = [schema.store().await, schema.store().await];
    let mut writers = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for t in 0..4 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..25 {
                    let line = format!("{s}-{t}-{i}");
                    store
                        .modify(ALICE, None, &mut |c| append(c, &line))
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for writer in writers {
        tokio::time::timeout(Duration::from_secs(120), writer)
            .await
            .expect("writers finish")
            .unwrap();
    }
    assert_eq!(lines_in(&stores[0]).await, 2 * 4 * 25, "writes were lost");
    schema.drop_schema().await;
}

/// Set in a child process: what it does (`append|url|n` or `hold|url`).
const CHILD_VAR: &str = "MSAL_TEST_POSTGRES_CHILD";

/// The child side of the two process tests.
async fn child(spec: &str) {
    let mut parts = spec.split('|');
    let (what, url) = (parts.next().unwrap(), parts.next().unwrap());
    let store = PostgresCache::connect(url)
        .await
        .unwrap()
        .refresh_lock_ttl(CRASH_TTL);
    match what {
        "append" => {
            let n: usize = parts.next().unwrap().parse().unwrap();
            let me = std::process::id();
            for i in 0..n {
                let line = format!("{me}-{i}");
                store
                    .modify(ALICE, None, &mut |c| append(c, &line))
                    .await
                    .unwrap();
            }
            println!("APPENDED");
        }
        "hold" => {
            let _held = store.lock_refresh(ALICE).await.unwrap().unwrap();
            println!("LEASE-HELD");
            std::io::stdout().flush().unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
            panic!("the parent never killed this process");
        }
        other => panic!("unknown child task {other}"),
    }
}

/// This test binary again, running only `test`, with the child's task in the environment.
fn spawn_child(test: &str, spec: String) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Wait (bounded) for `child` to print `line`; kills it and fails otherwise.
fn wait_for_line(child: &mut std::process::Child, line: &'static str, within: Duration) {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for got in std::io::BufReader::new(stdout).lines() {
            let Ok(got) = got else { break };
            if got.contains(line) {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(within).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child process never printed {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_writing_one_partition_lose_nothing() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        return child(&spec).await;
    }
    let Some(schema) = Schema::new("twoprocs").await else {
        return;
    };
    let store = schema.store().await;
    const EACH: usize = 60;
    let mut children: Vec<_> = (0..2)
        .map(|_| {
            spawn_child(
                "two_processes_writing_one_partition_lose_nothing",
                format!("append|{}|{EACH}", schema.url),
            )
        })
        .collect();
    // And this process writes too, meanwhile.
    for i in 0..EACH {
        let line = format!("parent-{i}");
        store
            .modify(ALICE, None, &mut |c| append(c, &line))
            .await
            .unwrap();
    }
    for child in &mut children {
        wait_for_line(child, "APPENDED", Duration::from_secs(120));
        let status = child.wait().unwrap();
        assert!(status.success(), "a writer process failed");
    }
    assert_eq!(lines_in(&store).await, 3 * EACH, "writes were lost");
    schema.drop_schema().await;
}

/// The lease lifetime the "crashed" child process uses.
const CRASH_TTL: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_lease_holder_is_taken_over_after_one_lifetime() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        return child(&spec).await;
    }
    let Some(schema) = Schema::new("crash").await else {
        return;
    };
    let store = schema.store().await.refresh_lock_ttl(CRASH_TTL);
    let mut holder = spawn_child(
        "a_crashed_lease_holder_is_taken_over_after_one_lifetime",
        format!("hold|{}", schema.url),
    );
    wait_for_line(&mut holder, "LEASE-HELD", Duration::from_secs(30));
    // Alive and renewing: held for longer than its lifetime.
    let waited = tokio::time::timeout(CRASH_TTL * 2, store.lock_refresh(ALICE)).await;
    if waited.is_ok() {
        let _ = holder.kill();
        let _ = holder.wait();
        panic!("the lease of a live holder was taken");
    }
    holder.kill().unwrap(); // SIGKILL: no release, no renewal
    holder.wait().unwrap();
    let killed = Instant::now();
    let taken = tokio::time::timeout(Duration::from_secs(20), store.lock_refresh(ALICE))
        .await
        .expect("the crashed holder's lease was never taken over")
        .unwrap();
    assert!(taken.is_some());
    eprintln!(
        "crashed holder (lease {CRASH_TTL:?}) taken over after {:?}",
        killed.elapsed()
    );
    drop(taken);
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_lease_lets_the_waiter_in_and_deletes_the_row() {
    let Some(schema) = Schema::new("release").await else {
        return;
    };
    let store = schema
        .store()
        .await
        .refresh_lock_ttl(Duration::from_millis(300));
    let held = store.lock_refresh(ALICE).await.unwrap().unwrap();
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move { store.lock_refresh(ALICE).await })
    };
    // Three lifetimes: renewed, not merely long.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(!waiter.is_finished(), "the waiter took a held lease");
    drop(held);
    let second = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter got the lease")
        .unwrap()
        .unwrap();
    drop(second);
    // The release runs on a task: give it a bounded moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows: i64 = schema
            .raw
            .query_one("SELECT count(*) FROM msal_refresh_lease", &[])
            .await
            .unwrap()
            .get(0);
        if rows == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the released lease row was kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_server_that_never_answers_fails_within_the_bound_without_the_password() {
    // A loopback listener that accepts and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("postgres://msal:pa55-w0rd@127.0.0.1:{port}/postgres?connect_timeout=1");
    let store = PostgresCache::new(&url)
        .unwrap()
        .request_timeout(Duration::from_millis(500));
    assert!(!format!("{store:?}").contains("pa55"));
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), store.load(ALICE, None))
        .await
        .expect("the load hung")
        .unwrap_err();
    assert!(matches!(err, CacheError::Store { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("pa55"), "{text}");
    eprintln!("gave up after {:?}: {text}", started.elapsed());
    drop(listener);
}

#[tokio::test]
async fn a_closed_port_and_a_wrong_password_are_store_errors_without_the_password() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://msal:s3cr%40t@127.0.0.1:{closed}/postgres");
    let err = PostgresCache::connect(&url).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("cache store error: PostgreSQL: "),
        "{text}"
    );
    assert!(!text.contains("s3cr"), "{text}");
    assert!(PostgresCache::new("postgres://u:p@[::1/db").is_err());
    let err = PostgresCache::new("postgres://u:p@127.0.0.1/db?sslmode=require").unwrap_err();
    assert!(err.to_string().contains("sslmode=require"), "{err}");

    let Ok(base) = std::env::var("MSAL_TEST_POSTGRES_URL") else {
        return;
    };
    let wrong = base.replacen("://msal:", "://msal:wr0ng-pa55", 1);
    let err = PostgresCache::connect(&wrong).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CacheError::Store { .. }), "{text}");
    assert!(!text.contains("wr0ng"), "{text}");
}
