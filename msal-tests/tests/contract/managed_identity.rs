//! Managed identity contract tests: every source's request shape, the cache, single-flight,
//! claims, retries, bad answers and the loopback guard.
//!
//! Every app here sends through [`LoopbackOnly`] and reads an environment map given to the
//! builder (never the process environment): a source whose endpoint was not pointed at the
//! local wiremock server fails before anything is sent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use msal::cache::FileCache;
use msal::http::{HttpClient, HttpError, ReqwestHttpClient};
use msal::{
    Clock, Error, ManagedIdentityApplication, ManagedIdentityApplicationBuilder,
    ManagedIdentityEnvironment, ManagedIdentityErrorKind, ManagedIdentityId,
    ManagedIdentityRetryPolicy, ManagedIdentitySource, ManualClock, TokenSource,
};
use msal_tests::harness::{TestStore, T0};
use msal_tests::loopback_guard::LoopbackOnly;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const RESOURCE: &str = "https://management.azure.com/";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
const IDENTITY_HEADER: &str = "identity-header-secret-value";

fn guarded() -> LoopbackOnly<ReqwestHttpClient> {
    LoopbackOnly::new(ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)))
}

/// Fast retries: the tests wait milliseconds, not seconds.
fn fast_retries() -> ManagedIdentityRetryPolicy {
    ManagedIdentityRetryPolicy::new(3, Duration::from_millis(5)).max_elapsed(Duration::from_secs(2))
}

struct Setup {
    server: MockServer,
    clock: ManualClock,
    cache: TestStore,
}

impl Setup {
    async fn new() -> Self {
        Setup {
            server: MockServer::start().await,
            clock: ManualClock::at_unix(T0),
            cache: TestStore::from_env(),
        }
    }

    fn uri(&self, path: &str) -> String {
        format!("{}{path}", self.server.uri())
    }

    fn builder(
        &self,
        id: ManagedIdentityId,
        vars: &[(&str, String)],
    ) -> ManagedIdentityApplicationBuilder {
        ManagedIdentityApplication::builder(id)
            .environment(ManagedIdentityEnvironment::from_vars(
                vars.iter().map(|(k, v)| (k.to_string(), v.clone())),
            ))
            .http_client(guarded())
            .clock(self.clock.clone())
            .cache(self.cache.clone())
            .retry_policy(fast_retries())
    }

    /// An IMDS app pointed at the fake through `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    fn imds(&self, id: ManagedIdentityId) -> ManagedIdentityApplication {
        self.builder(
            id,
            &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", self.server.uri())],
        )
        .build()
        .unwrap()
    }

    async fn requests(&self) -> Vec<wiremock::Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

