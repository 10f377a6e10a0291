//! A custom token cache store: keep msal-rs's cache somewhere msal-rs does not ship a store for.
//!
//! `DirStore` is a small key-value store on disk: one file per cache partition, named by the hex
//! of the partition key. Copy it and swap the file calls for your database's get/put to keep the
//! cache in SQLite, a KV service or a keychain. `main` plugs it into a `PublicClientApplication`
//! talking to a local OpenID Connect token endpoint (nothing leaves the machine) and shows what
//! each call cost the store. Run it with:
//!
//! ```text
//! cargo run -p msal --example custom_store
//! ```
//!
//! `msal-tests/tests/store_conformance.rs` compiles this file and runs `DirStore` through
//! `msal_tests::store_conformance`, the rules every store must keep; run your own store through
//! it the same way.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use msal::cache::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};
use msal::PublicClientApplication;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A partitioned store: `{dir}/{hex(partition key)}.cache` holds a `v{version}\n` header, then
/// the cache bytes. Version and bytes share one file that is only ever replaced by a rename, so
/// a reader never pairs a version with the wrong bytes (a separate version file could).
pub struct DirStore {
    dir: PathBuf,
    /// Makes `modify`'s read-modify-write atomic among the threads of this process. A store
    /// shared by several processes also needs a cross-process lock held across it (as
    /// `FileCache` does with its `.lockfile`); a network store uses compare-and-set on the
    /// version instead and retries the update (as `RedisCache` does).
    write_lock: Mutex<()>,
    /// One async mutex per partition, held across token refreshes (see `lock_refresh`).
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What the store was asked to do, indexed by the constants below.
    calls: [AtomicUsize; 5],
}

const LOAD: usize = 0;
const LOAD_UNCHANGED: usize = 1;
const MODIFY: usize = 2;
const MODIFY_UNCHANGED: usize = 3;
const REFRESH_LOCK: usize = 4;

/// The storage key of a partition. `Partition` is non-exhaustive: anything new goes with `All`.
fn key(partition: Partition<'_>) -> String {
    match partition {
        Partition::Account(home_account_id) => format!("account:{home_account_id}"),
        Partition::App { client_id, tenant } => format!("app:{client_id}:{tenant}"),
        _ => "all".to_owned(),
    }
}

impl DirStore {
    /// No I/O here: the folder is created by the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirStore {
            dir: dir.into(),
            write_lock: Mutex::new(()),
            refresh_locks: Mutex::new(HashMap::new()),
            calls: Default::default(),
        }
    }

    /// Home account ids can hold any character; hex makes every key a safe, fixed-alphabet name.
    fn path_of(&self, partition: Partition<'_>) -> PathBuf {
        self.dir
            .join(format!("{}.cache", hex::encode(key(partition))))
    }

    /// How many calls of each kind the store has seen (indexed by `LOAD`, ...).
    pub fn calls(&self) -> [usize; 5] {
        self.calls.each_ref().map(|c| c.load(Relaxed))
    }

    /// Open a partition file and read only its version header, leaving the reader at the bytes.
    fn open(path: &Path) -> Result<Option<(u64, BufReader<File>)>, CacheError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CacheError::io(path, "open", &e)),
        };
        let mut reader = BufReader::new(file);
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|e| CacheError::io(path, "read", &e))?;
        let version = header
            .strip_prefix('v')
            .and_then(|v| v.trim_end().parse().ok());
        // Corrupt (not Store): the facade reports it with our location and writes nothing.
        let version =
            version.ok_or_else(|| CacheError::corrupt(Some(path.into()), "no version header"))?;
        Ok(Some((version, reader)))
    }

    fn read_rest(path: &Path, mut reader: BufReader<File>) -> Result<Vec<u8>, CacheError> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| CacheError::io(path, "read", &e))?;
        Ok(bytes)
    }

    /// Write a temporary file, flush it, rename it over the partition file: readers see the
    /// whole old or the whole new file, and a crash leaves one of the two.
    fn write(&self, path: &Path, version: u64, bytes: &[u8]) -> Result<(), CacheError> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| CacheError::io(&self.dir, "create folder", &e))?;
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)] // tokens: owner-only, from the moment the file exists
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let temp = path.with_extension(format!("{}.tmp", std::process::id()));
        let written = options.open(&temp).and_then(|mut file| {
            file.write_all(format!("v{version}\n").as_bytes())?;
            file.write_all(bytes)?;
            file.sync_all()
        });
        written.and_then(|()| fs::rename(&temp, path)).map_err(|e| {
            let _ = fs::remove_file(&temp);
            CacheError::io(path, "write", &e)
        })
    }
}

