//! `msal_cache::TokenCache::from_json(&[u8])` (both dialects) and the `to_json` round trip.
//!
//! Properties:
//! - `from_json` never panics, whatever the bytes;
//! - if it succeeds, `to_json` writes every entry the cache holds: as many entries in the five
//!   sections as there are parsed entries plus entries kept aside verbatim because they did not
//!   parse ("a load/save round trip loses nothing", msal-cache/src/index.rs);
//! - `from_json` accepts what `to_json` wrote, with the same number of entries of each kind
//!   (access, refresh, id, account, app metadata) and of entries kept aside;
//! - saving is a fixpoint after one round: `to_json(from_json(to_json(c)))` is `to_json(c)`,
//!   same keys in the same order and same values, except that a JSON number may move by a few
//!   ULPs (serde_json without its `float_roundtrip` feature does not parse every float exactly:
//!   `999000001001882102603448319` is written `9.990000010018821e+26`, read back and written
//!   `9.99000001001882e+26`; a known, minor drift of numbers in unknown fields).
//!
//! This target found two ways `to_json` dropped entries (inputs in
//! fuzz/crashes-found/cache_loader/); both are fixed and the first property holds. The escape
//! hatch `MSAL_FUZZ_CACHE_ALLOW_SAVE_COLLISIONS=1` (skip inputs where `to_json` drops entries,
//! checking every other property) remains for investigating a regression; CI does not set it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use msal_cache::TokenCache;
use serde_json::Value;

const SECTIONS: [&str; 5] = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"];

fn allow_save_collisions() -> bool {
    static ALLOW: OnceLock<bool> = OnceLock::new();
    *ALLOW.get_or_init(|| {
        std::env::var_os("MSAL_FUZZ_CACHE_ALLOW_SAVE_COLLISIONS").is_some_and(|v| v == "1")
    })
}

/// Entries kept aside verbatim, as shown by `TokenCache`'s `Debug` (`..., unparsed: N }`).
fn unparsed(cache: &TokenCache) -> usize {
    let debug = format!("{cache:?}");
    let tail = debug
        .rsplit("unparsed: ")
        .next()
        .expect("TokenCache's Debug shows `unparsed`");
    tail.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .expect("a count")
}

fn total(cache: &TokenCache) -> usize {
    let (a, r, i, acc, app) = cache.counts();
    a + r + i + acc + app + unparsed(cache)
}

/// Equal JSON, objects compared in order, numbers allowed to differ by a few ULPs.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x == y {
                return true;
            }
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= x.abs().max(y.abs()) * 1e-15,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_json(vx, vy))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(first) = TokenCache::from_json(data) else {
        return;
    };
    let saved = first.to_json();
    let show = || String::from_utf8_lossy(&saved).into_owned();

    let written: Value = serde_json::from_slice(&saved).expect("to_json wrote invalid JSON");
    let written_entries: usize = SECTIONS
        .iter()
        .map(|s| written.get(s).and_then(Value::as_object).map_or(0, |m| m.len()))
        .sum();
    if written_entries != total(&first) {
        if allow_save_collisions() && written_entries < total(&first) {
            return;
        }
        panic!(
            "to_json wrote {written_entries} entries but the cache holds {} ({first:?}): \
             entries that share a key were dropped on save\nsaved: {}",
            total(&first),
            show()
        );
    }

    let second = match TokenCache::from_json(&saved) {
        Ok(c) => c,
        Err(e) => panic!("to_json wrote a cache that from_json refuses: {e}\n{}", show()),
    };
    assert_eq!(
        first.counts(),
        second.counts(),
        "the round trip changed the entry counts (access, refresh, id, account, app metadata)\nsaved: {}",
        show()
    );
    assert_eq!(
        unparsed(&first),
        unparsed(&second),
        "the round trip changed the number of entries kept aside verbatim\nsaved: {}",
        show()
    );
    assert_eq!(first.is_empty(), second.is_empty());
    let saved_again = second.to_json();
    let again: Value = serde_json::from_slice(&saved_again).expect("to_json wrote invalid JSON");
    assert!(
        same_json(&written, &again),
        "to_json is not a fixpoint after one round:\n{}\n---\n{}",
        show(),
        String::from_utf8_lossy(&saved_again)
    );
});
