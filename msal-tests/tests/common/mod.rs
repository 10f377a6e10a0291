//! The contract-test harness.
//!
//! Apps are configured with real Entra authorities (`https://login.microsoftonline.com/...`),
//! and [`LoopbackTransport`] rewrites every request's scheme and host to the local wiremock
//! server before sending it with the real reqwest transport, so the tests exercise the exact
//! URLs, headers and bodies msal-rs would send to Entra without leaving the machine.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use msal::cache::{
    CacheError, CacheStore, EncryptedFileCache, FileCache, Loaded, MemoryCache, Partition,
    RedisCache, RefreshLock, SqliteCache, StoreVersion, UpdateFn,
};
use msal::http::{HttpClient, HttpError, ReqwestHttpClient, RetryPolicy};
use msal::{Account, ManualClock, PublicClientApplication};
use serde_json::{json, Value};
use wiremock::MockServer;

pub(crate) const CLIENT_ID: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
pub(crate) const OTHER_CLIENT_ID: &str = "0e5a2f3b-2222-4c3d-8e4f-0123456789cd";
pub(crate) const UID: &str = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111";
pub(crate) const UTID: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
pub(crate) const ENV: &str = "login.microsoftonline.com";
/// The clock's starting point (Unix seconds).
pub(crate) const T0: u64 = 1_700_000_000;
/// The token path for the home tenant (what a `common` app refreshes against).
pub(crate) const TOKEN_PATH: &str = "/72f9a1b0-dddd-4eee-9fff-222222222222/oauth2/v2.0/token";

pub(crate) fn hid() -> String {
    format!("{UID}.{UTID}")
}

/// Sends every request to the wiremock server, keeping path, query, headers and body.
#[derive(Clone)]
pub(crate) struct LoopbackTransport {
    target: url::Url,
    inner: ReqwestHttpClient,
}

impl LoopbackTransport {
    pub(crate) fn new(server: &MockServer) -> Self {
        LoopbackTransport {
            target: url::Url::parse(&server.uri()).unwrap(),
            inner: ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)),
        }
    }

    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.with_timeout(timeout);
        self
    }
}

#[async_trait::async_trait]
impl HttpClient for LoopbackTransport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        let host = self.target.host_str().unwrap();
        let port = self.target.port().unwrap();
        parts.uri = format!("http://{host}:{port}{path_and_query}")
            .parse()
            .unwrap();
        self.inner
            .send(http::Request::from_parts(parts, body))
            .await
    }
}

