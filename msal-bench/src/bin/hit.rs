//! `msal-bench-hit --cache FILE`: time msal-rs's silent cache hit over a fixture written by
//! `msal-bench-fixtures`, through the public API only, and print one JSON line.
//!
//! The app is built with an HTTP client that refuses every request, so nothing can leave the
//! machine; the run fails if a request was even attempted, or if any hit did not come from the
//! cache with the expected access token.

#![forbid(unsafe_code)]

use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use msal::cache::{FileCache, MemoryCache};
use msal::http::{HttpClient, HttpError};
use msal::{PublicClientApplication, TokenSource};
use msal_bench::timing::{measure, Plan};
use serde_json::{json, Value};

/// Time `acquire_token_silent(["User.Read"], account)` cache hits.
#[derive(Parser)]
#[command(name = "msal-bench-hit")]
struct Args {
    /// The cache fixture; its metadata is read from `<cache>.meta.json`.
    #[arg(long)]
    cache: PathBuf,
    /// Where the app's cache lives: in memory (read from the file once), like the peers'
    /// in-memory caches, or a `FileCache` over the file (one `stat` per hit).
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    store: Store,
    /// Warm-up seconds.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// Measure for at least this many seconds.
    #[arg(long, default_value_t = 2.0)]
    min_time: f64,
    /// Measure at least this many batches.
    #[arg(long, default_value_t = 5)]
    min_batches: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Store {
    Memory,
    File,
}

/// Refuses every request and counts the attempts.
#[derive(Default)]
struct NoNetwork {
    attempts: AtomicU64,
}

#[async_trait::async_trait]
impl HttpClient for NoNetwork {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Connect {
            message: format!(
                "benchmark: no network ({} {})",
                request.method(),
                request.uri().path()
            ),
        })
    }
}

/// The process's peak resident set, from /proc (Linux), in MB.
fn max_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut meta_path = args.cache.as_os_str().to_owned();
    meta_path.push(".meta.json");
    let meta: Value = serde_json::from_slice(&std::fs::read(&meta_path)?)?;
    let n = meta["accounts"].as_u64().ok_or("metadata: accounts")?;
    let client_id = meta["client_id"].as_str().ok_or("metadata: client_id")?;
    let authority = meta["authority"].as_str().ok_or("metadata: authority")?;
    let probe = meta["probe_home_account_id"]
        .as_str()
        .ok_or("metadata: probe_home_account_id")?;
    let expected = meta["probe_access_token"]
        .as_str()
        .ok_or("metadata: probe_access_token")?;
    let scopes: Vec<String> = serde_json::from_value(meta["scopes"].clone())?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let network = Arc::new(NoNetwork::default());

    // Load: build the app over the cache, find the account and take the first hit (which parses
    // and indexes the cache).
    let t = Instant::now();
    let builder = PublicClientApplication::builder(client_id)
        .authority(authority)
        .http_client(Arc::clone(&network));
    let (app, store_name) = match args.store {
        Store::Memory => (
            builder
                .cache(MemoryCache::from_bytes(std::fs::read(&args.cache)?))
                .build()?,
            "memory",
        ),
        Store::File => (builder.cache(FileCache::new(&args.cache)).build()?, "file"),
    };
    let account = rt
        .block_on(app.account(probe))?
        .ok_or("the probe account is not in the cache")?;
    let first = rt.block_on(app.acquire_token_silent(&scopes, &account).into_future())?;
    let load_s = t.elapsed().as_secs_f64();
    if first.source() != TokenSource::Cache || first.access_token() != expected {
        return Err("the first call was not the expected cache hit".into());
    }

    let mut failure: Option<String> = None;
    let plan = Plan {
        warmup: Duration::from_secs_f64(args.warmup),
        min_time: Duration::from_secs_f64(args.min_time),
        min_batches: args.min_batches,
    };
    let summary = measure(plan, |k| {
        rt.block_on(async {
            for _ in 0..k {
                match app.acquire_token_silent(&scopes, &account).await {
                    Ok(r) if r.source() == TokenSource::Cache && r.access_token() == expected => {}
                    Ok(_) => failure = Some("a hit was not served from the cache".into()),
                    Err(e) => failure = Some(format!("a hit failed: {e}")),
                }
            }
        })
    });
    if let Some(f) = failure {
        return Err(f.into());
    }
    let attempts = network.attempts.load(Ordering::SeqCst);
    if attempts != 0 {
        return Err(format!("{attempts} network request(s) were attempted").into());
    }
    let out = json!({
        "lib": "msal-rs",
        "version": env!("CARGO_PKG_VERSION"),
        "store": store_name,
        "n": n,
        "median_us": summary.median_us,
        "p90_us": summary.p90_us,
        "min_us": summary.min_us,
        "batch_size": summary.batch_size,
        "batches": summary.batches,
        "iterations": summary.iterations,
        "load_s": load_s,
        "max_rss_mb": max_rss_mb(),
        "network_requests": attempts,
    });
    println!("{out}");
    Ok(())
}