fn query(r: &wiremock::Request) -> BTreeMap<String, String> {
    r.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// IMDS's answer: numbers as strings.
fn imds_body(token: &str, expires_in: u64) -> Value {
    json!({
        "access_token": token,
        "client_id": "mi-client",
        "expires_in": expires_in.to_string(),
        "expires_on": (T0 + expires_in).to_string(),
        "ext_expires_in": expires_in.to_string(),
        "not_before": T0.to_string(),
        "resource": RESOURCE,
        "token_type": "Bearer",
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount_imds(s: &Setup, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(IMDS_PATH))
        .respond_with(response)
        .mount(&s.server)
        .await;
}

fn mi_error(e: &Error) -> &msal::ManagedIdentityError {
    match e {
        Error::ManagedIdentity(mi) => mi,
        other => panic!("expected a managed identity error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- request shapes, per source

#[tokio::test]
async fn imds_request_shape_and_second_call_from_the_cache() {
    let s = Setup::new().await;
    mount_imds(&s, ok(imds_body("imds-token", 3599))).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    assert_eq!(app.source(), ManagedIdentitySource::Imds);

    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "imds-token");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(msal_core::clock::unix_seconds(r.expires_on()), T0 + 3599);

    let requests = s.requests().await;
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), IMDS_PATH);
    assert_eq!(
        query(req),
        expected(&[("api-version", "2018-02-01"), ("resource", RESOURCE)])
    );
    assert_eq!(req.headers.get("Metadata").unwrap(), "true");

    let again = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(again.access_token(), "imds-token");
    assert_eq!(again.source(), TokenSource::Cache);
    assert_eq!(
        s.requests().await.len(),
        1,
        "the second call made no request"
    );
}

#[tokio::test]
async fn imds_user_assigned_ids_use_their_parameter_names() {
    for (id, name) in [
        (
            ManagedIdentityId::UserAssignedClientId("cid-1".into()),
            "client_id",
        ),
        (
            ManagedIdentityId::UserAssignedResourceId("/subscriptions/s/rg/x".into()),
            "msi_res_id",
        ),
        (
            ManagedIdentityId::UserAssignedObjectId("oid-1".into()),
            "object_id",
        ),
    ] {
        let s = Setup::new().await;
        mount_imds(&s, ok(imds_body("t", 3599))).await;
        let value = id.cache_client_id().to_owned();
        s.imds(id)
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        let q = query(&s.requests().await[0]);
        assert_eq!(
            q,
            expected(&[
                ("api-version", "2018-02-01"),
                ("resource", RESOURCE),
                (name, &value)
            ])
        );
    }
}

#[tokio::test]
async fn a_default_scope_is_sent_as_its_resource() {
    let s = Setup::new().await;
    mount_imds(&s, ok(imds_body("t", 3599))).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    app.acquire_token_for_managed_identity("https://vault.azure.net/.default")
        .await
        .unwrap();
    assert_eq!(
        query(&s.requests().await[0])["resource"],
        "https://vault.azure.net"
    );
    let e = app
        .acquire_token_for_managed_identity(" ")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

#[tokio::test]
async fn app_service_request_shape() {
    let s = Setup::new().await;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .and(header("X-IDENTITY-HEADER", IDENTITY_HEADER))
        .respond_with(ok(json!({
            "access_token": "app-service-token",
            "expires_on": (T0 + 86_400).to_string(),
            "resource": RESOURCE,
            "token_type": "Bearer",
            "client_id": "x",
        })))
        .expect(1)
        .mount(&s.server)
        .await;
    let vars = [
        ("IDENTITY_ENDPOINT", s.uri("/msi/token")),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
    ];
    let app = s
        .builder(
            ManagedIdentityId::UserAssignedResourceId("/sub/r".into()),
            &vars,
        )
        .build()
        .unwrap();
    assert_eq!(app.source(), ManagedIdentitySource::AppService);
    assert!(!format!("{app:?}").contains(IDENTITY_HEADER));
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "app-service-token");
    // A day-long token is refreshed at half its life, as MSAL does.
    assert_eq!(
        msal_core::clock::unix_seconds(r.refresh_on().unwrap()),
        T0 + 43_200
    );
    let q = query(&s.requests().await[0]);
    assert_eq!(
        q,
        expected(&[
            ("api-version", "2019-08-01"),
            ("resource", RESOURCE),
            ("mi_res_id", "/sub/r")
        ])
    );
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
}

#[tokio::test]
async fn machine_learning_request_shape() {
    let s = Setup::new().await;
    Mock::given(method("GET"))
        .and(path("/ml/token"))
        .and(header("secret", "ml-secret"))
        .respond_with(ok(json!({
            "access_token": "ml-token",
            "expires_on": T0 + 3600,
            "resource": RESOURCE,
            "token_type": "Bearer",
        })))
        .mount(&s.server)
        .await;
    let vars = [
        ("MSI_ENDPOINT", s.uri("/ml/token")),
        ("MSI_SECRET", "ml-secret".to_owned()),
    ];
    let app = s
        .builder(ManagedIdentityId::UserAssignedClientId("cid".into()), &vars)
        .build()
        .unwrap();
    assert_eq!(app.source(), ManagedIdentitySource::MachineLearning);
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "ml-token");
    let q = query(&s.requests().await[0]);
    assert_eq!(
        q,
        expected(&[
            ("api-version", "2017-09-01"),
            ("resource", RESOURCE),
            ("clientid", "cid")
        ])
    );
}

fn sf_vars(s: &Setup) -> Vec<(&'static str, String)> {
    vec![
        ("IDENTITY_ENDPOINT", s.uri("/sf/token")),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
        ("IDENTITY_SERVER_THUMBPRINT", "ABCDEF".to_owned()),
    ]
}

#[tokio::test]
async fn service_fabric_request_shape_ignores_a_user_assigned_id_and_sends_capabilities() {
    let s = Setup::new().await;
    Mock::given(method("GET"))
        .and(path("/sf/token"))
        .and(header("Secret", IDENTITY_HEADER))
        .respond_with(ok(json!({
            "access_token": "sf-token",
            "expires_on": (T0 + 3600).to_string(),
            "resource": RESOURCE,
            "token_type": "Bearer",
        })))
        .mount(&s.server)
        .await;
    let app = s
        .builder(
            ManagedIdentityId::UserAssignedClientId("ignored".into()),
            &sf_vars(&s),
        )
        .client_capabilities(["cp1", "cp2"])
        .build()
        .unwrap();
    assert_eq!(app.source(), ManagedIdentitySource::ServiceFabric);
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    let q = query(&s.requests().await[0]);
    assert_eq!(
        q,
        expected(&[
            ("api-version", "2019-07-01-preview"),
            ("resource", RESOURCE),
            ("xms_cc", "cp1,cp2"),
        ])
    );
}

#[tokio::test]
async fn claims_bypass_the_cache_and_name_the_replaced_token_to_service_fabric() {
    let s = Setup::new().await;
    let body = |t: &str| json!({"access_token": t, "expires_on": (T0 + 3600).to_string(), "token_type": "Bearer"});
    Mock::given(path("/sf/token"))
        .respond_with(ok(body("first")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(path("/sf/token"))
        .respond_with(ok(body("second")))
        .with_priority(2)
        .mount(&s.server)
        .await;
    let app = s
        .builder(ManagedIdentityId::SystemAssigned, &sf_vars(&s))
        .build()
        .unwrap();
    assert_eq!(
        app.acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap()
            .access_token(),
        "first"
    );
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .claims(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "second");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let requests = s.requests().await;
    assert_eq!(requests.len(), 2);
    assert!(!query(&requests[0]).contains_key("token_sha256_to_refresh"));
    let hash: String = Sha256::digest(b"first")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(query(&requests[1])["token_sha256_to_refresh"], hash);
    // The new token replaced the old one in the cache.
    let cached = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(
        (cached.access_token(), cached.source()),
        ("second", TokenSource::Cache)
    );
}

#[tokio::test]
async fn cloud_shell_posts_a_form() {
    let s = Setup::new().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(header("Metadata", "true"))
        .respond_with(ok(json!({
            "access_token": "cs-token", "expires_in": "3600", "expires_on": (T0 + 3600).to_string(),
            "token_type": "Bearer",
        })))
        .mount(&s.server)
        .await;
    let vars = [("MSI_ENDPOINT", s.uri("/oauth2/token"))];
    let app = s
        .builder(ManagedIdentityId::SystemAssigned, &vars)
        .build()
        .unwrap();
    assert_eq!(app.source(), ManagedIdentitySource::CloudShell);
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    let req = &s.requests().await[0];
    assert_eq!(
        String::from_utf8_lossy(&req.body),
        "resource=https%3A%2F%2Fmanagement.azure.com%2F"
    );
    assert_eq!(
        req.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );

    let user = s
        .builder(ManagedIdentityId::UserAssignedClientId("c".into()), &vars)
        .build()
        .unwrap();
    let e = user
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(
        mi_error(&e).kind,
        ManagedIdentityErrorKind::UserAssignedNotSupported
    );
    assert_eq!(
        s.requests().await.len(),
        1,
        "nothing sent for the user-assigned id"
    );
}

#[tokio::test]
async fn an_explicit_source_wins_over_detection() {
    let s = Setup::new().await;
    mount_imds(&s, ok(imds_body("t", 3599))).await;
    let mut vars = sf_vars(&s);
    vars.push(("AZURE_POD_IDENTITY_AUTHORITY_HOST", s.server.uri()));
    let app = s
        .builder(ManagedIdentityId::SystemAssigned, &vars)
        .source(ManagedIdentitySource::Imds)
        .build()
        .unwrap();
    assert_eq!(app.source(), ManagedIdentitySource::Imds);
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(s.requests().await[0].url.path(), IMDS_PATH);

    let e = s
        .builder(ManagedIdentityId::SystemAssigned, &[])
        .source(ManagedIdentitySource::AppService)
        .build()
        .unwrap_err();
    let mi = mi_error(&e);
    assert_eq!(
        (mi.source, mi.kind),
        (
            ManagedIdentitySource::AppService,
            ManagedIdentityErrorKind::Configuration
        )
    );
    assert!(e.to_string().contains("IDENTITY_ENDPOINT"), "{e}");
}

// ---------------------------------------------------------------- Azure Arc

struct Arc_ {
    _dir: tempfile::TempDir,
    folder: std::path::PathBuf,
}

fn arc_folder() -> Arc_ {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("tokens");
    std::fs::create_dir(&folder).unwrap();
    Arc_ { _dir: dir, folder }
}

impl Setup {
    fn arc(&self, folder: &std::path::Path, id: ManagedIdentityId) -> ManagedIdentityApplication {
        ManagedIdentityApplication::builder(id)
            .environment(
                ManagedIdentityEnvironment::from_vars([
                    ("IDENTITY_ENDPOINT", self.uri("/arc/token")),
                    ("IMDS_ENDPOINT", self.server.uri()),
                ])
                .arc_token_folder(folder),
            )
            .http_client(guarded())
            .clock(self.clock.clone())
            .cache(self.cache.clone())
            .retry_policy(fast_retries())
            .build()
            .unwrap()
    }

    async fn arc_challenge(&self, realm: &str) {
        Mock::given(path("/arc/token"))
            .respond_with(
                ResponseTemplate::new(401)
                    .insert_header("WWW-Authenticate", format!("Basic realm={realm}").as_str()),
            )
            .with_priority(5)
            .mount(&self.server)
            .await;
    }
}

#[tokio::test]
async fn arc_answers_the_challenge_with_the_key_file() {
    let s = Setup::new().await;
    let a = arc_folder();
    let key = a.folder.join("abc.key");
    std::fs::write(&key, "arc-key-content").unwrap();
    s.arc_challenge(key.to_str().unwrap()).await;
    Mock::given(method("GET"))
        .and(path("/arc/token"))
        .and(header("Authorization", "Basic arc-key-content"))
        .and(header("Metadata", "true"))
        .respond_with(ok(imds_body("arc-token", 3599)))
        .with_priority(1)
        .expect(1)
        .mount(&s.server)
        .await;
    let app = s.arc(&a.folder, ManagedIdentityId::SystemAssigned);
    assert_eq!(app.source(), ManagedIdentitySource::AzureArc);
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "arc-token");
    let requests = s.requests().await;
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("Authorization").is_none());
    for req in &requests {
        assert_eq!(
            query(req),
            expected(&[("api-version", "2020-06-01"), ("resource", RESOURCE)])
        );
    }
}

#[tokio::test]
async fn arc_refuses_bad_challenges_before_reading_anything() {
    let a = arc_folder();
    let outside = a._dir.path().join("outside.key");
    std::fs::write(&outside, "k").unwrap();
    let big = a.folder.join("big.key");
    std::fs::write(&big, vec![b'k'; 4097]).unwrap();
    let dotdot = format!("{}/../outside.key", a.folder.display());
    for (realm, expected) in [
        (
            outside.display().to_string(),
            "not a file in the agent's token folder",
        ),
        (dotdot, "not a file in the agent's token folder"),
        (big.display().to_string(), "more than the 4096"),
        (
            "/etc/passwd".to_owned(),
            "not an absolute path to a .key file",
        ),
    ] {
        let s = Setup::new().await;
        s.arc_challenge(&realm).await;
        let app = s.arc(&a.folder, ManagedIdentityId::SystemAssigned);
        let e = app
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap_err();
        let mi = mi_error(&e);
        assert_eq!(
            (mi.source, mi.kind),
            (
                ManagedIdentitySource::AzureArc,
                ManagedIdentityErrorKind::ArcChallenge
            ),
            "{realm}"
        );
        assert!(e.to_string().contains(expected), "{realm}: {e}");
        assert_eq!(s.requests().await.len(), 1, "no second request: {realm}");
    }
}

#[tokio::test]
async fn arc_rejects_user_assigned_and_a_200_without_challenge() {
    let a = arc_folder();
    let s = Setup::new().await;
    Mock::given(path("/arc/token"))
        .respond_with(ok(imds_body("not-from-arc", 3599)))
        .mount(&s.server)
        .await;
    let e = s
        .arc(
            &a.folder,
            ManagedIdentityId::UserAssignedClientId("c".into()),
        )
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(
        mi_error(&e).kind,
        ManagedIdentityErrorKind::UserAssignedNotSupported
    );
    assert!(s.requests().await.is_empty());

    let app = s.arc(&a.folder, ManagedIdentityId::SystemAssigned);
    let e = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(mi_error(&e).kind, ManagedIdentityErrorKind::BadResponse);
    assert!(!e.to_string().contains("not-from-arc"));
}

// ---------------------------------------------------------------- cache and concurrency

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let s = Setup::new().await;
    mount_imds(
        &s,
        ok(imds_body("shared", 3599)).set_delay(Duration::from_millis(200)),
    )
    .await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    let calls = (0..32).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { app.acquire_token_for_managed_identity(RESOURCE).await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap().access_token(), "shared");
    }
    assert_eq!(s.requests().await.len(), 1);
}

