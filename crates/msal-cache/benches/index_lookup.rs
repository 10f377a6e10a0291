//! The indexed lookup behind every silent cache hit, from 1 to 1,000,000 accounts.
//!
//! The realistic case: every account holds an access token for `email openid profile
//! User.Read` (what Entra returns for a `User.Read` request) and the app asks for `User.Read`.
//! Flat numbers across N are the point: a lookup is a hash probe plus a subset test, never a
//! scan.

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

criterion_group!(benches, lookup);
criterion_main!(benches);
