//! `SqliteCache`: damaged data refused and kept, a newer schema left alone, owner-only files,
//! two handles (as two processes) losing no write, and the refresh lease (waits for a live
//! holder, renewed while held, taken over once expired).
#![cfg(feature = "sqlite")]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use msal_cache::{CacheError, CacheStore, Current, Loaded, Partition, SqliteCache};

fn raw(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let garbage: Vec<u8> = b"{\"AccessToken\": this is a JSON cache, not SQLite}"
        .iter()
        .cycle()
        .take(4096)
        .copied()
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = SqliteCache::open(&path).unwrap_err();
    match &err {
        CacheError::Corrupt { location, .. } => assert_eq!(location.as_deref(), Some(&*path)),
        other => panic!("expected Corrupt, got {other}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[tokio::test]
async fn a_damaged_row_is_refused_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteCache::open(&path).unwrap();
    let alice = Partition::Account("alice.tenant");
    store
        .modify(alice, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap();
    raw(&path)
        .execute("UPDATE msal_cache SET data = 4.5", [])
        .unwrap();

    let err = store.load(alice, None).await.unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("account:alice.tenant"), "{err}");
    let mut called = false;
    let err = store
        .modify(alice, None, &mut |_: Current<'_>| {
            called = true;
            Ok(b"{\"overwritten\":1}".to_vec())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err}");
    assert!(!called, "the update ran over damaged data");
    let kept: f64 = raw(&path)
        .query_row("SELECT data FROM msal_cache", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 4.5);
    // Other partitions are unaffected.
    let bob = Partition::Account("bob.tenant");
    store
        .modify(bob, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap();
}

#[test]
fn a_database_of_a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    raw(&path).execute_batch("PRAGMA user_version = 7").unwrap();
    let err = SqliteCache::open(&path).unwrap_err();
    assert!(matches!(err, CacheError::Store { .. }), "{err}");
    assert!(err.to_string().contains("newer msal-rs"), "{err}");
    let tables: i64 = raw(&path)
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "tables were created in a database we refused");
}

#[cfg(unix)]
#[test]
fn the_database_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/tokens.db");
    let _store = SqliteCache::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Two `open`s of one file are two connections, as two processes would have: 2 x 4 tasks x 25
/// appends all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_of_one_file_lose_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let handles = [
        Arc::new(SqliteCache::open(&path).unwrap()),
        Arc::new(SqliteCache::open(&path).unwrap()),
    ];
    let mut tasks = Vec::new();
    for (h, store) in handles.iter().enumerate() {
        for t in 0..4 {
            let store = Arc::clone(store);
            tasks.push(tokio::spawn(async move {
                for n in 0..25 {
                    store
                        .modify(Partition::All, None, &mut |current: Current<'_>| {
                            let mut bytes = current.data().unwrap_or_default().to_vec();
                            bytes.extend_from_slice(format!("{h}-{t}-{n}\n").as_bytes());
                            Ok(bytes)
                        })
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .unwrap()
            .unwrap();
    }
    let Loaded::Data { bytes, .. } = handles[0].load(Partition::All, None).await.unwrap() else {
        panic!("nothing stored");
    };
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 200);
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A lease row left by a holder that died (never renewed): others wait while it is valid and
/// take it over once it expired.
#[tokio::test]
async fn an_expired_lease_of_a_dead_holder_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteCache::open(&path).unwrap();
    raw(&path)
        .execute(
            "INSERT INTO msal_refresh_lease VALUES ('all', 'dead-holder', ?1)",
            [now_ms() + 800],
        )
        .unwrap();
    let early = tokio::time::timeout(
        Duration::from_millis(200),
        store.lock_refresh(Partition::All),
    );
    assert!(
        early.await.is_err(),
        "a valid lease of another holder was taken"
    );
    let lock = tokio::time::timeout(Duration::from_secs(20), store.lock_refresh(Partition::All))
        .await
        .expect("an expired lease was never taken over")
        .unwrap();
    assert!(lock.is_some());
    let holder: String = raw(&path)
        .query_row("SELECT holder FROM msal_refresh_lease", [], |r| r.get(0))
        .unwrap();
    assert_ne!(holder, "dead-holder");
    drop(lock);
    let rows: i64 = raw(&path)
        .query_row("SELECT count(*) FROM msal_refresh_lease", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "dropping the lock did not delete its lease");
}

/// A live holder's short lease (300 ms) is renewed: another handle still cannot take it after
/// several lifetimes, and takes it once the holder drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_is_renewed_and_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let holder = SqliteCache::open(&path)
        .unwrap()
        .refresh_lock_ttl(Duration::from_millis(300));
    let other = SqliteCache::open(&path).unwrap();
    let lock = holder.lock_refresh(Partition::All).await.unwrap();
    let waited = tokio::time::timeout(
        Duration::from_millis(1500),
        other.lock_refresh(Partition::All),
    );
    assert!(waited.await.is_err(), "a renewed lease was taken over");
    // Another partition's lease is independent.
    let app = Partition::App {
        client_id: "c",
        tenant: "t",
    };
    let app_lock = tokio::time::timeout(Duration::from_secs(20), other.lock_refresh(app));
    assert!(app_lock.await.unwrap().unwrap().is_some());
    drop(lock);
    let next = tokio::time::timeout(Duration::from_secs(20), other.lock_refresh(Partition::All));
    assert!(next.await.expect("not released on drop").unwrap().is_some());
}