#[async_trait::async_trait]
impl CacheStore for DirStore {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.calls[LOAD].fetch_add(1, Relaxed);
        // No lock: writes are renames, so this sees one whole file.
        let path = self.path_of(partition);
        let Some((version, reader)) = Self::open(&path)? else {
            return Ok(Loaded::Missing);
        };
        if known == Some(StoreVersion::new(version)) {
            // The caller's copy is current: skip reading the bytes (and the facade parsing them).
            self.calls[LOAD_UNCHANGED].fetch_add(1, Relaxed);
            return Ok(Loaded::Unchanged);
        }
        let bytes = Self::read_rest(&path, reader)?;
        let version = StoreVersion::new(version);
        Ok(Loaded::Data { bytes, version })
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.calls[MODIFY].fetch_add(1, Relaxed);
        // Held across read, update and write, with no `.await` while held. Files only change by
        // a rename after `update` returned, so a poisoned lock still guards consistent data.
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.path_of(partition);
        let (new_bytes, next) = match Self::open(&path)? {
            // A fresh partition starts its counter at the clock, so a deleted and recreated file
            // never repeats a version that some caller may still hold.
            None => {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
                let start = now.map_or(1, |d| d.as_nanos() as u64);
                (update(Current::Missing)?, start)
            }
            Some((version, _)) if known == Some(StoreVersion::new(version)) => {
                self.calls[MODIFY_UNCHANGED].fetch_add(1, Relaxed);
                (update(Current::Unchanged)?, version + 1)
            }
            Some((version, reader)) => {
                let bytes = Self::read_rest(&path, reader)?;
                (update(Current::Data(&bytes))?, version + 1)
            }
        };
        // An error from `update` returned above (the `?`s), before anything was written.
        self.write(&path, next, &new_bytes)?;
        Ok(StoreVersion::new(next))
    }

    /// Serializes refreshes of one partition among every app object in this process sharing
    /// the store (each app's own single-flight only covers its own calls), so a rotating refresh
    /// token is redeemed once. Released when the facade drops the `RefreshLock`.
    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        self.calls[REFRESH_LOCK].fetch_add(1, Relaxed);
        let mutex = {
            let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(locks.entry(key(partition)).or_default())
        }; // the std guard is gone before the `.await`
        Ok(Some(RefreshLock::new(mutex.lock_owned().await)))
    }

    fn location(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}

const CLIENT_ID: &str = "custom-store-app";
const USER: &str = "alice-subject-id";

/// Run one app call and print its result with what it cost the store and the network.
async fn step(
    label: &str,
    store: &DirStore,
    server: &MockServer,
    call: impl Future<Output = Result<String, msal::Error>>,
) -> Result<(), msal::Error> {
    let before = store.calls();
    let http_before = server.received_requests().await.unwrap().len();
    let outcome = call.await?;
    let after = store.calls();
    let http = server.received_requests().await.unwrap().len() - http_before;
    let d = |i: usize| after[i] - before[i];
    let loads = format!("{} ({} Unchanged)", d(LOAD), d(LOAD_UNCHANGED));
    let modifies = format!("{} ({} Unchanged)", d(MODIFY), d(MODIFY_UNCHANGED));
    let locks = d(REFRESH_LOCK);
    println!("{label:<15} {outcome:<17} {loads:<15} {modifies:<15} {locks:<13} {http}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The identity provider: discovery plus a token endpoint issuing one-hour tokens.
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer, "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "access-token-1",
            "refresh_token": "refresh-token-1", "expires_in": 3600, "scope": "api://demo/read",
        })))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir()?;
    // An `Arc` so that main keeps a handle for the counters; every app object given a clone
    // shares the files and the refresh locks.
    let store = Arc::new(DirStore::new(dir.path().join("tokens")));

    // What an interactive sign-in leaves: an account and its refresh token, in MSAL's unified
    // schema, written through the store itself. A public client keeps one document, so the
    // facade asks for `Partition::All`; a service serving many users would see `Account(..)`.
    let host = issuer.trim_start_matches("http://");
    let signed_in = serde_json::to_vec(&json!({
        "Account": { format!("{USER}-{host}-"): {
            "home_account_id": USER, "environment": host, "realm": "",
            "local_account_id": USER, "username": "alice@example.com", "authority_type": "MSSTS"
        }},
        "RefreshToken": { format!("{USER}-{host}-refreshtoken-{CLIENT_ID}--"): {
            "credential_type": "RefreshToken", "secret": "refresh-token-0",
            "home_account_id": USER, "environment": host, "client_id": CLIENT_ID
        }}
    }))?;
    store
        .modify(Partition::All, None, &mut |_| Ok(signed_in.clone()))
        .await?;

    let app = PublicClientApplication::builder(CLIENT_ID)
        .oidc_authority(&issuer)
        .cache(Arc::clone(&store))
        .build()?;
    println!("custom store in {}\n", store.location().unwrap().display());
    println!(
        "call            result            loads           modifies        refresh_locks HTTP"
    );
    let accounts = async { Ok(format!("{} account(s)", app.accounts().await?.len())) };
    step("accounts()", &store, &server, accounts).await?;
    let account = app.accounts().await?.remove(0);
    for label in ["silent call #1", "silent call #2"] {
        let call = async {
            let token = app
                .acquire_token_silent(["api://demo/read"], &account)
                .await?;
            Ok(format!("{:?}", token.source()))
        };
        step(label, &store, &server, call).await?;
    }

    println!("\npartition files:");
    for entry in fs::read_dir(store.location().unwrap())? {
        let (entry, all) = (entry?, store.path_of(Partition::All));
        let note = if entry.path() == all {
            "(hex of \"all\")"
        } else {
            ""
        };
        let name = entry.file_name().into_string().unwrap();
        println!("  {name:<14} {:>5} bytes {note}", entry.metadata()?.len());
    }
    let [loads, loads_u, modifies, modifies_u, locks] = store.calls();
    println!(
        "\nthe store saw {loads} loads ({loads_u} Unchanged), {modifies} modifies (one the seed; \
         {modifies_u} Unchanged), {locks} refresh lock(s): a cache hit cost one load answered \
         Unchanged, with no bytes read and nothing parsed."
    );
    Ok(())
}