/// The cache store a harness uses, chosen by `MSAL_TEST_BACKEND`: `memory` (default), `file`,
/// `encrypted`, `sqlite` or `redis` (`MSAL_TEST_REDIS_URL`, set by `scripts/redis-server.sh`). The test
/// script runs the contract suite once per backend, so every behaviour is pinned on every store.
#[derive(Clone)]
pub(crate) struct TestStore {
    inner: Arc<dyn CacheStore>,
    /// Keeps a file backend's folder alive as long as any clone is.
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl TestStore {
    pub(crate) fn from_env() -> Self {
        let backend = std::env::var("MSAL_TEST_BACKEND").unwrap_or_else(|_| "memory".into());
        let dir = || Arc::new(tempfile::tempdir().unwrap());
        match backend.as_str() {
            "memory" => TestStore {
                inner: Arc::new(MemoryCache::new()),
                _dir: None,
            },
            "file" => {
                let d = dir();
                TestStore {
                    inner: Arc::new(FileCache::new(d.path().join("cache.json"))),
                    _dir: Some(d),
                }
            }
            "encrypted" => {
                let d = dir();
                let key: [u8; 32] =
                    std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
                let store = EncryptedFileCache::with_key(d.path().join("cache.bin"), key);
                TestStore {
                    inner: Arc::new(store),
                    _dir: Some(d),
                }
            }
            "sqlite" => {
                let d = dir();
                let store = SqliteCache::open(d.path().join("cache.db")).unwrap();
                TestStore {
                    inner: Arc::new(store),
                    _dir: Some(d),
                }
            }
            "redis" => {
                let url = std::env::var("MSAL_TEST_REDIS_URL")
                    .expect("MSAL_TEST_BACKEND=redis needs MSAL_TEST_REDIS_URL (run scripts/redis-server.sh start)");
                // A prefix of its own per harness: tests sharing one server never see each other.
                let prefix = format!("msal-test:{}:", uuid_like());
                let store = RedisCache::new(&url).unwrap().key_prefix(prefix);
                TestStore {
                    inner: Arc::new(store),
                    _dir: None,
                }
            }
            other => panic!(
                "unknown MSAL_TEST_BACKEND {other:?} (memory, file, encrypted, sqlite, redis)"
            ),
        }
    }

    /// The stored document (decrypted, for the encrypted backend), if any.
    pub(crate) async fn snapshot(&self) -> Option<Vec<u8>> {
        self.snapshot_of(Partition::All).await
    }

    /// The stored document of one partition (a whole-document store answers with everything).
    pub(crate) async fn snapshot_of(&self, partition: Partition<'_>) -> Option<Vec<u8>> {
        match self.inner.load(partition, None).await.unwrap() {
            Loaded::Data { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

fn uuid_like() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    format!("{:016x}", h.finish())
}

#[async_trait::async_trait]
impl CacheStore for TestStore {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.inner.load(partition, known).await
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.inner.modify(partition, known, update).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        self.inner.lock_refresh(partition).await
    }

    fn location(&self) -> Option<&std::path::Path> {
        self.inner.location()
    }

    // Without this a partitioned backend (Redis) would be driven as a whole-document store:
    // one in-memory copy for every partition, unlike what an application using it directly gets.
    fn partitioned(&self) -> bool {
        self.inner.partitioned()
    }
}

/// An app, its clock, its cache and the wiremock server it talks to.
pub(crate) struct Harness {
    pub server: MockServer,
    pub clock: ManualClock,
    pub cache: TestStore,
    pub app: PublicClientApplication,
}

impl Harness {
    /// An app for `CLIENT_ID` at `https://login.microsoftonline.com/common`.
    pub(crate) async fn new() -> Self {
        Self::with_authority("https://login.microsoftonline.com/common").await
    }

    pub(crate) async fn with_authority(authority: &str) -> Self {
        let server = MockServer::start().await;
        let clock = ManualClock::at_unix(T0);
        let cache = TestStore::from_env();
        let app = app_builder(&server, &clock, &cache, CLIENT_ID)
            .authority(authority)
            .build()
            .unwrap();
        Harness {
            server,
            clock,
            cache,
            app,
        }
    }

    /// Another app (e.g. another process or client id) sharing this harness's cache and clock.
    pub(crate) fn sibling(&self, client_id: &str) -> PublicClientApplication {
        app_builder(&self.server, &self.clock, &self.cache, client_id)
            .authority("https://login.microsoftonline.com/common")
            .build()
            .unwrap()
    }

    /// Replace the cache contents.
    pub(crate) async fn seed(&self, doc: &CacheDoc) {
        let bytes = serde_json::to_vec(&doc.0).unwrap();
        use msal::cache::{CacheStore, Partition};
        self.cache
            .modify(Partition::All, None, &mut |_| Ok(bytes.clone()))
            .await
            .unwrap();
    }

    /// The cache contents as JSON.
    pub(crate) async fn stored(&self) -> Value {
        serde_json::from_slice(
            &self
                .cache
                .snapshot()
                .await
                .unwrap_or_else(|| b"{}".to_vec()),
        )
        .unwrap()
    }

    pub(crate) fn account(&self) -> Account {
        let mut a = Account::new(hid(), ENV, "alice@contoso.example");
        a.tenant_id = UTID.into();
        a
    }

    pub(crate) async fn token_requests(&self) -> Vec<wiremock::Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path().ends_with("/token"))
            .collect()
    }
}

pub(crate) fn app_builder(
    server: &MockServer,
    clock: &ManualClock,
    cache: &TestStore,
    client_id: &str,
) -> msal::PublicClientApplicationBuilder {
    PublicClientApplication::builder(client_id)
        .http_client(LoopbackTransport::new(server))
        .clock(clock.clone())
        .cache(cache.clone())
        .retry_policy(RetryPolicy {
            max_retries: 1,
            delay: Duration::from_millis(20),
        })
}

pub(crate) fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

pub(crate) fn client_info(uid: &str, utid: &str) -> String {
    b64(&json!({ "uid": uid, "utid": utid }).to_string())
}

/// An unsigned JWT with these claims (msal-rs reads ID tokens without checking signatures).
pub(crate) fn jwt(claims: Value) -> String {
    format!(
        "{}.{}.sig",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims.to_string())
    )
}

pub(crate) fn id_token() -> String {
    jwt(json!({
        "aud": CLIENT_ID, "iss": format!("https://login.microsoftonline.com/{UTID}/v2.0"),
        "sub": "subject", "oid": UID, "tid": UTID, "preferred_username": "alice@contoso.example",
        "name": "Alice", "iat": T0, "exp": T0 + 3600,
    }))
}

/// A successful token response body.
pub(crate) fn token_response(
    access_token: &str,
    refresh_token: Option<&str>,
    scope: &str,
    expires_in: u64,
) -> Value {
    let mut v = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
        "id_token": id_token(),
        "client_info": client_info(UID, UTID),
    });
    if let Some(rt) = refresh_token {
        v["refresh_token"] = json!(rt);
    }
    v
}

