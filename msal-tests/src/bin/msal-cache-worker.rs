//! A separate process for the multi-process tests (`tests/multiprocess.rs`); not for users.
//!
//! - `stress <cache> <worker> <cycles>`: `cycles` read-modify-writes through a `FileCache`, each
//!   adding one app-metadata entry named `w{worker}-{cycle}` to the unified cache. Every state
//!   read under the lock must parse as a token cache, or the worker exits with status 3.
//! - `writer <cache>`: forever, rewrite a ~100 KB document whose `counter` goes up by one per
//!   write, printing each counter once its write has returned. The test SIGKILLs it at random.
//! - `refresh <cache> <issuer> <scope> [<timeout ms> [<lock wait ms>]]`: an OIDC app over the
//!   cache file acquires a token silently for the cache's first account and prints `{source}
//!   {access_token}`; with a per-request timeout and a refresh-lock wait when given. A failed
//!   acquisition prints `UI_REQUIRED {reason:?}`, `REFRESH_IN_PROGRESS` or `ERROR {error}` (and
//!   still exits 0: the test judges it).
//! - `hold-lock <cache> <seconds>`: take the cache's refresh lock, print `LOCKED`, hold it.
//!
//! `<cache>` is a `FileCache` file, or an `SqliteCache` database when it ends in `.db` (with a
//! 1 s refresh lease, so a killed holder is taken over quickly).

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use msal::cache::schema::AppMetadataEntry;
use msal::cache::{
    CacheError, CacheStore, Current, FileCache, Partition, SqliteCache, TokenCache, TokenWrite,
};
use msal::http::ReqwestHttpClient;
use msal::{Error, PublicClientApplication};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let outcome = match args.get(1).map(String::as_str) {
        Some("stress") => {
            runtime.block_on(stress(&args[2], &args[3], args[4].parse().unwrap_or(0)))
        }
        Some("writer") => runtime.block_on(writer(&args[2])),
        Some("refresh") => runtime.block_on(refresh(&args[2..])),
        Some("hold-lock") => runtime.block_on(hold_lock(&args[2], args[3].parse().unwrap_or(60))),
        _ => Err("usage: msal-cache-worker stress|writer|refresh|hold-lock ...".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msal-cache-worker: {e}");
            ExitCode::from(3)
        }
    }
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// The store at `path`: SQLite for `*.db`, else a cache file.
fn open(path: &str) -> Result<Box<dyn CacheStore>, CacheError> {
    if path.ends_with(".db") {
        let store = SqliteCache::open(path)?.refresh_lock_ttl(std::time::Duration::from_secs(1));
        Ok(Box::new(store))
    } else {
        Ok(Box::new(FileCache::new(path)))
    }
}

async fn stress(path: &str, worker: &str, cycles: usize) -> Outcome {
    let cache = open(path)?;
    for cycle in 0..cycles {
        let entry = AppMetadataEntry {
            client_id: format!("w{worker}-{cycle}").into(),
            environment: "stress.example".into(),
            family_id: None,
            extra: Default::default(),
        };
        cache
            .modify(Partition::All, None, &mut |current: Current<'_>| {
                let mut tokens = match current.data() {
                    Some(bytes) => TokenCache::from_json(bytes)?,
                    None => TokenCache::new(),
                };
                tokens.apply(&TokenWrite {
                    app_metadata: Some(entry.clone()),
                    ..TokenWrite::default()
                });
                Ok(tokens.to_json())
            })
            .await?;
    }
    Ok(())
}

async fn writer(path: &str) -> Outcome {
    let cache = open(path)?;
    let padding: Vec<String> = (0..1500)
        .map(|i| format!("entry-{i:05}-{}", "x".repeat(48)))
        .collect();
    let mut stdout = std::io::stdout();
    loop {
        let mut written = 0u64;
        cache
            .modify(Partition::All, None, &mut |current: Current<'_>| {
                let counter = match current.data() {
                    Some(bytes) => {
                        let doc: serde_json::Value = serde_json::from_slice(bytes)
                            .map_err(|e| CacheError::corrupt(None, e.to_string()))?;
                        doc["counter"].as_u64().unwrap_or(0)
                    }
                    None => 0,
                };
                written = counter + 1;
                Ok(serde_json::to_vec(
                    &serde_json::json!({ "counter": written, "padding": padding }),
                )
                .expect("serializable"))
            })
            .await?;
        writeln!(stdout, "{written}")?;
        stdout.flush()?;
    }
}

async fn refresh(args: &[String]) -> Outcome {
    let [path, issuer, scope, rest @ ..] = args else {
        return Err("refresh <cache> <issuer> <scope> [<timeout ms> [<lock wait ms>]]".into());
    };
    let millis = |i: usize| -> Option<std::time::Duration> {
        rest.get(i)
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis)
    };
    let mut builder = PublicClientApplication::builder("multiprocess-app")
        .oidc_authority(issuer)
        .cache(open(path)?);
    if let Some(timeout) = millis(0) {
        builder = builder.http_client(ReqwestHttpClient::new().with_timeout(timeout));
    }
    if let Some(wait) = millis(1) {
        builder = builder.refresh_lock_wait(wait);
    }
    let app = builder.build()?;
    let account = app
        .accounts()
        .await?
        .into_iter()
        .next()
        .ok_or("no account in the cache")?;
    match app.acquire_token_silent([scope.as_str()], &account).await {
        Ok(token) => println!("{:?} {}", token.source(), token.access_token()),
        Err(Error::UiRequired(e)) => println!("UI_REQUIRED {:?}", e.reason),
        Err(Error::RefreshInProgress { .. }) => println!("REFRESH_IN_PROGRESS"),
        Err(e) => println!("ERROR {e}"),
    }
    Ok(())
}

async fn hold_lock(path: &str, seconds: u64) -> Outcome {
    let cache = open(path)?;
    let _lock = cache.lock_refresh(Partition::All).await?;
    println!("LOCKED");
    std::io::stdout().flush()?;
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    Ok(())
}
