//! The indexed lookup behind every silent cache hit, from 1 to 1,000,000 accounts.
//!
//! The realistic case: every account holds an access token for `email openid profile
//! User.Read` (what Entra returns for a `User.Read` request) and the app asks for `User.Read`.
//! Flat numbers across N are the point: a lookup is a hash probe plus a subset test, never a
//! scan. The second group does the same among up to a million app-only (client-credential)
//! tokens spread over as many tenants. Loading and saving whole files is in `cache_file.rs`.

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
            secret: format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6Ij{i:0>1500}").into(),
            home_account_id: Some(hid(i).into()),
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

/// App-only (client-credential) tokens: no home account, one tenant each, as a multi-tenant
/// daemon caches them. A lookup of one tenant's token must not depend on how many tenants the
/// cache holds, and neither must a user-token lookup next to them.
fn app_tokens(c: &mut Criterion) {
    let scopes = ScopeSet::new(["https://graph.microsoft.com/.default"]);
    let user_scopes = ScopeSet::new(["User.Read"]);
    let tenant = |i: usize| format!("{i:08x}-dddd-4eee-9fff-222222222222");
    let mut group = c.benchmark_group("index_lookup_app_token");
    for n in [1usize, 1_000, 1_000_000] {
        let mut cache = cache_with(1);
        for i in 0..n {
            cache.insert_access_token(AccessTokenEntry {
                credential_type: "AccessToken".into(),
                secret: format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6Ij{i:0>1500}").into(),
                home_account_id: None,
                environment: "login.microsoftonline.com".into(),
                client_id: CLIENT.into(),
                realm: tenant(i).into(),
                target: "https://graph.microsoft.com/.default".into(),
                cached_at: 1_700_000_000,
                expires_on: 1_700_003_600,
                extended_expires_on: 1_700_003_600,
                refresh_on: None,
                token_type: Some("Bearer".into()),
                extra: Default::default(),
            });
        }
        let realm = tenant(n / 2);
        group.bench_with_input(BenchmarkId::new("app token", n), &n, |b, _| {
            b.iter(|| {
                let hit = cache.find_access_token(&AccessTokenQuery {
                    home_account_id: None,
                    environment: "login.microsoftonline.com",
                    client_id: CLIENT,
                    realm: std::hint::black_box(&realm),
                    scopes: &scopes,
                    max_expires_on: u64::MAX,
                });
                assert!(hit.is_some());
                hit.map(|e| e.secret.len())
            })
        });
        let user = hid(0);
        group.bench_with_input(BenchmarkId::new("user token beside them", n), &n, |b, _| {
            b.iter(|| {
                let hit = cache.find_access_token(&AccessTokenQuery {
                    home_account_id: Some(std::hint::black_box(&user)),
                    environment: "login.microsoftonline.com",
                    client_id: CLIENT,
                    realm: TENANT,
                    scopes: &user_scopes,
                    max_expires_on: u64::MAX,
                });
                assert!(hit.is_some());
                hit.map(|e| e.secret.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookup, app_tokens);
criterion_main!(benches);
