//! `ThrottleTable` and the key helpers.

use std::time::{Duration, SystemTime};

use crate::http::throttle::{
    secret_fingerprint, throttle_key, ThrottleTable, HTTP_STATUS_BLOCK, MAX_RETRY_AFTER,
    UI_REQUIRED_BLOCK,
};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn constants() {
    assert_eq!(MAX_RETRY_AFTER, secs(3600));
    assert_eq!(HTTP_STATUS_BLOCK, secs(60));
    assert_eq!(UI_REQUIRED_BLOCK, secs(120));
}

#[test]
fn block_then_check_until_expiry() {
    let table: ThrottleTable<String> = ThrottleTable::new();
    assert!(table.is_empty());
    table.block("k", t0(), HTTP_STATUS_BLOCK, "429".to_owned());
    assert_eq!(table.len(), 1);

    assert_eq!(
        table.check("k", t0()),
        Some((t0() + secs(60), "429".to_owned()))
    );
    assert_eq!(
        table.check("k", t0() + secs(59)),
        Some((t0() + secs(60), "429".to_owned()))
    );
    assert_eq!(table.check("other", t0()), None);

    // At the deadline the entry has expired and is removed.
    assert_eq!(table.check("k", t0() + secs(60)), None);
    assert!(table.is_empty());
}

#[test]
fn block_replaces_and_clear_removes() {
    let table = ThrottleTable::default();
    table.block("k", t0(), secs(10), 1);
    table.block("k", t0(), secs(20), 2);
    assert_eq!(table.len(), 1);
    assert_eq!(
        table.check("k", t0() + secs(15)),
        Some((t0() + secs(20), 2))
    );
    table.clear("k");
    assert_eq!(table.check("k", t0()), None);
    table.clear("absent");
    assert!(table.is_empty());
}

#[test]
fn block_is_capped_at_one_hour() {
    let table = ThrottleTable::new();
    table.block("k", t0(), secs(86_400), ());
    let (until, ()) = table.check("k", t0()).unwrap();
    assert_eq!(until, t0() + MAX_RETRY_AFTER);
    assert!(table.check("k", t0() + secs(3599)).is_some());
    assert!(table.check("k", t0() + secs(3600)).is_none());
}

#[test]
fn zero_duration_is_not_blocked() {
    let table = ThrottleTable::new();
    table.block("k", t0(), Duration::ZERO, ());
    assert!(table.check("k", t0()).is_none());
}

#[test]
fn capacity_evicts_the_entry_expiring_soonest() {
    let table = ThrottleTable::with_capacity_limit(3);
    table.block("long", t0(), secs(300), "long");
    table.block("short", t0(), secs(10), "short");
    table.block("mid", t0(), secs(100), "mid");
    assert_eq!(table.len(), 3);

    table.block("new", t0(), secs(50), "new");
    assert_eq!(table.len(), 3);
    assert!(table.check("short", t0()).is_none());
    assert!(table.check("long", t0()).is_some());
    assert!(table.check("mid", t0()).is_some());
    assert!(table.check("new", t0()).is_some());

    // Re-blocking an existing key never evicts another.
    table.block("long", t0(), secs(400), "long2");
    assert_eq!(table.len(), 3);
    assert!(table.check("mid", t0()).is_some());
    assert!(table.check("new", t0()).is_some());
}

#[test]
fn capacity_prefers_dropping_expired_entries() {
    let table = ThrottleTable::with_capacity_limit(2);
    table.block("a", t0(), secs(10), ());
    table.block("b", t0(), secs(1000), ());
    // "a" has expired by now; it makes room, "b" stays.
    table.block("c", t0() + secs(20), secs(5), ());
    assert_eq!(table.len(), 2);
    assert!(table.check("b", t0() + secs(20)).is_some());
    assert!(table.check("c", t0() + secs(20)).is_some());
}

#[test]
fn zero_capacity_still_holds_one_entry() {
    let table = ThrottleTable::with_capacity_limit(0);
    table.block("a", t0(), secs(10), ());
    table.block("b", t0(), secs(10), ());
    assert_eq!(table.len(), 1);
    assert!(table.check("b", t0()).is_some());
}

#[test]
fn debug_does_not_show_values_or_keys() {
    let table = ThrottleTable::new();
    table.block("user@example.com", t0(), secs(10), "SECRET".to_owned());
    let shown = format!("{table:?}");
    assert!(!shown.contains("SECRET"));
    assert!(!shown.contains("user@example.com"));
    assert!(shown.contains("len"));
}

#[test]
fn table_is_shareable_across_threads() {
    let table = std::sync::Arc::new(ThrottleTable::new());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let table = table.clone();
            std::thread::spawn(move || {
                for j in 0..50 {
                    table.block(format!("{i}-{j}"), t0(), secs(60), j);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(table.len(), 200);
}

#[test]
fn keys_are_unambiguous() {
    assert_ne!(throttle_key(&["a-b", "c"]), throttle_key(&["a", "b-c"]));
    assert_ne!(throttle_key(&["ab"]), throttle_key(&["a", "b"]));
    assert_ne!(throttle_key(&["a", ""]), throttle_key(&["a"]));
    assert_ne!(throttle_key(&["1:a;", ""]), throttle_key(&["", "1:a;"]));
    assert_ne!(throttle_key(&["a;1:b"]), throttle_key(&["a", "b"]));
    assert_eq!(throttle_key(&["x", "y"]), throttle_key(&["x", "y"]));
}

#[test]
fn fingerprint_hides_the_secret() {
    let fp = secret_fingerprint("refresh-token-SECRET");
    assert_eq!(fp.len(), 64);
    assert!(fp
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert!(!fp.contains("SECRET"));
    assert_eq!(fp, secret_fingerprint("refresh-token-SECRET"));
    assert_ne!(fp, secret_fingerprint("refresh-token-SECRET2"));
    let key = throttle_key(&["client", "authority", &fp]);
    assert!(!key.contains("SECRET"));
}