#[tokio::test]
async fn near_expiry_refreshes_and_force_refresh_skips_the_cache() {
    let s = Setup::new().await;
    Mock::given(path(IMDS_PATH))
        .respond_with(ok(imds_body("one", 3599)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_imds(&s, ok(imds_body("two", 3599))).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    assert_eq!(
        app.acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap()
            .access_token(),
        "one"
    );
    let forced = app
        .acquire_token_for_managed_identity(RESOURCE)
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(
        (forced.access_token(), forced.source()),
        ("two", TokenSource::IdentityProvider)
    );
    // Inside the 5-minute buffer: a new request.
    s.clock.advance(Duration::from_secs(3599 - 200));
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(s.requests().await.len(), 3);
}

#[tokio::test]
async fn a_still_valid_token_is_served_when_the_source_fails() {
    let s = Setup::new().await;
    Mock::given(path(IMDS_PATH))
        .respond_with(ok(imds_body("cached", 3599)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_imds(&s, ResponseTemplate::new(503)).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(3599 - 100));
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("cached", TokenSource::Cache)
    );
}

#[tokio::test]
async fn cache_entries_are_written_as_msal_python_writes_them() {
    let s = Setup::new().await;
    mount_imds(&s, ok(imds_body("file-token", 3599))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.json");
    for id in [
        ManagedIdentityId::SystemAssigned,
        ManagedIdentityId::UserAssignedClientId("Cid-2".into()),
    ] {
        ManagedIdentityApplication::builder(id)
            .environment(ManagedIdentityEnvironment::from_vars([(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                s.server.uri(),
            )]))
            .http_client(guarded())
            .clock(s.clock.clone())
            .cache(FileCache::new(&file))
            .build()
            .unwrap()
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let ats = doc["AccessToken"].as_object().unwrap();
    // MSAL Python 1.39 writes a system-assigned identity's `client_id` as null.
    let system = &ats[&format!("-localhost-accesstoken--managed_identity-{RESOURCE}")];
    assert_eq!(system["client_id"], Value::Null);
    let user = &ats[&format!("-localhost-accesstoken-cid-2-managed_identity-{RESOURCE}")];
    for entry in [system, user] {
        assert_eq!(entry["environment"], "localhost");
        assert_eq!(entry["realm"], "managed_identity");
        assert_eq!(entry["home_account_id"], Value::Null);
        assert_eq!(entry["target"], RESOURCE);
        assert_eq!(entry["credential_type"], "AccessToken");
        assert_eq!(entry["expires_on"], (T0 + 3599).to_string());
    }
    assert_eq!(user["client_id"], "Cid-2");
}

// ---------------------------------------------------------------- retries and errors

#[tokio::test]
async fn imds_retries_transient_answers_then_succeeds() {
    for status in [404, 410, 429, 500, 503] {
        let s = Setup::new().await;
        Mock::given(path(IMDS_PATH))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&s.server)
            .await;
        mount_imds(&s, ok(imds_body("after-retries", 3599))).await;
        let r = s
            .imds(ManagedIdentityId::SystemAssigned)
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        assert_eq!(r.access_token(), "after-retries", "{status}");
        assert_eq!(s.requests().await.len(), 3, "{status}");
    }
}

/// Behaviour (issue 13 §5): the backoff pauses on the app's clock. With an auto-advancing
/// `ManualClock` they take no real time, the clock shows exactly the backoff that passed
/// (1 s + 2 s), and the time budget (`max_elapsed`) is spent in the clock's time.
#[tokio::test]
async fn backoff_pauses_on_the_apps_clock() {
    let s = Setup {
        clock: ManualClock::at_unix(T0).with_auto_advance(),
        ..Setup::new().await
    };
    Mock::given(path(IMDS_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_imds(&s, ok(imds_body("after-retries", 3599))).await;
    let started = std::time::Instant::now();
    let r = s
        .builder(
            ManagedIdentityId::SystemAssigned,
            &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", s.server.uri())],
        )
        .retry_policy(
            ManagedIdentityRetryPolicy::new(3, Duration::from_secs(1))
                .max_elapsed(Duration::from_secs(60)),
        )
        .build()
        .unwrap()
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "after-retries");
    assert_eq!(s.requests().await.len(), 3);
    let moved = |clock: &ManualClock| {
        clock
            .now()
            .duration_since(std::time::UNIX_EPOCH + Duration::from_secs(T0))
            .unwrap()
    };
    assert_eq!(moved(&s.clock), Duration::from_secs(3), "1 s + 2 s");

    // A budget of 5 s: the first pause (2 s) fits, the second (4 s more) would not.
    let s = Setup {
        clock: ManualClock::at_unix(T0).with_auto_advance(),
        ..Setup::new().await
    };
    mount_imds(&s, ResponseTemplate::new(500)).await;
    let e = s
        .builder(
            ManagedIdentityId::SystemAssigned,
            &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", s.server.uri())],
        )
        .retry_policy(
            ManagedIdentityRetryPolicy::new(3, Duration::from_secs(2))
                .max_elapsed(Duration::from_secs(5)),
        )
        .build()
        .unwrap()
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(mi_error(&e).status, Some(500));
    assert_eq!(s.requests().await.len(), 2);
    assert_eq!(moved(&s.clock), Duration::from_secs(2));
    // A bound only to prove the 5 s of backoff were not waited for real.
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn retries_are_bounded_and_the_error_says_unavailable() {
    let s = Setup::new().await;
    mount_imds(
        &s,
        ResponseTemplate::new(500).set_body_string("<html>busy</html>"),
    )
    .await;
    let e = s
        .imds(ManagedIdentityId::SystemAssigned)
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    let mi = mi_error(&e);
    assert_eq!(
        (mi.kind, mi.status),
        (ManagedIdentityErrorKind::Unavailable, Some(500))
    );
    assert!(e.is_transient() && !e.is_ui_required());
    assert_eq!(s.requests().await.len(), 4, "one attempt and 3 retries");
}

#[tokio::test]
async fn imds_400_is_identity_not_found_and_not_retried() {
    let s = Setup::new().await;
    mount_imds(
        &s,
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request", "error_description": "Identity not found"
        })),
    )
    .await;
    let e = s
        .imds(ManagedIdentityId::UserAssignedClientId("nope".into()))
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    let mi = mi_error(&e);
    assert_eq!(
        (mi.source, mi.kind),
        (
            ManagedIdentitySource::Imds,
            ManagedIdentityErrorKind::IdentityNotFound
        )
    );
    assert!(!e.is_ui_required() && !e.is_transient());
    let text = e.to_string();
    assert!(
        text.contains("IMDS")
            && text.contains("Identity not found")
            && text.contains("client id nope"),
        "{text}"
    );
    assert_eq!(s.requests().await.len(), 1);
}

#[tokio::test]
async fn service_fabric_does_not_retry_404() {
    let s = Setup::new().await;
    Mock::given(path("/sf/token"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "ManagedIdentityNotFound", "message": "no identity"}
        })))
        .mount(&s.server)
        .await;
    let e = s
        .builder(ManagedIdentityId::SystemAssigned, &sf_vars(&s))
        .build()
        .unwrap()
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    let mi = mi_error(&e);
    assert_eq!(
        (mi.source, mi.kind),
        (
            ManagedIdentitySource::ServiceFabric,
            ManagedIdentityErrorKind::Rejected
        )
    );
    assert!(e.to_string().contains("ManagedIdentityNotFound"), "{e}");
    assert!(!e.to_string().contains(IDENTITY_HEADER));
    assert_eq!(s.requests().await.len(), 1);
}

