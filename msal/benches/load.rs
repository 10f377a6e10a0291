//! The performance issue's load targets, through the facade:
//!
//! - `throughput_2_threads`: cache hits per second with two threads sharing one app (target
//!   ≥ 2 million/s);
//! - `expired_token_10k_concurrent`: 10,000 concurrent silent calls on an expired access token
//!   (one token request; every caller served);
//! - `app_token_hit`: a client-credentials cache hit among N app tokens of N tenants (flat in
//!   N, up to a million);
//! - `managed_identity_hit`: a managed identity token served from the cache (system-assigned,
//!   and user-assigned among 1,000 resources' tokens), as the app-token hit;
//! - `accounts` and `account_by_id` with 1,000 and 100,000 accounts (linear, and constant).
//!
//! No network: token requests go to an in-process transport that counts them.

#![forbid(unsafe_code)]

mod common;

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cache_json, hid, in_a_day, CLIENT, ENV, TENANT};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use msal::cache::MemoryCache;
use msal::http::{HttpClient, HttpError};
use msal::{
    Account, ConfidentialClientApplication, ManagedIdentityApplication, ManagedIdentityEnvironment,
    ManagedIdentityId, PublicClientApplication, TokenSource,
};
use serde_json::{json, Map, Value};

fn public_app(store: MemoryCache) -> PublicClientApplication {
    PublicClientApplication::builder(CLIENT)
        .authority(&format!("https://{ENV}/{TENANT}"))
        .cache(store)
        .build()
        .unwrap()
}

fn account(i: usize) -> Account {
    let mut account = Account::new(hid(i), ENV, "");
    account.tenant_id = TENANT.into();
    account
}

fn throughput(c: &mut Criterion) {
    let app = public_app(MemoryCache::from_bytes(cache_json(1_000, in_a_day())));
    let account = account(500);
    let hit = |app: &PublicClientApplication, account: &Account| {
        let r = futures::executor::block_on(
            app.acquire_token_silent(["User.Read"], account)
                .into_future(),
        )
        .unwrap();
        assert_eq!(r.source(), TokenSource::Cache);
    };
    hit(&app, &account);
    let mut g = c.benchmark_group("throughput_2_threads");
    g.throughput(Throughput::Elements(1));
    g.bench_function("silent_hit_1k_accounts", |b| {
        b.iter_custom(|iters| {
            // Two threads share the app and split the hits; the time is the wall clock of the
            // pair, so criterion's elements/s is the pair's throughput.
            let per_thread = iters.div_ceil(2);
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..per_thread {
                            hit(&app, &account);
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    g.finish();
}

/// A token endpoint in process: every request is counted and answered with a fresh token.
struct CountingTokenEndpoint {
    requests: AtomicUsize,
}

#[async_trait::async_trait]
impl HttpClient for CountingTokenEndpoint {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        // Long enough for every caller to join the flight before it lands.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let body = json!({
            "token_type": "Bearer", "access_token": "new-access-token",
            "refresh_token": "new-refresh-token", "expires_in": 3600,
            "scope": "User.Read openid profile email",
        });
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap())
    }
}

fn expired_10k_concurrent(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Every account's access token expired an hour ago; its refresh token is valid.
    let expired = cache_json(1, in_a_day() - 86_400 - 3_600);
    let mut g = c.benchmark_group("expired_token_10k_concurrent");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("callers", |b| {
        b.to_async(&runtime).iter(|| {
            let expired = expired.clone();
            async move {
                let endpoint = Arc::new(CountingTokenEndpoint {
                    requests: AtomicUsize::new(0),
                });
                let app = PublicClientApplication::builder(CLIENT)
                    .authority(&format!("https://{ENV}/{TENANT}"))
                    .cache(MemoryCache::from_bytes(expired))
                    .http_client(Arc::clone(&endpoint))
                    .build()
                    .unwrap();
                let account = account(0);
                let tasks: Vec<_> = (0..10_000)
                    .map(|_| {
                        let (app, account) = (app.clone(), account.clone());
                        tokio::spawn(async move {
                            app.acquire_token_silent(["User.Read"], &account).await
                        })
                    })
                    .collect();
                for task in tasks {
                    let r = task.await.unwrap().unwrap();
                    assert_eq!(r.access_token(), "new-access-token");
                }
                assert_eq!(endpoint.requests.load(Ordering::SeqCst), 1);
            }
        })
    });
    g.finish();
}

/// `n` app tokens (client credentials), one per tenant, in one unified-schema document.
fn app_tokens(n: usize, expires_on: u64) -> Vec<u8> {
    let mut at = Map::new();
    for i in 0..n {
        let tenant = format!("{i:08x}-0000-4000-8000-000000000000");
        at.insert(
            format!("-{ENV}-accesstoken-{CLIENT}-{tenant}-https://graph.microsoft.com/.default"),
            json!({
                "credential_type": "AccessToken", "secret": format!("app-token-{i}"),
                "home_account_id": null, "environment": ENV, "client_id": CLIENT,
                "realm": tenant, "target": "https://graph.microsoft.com/.default",
                "token_type": "Bearer", "cached_at": "1700000000",
                "expires_on": expires_on.to_string(),
                "extended_expires_on": expires_on.to_string(),
            }),
        );
    }
    serde_json::to_vec(&json!({ "AccessToken": Value::Object(at) })).unwrap()
}

fn app_token_hit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("app_token_hit");
    for n in [1usize, 10_000, 1_000_000] {
        let app = ConfidentialClientApplication::builder(CLIENT)
            .authority(&format!("https://{ENV}/{TENANT}"))
            .client_secret("not-used-by-a-hit")
            .cache(MemoryCache::from_bytes(app_tokens(n, in_a_day())))
            .build()
            .unwrap();
        let tenant = format!("{:08x}-0000-4000-8000-000000000000", n / 2);
        let first = runtime
            .block_on(async {
                app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
                    .tenant(&tenant)
                    .await
            })
            .unwrap();
        assert_eq!(first.source(), TokenSource::Cache);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.to_async(&runtime).iter(|| async {
                app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
                    .tenant(&tenant)
                    .await
                    .unwrap()
                    .access_token()
                    .len()
            })
        });
    }
    g.finish();
}