/// A unified-schema cache document under construction (MSAL Python's dialect by default).
#[derive(Clone, Debug)]
pub(crate) struct CacheDoc(pub Value);

impl Default for CacheDoc {
    fn default() -> Self {
        CacheDoc(
            json!({"AccessToken": {}, "RefreshToken": {}, "IdToken": {}, "Account": {}, "AppMetadata": {}}),
        )
    }
}

impl CacheDoc {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn put(&mut self, section: &str, key: String, value: Value) {
        self.0[section][key] = value;
    }

    /// The signed-in user's account, ID token and refresh token for `client_id`.
    pub(crate) fn signed_in(self, client_id: &str, refresh_token: &str) -> Self {
        self.account(&hid(), ENV, UTID, "alice@contoso.example")
            .refresh_token(&hid(), ENV, client_id, refresh_token, None)
            .id_token(&hid(), ENV, client_id, UTID)
    }

    pub(crate) fn account(mut self, hid: &str, env: &str, realm: &str, username: &str) -> Self {
        let local = hid.split('.').next().unwrap_or(hid);
        self.put(
            "Account",
            format!("{hid}-{env}-{realm}"),
            json!({
                "home_account_id": hid, "environment": env, "realm": realm,
                "local_account_id": local, "username": username, "authority_type": "MSSTS",
            }),
        );
        self
    }

    pub(crate) fn refresh_token(
        mut self,
        hid: &str,
        env: &str,
        client_id: &str,
        secret: &str,
        family: Option<&str>,
    ) -> Self {
        let mut v = json!({
            "credential_type": "RefreshToken", "secret": secret, "home_account_id": hid,
            "environment": env, "client_id": client_id,
        });
        if let Some(f) = family {
            v["family_id"] = json!(f);
        }
        let owner = family.unwrap_or(client_id);
        self.put(
            "RefreshToken",
            format!("{hid}-{env}-refreshtoken-{owner}--"),
            v,
        );
        self
    }

    pub(crate) fn id_token(mut self, hid: &str, env: &str, client_id: &str, realm: &str) -> Self {
        self.put(
            "IdToken",
            format!("{hid}-{env}-idtoken-{client_id}-{realm}-"),
            json!({
                "credential_type": "IdToken", "secret": id_token(), "home_account_id": hid,
                "environment": env, "realm": realm, "client_id": client_id,
            }),
        );
        self
    }

    /// An access token for the signed-in user expiring `expires_in` seconds after T0.
    pub(crate) fn access_token(
        self,
        client_id: &str,
        realm: &str,
        target: &str,
        secret: &str,
        expires_on: u64,
    ) -> Self {
        self.access_token_at(
            &hid(),
            ENV,
            client_id,
            realm,
            target,
            secret,
            expires_on,
            None,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn access_token_at(
        mut self,
        hid: &str,
        env: &str,
        client_id: &str,
        realm: &str,
        target: &str,
        secret: &str,
        expires_on: u64,
        refresh_on: Option<u64>,
    ) -> Self {
        let mut v = json!({
            "credential_type": "AccessToken", "secret": secret, "home_account_id": hid,
            "environment": env, "client_id": client_id, "realm": realm, "target": target,
            "token_type": "Bearer", "cached_at": T0.to_string(), "expires_on": expires_on.to_string(),
            "extended_expires_on": expires_on.to_string(),
        });
        if let Some(r) = refresh_on {
            v["refresh_on"] = json!(r.to_string());
        }
        self.put(
            "AccessToken",
            format!(
                "{hid}-{env}-accesstoken-{client_id}-{realm}-{}",
                target.to_lowercase()
            ),
            v,
        );
        self
    }

    pub(crate) fn app_metadata(mut self, env: &str, client_id: &str, family: Option<&str>) -> Self {
        let mut v = json!({"client_id": client_id, "environment": env});
        if let Some(f) = family {
            v["family_id"] = json!(f);
        }
        self.put("AppMetadata", format!("appmetadata-{env}-{client_id}"), v);
        self
    }
}

/// The form fields of a recorded request.
pub(crate) fn form(request: &wiremock::Request) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The secrets of every entry of a section (`"AccessToken"`, `"RefreshToken"`, ...) in a
/// stored cache document.
pub(crate) fn secrets(doc: &Value, section: &str) -> Vec<String> {
    doc[section]
        .as_object()
        .map(|m| {
            m.values()
                .map(|v| v["secret"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn access_token_secrets(doc: &Value) -> Vec<String> {
    secrets(doc, "AccessToken")
}

pub(crate) fn refresh_token_secrets(doc: &Value) -> Vec<String> {
    secrets(doc, "RefreshToken")
}

pub(crate) fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}
