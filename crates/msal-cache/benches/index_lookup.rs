//! The indexed lookup behind every silent cache hit, from 1 to 1,000,000 accounts.
//!
//! The realistic case: every account holds an access token for `email openid profile
//! User.Read` (what Entra returns for a `User.Read` request) and the app asks for `User.Read`.
//! Flat numbers across N are the point: a lookup is a hash probe plus a subset test, never a
//! scan.

#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use msal_cache::schema::AccessTokenEntry;
use msal_cache::{AccessTokenQuery, TokenCache};
use msal_core::ScopeSet;

const CLIENT: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";

fn hid(i: usize) -> String {
    format!("{i:08x}-aaaa-4bbb-8ccc-111111111111.{TENANT}")
}

fn cache_with(n: usize) -> TokenCache {
    let mut cache = TokenCache::new();
    for i in 0..n {
        cache.insert_access_token(AccessTokenEntry {
            credential_type: "AccessToken".into(),
            secret: format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6Ij{i:0>1500}"),
            home_account_id: Some(hid(i)),
            environment: "login.microsoftonline.com".into(),
            client_id: CLIENT.into(),
            realm: TENANT.into(),
            target: "User.Read email openid profile".into(),
            cached_at: 1_700_000_000,
            expires_on: 1_700_003_600,
            extended_expires_on: 1_700_003_600,
            refresh_on: None,
            token_type: Some("Bearer".into()),
            extra: Default::default(),
        });
    }
    cache
}

fn lookup(c: &mut Criterion) {
    let scopes = ScopeSet::new(["User.Read"]);
    let mut group = c.benchmark_group("index_lookup_hit");
    for n in [1usize, 1_000, 100_000, 1_000_000] {
        let cache = cache_with(n);
        let target = hid(n / 2);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let hit = cache.find_access_token(&AccessTokenQuery {
                    home_account_id: Some(std::hint::black_box(&target)),
                    environment: "login.microsoftonline.com",
                    client_id: CLIENT,
                    realm: TENANT,
                    scopes: &scopes,
                    max_expires_on: u64::MAX,
                });
                assert!(hit.is_some());
                hit.map(|e| e.secret.len())
            })
        });
    }
    group.finish();
}

/// Loading and saving a 100,000-account cache file in the unified schema: each account holds an
/// access token (1.6 KB), a refresh token (1.2 KB), an ID token (1 KB) and an account entry.
fn load_and_save(c: &mut Criterion) {
    let n = 100_000;
    let mut doc = serde_json::Map::new();
    let (mut at, mut rt, mut idt, mut acc) = (
        serde_json::Map::new(),
        serde_json::Map::new(),
        serde_json::Map::new(),
        serde_json::Map::new(),
    );
    for i in 0..n {
        let h = hid(i);
        at.insert(format!("{h}-at"), serde_json::json!({
            "credential_type": "AccessToken", "secret": format!("eyJ0eX{i:0>1600}"),
            "home_account_id": h, "environment": "login.microsoftonline.com", "client_id": CLIENT,
            "realm": TENANT, "target": "User.Read email openid profile", "token_type": "Bearer",
            "cached_at": "1700000000", "expires_on": "1700003600", "extended_expires_on": "1700003600",
        }));
        rt.insert(format!("{h}-rt"), serde_json::json!({
            "credential_type": "RefreshToken", "secret": format!("0.AAAA{i:0>1200}"),
            "home_account_id": h, "environment": "login.microsoftonline.com", "client_id": CLIENT,
        }));
        idt.insert(format!("{h}-idt"), serde_json::json!({
            "credential_type": "IdToken", "secret": format!("eyJhb{i:0>1000}"), "home_account_id": h,
            "environment": "login.microsoftonline.com", "realm": TENANT, "client_id": CLIENT,
        }));
        acc.insert(format!("{h}-acc"), serde_json::json!({
            "home_account_id": h, "environment": "login.microsoftonline.com", "realm": TENANT,
            "local_account_id": format!("{i:08x}"), "username": format!("user{i}@contoso.example"),
            "authority_type": "MSSTS",
        }));
    }
    doc.insert("AccessToken".into(), at.into());
    doc.insert("RefreshToken".into(), rt.into());
    doc.insert("IdToken".into(), idt.into());
    doc.insert("Account".into(), acc.into());
    let bytes = serde_json::to_vec(&doc).unwrap();
    let mut g = c.benchmark_group("cache_file_100k_accounts");
    g.sample_size(10);
    g.bench_function(format!("load ({} MB)", bytes.len() / 1_000_000), |b| {
        b.iter(|| TokenCache::from_json(&bytes).unwrap().counts())
    });
    let cache = TokenCache::from_json(&bytes).unwrap();
    g.bench_function("save", |b| b.iter(|| cache.to_json().len()));
    g.finish();
}

criterion_group!(benches, lookup, load_and_save);
criterion_main!(benches);