#[tokio::test]
async fn bad_answers_are_typed_errors_and_nothing_is_cached() {
    let past = (T0 - 60).to_string();
    let cases = [
        ResponseTemplate::new(200).set_body_raw(
            "<html><body>Sign in to the Wi-Fi</body></html>",
            "text/html",
        ),
        ok(json!({"token_type": "Bearer", "expires_in": "3599"})),
        ok(json!({"access_token": "secret-bad-token", "expires_on": past})),
        ok(json!({"access_token": "secret-bad-token", "expires_on": "tomorrow"})),
        ok(json!({"access_token": "secret-bad-token", "expires_in": "-1"})),
        ok(json!({"access_token": "secret-bad-token"})),
        ok(json!({"error": "invalid_request", "error_description": "nope"})),
    ];
    for (i, response) in cases.into_iter().enumerate() {
        let s = Setup::new().await;
        mount_imds(&s, response).await;
        let app = s.imds(ManagedIdentityId::SystemAssigned);
        for _ in 0..2 {
            let e = app
                .acquire_token_for_managed_identity(RESOURCE)
                .await
                .unwrap_err();
            let mi = mi_error(&e);
            assert_eq!(
                (mi.source, mi.kind),
                (
                    ManagedIdentitySource::Imds,
                    ManagedIdentityErrorKind::BadResponse
                ),
                "case {i}"
            );
            assert!(!e.to_string().contains("secret-bad-token"), "case {i}: {e}");
            assert!(!format!("{e:?}").contains("secret-bad-token"), "case {i}");
        }
        assert_eq!(s.requests().await.len(), 2, "case {i}: nothing was cached");
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_says_so() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Setup::new().await;
    let app = s
        .builder(
            ManagedIdentityId::SystemAssigned,
            &[(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                format!("http://127.0.0.1:{port}"),
            )],
        )
        .build()
        .unwrap();
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        app.acquire_token_for_managed_identity(RESOURCE),
    )
    .await
    .expect("does not hang")
    .unwrap_err();
    let mi = mi_error(&e);
    assert_eq!(mi.kind, ManagedIdentityErrorKind::Unreachable);
    assert!(!e.is_ui_required());
    assert!(
        e.to_string()
            .contains("no managed identity endpoint reachable"),
        "{e}"
    );
}

