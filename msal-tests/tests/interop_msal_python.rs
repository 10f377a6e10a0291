//! Managed identity interop with MSAL Python 1.39 (`msal.ManagedIdentityClient`): pointed at
//! the same local fake IMDS and App Service endpoints, both libraries send the same requests
//! (path, query, the headers that matter) and read each other's cached tokens from one file
//! (MSAL Python's `SerializableTokenCache` serialised to the file msal-rs's `FileCache` reads,
//! and the reverse).
//!
//! Runs when MSAL Python is available: `MSAL_PYTHON` names its interpreter (what
//! `scripts/msal-python-venv.sh` prints; `scripts/test.sh` sets it), else the default venv
//! `target/msal-python-venv` is used when it exists. Without either, each test says it is
//! skipped. Every request goes to loopback (the Rust side through [`LoopbackOnly`], the
//! Python side to the endpoints the environment names, with proxies from the environment
//! off), and every wait on the Python process is bounded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use msal::cache::FileCache;
use msal::http::ReqwestHttpClient;
use msal::{
    ManagedIdentityApplication, ManagedIdentityEnvironment, ManagedIdentityId,
    ManagedIdentitySource, TokenSource,
};
use msal_tests::loopback_guard::LoopbackOnly;
use msal_tests::process::run_ok;
use serde_json::{json, Value};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const RESOURCE: &str = "https://management.azure.com";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
const APP_SERVICE_PATH: &str = "/msi/token";
const IDENTITY_HEADER: &str = "interop-identity-header";
/// The managed identity variables cleared from the Python process's environment before the
/// test sets its own, so the machine's never leak in.
const MI_VARIABLES: &[&str] = &[
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZUREPS_HOST_ENVIRONMENT",
];

/// MSAL Python's interpreter, or `None` (the test is skipped) when it is not installed.
fn msal_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MSAL_PYTHON").filter(|p| !p.is_empty()) {
        // Named explicitly: it must work (a broken setup fails rather than skips).
        return Some(PathBuf::from(p));
    }
    let default =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/msal-python-venv/bin/python");
    if default.is_file() {
        return Some(default);
    }
    eprintln!(
        "skipped: MSAL Python is not installed (run scripts/msal-python-venv.sh and set MSAL_PYTHON)"
    );
    None
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One fake endpoint per source, answering every request with `token`.
struct Fake {
    server: MockServer,
}

impl Fake {
    async fn start(token: &str) -> Fake {
        let server = MockServer::start().await;
        let t = now();
        // IMDS: numbers as strings, `expires_in` and `expires_on`.
        Mock::given(path(IMDS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": token,
                "expires_in": "3599",
                "expires_on": (t + 3599).to_string(),
                "resource": RESOURCE,
                "token_type": "Bearer",
            })))
            .mount(&server)
            .await;
        // App Service: `expires_on` only.
        Mock::given(path(APP_SERVICE_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": token,
                "expires_on": (t + 3599).to_string(),
                "resource": RESOURCE,
                "token_type": "Bearer",
            })))
            .mount(&server)
            .await;
        Fake { server }
    }

    /// The variables that point `source` at this fake.
    fn vars(&self, source: ManagedIdentitySource) -> Vec<(&'static str, String)> {
        match source {
            ManagedIdentitySource::AppService => vec![
                (
                    "IDENTITY_ENDPOINT",
                    format!("{}{APP_SERVICE_PATH}", self.server.uri()),
                ),
                ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
            ],
            _ => vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", self.server.uri())],
        }
    }

    async fn requests(&self) -> Vec<wiremock::Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

/// What MSAL Python's `ManagedIdentityClient` answered.
struct PythonAnswer {
    access_token: String,
    token_source: String,
}