/// Managed identity tokens as MSAL Python caches them: one per resource `https://r{i}.example`,
/// for `client_id` (null: system-assigned).
fn managed_identity_tokens(client_id: Option<&str>, n: usize, expires_on: u64) -> Vec<u8> {
    let mut at = Map::new();
    for i in 0..n {
        let resource = format!("https://r{i}.example");
        at.insert(
            format!(
                "-localhost-accesstoken-{}-managed_identity-{resource}",
                client_id.unwrap_or_default()
            ),
            json!({
                "credential_type": "AccessToken", "secret": format!("mi-token-{i}"),
                "home_account_id": null, "environment": "localhost", "client_id": client_id,
                "realm": "managed_identity", "target": resource, "token_type": "Bearer",
                "cached_at": "1700000000", "expires_on": expires_on.to_string(),
                "extended_expires_on": expires_on.to_string(),
            }),
        );
    }
    serde_json::to_vec(&json!({ "AccessToken": Value::Object(at) })).unwrap()
}

fn managed_identity_hit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("managed_identity_hit");
    let cases = [
        (
            "system_assigned",
            ManagedIdentityId::SystemAssigned,
            None,
            1usize,
        ),
        (
            "user_assigned_among_1000",
            ManagedIdentityId::UserAssignedClientId("mi-client".into()),
            Some("mi-client"),
            1_000,
        ),
    ];
    for (name, id, client_id, n) in cases {
        let endpoint = Arc::new(CountingTokenEndpoint {
            requests: AtomicUsize::new(0),
        });
        let app = ManagedIdentityApplication::builder(id)
            // Never asked: every call is a hit (checked below).
            .environment(ManagedIdentityEnvironment::from_vars([(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                "http://127.0.0.1:9",
            )]))
            .http_client(Arc::clone(&endpoint))
            .cache(MemoryCache::from_bytes(managed_identity_tokens(
                client_id,
                n,
                in_a_day(),
            )))
            .build()
            .unwrap();
        let resource = format!("https://r{}.example", n / 2);
        let first = runtime
            .block_on(
                app.acquire_token_for_managed_identity(&resource)
                    .into_future(),
            )
            .unwrap();
        assert_eq!(first.source(), TokenSource::Cache);
        g.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                app.acquire_token_for_managed_identity(&resource)
                    .await
                    .unwrap()
                    .access_token()
                    .len()
            })
        });
        assert_eq!(endpoint.requests.load(Ordering::SeqCst), 0);
    }
    g.finish();
}

fn accounts(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut list = c.benchmark_group("accounts");
    list.sample_size(10);
    let apps: Vec<(usize, PublicClientApplication)> = [1_000usize, 100_000]
        .into_iter()
        .map(|n| {
            let app = public_app(MemoryCache::from_bytes(cache_json(n, in_a_day())));
            assert_eq!(runtime.block_on(app.accounts()).unwrap().len(), n);
            (n, app)
        })
        .collect();
    for (n, app) in &apps {
        list.throughput(Throughput::Elements(*n as u64));
        list.bench_with_input(BenchmarkId::from_parameter(n), n, |b, _| {
            b.to_async(&runtime)
                .iter(|| async { app.accounts().await.unwrap().len() })
        });
    }
    list.finish();
    let mut one = c.benchmark_group("account_by_id");
    for (n, app) in &apps {
        let id = hid(n / 2);
        one.bench_with_input(BenchmarkId::from_parameter(n), n, |b, _| {
            b.to_async(&runtime)
                .iter(|| async { app.account(&id).await.unwrap().is_some() })
        });
    }
    one.finish();
}

criterion_group!(
    benches,
    throughput,
    expired_10k_concurrent,
    app_token_hit,
    managed_identity_hit,
    accounts
);
criterion_main!(benches);