// ---------------------------------------------------------------- the loopback guard

/// Counts the requests that reach it; never sends anything.
#[derive(Clone, Default)]
struct Recorder(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl HttpClient for Recorder {
    async fn send(&self, _: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(http::Response::builder()
            .status(500)
            .body(Vec::new())
            .unwrap())
    }
}

#[tokio::test]
async fn the_guard_refuses_imds_without_the_override_before_sending() {
    let recorder = Recorder::default();
    let guard = LoopbackOnly::new(recorder.clone());
    let app = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
        .environment(ManagedIdentityEnvironment::from_vars(
            Vec::<(String, String)>::new(),
        ))
        .http_client(guard.clone())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    assert_eq!(app.source(), ManagedIdentitySource::Imds);
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        app.acquire_token_for_managed_identity(RESOURCE),
    )
    .await
    .expect("fails fast")
    .unwrap_err();
    assert_eq!(mi_error(&e).kind, ManagedIdentityErrorKind::Transport);
    assert!(
        e.to_string().contains("loopback guard") && e.to_string().contains("169.254.169.254"),
        "{e}"
    );
    assert_eq!(guard.refused(), 1, "refused once, not retried");
    assert_eq!(
        recorder.0.load(Ordering::SeqCst),
        0,
        "nothing reached the transport"
    );
}