/// Run MSAL Python's client once over `cache_file` (bounded; on a blocking thread so the fake
/// keeps serving).
async fn python_acquire(
    python: &Path,
    vars: &[(&'static str, String)],
    cache_file: &Path,
    id: &ManagedIdentityId,
) -> PythonAnswer {
    let mut cmd = Command::new(python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/mi_client.py"))
        .arg(cache_file)
        .arg(RESOURCE);
    if let ManagedIdentityId::UserAssignedClientId(client_id) = id {
        cmd.arg(client_id);
    }
    for name in MI_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = tokio::task::spawn_blocking(move || {
        run_ok(cmd, "MSAL Python (mi_client.py)", Duration::from_secs(60))
    })
    .await
    .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let answer: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("mi_client.py printed {line:?}: {e}"));
    assert_eq!(answer["version"], "1.39.0", "the pinned MSAL Python");
    assert_eq!(answer["error"], Value::Null, "{answer}");
    PythonAnswer {
        access_token: answer["access_token"].as_str().unwrap().to_owned(),
        token_source: answer["token_source"].as_str().unwrap().to_owned(),
    }
}

fn rust_app(
    vars: &[(&'static str, String)],
    cache_file: &Path,
    id: &ManagedIdentityId,
) -> ManagedIdentityApplication {
    ManagedIdentityApplication::builder(id.clone())
        .environment(ManagedIdentityEnvironment::from_vars(vars.iter().cloned()))
        .http_client(LoopbackOnly::new(
            ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)),
        ))
        .cache(FileCache::new(cache_file))
        .build()
        .unwrap()
}

/// What must match between the two libraries' requests: method, path, query, and the headers
/// the sources read (not the SDK's own `x-client-*` or a per-request id's value).
fn shape(r: &wiremock::Request) -> (String, String, BTreeMap<String, String>, Vec<String>) {
    let query = r
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let headers = ["metadata", "x-identity-header", "secret", "authorization"]
        .iter()
        .filter_map(|name| {
            let v = r.headers.get(*name)?.to_str().ok()?;
            Some(format!("{name}: {v}"))
        })
        .collect();
    (
        r.method.to_string(),
        r.url.path().to_owned(),
        query,
        headers,
    )
}

const CASES: &[(ManagedIdentitySource, bool)] = &[
    (ManagedIdentitySource::Imds, false),
    (ManagedIdentitySource::Imds, true),
    (ManagedIdentitySource::AppService, false),
    (ManagedIdentitySource::AppService, true),
];

fn identity(user_assigned: bool) -> ManagedIdentityId {
    match user_assigned {
        true => ManagedIdentityId::UserAssignedClientId("3f1a-interop-client".into()),
        false => ManagedIdentityId::SystemAssigned,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_send_the_same_request_to_each_source() {
    let Some(python) = msal_python() else { return };
    for &(source, user_assigned) in CASES {
        let id = identity(user_assigned);
        let fake = Fake::start("interop-token").await;
        let vars = fake.vars(source);
        let dir = tempfile::tempdir().unwrap();
        // Separate caches: each library must ask the source.
        let py = python_acquire(&python, &vars, &dir.path().join("py.json"), &id).await;
        assert_eq!(py.token_source, "identity_provider");
        let app = rust_app(&vars, &dir.path().join("rs.json"), &id);
        assert_eq!(app.source(), source);
        let r = app
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        assert_eq!(r.source(), TokenSource::IdentityProvider);
        let requests = fake.requests().await;
        assert_eq!(requests.len(), 2, "{source} user_assigned={user_assigned}");
        assert_eq!(
            shape(&requests[0]),
            shape(&requests[1]),
            "{source} user_assigned={user_assigned}: MSAL Python's request, then msal-rs's"
        );
        // Both identify the request for IMDS's logs.
        if source == ManagedIdentitySource::Imds {
            for r in &requests {
                assert!(r.headers.contains_key("x-ms-client-request-id"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_rs_serves_the_token_msal_python_cached() {
    let Some(python) = msal_python() else { return };
    for &(source, user_assigned) in CASES {
        let id = identity(user_assigned);
        let fake = Fake::start("cached-by-python").await;
        let vars = fake.vars(source);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shared.json");
        let py = python_acquire(&python, &vars, &file, &id).await;
        assert_eq!(py.token_source, "identity_provider");
        let r = rust_app(&vars, &file, &id)
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        assert_eq!(
            (r.access_token(), r.source()),
            ("cached-by-python", TokenSource::Cache),
            "{source} user_assigned={user_assigned}"
        );
        assert_eq!(fake.requests().await.len(), 1, "msal-rs sent nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_serves_the_token_msal_rs_cached() {
    let Some(python) = msal_python() else { return };
    for &(source, user_assigned) in CASES {
        let id = identity(user_assigned);
        let fake = Fake::start("cached-by-rust").await;
        let vars = fake.vars(source);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shared.json");
        let r = rust_app(&vars, &file, &id)
            .acquire_token_for_managed_identity(RESOURCE)
            .await
            .unwrap();
        assert_eq!(r.source(), TokenSource::IdentityProvider);
        let py = python_acquire(&python, &vars, &file, &id).await;
        assert_eq!(
            (py.access_token.as_str(), py.token_source.as_str()),
            ("cached-by-rust", "cache"),
            "{source} user_assigned={user_assigned}"
        );
        assert_eq!(fake.requests().await.len(), 1, "MSAL Python sent nothing");
        // The entry is the one MSAL Python writes itself: `client_id` null for system-assigned.
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let client_id = id.cache_client_id().to_ascii_lowercase();
        let entry = &doc["AccessToken"]
            [format!("-localhost-accesstoken-{client_id}-managed_identity-{RESOURCE}")];
        let expected = match &id {
            ManagedIdentityId::UserAssignedClientId(c) => json!(c),
            _ => Value::Null,
        };
        assert_eq!(entry["client_id"], expected, "{doc}");
    }
}

// ------------------------------------------------------------------------------------------
// SSH certificates: the entries each library writes are found by the other's lookup.

const SSH_TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
const SSH_CLIENT: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
const SSH_SCOPE: &str = "https://pas.windows.net/CheckMyAccess/Linux/.default";

/// Run `ssh_cert_cache.py` (bounded) and return the certificate it printed.
async fn python_ssh_cert(python: &Path, args: Vec<String>) -> Option<String> {
    let mut cmd = Command::new(python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ssh_cert_cache.py"))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = tokio::task::spawn_blocking(move || {
        run_ok(
            cmd,
            "MSAL Python (ssh_cert_cache.py)",
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let answer: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("ssh_cert_cache.py printed {line:?}: {e}"));
    assert_eq!(answer["version"], "1.39.0", "the pinned MSAL Python");
    answer["certificate"].as_str().map(str::to_owned)
}

fn ssh_args(mode: &str, file: &Path, key_id: &str) -> Vec<String> {
    [
        mode,
        file.to_str().unwrap(),
        SSH_CLIENT,
        SSH_TENANT,
        SSH_SCOPE,
        key_id,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// An app on `file` whose token endpoint is `server` (through the loopback transport).
fn ssh_app(server: &MockServer, file: &Path) -> msal::ConfidentialClientApplication {
    msal::ConfidentialClientApplication::builder(SSH_CLIENT)
        .authority(&format!("https://login.microsoftonline.com/{SSH_TENANT}"))
        .client_secret("interop-secret")
        .http_client(msal_tests::harness::LoopbackTransport::new(server))
        .cache(FileCache::new(file))
        .build()
        .unwrap()
}

fn ssh_request(key_id: &str) -> msal::SshCertificateRequest {
    // A made-up RSA key: the request is never checked against it here.
    let jwk = msal::RsaPublicJwk::from_components(&[0xc5; 256], &[1, 0, 1]).unwrap();
    msal::SshCertificateRequest::new(key_id, &jwk).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_finds_the_ssh_certificate_msal_rs_cached() {
    let Some(python) = msal_python() else { return };
    let server = MockServer::start().await;
    Mock::given(path(format!("/{SSH_TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "ssh-cert", "access_token": "cert-by-rust", "expires_in": 3600,
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.json");
    let r = ssh_app(&server, &file)
        .acquire_token_for_client([SSH_SCOPE])
        .ssh_certificate(ssh_request("rs-key"))
        .await
        .unwrap();
    assert_eq!(r.access_token(), "cert-by-rust");
    let found = python_ssh_cert(&python, ssh_args("read", &file, "rs-key")).await;
    assert_eq!(found.as_deref(), Some("cert-by-rust"));
    // Another key id is not served it.
    assert_eq!(
        python_ssh_cert(&python, ssh_args("read", &file, "other")).await,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_rs_serves_the_ssh_certificate_msal_python_cached() {
    let Some(python) = msal_python() else { return };
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.json");
    let mut args = ssh_args("write", &file, "py-key");
    args.push("cert-by-python".into());
    python_ssh_cert(&python, args).await;
    let app = ssh_app(&server, &file);
    let r = app
        .acquire_token_for_client([SSH_SCOPE])
        .ssh_certificate(ssh_request("py-key"))
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.token_type(), r.source()),
        ("cert-by-python", "ssh-cert", TokenSource::Cache)
    );
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}