#[tokio::test]
async fn the_guard_lets_loopback_through() {
    let s = Setup::new().await;
    mount_imds(&s, ok(imds_body("t", 3599))).await;
    let guard = guarded();
    let app = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
        .environment(ManagedIdentityEnvironment::from_vars([(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            s.server.uri(),
        )]))
        .http_client(guard.clone())
        .build()
        .unwrap();
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(guard.refused(), 0);
}

#[tokio::test]
async fn identical_requests_are_blocked_after_the_retries_run_out() {
    let s = Setup::new().await;
    mount_imds(&s, ResponseTemplate::new(503)).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    let first = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(mi_error(&first).kind, ManagedIdentityErrorKind::Unavailable);
    assert_eq!(s.requests().await.len(), 4);
    let blocked = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    let mi = mi_error(&blocked);
    assert_eq!(
        (mi.kind, mi.status),
        (ManagedIdentityErrorKind::Unavailable, Some(503))
    );
    assert!(blocked.to_string().contains("blocked until"), "{blocked}");
    assert_eq!(s.requests().await.len(), 4, "blocked locally: nothing sent");
    s.clock.advance(Duration::from_secs(6));
    app.acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(
        s.requests().await.len(),
        8,
        "5 s later identical requests go out again"
    );
}

#[tokio::test]
async fn refresh_on_refreshes_in_the_background_while_the_cached_token_is_served() {
    let s = Setup::new().await;
    Mock::given(path(IMDS_PATH))
        .respond_with(ok(imds_body("long-lived", 86_400)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_imds(&s, ok(imds_body("replacement", 86_400))).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(
        msal_core::clock::unix_seconds(r.refresh_on().unwrap()),
        T0 + 43_200
    );
    s.clock.advance(Duration::from_secs(43_201));
    let served = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(
        (served.access_token(), served.source()),
        ("long-lived", TokenSource::Cache)
    );
    // The background refresh lands in the cache (bounded wait).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = app
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        if r.access_token() == "replacement" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "background refresh never landed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.requests().await.len(), 2);
}

#[test]
fn the_environment_never_prints_secrets() {
    let env = ManagedIdentityEnvironment::from_vars([
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/"),
        ("IDENTITY_HEADER", IDENTITY_HEADER),
    ]);
    let debug = format!("{env:?}");
    assert!(
        debug.contains("IDENTITY_HEADER") && !debug.contains(IDENTITY_HEADER),
        "{debug}"
    );
}

#[tokio::test]
async fn repeated_hits_never_serve_a_replaced_token() {
    let s = Setup::new().await;
    Mock::given(path(IMDS_PATH))
        .respond_with(ok(imds_body("old", 3599)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_imds(&s, ok(imds_body("new", 3599))).await;
    let app = s.imds(ManagedIdentityId::SystemAssigned);
    // The first hit goes the full way and is remembered; the next ones come from the memo.
    for expected in ["old", "old", "old", "old"] {
        let r = app
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        assert_eq!(r.access_token(), expected);
    }
    let forced = app
        .acquire_token_for_managed_identity(RESOURCE)
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(forced.access_token(), "new");
    for _ in 0..3 {
        let r = app
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        assert_eq!((r.access_token(), r.source()), ("new", TokenSource::Cache));
    }
    // Near expiry, a memoised hit is not served either.
    s.clock.advance(Duration::from_secs(3599 - 200));
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(s.requests().await.len(), 3);
}

#[tokio::test]
async fn a_system_assigned_token_cached_by_msal_python_is_served() {
    let s = Setup::new().await;
    mount_imds(&s, ok(imds_body("from-the-network", 3599))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.json");
    // As MSAL Python 1.3x writes it: `client_id` null for a system-assigned identity.
    let doc = json!({
        "AccessToken": {
            format!("-localhost-accesstoken--managed_identity-{RESOURCE}"): {
                "credential_type": "AccessToken",
                "secret": "from-msal-python",
                "home_account_id": null,
                "environment": "localhost",
                "client_id": null,
                "realm": "managed_identity",
                "target": RESOURCE,
                "token_type": "Bearer",
                "cached_at": T0.to_string(),
                "expires_on": (T0 + 3599).to_string(),
                "extended_expires_on": (T0 + 3599).to_string(),
            }
        },
        "Account": {}, "IdToken": {}, "RefreshToken": {}, "AppMetadata": {}
    });
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let app = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
        .environment(ManagedIdentityEnvironment::from_vars([(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            s.server.uri(),
        )]))
        .http_client(guarded())
        .clock(s.clock.clone())
        .cache(FileCache::new(&file))
        .build()
        .unwrap();
    let r = app
        .acquire_token_for_managed_identity(RESOURCE)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("from-msal-python", TokenSource::Cache)
    );
    assert!(s.requests().await.is_empty());
}
