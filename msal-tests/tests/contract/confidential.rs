//! Contract tests of `ConfidentialClientApplication` against wiremock, on whichever cache backend
//! `MSAL_TEST_BACKEND` selects: client credentials (secret, certificate, assertion callback),
//! on-behalf-of, the web app authorization code flow and silent calls after it, the cache
//! partitions each grant uses, regional endpoints and instance discovery. Client assertion JWTs
//! are verified with an independent JWT library (`jsonwebtoken`, RustCrypto backend) against the
//! committed test certificate's public key.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use msal::cache::{CacheError, CacheStore, Current, Loaded, Partition, StoreVersion, UpdateFn};
use msal::http::{HttpClient, HttpError, RetryPolicy};
use msal::{
    AssertionError, AssertionRequest, ClientCertificate, ConfidentialClientApplication,
    ConfidentialClientApplicationBuilder, Error, JwtSignature, ManualClock, Prompt, TokenSource,
    WebUiError,
};
use msal_tests::harness::*;
use serde_json::{json, Value};
use sha2::Digest;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "cc-secret-7Hq~p2.Zx";
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const GRAPH_USER_READ: &str = "https://graph.microsoft.com/User.Read";
const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

const CERT_PEM: &[u8] = include_bytes!("../../data/certs/cert.pem");
const KEY_PKCS8_PEM: &[u8] = include_bytes!("../../data/certs/key-pkcs8.pem");
const KEY_PKCS1_PEM: &[u8] = include_bytes!("../../data/certs/key-pkcs1.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("../../data/certs/public.pem");
const P12_AES: &[u8] = include_bytes!("../../data/certs/cert-aes.p12");
const P12_LEGACY: &[u8] = include_bytes!("../../data/certs/cert-legacy.p12");
const P12_PASSWORD: &str = "test-password";
const OTHER_CERT_PEM: &[u8] = include_bytes!("../../data/certs/other-cert.pem");
const OTHER_KEY_PEM: &[u8] = include_bytes!("../../data/certs/other-key.pem");

// ------------------------------------------------------------------------------------------
// Harness

fn authority(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}")
}

fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

fn token_url(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
}

fn app_partition(tenant: &str) -> Partition<'_> {
    Partition::App {
        client_id: CLIENT_ID,
        tenant,
    }
}

/// The loopback transport, recording the URL of every request as msal-rs made it (before the
/// host is rewritten to wiremock's).
#[derive(Clone)]
struct Recording {
    inner: LoopbackTransport,
    urls: Arc<Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl HttpClient for Recording {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.urls.lock().unwrap().push(request.uri().to_string());
        self.inner.send(request).await
    }
}

/// A confidential client, its clock, its cache and the wiremock server it talks to.
struct Cc {
    server: MockServer,
    clock: ManualClock,
    cache: TestStore,
    urls: Arc<Mutex<Vec<String>>>,
    app: ConfidentialClientApplication,
}

impl Cc {
    /// An app for `CLIENT_ID` in tenant `UTID` with a client secret.
    async fn new() -> Cc {
        Cc::with(|b| b.client_secret(SECRET)).await
    }

    /// An app for `CLIENT_ID` in tenant `UTID`, configured further by `configure` (which must
    /// give it a credential).
    async fn with(
        configure: impl FnOnce(
            ConfidentialClientApplicationBuilder,
        ) -> ConfidentialClientApplicationBuilder,
    ) -> Cc {
        let server = MockServer::start().await;
        let clock = ManualClock::at_unix(T0);
        let cache = TestStore::from_env();
        let urls = Arc::new(Mutex::new(Vec::new()));
        let builder = cc_builder(&server, &clock, &cache, &urls).authority(&authority(UTID));
        let app = configure(builder).build().unwrap();
        Cc {
            server,
            clock,
            cache,
            urls,
            app,
        }
    }

    async fn requests(&self) -> Vec<wiremock::Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    async fn token_requests(&self) -> Vec<wiremock::Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.url.path().ends_with("/token"))
            .collect()
    }

    fn urls(&self) -> Vec<String> {
        self.urls.lock().unwrap().clone()
    }

    /// The stored document of `partition` as JSON (`{}` when nothing is stored).
    async fn stored(&self, partition: Partition<'_>) -> Value {
        let bytes = self
            .cache
            .snapshot_of(partition)
            .await
            .unwrap_or_else(|| b"{}".to_vec());
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The raw stored bytes of `partition` (decrypted for the encrypted backend).
    async fn stored_bytes(&self, partition: Partition<'_>) -> Vec<u8> {
        self.cache.snapshot_of(partition).await.unwrap_or_default()
    }
}

fn cc_builder(
    server: &MockServer,
    clock: &ManualClock,
    cache: &TestStore,
    urls: &Arc<Mutex<Vec<String>>>,
) -> ConfidentialClientApplicationBuilder {
    ConfidentialClientApplication::builder(CLIENT_ID)
        .http_client(Recording {
            inner: LoopbackTransport::new(server),
            urls: Arc::clone(urls),
        })
        .clock(clock.clone())
        .cache(cache.clone())
        .retry_policy(RetryPolicy {
            max_retries: 1,
            delay: Duration::from_millis(20),
        })
}

/// A client credentials answer: no refresh token, no ID token, no client_info, no scope (as
/// Entra answers a `.default` request).
fn app_token(access_token: &str, expires_in: u64) -> Value {
    json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    })
}

/// A client credentials token endpoint for `tenant` answering `body`.
fn cc_ok(tenant: &str, body: Value) -> Mock {
    cc_ok_for(tenant, "", body)
}

/// A client credentials token endpoint for `tenant` answering `body` to requests whose body
/// contains `contains`.
fn cc_ok_for(tenant: &str, contains: &str, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(token_path(tenant)))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(contains))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn is_empty_or_absent(v: &Value, field: &str) -> bool {
    match v.get(field) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

fn scopes_of(form: &HashMap<String, String>) -> BTreeSet<String> {
    form["scope"].split(' ').map(str::to_owned).collect()
}

fn keys_of(form: &HashMap<String, String>) -> BTreeSet<&str> {
    form.keys().map(String::as_str).collect()
}

/// Polls `condition` (real time, bounded) until it holds: for work that goes on in the
/// background. Asserts nothing about how long it took.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..1000 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

// ------------------------------------------------------------------------------------------
// Client credentials with a secret

/// Behaviour: the client credentials request is exactly `client_id`, `client_secret`,
/// `grant_type=client_credentials` and the resource scope (no openid/profile/offline_access);
/// the result is an app token (no account, no ID token, the tenant); the second call is served
/// from the cache without a request; the cached entry is an access token with no home account
/// and there is no refresh token, ID token or account.
#[tokio::test]
async fn client_credentials_send_the_exact_form_and_the_second_call_is_a_cache_hit() {
    let cc = Cc::new().await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;

    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "app-at-1");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(r.token_type(), "Bearer");
    assert!(r.account().is_none());
    assert!(r.id_token().is_none());
    assert_eq!(r.tenant_id(), Some(UTID));
    assert_eq!(r.expires_on(), at(T0 + 3600));
    assert_eq!(r.scopes(), vec![GRAPH_DEFAULT.to_owned()]);

    let requests = cc.token_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), token_path(UTID));
    let f = form(&requests[0]);
    assert_eq!(
        keys_of(&f),
        BTreeSet::from(["client_id", "client_secret", "grant_type", "scope"]),
        "{f:?}"
    );
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["client_secret"], SECRET);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["scope"], GRAPH_DEFAULT);
    assert_eq!(
        cc.urls(),
        vec![token_url(UTID)],
        "a known Entra host needs no discovery"
    );

    let hit = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(hit.access_token(), "app-at-1");
    assert_eq!(hit.source(), TokenSource::Cache);
    assert!(hit.account().is_none());
    assert_eq!(hit.tenant_id(), Some(UTID));
    assert_eq!(cc.token_requests().await.len(), 1);

    let doc = cc.stored(app_partition(UTID)).await;
    let ats = entries(&doc, "AccessToken");
    assert_eq!(ats.len(), 1, "{doc:#}");
    let entry = &ats[0];
    assert_eq!(entry["secret"], "app-at-1");
    assert_eq!(entry["client_id"], CLIENT_ID);
    assert_eq!(entry["realm"], UTID);
    assert_eq!(entry["environment"], ENV);
    assert!(is_empty_or_absent(entry, "home_account_id"), "{entry:#}");
    assert!(entry["target"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(GRAPH_DEFAULT));
    assert!(entries(&doc, "RefreshToken").is_empty(), "{doc:#}");
    assert!(entries(&doc, "IdToken").is_empty(), "{doc:#}");
    assert!(entries(&doc, "Account").is_empty(), "{doc:#}");
}

/// Behaviour: reserved scopes given by the caller are not sent with client credentials, and a
/// request with only reserved scopes (or none) is an invalid argument that sends nothing.
#[tokio::test]
async fn reserved_scopes_are_not_sent_and_alone_are_rejected() {
    let cc = Cc::new().await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client(["openid", GRAPH_DEFAULT, "offline_access", "profile"])
        .await
        .unwrap();
    let f = form(&cc.token_requests().await[0]);
    assert_eq!(f["scope"], GRAPH_DEFAULT);

    for scopes in [vec!["openid", "profile", "offline_access"], vec![]] {
        let e = cc.app.acquire_token_for_client(scopes).await.unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    }
    assert_eq!(cc.token_requests().await.len(), 1);
}

/// Behaviour: a token for another scope set is a new request; both tokens stay cached and are
/// served for their own scopes.
#[tokio::test]
async fn another_scope_set_is_a_new_request_and_both_stay_cached() {
    let cc = Cc::new().await;
    cc_ok_for(UTID, "graph.microsoft.com", app_token("graph-at", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc_ok_for(UTID, "vault.azure.net", app_token("vault-at", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;

    let graph = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    let vault = cc
        .app
        .acquire_token_for_client(["https://vault.azure.net/.default"])
        .await
        .unwrap();
    assert_eq!(
        (graph.access_token(), vault.access_token()),
        ("graph-at", "vault-at")
    );
    assert_eq!(vault.source(), TokenSource::IdentityProvider);

    for (scope, expected) in [
        (GRAPH_DEFAULT, "graph-at"),
        ("https://vault.azure.net/.default", "vault-at"),
    ] {
        let r = cc.app.acquire_token_for_client([scope]).await.unwrap();
        assert_eq!(
            (r.access_token(), r.source()),
            (expected, TokenSource::Cache)
        );
    }
    assert_eq!(cc.token_requests().await.len(), 2);
    let doc = cc.stored(app_partition(UTID)).await;
    let mut secrets = access_token_secrets(&doc);
    secrets.sort();
    assert_eq!(secrets, vec!["graph-at", "vault-at"]);
}

/// Behaviour: `.tenant("other")` sends the request to `/other/oauth2/v2.0/token` and caches the
/// token under that tenant, apart from the configured tenant's: each is served to its own
/// tenant only, and the app partition of each tenant holds only its own token.
#[tokio::test]
async fn a_per_request_tenant_goes_to_that_tenant_and_is_cached_separately() {
    let cc = Cc::new().await;
    cc_ok("other", app_token("other-at", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("home-at", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;

    let other = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("other")
        .await
        .unwrap();
    assert_eq!(other.access_token(), "other-at");
    assert_eq!(other.tenant_id(), Some("other"));
    assert_eq!(cc.urls(), vec![token_url("other")]);

    // The configured tenant is not served the other tenant's token.
    let home = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (home.access_token(), home.source()),
        ("home-at", TokenSource::IdentityProvider)
    );

    // Both from the cache now.
    let other_hit = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("other")
        .await
        .unwrap();
    assert_eq!(
        (other_hit.access_token(), other_hit.source()),
        ("other-at", TokenSource::Cache)
    );
    let home_hit = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (home_hit.access_token(), home_hit.source()),
        ("home-at", TokenSource::Cache)
    );
    assert_eq!(cc.token_requests().await.len(), 2);

    let other_doc = cc.stored(app_partition("other")).await;
    let other_entry = entries(&other_doc, "AccessToken")
        .into_iter()
        .find(|e| e["secret"] == "other-at")
        .expect("the other tenant's token is stored in its partition");
    assert_eq!(other_entry["realm"], "other");
    if cc.cache.partitioned() {
        assert_eq!(access_token_secrets(&other_doc), vec!["other-at"]);
        assert_eq!(
            access_token_secrets(&cc.stored(app_partition(UTID)).await),
            vec!["home-at"]
        );
    }
}

/// Behaviour: repeated app-token hits come from the hit memo (the same token bytes, shared),
/// keyed by the request's tenant as given: another tenant never gets this tenant's token, a
/// tenant spelled in another case gets the full lookup's answer, and a token inside the expiry
/// buffer is replaced, memo or not.
#[tokio::test]
async fn repeated_app_token_hits_share_one_result_per_tenant() {
    let cc = Cc::new().await;
    cc_ok("other", app_token("other-at", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("home-at", 3600))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;

    let mut home = Vec::new();
    let mut other = Vec::new();
    for _ in 0..3 {
        home.push(
            cc.app
                .acquire_token_for_client([GRAPH_DEFAULT])
                .await
                .unwrap(),
        );
        other.push(
            cc.app
                .acquire_token_for_client([GRAPH_DEFAULT])
                .tenant("other")
                .await
                .unwrap(),
        );
    }
    assert!(home.iter().all(|r| r.access_token() == "home-at"));
    assert!(other.iter().all(|r| r.access_token() == "other-at"));
    assert_eq!(home[2].source(), TokenSource::Cache);
    assert_eq!(
        home[1].access_token().as_ptr(),
        home[2].access_token().as_ptr(),
        "the third hit shares the second one's token"
    );
    assert_eq!(
        other[1].access_token().as_ptr(),
        other[2].access_token().as_ptr()
    );
    assert_ne!(home[1].correlation_id(), home[2].correlation_id());
    let spelled = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("OTHER")
        .await
        .unwrap();
    assert_eq!(
        (spelled.access_token(), spelled.source()),
        ("other-at", TokenSource::Cache)
    );
    assert_eq!(cc.token_requests().await.len(), 2);

    cc_ok(UTID, app_token("home-at-2", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc.clock.advance(Duration::from_secs(3600 - 300));
    let renewed = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (renewed.access_token(), renewed.source()),
        ("home-at-2", TokenSource::IdentityProvider)
    );
    for _ in 0..2 {
        let hit = cc
            .app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .await
            .unwrap();
        assert_eq!(
            (hit.access_token(), hit.source()),
            ("home-at-2", TokenSource::Cache)
        );
    }
}

/// Behaviour: a per-request tenant that is not a GUID or domain name (anything that would
/// change the URL's path, query or fragment) is an invalid argument and sends nothing.
#[tokio::test]
async fn invalid_tenant_strings_are_rejected_without_a_request() {
    let cc = Cc::new().await;
    let too_long = "a".repeat(257);
    for tenant in [
        "a/b",
        "../common",
        "x?y=1",
        "x#y",
        "two words",
        "ten%2fant",
        "tenänt",
        too_long.as_str(),
    ] {
        let e = cc
            .app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .tenant(tenant)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{tenant:?}: {e:?}");
    }
    assert!(cc.requests().await.is_empty());
    assert!(cc.urls().is_empty());
}

/// Behaviour: client credentials need a tenant: an app at `common` or `organizations` without a
/// per-request tenant gets InvalidArgument and sends nothing; with `.tenant(..)` it works.
#[tokio::test]
async fn multi_tenant_authority_without_a_tenant_is_an_invalid_argument() {
    for multi in ["common", "organizations"] {
        let cc = Cc::with(|b| b.authority(&authority(multi)).client_secret(SECRET)).await;
        let e = cc
            .app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("tenant")),
            "{multi}: {e:?}"
        );
        assert!(cc.requests().await.is_empty());

        cc_ok(UTID, app_token("tenant-at", 3600))
            .expect(1)
            .mount(&cc.server)
            .await;
        let r = cc
            .app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .tenant(UTID)
            .await
            .unwrap();
        assert_eq!(r.access_token(), "tenant-at");
        assert_eq!(cc.urls(), vec![token_url(UTID)]);
    }
}

/// Behaviour: client capabilities are sent as the `xms_cc` claim with every request (without
/// bypassing the cache); `force_refresh` and a claims challenge skip the cache; the challenge is
/// sent merged with the capabilities; the newest token is what the cache serves afterwards.
#[tokio::test]
async fn force_refresh_and_claims_bypass_the_cache_and_claims_carry_the_capabilities() {
    let cc = Cc::with(|b| b.client_secret(SECRET).client_capabilities(["cp1"])).await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("app-at-2", 3600))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("app-at-3", 3600))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;

    let first = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(first.access_token(), "app-at-1");
    let capabilities_only: Value =
        serde_json::from_str(&form(&cc.token_requests().await[0])["claims"]).unwrap();
    assert_eq!(
        capabilities_only,
        json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
    );
    // Capabilities alone do not bypass the cache.
    let hit = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(hit.source(), TokenSource::Cache);

    let forced = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(
        (forced.access_token(), forced.source()),
        ("app-at-2", TokenSource::IdentityProvider)
    );

    let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let challenged = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .claims(challenge)
        .await
        .unwrap();
    assert_eq!(
        (challenged.access_token(), challenged.source()),
        ("app-at-3", TokenSource::IdentityProvider)
    );
    let requests = cc.token_requests().await;
    assert_eq!(requests.len(), 3);
    let sent: Value = serde_json::from_str(&form(&requests[2])["claims"]).unwrap();
    assert_eq!(
        sent,
        json!({"access_token": {
            "nbf": {"essential": true, "value": "1700000000"},
            "xms_cc": {"values": ["cp1"]},
        }})
    );

    let later = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (later.access_token(), later.source()),
        ("app-at-3", TokenSource::Cache)
    );
    assert_eq!(cc.token_requests().await.len(), 3);

    // A claims value that is not a JSON object is an invalid argument, sent nowhere.
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .claims("not json")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_eq!(cc.token_requests().await.len(), 3);
}

/// Behaviour: once `refresh_in` has passed, the cached token is still served at once, and one
/// background request (however many calls arrive meanwhile) replaces it in the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_in_serves_the_cached_token_and_refreshes_once_in_the_background() {
    let cc = Cc::new().await;
    let mut first = app_token("app-at-1", 7200);
    first["refresh_in"] = json!(3600);
    cc_ok(UTID, first).up_to_n_times(1).mount(&cc.server).await;
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(r.refresh_on(), Some(at(T0 + 3600)));

    // The background refresh's answer is slow, so the calls below arrive while it is running.
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(app_token("app-at-2", 7200))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&cc.server)
        .await;

    cc.clock.advance(Duration::from_secs(3700));
    for _ in 0..5 {
        let served = cc
            .app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .await
            .unwrap();
        assert_eq!(served.source(), TokenSource::Cache);
        assert!(
            served.access_token() == "app-at-1" || served.access_token() == "app-at-2",
            "{}",
            served.access_token()
        );
    }
    eventually("the background refresh landed in the cache", || async {
        cc.app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .await
            .unwrap()
            .access_token()
            == "app-at-2"
    })
    .await;
    assert_eq!(cc.token_requests().await.len(), 2);
    let doc = cc.stored(app_partition(UTID)).await;
    assert_eq!(access_token_secrets(&doc), vec!["app-at-2"]);
}

/// Behaviour: a cached token that expires within the 5-minute buffer is not served: a new
/// request replaces it.
#[tokio::test]
async fn a_token_inside_the_expiry_buffer_is_replaced() {
    let cc = Cc::new().await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("app-at-2", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();

    // 301 s left: still served.
    cc.clock.advance(Duration::from_secs(3299));
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("app-at-1", TokenSource::Cache)
    );

    // 299 s left: replaced.
    cc.clock.advance(Duration::from_secs(2));
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("app-at-2", TokenSource::IdentityProvider)
    );
    assert_eq!(r.expires_on(), at(T0 + 3301 + 3600));
    assert_eq!(cc.token_requests().await.len(), 2);
}

/// Behaviour: single-flight: 50 concurrent calls for the same app token make one request and
/// all get its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_make_one_request() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(app_token("app-at-1", 3600))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&cc.server)
        .await;
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let app = cc.app.clone();
            tokio::spawn(async move { app.acquire_token_for_client([GRAPH_DEFAULT]).await })
        })
        .collect();
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().access_token(), "app-at-1");
    }
    assert_eq!(cc.token_requests().await.len(), 1);
}

// ------------------------------------------------------------------------------------------
// Client credentials: errors and throttling

/// Behaviour: `invalid_client` is a service error with the server's details (not "UI
/// required", not transient); nothing is cached.
#[tokio::test]
async fn invalid_client_is_a_service_error() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
            "error_codes": [7000215],
            "correlation_id": "server-correlation",
        })))
        .expect(1)
        .mount(&cc.server)
        .await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    match &e {
        Error::Service(s) => {
            assert_eq!(s.status, 401);
            assert_eq!(s.oauth.error, "invalid_client");
            assert_eq!(s.oauth.error_codes, vec![7000215]);
            assert_eq!(s.correlation_id.as_deref(), Some("server-correlation"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_ui_required() && !e.is_transient());
    assert!(!e.to_string().contains(SECRET));
    assert!(access_token_secrets(&cc.stored(app_partition(UTID)).await).is_empty());
}

/// Behaviour: `invalid_scope` (e.g. a scope that is not `/.default`) is a service error.
#[tokio::test]
async fn invalid_scope_is_a_service_error() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_scope",
            "error_description": "AADSTS1002012: The provided value for scope User.Read is not valid.",
            "error_codes": [1002012],
        })))
        .expect(1)
        .mount(&cc.server)
        .await;
    let e = cc
        .app
        .acquire_token_for_client(["User.Read"])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Service(s) if s.status == 400 && s.oauth.error == "invalid_scope"),
        "{e:?}"
    );
    assert!(!e.is_ui_required());
}

/// Behaviour: a 5xx without Retry-After is retried once, then reported as a transient error;
/// identical requests are then blocked locally for a confidential client's 5 s (fail fast with
/// `Throttled`, no request), after which a request goes out again.
#[tokio::test]
async fn server_errors_are_retried_once_then_reported_and_briefly_throttled() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "error": "temporarily_unavailable",
            "error_description": "AADSTS90033: try again",
        })))
        .up_to_n_times(2)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .mount(&cc.server)
        .await;

    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(e.is_transient() && !e.is_ui_required(), "{e:?}");
    assert_eq!(cc.token_requests().await.len(), 2, "one retry");

    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Throttled { until, status: 503 } if until == at(T0 + 5)),
        "{e:?}"
    );
    assert_eq!(cc.token_requests().await.len(), 2);

    cc.clock.advance(Duration::from_secs(6));
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "app-at-1");
    assert_eq!(cc.token_requests().await.len(), 3);
}

/// Behaviour: 429 with `Retry-After` is not retried; the next identical call fails fast with
/// `Throttled` until then, without a request; another scope or tenant is not blocked; once
/// `Retry-After` has passed a request goes out.
#[tokio::test]
async fn retry_after_throttles_identical_calls_without_a_request() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("graph.microsoft.com"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_json(json!({"error": "temporarily_unavailable"})),
        )
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .mount(&cc.server)
        .await;
    cc_ok("other", app_token("other-at", 3600))
        .mount(&cc.server)
        .await;

    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(
        cc.token_requests().await.len(),
        1,
        "a 429 with Retry-After is not retried"
    );

    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Throttled { until, status: 429 } if until == at(T0 + 30)),
        "{e:?}"
    );
    assert_eq!(cc.token_requests().await.len(), 1);

    // Not identical: another scope, another tenant.
    let vault = cc
        .app
        .acquire_token_for_client(["https://vault.azure.net/.default"])
        .await
        .unwrap();
    assert_eq!(vault.access_token(), "app-at-1");
    let other = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("other")
        .await
        .unwrap();
    assert_eq!(other.access_token(), "other-at");
    assert_eq!(cc.token_requests().await.len(), 3);

    cc.clock.advance(Duration::from_secs(31));
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(cc.token_requests().await.len(), 4);
}

/// Behaviour: an answer that is not JSON (a proxy's or captive portal's page) is a protocol
/// error carrying the status, and nothing is cached.
#[tokio::test]
async fn a_non_json_answer_is_a_protocol_error() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Sign in to the hotel Wi-Fi</body></html>"),
        )
        .mount(&cc.server)
        .await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    // An HTML page is not the identity provider's answer (issue 14 §4): transient.
    assert!(
        matches!(e, Error::ServiceUnavailable { status: 200, .. }),
        "{e:?}"
    );
    assert!(access_token_secrets(&cc.stored(app_partition(UTID)).await).is_empty());
}

/// Behaviour: a token type other than Bearer is a protocol error (msal-rs sends no PoP request).
#[tokio::test]
async fn a_non_bearer_token_is_a_protocol_error() {
    let cc = Cc::new().await;
    let mut body = app_token("pop-at", 3600);
    body["token_type"] = json!("pop");
    cc_ok(UTID, body).mount(&cc.server).await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(access_token_secrets(&cc.stored(app_partition(UTID)).await).is_empty());
}

/// Behaviour: when the token is inside the expiry buffer but not expired and its refresh fails
/// (an outage, or even `invalid_client`), the cached token is served instead of the error.
#[tokio::test]
async fn a_still_valid_token_is_served_when_its_refresh_fails() {
    let cc = Cc::new().await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream down"))
        .mount(&cc.server)
        .await;

    cc.clock.advance(Duration::from_secs(3400));
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("app-at-1", TokenSource::Cache)
    );
    assert_eq!(
        cc.token_requests().await.len(),
        3,
        "the refresh was tried (and retried)"
    );

    // Once it has really expired, the failure is reported.
    cc.clock.advance(Duration::from_secs(300));
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
}

// ------------------------------------------------------------------------------------------
// Certificates

fn pem_body_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let b64: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(b64).unwrap()
}

fn cert_der() -> Vec<u8> {
    pem_body_der(CERT_PEM)
}

fn certificate() -> ClientCertificate {
    ClientCertificate::from_pem(CERT_PEM, KEY_PKCS8_PEM).unwrap()
}

/// The client assertion of a recorded request, after checking the assertion type and that no
/// secret was sent alongside.
fn client_assertion(request: &wiremock::Request) -> String {
    let f = form(request);
    assert_eq!(f["client_assertion_type"], JWT_BEARER_ASSERTION_TYPE);
    assert!(!f.contains_key("client_secret"), "{f:?}");
    f["client_assertion"].clone()
}

/// Verify a client assertion with `jsonwebtoken` against public.pem: the signature with `alg`,
/// `aud` = `audience` exactly, `iss` = `sub` = the client id. Expiry is checked by the caller
/// against the app's (manual) clock, not the system clock.
fn verify_assertion(
    assertion: &str,
    alg: Algorithm,
    audience: &str,
) -> (jsonwebtoken::Header, Value) {
    let key = DecodingKey::from_rsa_pem(PUBLIC_PEM).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.sub = Some(CLIENT_ID.to_owned());
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .unwrap_or_else(|e| panic!("the client assertion does not verify: {e}"));
    (data.header, data.claims)
}

fn sha256_thumbprint() -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der()))
}

fn sha1_thumbprint() -> String {
    URL_SAFE_NO_PAD.encode(sha1_smol::Sha1::from(cert_der()).digest().bytes())
}

/// Behaviour: for Entra, a certificate credential sends a client assertion that verifies with
/// the certificate's public key as PS256, names the certificate by `x5t#S256` (base64url SHA-256
/// of its DER; no SHA-1 `x5t`, no `x5c`), has `aud` = the token endpoint, `iss` = `sub` = the
/// client id, `iat` = `nbf` = now, a 10-minute lifetime and a `jti` never reused; a tampered
/// signature does not verify (the check is real).
#[tokio::test]
async fn certificate_assertion_for_entra_is_ps256_with_x5t_s256_and_verifies() {
    let cc = Cc::with(|b| b.certificate(certificate())).await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .expect(2)
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    cc.clock.advance(Duration::from_secs(5));
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .force_refresh(true)
        .await
        .unwrap();

    let requests = cc.token_requests().await;
    let f = form(&requests[0]);
    assert_eq!(
        keys_of(&f),
        BTreeSet::from([
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type",
            "scope"
        ])
    );
    let first = client_assertion(&requests[0]);
    let (header, claims) = verify_assertion(&first, Algorithm::PS256, &token_url(UTID));
    assert_eq!(header.alg, Algorithm::PS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(
        header.x5t_s256.as_deref(),
        Some(sha256_thumbprint().as_str())
    );
    assert_eq!(header.x5t, None);
    assert_eq!(header.x5c, None);
    assert_eq!(claims["aud"], token_url(UTID));
    assert_eq!(claims["iss"], CLIENT_ID);
    assert_eq!(claims["sub"], CLIENT_ID);
    assert_eq!(claims["iat"], T0);
    assert_eq!(claims["nbf"], T0);
    assert_eq!(claims["exp"], T0 + 600);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );
    let jti1 = claims["jti"].as_str().unwrap().to_owned();
    assert!(jti1.len() >= 16, "{jti1}");

    let second = client_assertion(&requests[1]);
    let (_, claims2) = verify_assertion(&second, Algorithm::PS256, &token_url(UTID));
    assert_eq!(claims2["iat"], T0 + 5, "a fresh assertion per request");
    assert_ne!(
        claims2["jti"].as_str().unwrap(),
        jti1,
        "jti is never reused"
    );

    // The same JWT with one signature byte changed must not verify.
    let (signed, signature) = first.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 0x01;
    let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    let mut validation = Validation::new(Algorithm::PS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    assert!(jsonwebtoken::decode::<Value>(
        &tampered,
        &DecodingKey::from_rsa_pem(PUBLIC_PEM).unwrap(),
        &validation
    )
    .is_err());
}

/// Behaviour: a generic OpenID Connect authority gets RS256 with the SHA-1 `x5t`, and `aud` is
/// the token endpoint from its discovery document.
#[tokio::test]
async fn certificate_assertion_for_an_oidc_authority_is_rs256_with_x5t() {
    let issuer = "https://idp.example.test/tenant-x";
    let token_endpoint = "https://idp.example.test/tenant-x/oauth2/token";
    let cc = Cc::with(|b| b.oidc_authority(issuer).certificate(certificate())).await;
    Mock::given(method("GET"))
        .and(path("/tenant-x/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": "https://idp.example.test/tenant-x/oauth2/authorize",
            "token_endpoint": token_endpoint,
        })))
        .expect(1)
        .mount(&cc.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-x/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("oidc-at", 3600)))
        .expect(1)
        .mount(&cc.server)
        .await;

    let r = cc
        .app
        .acquire_token_for_client(["api://backend/.default"])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "oidc-at");
    let assertion = client_assertion(&cc.token_requests().await[0]);
    let (header, claims) = verify_assertion(&assertion, Algorithm::RS256, token_endpoint);
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.x5t.as_deref(), Some(sha1_thumbprint().as_str()));
    assert_eq!(header.x5t_s256, None);
    assert_eq!(claims["aud"], token_endpoint);
    assert_eq!(claims["exp"], T0 + 600);
}

/// Behaviour: `JwtSignature::Rs256` forces RS256 + `x5t` for Entra too; `JwtSignature::Ps256`
/// forces PS256 + `x5t#S256` for an OIDC authority; `send_x5c(true)` adds the certificate
/// (standard base64 DER) as `x5c`.
#[tokio::test]
async fn signature_algorithm_override_and_x5c() {
    let cc = Cc::with(|b| {
        b.certificate(
            certificate()
                .signature_algorithm(JwtSignature::Rs256)
                .send_x5c(true),
        )
    })
    .await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    let assertion = client_assertion(&cc.token_requests().await[0]);
    let (header, _) = verify_assertion(&assertion, Algorithm::RS256, &token_url(UTID));
    assert_eq!(header.x5t.as_deref(), Some(sha1_thumbprint().as_str()));
    assert_eq!(header.x5t_s256, None);
    assert_eq!(header.x5c, Some(vec![STANDARD.encode(cert_der())]));

    let issuer = "https://idp.example.test/tenant-y";
    let cc = Cc::with(|b| {
        b.oidc_authority(issuer)
            .certificate(certificate().signature_algorithm(JwtSignature::Ps256))
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/tenant-y/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": "https://idp.example.test/tenant-y/authorize",
            "token_endpoint": "https://idp.example.test/tenant-y/token",
        })))
        .mount(&cc.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-y/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("at", 3600)))
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client(["api://backend/.default"])
        .await
        .unwrap();
    let assertion = client_assertion(&cc.token_requests().await[0]);
    let (header, _) = verify_assertion(
        &assertion,
        Algorithm::PS256,
        "https://idp.example.test/tenant-y/token",
    );
    assert_eq!(
        header.x5t_s256.as_deref(),
        Some(sha256_thumbprint().as_str())
    );
    assert_eq!(header.x5c, None);
}

/// Behaviour: the same key and certificate load from PEM PKCS#8, PEM PKCS#1, a combined PEM,
/// DER, PKCS#12 with AES and legacy PKCS#12: all have the certificate's SHA-1 thumbprint
/// (upper-case hex) and sign assertions that verify with its public key.
#[tokio::test]
async fn every_key_format_loads_and_signs_verifiable_assertions() {
    let expected_thumbprint: String = sha1_smol::Sha1::from(cert_der())
        .digest()
        .bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let combined = [CERT_PEM, KEY_PKCS1_PEM].concat();
    let certificates = [
        (
            "pkcs8 pem",
            ClientCertificate::from_pem(CERT_PEM, KEY_PKCS8_PEM),
        ),
        (
            "pkcs1 pem",
            ClientCertificate::from_pem(CERT_PEM, KEY_PKCS1_PEM),
        ),
        (
            "combined pem",
            ClientCertificate::from_pem(&combined, &combined),
        ),
        (
            "der",
            ClientCertificate::from_der(&cert_der(), &pem_body_der(KEY_PKCS8_PEM)),
        ),
        (
            "pkcs12 aes",
            ClientCertificate::from_pkcs12(P12_AES, P12_PASSWORD),
        ),
        (
            "pkcs12 legacy",
            ClientCertificate::from_pkcs12(P12_LEGACY, P12_PASSWORD),
        ),
    ];
    for (name, certificate) in certificates {
        let certificate = certificate.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(certificate.thumbprint(), expected_thumbprint, "{name}");
        let cc = Cc::with(|b| b.certificate(certificate)).await;
        cc_ok(UTID, app_token("app-at", 3600))
            .expect(1)
            .mount(&cc.server)
            .await;
        cc.app
            .acquire_token_for_client([GRAPH_DEFAULT])
            .await
            .unwrap();
        let assertion = client_assertion(&cc.token_requests().await[0]);
        verify_assertion(&assertion, Algorithm::PS256, &token_url(UTID));
    }
}

fn credential_message(result: Result<ClientCertificate, Error>) -> String {
    match result {
        Err(Error::Credential { message, .. }) => message,
        Err(other) => panic!("expected Error::Credential, got {other:?}"),
        Ok(c) => panic!("expected an error, got {c:?}"),
    }
}

/// Behaviour: unusable certificate input is `Error::Credential` with a message saying what is
/// wrong, never a panic and never key material in the message: a wrong PKCS#12 password,
/// garbage PKCS#12, a key that does not belong to the certificate, garbage or empty PEM, a key
/// where the certificate should be and the other way round, a corrupted PEM body.
#[test]
fn unusable_certificates_are_credential_errors_with_clear_messages() {
    let message = credential_message(ClientCertificate::from_pkcs12(P12_AES, "wrong-password"));
    assert!(
        message.contains("PKCS#12") && message.contains("password"),
        "{message}"
    );
    let message = credential_message(ClientCertificate::from_pkcs12(P12_LEGACY, ""));
    assert!(message.contains("PKCS#12"), "{message}");
    let message = credential_message(ClientCertificate::from_pkcs12(b"not a pfx", P12_PASSWORD));
    assert!(message.contains("PKCS#12"), "{message}");

    let message = credential_message(ClientCertificate::from_pem(CERT_PEM, OTHER_KEY_PEM));
    assert!(message.contains("does not belong"), "{message}");
    let message = credential_message(ClientCertificate::from_pem(OTHER_CERT_PEM, KEY_PKCS8_PEM));
    assert!(message.contains("does not belong"), "{message}");

    let message = credential_message(ClientCertificate::from_pem(b"garbage", KEY_PKCS8_PEM));
    assert!(message.contains("certificate"), "{message}");
    let message = credential_message(ClientCertificate::from_pem(b"", b""));
    assert!(message.contains("certificate"), "{message}");
    let message = credential_message(ClientCertificate::from_pem(CERT_PEM, b"garbage"));
    assert!(message.contains("private key"), "{message}");
    let message = credential_message(ClientCertificate::from_pem(KEY_PKCS8_PEM, CERT_PEM));
    assert!(message.contains("certificate"), "{message}");

    // Corrupted PEM bodies: base64 that is not base64, and valid base64 that is not DER.
    let bad_base64 =
        b"-----BEGIN CERTIFICATE-----\n!!!!not*base64!!!!\n-----END CERTIFICATE-----\n";
    credential_message(ClientCertificate::from_pem(bad_base64, KEY_PKCS8_PEM));
    let not_der = b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
    let message = credential_message(ClientCertificate::from_pem(not_der, KEY_PKCS8_PEM));
    assert!(message.contains("certificate"), "{message}");
    let bad_key = b"-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END PRIVATE KEY-----\n";
    let message = credential_message(ClientCertificate::from_pem(CERT_PEM, bad_key));
    assert!(message.contains("key"), "{message}");
    let message = credential_message(ClientCertificate::from_der(
        &cert_der(),
        b"\x30\x03\x02\x01\x00",
    ));
    assert!(message.contains("key"), "{message}");

    // No message ever quotes the key.
    let key_b64: String = std::str::from_utf8(KEY_PKCS8_PEM)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for result in [
        ClientCertificate::from_pem(OTHER_CERT_PEM, KEY_PKCS8_PEM),
        ClientCertificate::from_pem(KEY_PKCS8_PEM, KEY_PKCS8_PEM),
    ] {
        let e = result.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains(&key_b64[64..96]), "{text}");
    }
}

/// Behaviour: `Debug` of the builder, the app, the certificate and the error of a failed
/// credential never shows the secret or key material (PEM, DER bytes in any notation).
#[test]
fn debug_output_never_shows_secrets_or_key_material() {
    let key_der = pem_body_der(KEY_PKCS8_PEM);
    let key_b64: String = std::str::from_utf8(KEY_PKCS8_PEM)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // Bytes of the key beyond its ASN.1 header, in the notations a Debug could print them.
    let tail = &key_der[40..56];
    let decimal = format!("{tail:?}");
    let decimal = decimal.trim_matches(|c| c == '[' || c == ']');
    let hex_lower: String = tail.iter().map(|b| format!("{b:02x}")).collect();
    let hex_upper = hex_lower.to_ascii_uppercase();
    let leaks = |text: &str| {
        assert!(!text.contains(SECRET), "secret in {text}");
        assert!(!text.contains("PRIVATE KEY"), "PEM in {text}");
        assert!(!text.contains(&key_b64[100..140]), "base64 key in {text}");
        assert!(!text.contains(decimal), "key bytes in {text}");
        assert!(!text.contains(&hex_lower), "hex key in {text}");
        assert!(!text.contains(&hex_upper), "hex key in {text}");
    };

    let secret_builder = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(UTID))
        .client_secret(SECRET);
    let text = format!("{secret_builder:?}");
    leaks(&text);
    assert!(text.contains(CLIENT_ID), "{text}");
    let app = secret_builder.build().unwrap();
    let text = format!("{app:?} {app:#?}");
    leaks(&text);
    assert!(text.contains("redacted"), "{text}");

    let cert = certificate();
    let text = format!("{cert:?} {cert:#?}");
    leaks(&text);
    assert!(text.contains(&cert.thumbprint()), "{text}");
    let cert_builder = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(UTID))
        .certificate(cert.clone());
    leaks(&format!("{cert_builder:?}"));
    let app = cert_builder.build().unwrap();
    leaks(&format!("{app:?} {app:#?}"));

    let assertion_app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(UTID))
        .client_assertion(|_| async { Ok::<_, AssertionError>("federated".to_owned()) })
        .build()
        .unwrap();
    let text = format!("{assertion_app:?}");
    assert!(!text.contains("federated"), "{text}");

    // A request builder carrying a user assertion does not show it either.
    let obo = app.acquire_token_on_behalf_of("the-incoming-user-token", [GRAPH_USER_READ]);
    assert!(!format!("{obo:?}").contains("the-incoming-user-token"));
}

/// Behaviour: a confidential client needs a non-empty credential.
#[test]
fn a_credential_is_required() {
    let e = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(UTID))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    let e = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(UTID))
        .client_secret("  ")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

// ------------------------------------------------------------------------------------------
// Assertion callback (workload identity federation)

/// Behaviour: the callback is asked on every token request with the client id and the token
/// endpoint (the assertion's audience); what it returns is sent as `client_assertion` with the
/// jwt-bearer assertion type, and no secret.
#[tokio::test]
async fn the_assertion_callback_is_asked_for_every_request_and_its_assertion_sent() {
    let asked: Arc<Mutex<Vec<AssertionRequest>>> = Arc::default();
    let seen = Arc::clone(&asked);
    let cc = Cc::with(move |b| {
        b.client_assertion(move |request: AssertionRequest| {
            let seen = Arc::clone(&seen);
            async move {
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(request);
                    seen.len()
                };
                Ok::<_, AssertionError>(format!("federated-assertion-{n}"))
            }
        })
    })
    .await;
    cc_ok(UTID, app_token("app-at-1", 3600))
        .expect(2)
        .mount(&cc.server)
        .await;

    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    // A cache hit needs no assertion.
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(asked.lock().unwrap().len(), 1);
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .force_refresh(true)
        .await
        .unwrap();

    let requests = cc.token_requests().await;
    assert_eq!(client_assertion(&requests[0]), "federated-assertion-1");
    assert_eq!(client_assertion(&requests[1]), "federated-assertion-2");
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 2);
    for request in asked.iter() {
        assert_eq!(request.client_id, CLIENT_ID);
        assert_eq!(request.token_endpoint, token_url(UTID));
    }
}

#[derive(Debug)]
struct TokenFileMissing;

impl std::fmt::Display for TokenFileMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("/var/run/secrets/azure/tokens/azure-identity-token is missing")
    }
}

impl std::error::Error for TokenFileMissing {}

/// Behaviour: the callback's error is `Error::Credential` whose source is that error, and no
/// request is sent; an empty assertion is a credential error too.
#[tokio::test]
async fn the_assertion_callbacks_error_is_a_credential_error_with_its_source() {
    let cc = Cc::with(|b| {
        b.client_assertion(|_| async { Err::<String, AssertionError>(Box::new(TokenFileMissing)) })
    })
    .await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Credential { .. }), "{e:?}");
    let source = std::error::Error::source(&e).expect("the callback's error is the source");
    assert!(source
        .to_string()
        .contains("azure-identity-token is missing"));
    match &e {
        Error::Credential {
            source: Some(source),
            ..
        } => assert!(source.downcast_ref::<TokenFileMissing>().is_some()),
        other => panic!("{other:?}"),
    }
    assert!(cc.requests().await.is_empty());

    let cc =
        Cc::with(|b| b.client_assertion(|_| async { Ok::<String, AssertionError>("  ".into()) }))
            .await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Credential { .. }), "{e:?}");
    assert!(cc.requests().await.is_empty());
}

// ------------------------------------------------------------------------------------------
// On-behalf-of

fn user_assertion(who: &str) -> String {
    jwt(json!({
        "aud": "api://web-api", "iss": format!("https://sts.windows.net/{UTID}/"),
        "sub": format!("{who}-subject"), "oid": UID, "tid": UTID, "iat": T0, "exp": T0 + 3600,
    }))
}

fn obo_exchange(assertion: &str, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("requested_token_use=on_behalf_of"))
        .and(body_string_contains(format!("&assertion={assertion}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn obo_refresh(refresh_token: &str, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!(
            "refresh_token={refresh_token}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn obo_tokens(access_token: &str, refresh_token: &str) -> Value {
    token_response(access_token, Some(refresh_token), GRAPH_USER_READ, 3600)
}

/// Behaviour: the on-behalf-of request is exactly the jwt-bearer grant with the incoming
/// assertion, `requested_token_use=on_behalf_of`, the scope with offline_access (and the OpenID
/// scopes), client_info and the client secret; a second call with the same assertion is a cache
/// hit with no request; the result names the user.
#[tokio::test]
async fn on_behalf_of_sends_the_exact_form_and_the_same_assertion_is_a_cache_hit() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at-1", "obo-rt-1"))
        .expect(1)
        .mount(&cc.server)
        .await;

    let r = cc
        .app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "obo-at-1");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(r.account().unwrap().home_account_id, hid());
    assert_eq!(r.tenant_id(), Some(UTID));

    let f = form(&cc.token_requests().await[0]);
    assert_eq!(
        keys_of(&f),
        BTreeSet::from([
            "assertion",
            "client_id",
            "client_info",
            "client_secret",
            "grant_type",
            "requested_token_use",
            "scope"
        ]),
        "{f:?}"
    );
    assert_eq!(f["grant_type"], OBO_GRANT);
    assert_eq!(f["assertion"], alice);
    assert_eq!(f["requested_token_use"], "on_behalf_of");
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["client_secret"], SECRET);
    assert_eq!(f["client_info"], "1");
    let scopes = scopes_of(&f);
    assert!(scopes.contains(GRAPH_USER_READ), "{scopes:?}");
    assert!(scopes.contains("offline_access"), "{scopes:?}");

    let hit = cc
        .app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        ("obo-at-1", TokenSource::Cache)
    );
    assert_eq!(hit.account().unwrap().home_account_id, hid());
    assert_eq!(cc.token_requests().await.len(), 1);
}

/// Behaviour: a different incoming assertion (another user, or the same user's next token) is
/// never served the first one's token: it makes its own request and gets its own token; each
/// assertion is then served its own token from the cache.
#[tokio::test]
async fn a_different_assertion_is_never_served_another_assertions_token() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    let bob = user_assertion("bob");
    obo_exchange(&alice, obo_tokens("obo-at-alice", "obo-rt-alice"))
        .expect(1)
        .mount(&cc.server)
        .await;
    obo_exchange(&bob, obo_tokens("obo-at-bob", "obo-rt-bob"))
        .expect(1)
        .mount(&cc.server)
        .await;

    let a = cc
        .app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    let b = cc
        .app
        .acquire_token_on_behalf_of(bob.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    assert_eq!(a.access_token(), "obo-at-alice");
    assert_eq!(
        (b.access_token(), b.source()),
        ("obo-at-bob", TokenSource::IdentityProvider)
    );
    for (assertion, expected) in [(&alice, "obo-at-alice"), (&bob, "obo-at-bob")] {
        let r = cc
            .app
            .acquire_token_on_behalf_of(assertion.clone(), [GRAPH_USER_READ])
            .await
            .unwrap();
        assert_eq!(
            (r.access_token(), r.source()),
            (expected, TokenSource::Cache)
        );
    }
    assert_eq!(cc.token_requests().await.len(), 2);

    // Nor does a user's own (non-OBO) silent lookup see OBO tokens: the app has no account.
    assert!(cc.app.account(&hid()).await.unwrap().is_none());
}

/// Behaviour: once the OBO access token nears expiry, the OBO refresh token is redeemed (grant
/// refresh_token with the client secret, no assertion) and rotated; the next refresh uses the
/// rotated one.
#[tokio::test]
async fn after_expiry_the_obo_refresh_token_is_redeemed_and_rotated() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at-1", "obo-rt-1"))
        .expect(1)
        .mount(&cc.server)
        .await;
    obo_refresh("obo-rt-1", obo_tokens("obo-at-2", "obo-rt-2"))
        .expect(1)
        .mount(&cc.server)
        .await;
    obo_refresh("obo-rt-2", obo_tokens("obo-at-3", "obo-rt-3"))
        .expect(1)
        .mount(&cc.server)
        .await;
    let obo = || {
        cc.app
            .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
    };

    obo().await.unwrap();
    cc.clock.advance(Duration::from_secs(3500));
    let r = obo().await.unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("obo-at-2", TokenSource::IdentityProvider)
    );
    let f = form(&cc.token_requests().await[1]);
    assert_eq!(f["grant_type"], "refresh_token");
    assert_eq!(f["refresh_token"], "obo-rt-1");
    assert_eq!(f["client_secret"], SECRET);
    assert!(!f.contains_key("assertion"), "{f:?}");
    assert!(scopes_of(&f).contains(GRAPH_USER_READ));

    let hash = msal::on_behalf_of::user_assertion_hash(&alice);
    let doc = cc.stored(Partition::UserAssertion(&hash)).await;
    assert_eq!(refresh_token_secrets(&doc), vec!["obo-rt-2"]);

    cc.clock.advance(Duration::from_secs(3500));
    let r = obo().await.unwrap();
    assert_eq!(r.access_token(), "obo-at-3");
    assert_eq!(cc.token_requests().await.len(), 3);
}

/// Behaviour: when the OBO refresh token fails with `invalid_grant`, the incoming assertion is
/// exchanged again.
#[tokio::test]
async fn a_failing_obo_refresh_token_falls_back_to_exchanging_the_assertion() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at-1", "obo-rt-1"))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "AADSTS700082: The refresh token has expired due to inactivity.",
            "error_codes": [700082],
        })))
        .expect(1)
        .mount(&cc.server)
        .await;
    obo_exchange(&alice, obo_tokens("obo-at-2", "obo-rt-2"))
        .expect(1)
        .mount(&cc.server)
        .await;

    cc.app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    cc.clock.advance(Duration::from_secs(3500));
    let r = cc
        .app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("obo-at-2", TokenSource::IdentityProvider)
    );
    let grants: Vec<String> = cc
        .token_requests()
        .await
        .iter()
        .map(|r| form(r)["grant_type"].clone())
        .collect();
    assert_eq!(grants, vec![OBO_GRANT, "refresh_token", OBO_GRANT]);
    let hash = msal::on_behalf_of::user_assertion_hash(&alice);
    let doc = cc.stored(Partition::UserAssertion(&hash)).await;
    assert_eq!(refresh_token_secrets(&doc), vec!["obo-rt-2"]);
    assert_eq!(access_token_secrets(&doc), vec!["obo-at-2"]);
}

/// Behaviour: "interaction required" from the on-behalf-of exchange (conditional access) is
/// `Error::UiRequired` carrying the claims challenge for the API's client; nothing is cached;
/// the same exchange is answered from the throttle cache for a while (no request).
#[tokio::test]
async fn interaction_required_is_ui_required_with_the_claims() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    let claims = r#"{"access_token":{"capolids":{"essential":true,"values":["c1b2"]}}}"#;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "interaction_required",
            "error_description": "AADSTS50079: Due to a configuration change made by your administrator, you must enroll in multi-factor authentication.",
            "error_codes": [50079],
            "suberror": "basic_action",
            "claims": claims,
        })))
        .expect(1)
        .mount(&cc.server)
        .await;
    for _ in 0..2 {
        let e = cc
            .app
            .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
            .await
            .unwrap_err();
        assert!(e.is_ui_required(), "{e:?}");
        assert_eq!(e.claims(), Some(claims));
        assert_eq!(
            e.classification(),
            Some(msal::UiRequiredClassification::BasicAction)
        );
    }
    assert_eq!(cc.token_requests().await.len(), 1);
    let hash = msal::on_behalf_of::user_assertion_hash(&alice);
    assert!(access_token_secrets(&cc.stored(Partition::UserAssertion(&hash)).await).is_empty());
}

/// Behaviour: the stored OBO access and refresh tokens carry `user_assertion_hash` (base64url
/// SHA-256 of the assertion, which `user_assertion_hash` computes) and the cache never holds the
/// assertion itself.
#[tokio::test]
async fn stored_obo_entries_carry_the_assertion_hash_and_never_the_assertion() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at-1", "obo-rt-1"))
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();

    let hash = msal::on_behalf_of::user_assertion_hash(&alice);
    assert_eq!(
        hash,
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(alice.as_bytes()))
    );
    let partition = Partition::UserAssertion(&hash);
    let doc = cc.stored(partition).await;
    let ats = entries(&doc, "AccessToken");
    let rts = entries(&doc, "RefreshToken");
    assert_eq!((ats.len(), rts.len()), (1, 1), "{doc:#}");
    assert_eq!(ats[0]["user_assertion_hash"], hash);
    assert_eq!(rts[0]["user_assertion_hash"], hash);
    assert_eq!(ats[0]["home_account_id"], hid());
    assert_eq!(ats[0]["realm"], UTID);

    // Not the assertion, nor its payload, anywhere in what is stored.
    let payload = alice.split('.').nth(1).unwrap();
    for bytes in [
        cc.stored_bytes(partition).await,
        cc.stored_bytes(Partition::All).await,
    ] {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&alice), "the assertion is stored");
        assert!(!text.contains(payload), "the assertion's payload is stored");
    }
    if let Some(path) = cc.cache.location() {
        let raw = std::fs::read(path).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains(payload));
    }
}

/// Behaviour: on-behalf-of needs a tenant and a non-empty assertion.
#[tokio::test]
async fn on_behalf_of_rejects_an_empty_assertion_and_a_multi_tenant_authority() {
    let cc = Cc::new().await;
    let e = cc
        .app
        .acquire_token_on_behalf_of("", [GRAPH_USER_READ])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    let cc = Cc::with(|b| b.authority(&authority("common")).client_secret(SECRET)).await;
    let e = cc
        .app
        .acquire_token_on_behalf_of(user_assertion("alice"), [GRAPH_USER_READ])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(cc.requests().await.is_empty());
}

// ------------------------------------------------------------------------------------------
// Web app: authorization code flow, then silent

const REDIRECT_URI: &str = "https://app.contoso.example/signin-oidc";

fn web_id_token(nonce: &str) -> String {
    jwt(json!({
        "aud": CLIENT_ID, "iss": format!("https://login.microsoftonline.com/{UTID}/v2.0"),
        "sub": "subject", "oid": UID, "tid": UTID, "preferred_username": "alice@contoso.example",
        "name": "Alice", "iat": T0, "exp": T0 + 3600, "nonce": nonce,
    }))
}

fn web_tokens(access_token: &str, refresh_token: &str, nonce: &str) -> Value {
    let mut v = token_response(
        access_token,
        Some(refresh_token),
        "User.Read openid profile offline_access",
        3600,
    );
    v["id_token"] = json!(web_id_token(nonce));
    v
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Behaviour: the authorization URL goes to the tenant's authorize endpoint with client_id,
/// response_type=code, the redirect URI, the scopes with openid profile offline_access, the
/// flow's state and nonce, and the S256 challenge of the flow's verifier; no prompt unless
/// asked; each flow has fresh secrets; the flow survives a serde_json round trip. Building it
/// sends nothing.
#[tokio::test]
async fn the_authorization_request_url_carries_state_nonce_and_pkce() {
    let cc = Cc::new().await;
    let flow = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    let url = url::Url::parse(flow.authorization_url()).unwrap();
    assert_eq!(url.host_str(), Some(ENV));
    assert_eq!(url.path(), format!("/{UTID}/oauth2/v2.0/authorize"));
    let q = query_of(flow.authorization_url());
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    let scopes: BTreeSet<&str> = q["scope"].split(' ').collect();
    assert_eq!(
        scopes,
        BTreeSet::from(["User.Read", "openid", "profile", "offline_access"])
    );
    assert_eq!(q["state"], flow.state());
    assert_eq!(q["nonce"], flow.nonce());
    assert!(flow.state().len() >= 32 && flow.nonce().len() >= 32);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["code_challenge"],
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(flow.pkce_verifier().as_bytes()))
    );
    assert!(!q.contains_key("prompt"), "{q:?}");
    assert_eq!(flow.redirect_uri(), REDIRECT_URI);

    let again = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .prompt(Prompt::SelectAccount)
        .login_hint("alice@contoso.example")
        .await
        .unwrap();
    assert_ne!(again.state(), flow.state());
    assert_ne!(again.nonce(), flow.nonce());
    assert_ne!(again.pkce_verifier(), flow.pkce_verifier());
    let q2 = query_of(again.authorization_url());
    assert_eq!(q2["prompt"], "select_account");
    assert_eq!(q2["login_hint"], "alice@contoso.example");

    let json = serde_json::to_string(&flow).unwrap();
    let back: msal::AuthorizationCodeFlow = serde_json::from_str(&json).unwrap();
    assert_eq!(back.authorization_url(), flow.authorization_url());
    assert_eq!(back.state(), flow.state());
    assert_eq!(back.nonce(), flow.nonce());
    assert_eq!(back.pkce_verifier(), flow.pkce_verifier());
    assert_eq!(back.redirect_uri(), flow.redirect_uri());
    assert_eq!(back.scopes(), flow.scopes());
    assert_eq!(back.correlation_id(), flow.correlation_id());
    // Debug of a flow shows none of its secrets.
    let debug = format!("{flow:?}");
    for secret in [flow.state(), flow.nonce(), flow.pkce_verifier()] {
        assert!(!debug.contains(secret), "{debug}");
    }

    let e = cc
        .app
        .authorization_request(["User.Read"], "not a url")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(cc.requests().await.is_empty());
}

/// Signs alice in through the web app flow; returns the flow's nonce.
async fn web_sign_in(cc: &Cc) -> msal::AuthenticationResult {
    let flow = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(web_tokens(
            "web-at-1",
            "web-rt-1",
            flow.nonce(),
        )))
        .expect(1)
        .mount(&cc.server)
        .await;
    let query = format!(
        "code=the-auth-code&state={}&session_state=xyz",
        flow.state()
    );
    cc.app
        .acquire_token_by_auth_code_flow(&flow, &query)
        .unwrap()
        .await
        .unwrap()
}

/// Behaviour: finishing the flow redeems the code with its PKCE verifier, the redirect URI and
/// the client secret, and caches the user's tokens in the user's partition; `account(hid)` then
/// finds the user, `acquire_token_silent` is a cache hit without a request, and after expiry the
/// refresh token is redeemed with the client secret; `remove_account` signs the user out.
#[tokio::test]
async fn auth_code_flow_redeems_the_code_then_silent_serves_and_refreshes() {
    let cc = Cc::new().await;
    let flow = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    // The flow is what a web app keeps in its session between the two requests.
    let flow: msal::AuthorizationCodeFlow =
        serde_json::from_str(&serde_json::to_string(&flow).unwrap()).unwrap();
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(web_tokens(
            "web-at-1",
            "web-rt-1",
            flow.nonce(),
        )))
        .expect(1)
        .mount(&cc.server)
        .await;

    let query = format!(
        "?code=the-auth-code&state={}&session_state=xyz",
        flow.state()
    );
    let r = cc
        .app
        .acquire_token_by_auth_code_flow(&flow, &query)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(r.access_token(), "web-at-1");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let account = r.account().cloned().unwrap();
    assert_eq!(account.home_account_id, hid());
    assert_eq!(account.username, "alice@contoso.example");

    let f = form(&cc.token_requests().await[0]);
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["code"], "the-auth-code");
    assert_eq!(f["code_verifier"], flow.pkce_verifier());
    assert_eq!(f["redirect_uri"], REDIRECT_URI);
    assert_eq!(f["client_secret"], SECRET);
    assert_eq!(f["client_id"], CLIENT_ID);
    assert!(scopes_of(&f).contains("User.Read"));

    let doc = cc.stored(Partition::Account(&hid())).await;
    assert_eq!(refresh_token_secrets(&doc), vec!["web-rt-1"]);
    assert_eq!(access_token_secrets(&doc), vec!["web-at-1"]);

    let found = cc.app.account(&hid()).await.unwrap().expect("the account");
    assert_eq!(found.username, "alice@contoso.example");
    let hit = cc
        .app
        .acquire_token_silent(["User.Read"], &found)
        .await
        .unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        ("web-at-1", TokenSource::Cache)
    );
    assert_eq!(cc.token_requests().await.len(), 1);

    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "web-at-2",
            Some("web-rt-2"),
            "User.Read openid profile offline_access",
            3600,
        )))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc.clock.advance(Duration::from_secs(3500));
    let refreshed = cc
        .app
        .acquire_token_silent(["User.Read"], &found)
        .await
        .unwrap();
    assert_eq!(
        (refreshed.access_token(), refreshed.source()),
        ("web-at-2", TokenSource::IdentityProvider)
    );
    let f = form(&cc.token_requests().await[1]);
    assert_eq!(f["grant_type"], "refresh_token");
    assert_eq!(f["refresh_token"], "web-rt-1");
    assert_eq!(f["client_secret"], SECRET);
    let doc = cc.stored(Partition::Account(&hid())).await;
    assert_eq!(refresh_token_secrets(&doc), vec!["web-rt-2"]);

    cc.app.remove_account(&found).await.unwrap();
    assert!(cc.app.account(&hid()).await.unwrap().is_none());
    let e = cc
        .app
        .acquire_token_silent(["User.Read"], &found)
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
    let doc = cc.stored(Partition::Account(&hid())).await;
    assert!(refresh_token_secrets(&doc).is_empty(), "{doc:#}");
    assert_eq!(cc.token_requests().await.len(), 2);
}

/// Behaviour: a redirect with another state (or none) is refused before anything is sent; a
/// provider error in the redirect is an interaction error; nothing is cached.
#[tokio::test]
async fn a_wrong_state_is_refused_without_a_request() {
    let cc = Cc::new().await;
    let flow = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    for query in [
        "code=c&state=attacker-state".to_owned(),
        "code=c".to_owned(),
        format!("code=c&state={}x", flow.state()),
    ] {
        let e = cc
            .app
            .acquire_token_by_auth_code_flow(&flow, &query)
            .unwrap_err();
        assert!(
            matches!(e, Error::Interaction(WebUiError::StateMismatch)),
            "{query}: {e:?}"
        );
    }
    let denied = format!(
        "error=access_denied&error_description=the+user+declined&state={}",
        flow.state()
    );
    let e = cc
        .app
        .acquire_token_by_auth_code_flow(&flow, &denied)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Interaction(WebUiError::Provider { error, .. }) if error == "access_denied"),
        "{e:?}"
    );
    assert!(cc.requests().await.is_empty());
    assert!(cc.app.account(&hid()).await.unwrap().is_none());
}

/// Behaviour: an ID token whose nonce is not the flow's is a protocol error and nothing is
/// cached (a replayed or injected ID token).
#[tokio::test]
async fn an_id_token_with_a_wrong_nonce_is_a_protocol_error() {
    let cc = Cc::new().await;
    let flow = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(200).set_body_json(web_tokens(
            "web-at-1",
            "web-rt-1",
            "someone-elses-nonce",
        )))
        .expect(1)
        .mount(&cc.server)
        .await;
    let e = cc
        .app
        .acquire_token_by_auth_code_flow(&flow, &format!("code=c&state={}", flow.state()))
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Protocol { message, .. } if message.contains("nonce")),
        "{e:?}"
    );
    assert!(cc.app.account(&hid()).await.unwrap().is_none());
    let doc = cc.stored(Partition::Account(&hid())).await;
    assert!(refresh_token_secrets(&doc).is_empty());
}

/// Behaviour: the lower-level `acquire_token_by_authorization_code` sends the code, the given
/// verifier and redirect URI and the client secret, and signs the user in.
#[tokio::test]
async fn acquire_token_by_authorization_code_redeems_a_code_directly() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "web-at-1",
            Some("web-rt-1"),
            "User.Read openid profile offline_access",
            3600,
        )))
        .expect(1)
        .mount(&cc.server)
        .await;
    let r = cc
        .app
        .acquire_token_by_authorization_code("raw-code", ["User.Read"], Some("verifier-123"))
        .redirect_uri(REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(r.account().unwrap().home_account_id, hid());
    let f = form(&cc.token_requests().await[0]);
    assert_eq!(f["code"], "raw-code");
    assert_eq!(f["code_verifier"], "verifier-123");
    assert_eq!(f["redirect_uri"], REDIRECT_URI);
    assert_eq!(f["client_secret"], SECRET);
    assert!(cc.app.account(&hid()).await.unwrap().is_some());
}

// ------------------------------------------------------------------------------------------
// Partitions

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Load(String),
    Modify(String),
    Lock(String),
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Load(k) | Op::Modify(k) | Op::Lock(k) => k,
        }
    }
}

/// Documents by partition key: bytes and version.
type Documents = HashMap<String, (Vec<u8>, u64)>;

/// A partitioned store (one document per partition, in memory) recording every call.
#[derive(Default, Clone)]
struct RecordingPartitionedStore {
    docs: Arc<Mutex<Documents>>,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl RecordingPartitionedStore {
    fn take_ops(&self) -> Vec<Op> {
        std::mem::take(&mut *self.ops.lock().unwrap())
    }

    fn doc(&self, key: &str) -> Value {
        let docs = self.docs.lock().unwrap();
        docs.get(key)
            .map(|(bytes, _)| serde_json::from_slice(bytes).unwrap())
            .unwrap_or_else(|| json!({}))
    }
}

#[async_trait::async_trait]
impl CacheStore for RecordingPartitionedStore {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        let key = partition.key();
        self.ops.lock().unwrap().push(Op::Load(key.clone()));
        let docs = self.docs.lock().unwrap();
        Ok(match docs.get(&key) {
            None => Loaded::Missing,
            Some((_, v)) if known == Some(StoreVersion::new(*v)) => Loaded::Unchanged,
            Some((bytes, v)) => Loaded::Data {
                bytes: bytes.clone(),
                version: StoreVersion::new(*v),
            },
        })
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        let key = partition.key();
        self.ops.lock().unwrap().push(Op::Modify(key.clone()));
        let mut docs = self.docs.lock().unwrap();
        let (current, v) = match docs.get(&key) {
            Some((_, v)) if known == Some(StoreVersion::new(*v)) => (Current::Unchanged, *v),
            Some((bytes, v)) => (Current::Data(bytes.as_slice()), *v),
            None => (Current::Missing, 1000),
        };
        let bytes = update(current)?;
        docs.insert(key, (bytes, v + 1));
        Ok(StoreVersion::new(v + 1))
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<msal::cache::RefreshLock>, CacheError> {
        self.ops.lock().unwrap().push(Op::Lock(partition.key()));
        Ok(None)
    }

    fn partitioned(&self) -> bool {
        true
    }
}

fn only_partition(ops: &[Op], key: &str) {
    assert!(!ops.is_empty());
    for op in ops {
        assert_eq!(op.key(), key, "{ops:?}");
    }
}

/// Behaviour: with a partitioned store, app tokens go to `app:{client}:{tenant}` (one partition
/// per tenant), a web app user's tokens to `account:{home account id}`, OBO tokens to
/// `obo:{user_assertion_hash}`; each partition holds only its own tokens, and a cache hit reads
/// only its own partition (one load, answered "unchanged").
#[tokio::test]
async fn each_grant_uses_its_own_partition_and_a_hit_touches_only_it() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let store = RecordingPartitionedStore::default();
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&authority(UTID))
        .client_secret(SECRET)
        .http_client(LoopbackTransport::new(&server))
        .clock(clock.clone())
        .cache(store.clone())
        .build()
        .unwrap();
    cc_ok(UTID, app_token("app-at", 3600)).mount(&server).await;
    cc_ok("other", app_token("other-at", 3600))
        .mount(&server)
        .await;
    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at", "obo-rt"))
        .mount(&server)
        .await;

    let app_key = format!("app:{CLIENT_ID}:{UTID}");
    let other_key = format!("app:{CLIENT_ID}:other");
    let account_key = format!("account:{}", hid());
    let hash = msal::on_behalf_of::user_assertion_hash(&alice);
    let obo_key = format!("obo:{hash}");
    assert_eq!(Partition::UserAssertion(&hash).key(), obo_key);

    app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
    let ops = store.take_ops();
    only_partition(&ops, &app_key);
    assert!(ops.contains(&Op::Modify(app_key.clone())), "{ops:?}");

    app.acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("other")
        .await
        .unwrap();
    only_partition(&store.take_ops(), &other_key);

    // The web app user.
    let flow = app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(web_tokens(
            "web-at",
            "web-rt",
            flow.nonce(),
        )))
        .mount(&server)
        .await;
    let signed_in = app
        .acquire_token_by_auth_code_flow(&flow, &format!("code=c&state={}", flow.state()))
        .unwrap()
        .await
        .unwrap();
    let ops = store.take_ops();
    only_partition(&ops, &account_key);
    assert!(ops.contains(&Op::Modify(account_key.clone())), "{ops:?}");

    app.acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    let ops = store.take_ops();
    only_partition(&ops, &obo_key);
    assert!(ops.contains(&Op::Modify(obo_key.clone())), "{ops:?}");

    // Each partition holds its own tokens only.
    assert_eq!(access_token_secrets(&store.doc(&app_key)), vec!["app-at"]);
    assert_eq!(
        access_token_secrets(&store.doc(&other_key)),
        vec!["other-at"]
    );
    assert_eq!(
        access_token_secrets(&store.doc(&account_key)),
        vec!["web-at"]
    );
    assert_eq!(
        refresh_token_secrets(&store.doc(&account_key)),
        vec!["web-rt"]
    );
    assert_eq!(access_token_secrets(&store.doc(&obo_key)), vec!["obo-at"]);
    assert_eq!(refresh_token_secrets(&store.doc(&obo_key)), vec!["obo-rt"]);
    assert!(!store.docs.lock().unwrap().contains_key("all"));

    // Hits: one load of their own partition each, answered "unchanged".
    let requests_before = server.received_requests().await.unwrap().len();
    let r = app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(store.take_ops(), vec![Op::Load(app_key.clone())]);

    let account = app.account(&hid()).await.unwrap().unwrap();
    only_partition(&store.take_ops(), &account_key);
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(r.access_token(), "web-at");
    assert_eq!(store.take_ops(), vec![Op::Load(account_key.clone())]);
    assert_eq!(
        signed_in.account().unwrap().home_account_id,
        account.home_account_id
    );

    let r = app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(store.take_ops(), vec![Op::Load(obo_key.clone())]);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        requests_before
    );

    // A refresh takes its own partition's refresh lock.
    clock.advance(Duration::from_secs(3500));
    app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
    let ops = store.take_ops();
    only_partition(&ops, &app_key);
    assert!(ops.contains(&Op::Lock(app_key.clone())), "{ops:?}");
}

// ------------------------------------------------------------------------------------------
// Regional endpoints and instance discovery

/// Behaviour: with `azure_region("westus2")`, client credentials go to
/// `westus2.login.microsoft.com` (same path); the token is cached under the configured host and
/// served from there; on-behalf-of and a web app's refresh token keep the global host.
#[tokio::test]
async fn a_region_sends_client_credentials_to_the_regional_host_only() {
    let cc = Cc::with(|b| b.client_secret(SECRET).azure_region(" WestUS2 ")).await;
    cc_ok(UTID, app_token("regional-at", 3600))
        .expect(1)
        .mount(&cc.server)
        .await;
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "regional-at");
    assert_eq!(
        cc.urls(),
        vec![format!(
            "https://westus2.login.microsoft.com/{UTID}/oauth2/v2.0/token"
        )]
    );
    let hit = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    assert_eq!(hit.source(), TokenSource::Cache);
    let doc = cc.stored(app_partition(UTID)).await;
    assert_eq!(entries(&doc, "AccessToken")[0]["environment"], ENV);

    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at", "obo-rt"))
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_on_behalf_of(alice, [GRAPH_USER_READ])
        .await
        .unwrap();
    assert_eq!(cc.urls()[1], token_url(UTID));

    web_sign_in(&cc).await;
    assert_eq!(cc.urls()[2], token_url(UTID));
    let account = cc.app.account(&hid()).await.unwrap().unwrap();
    Mock::given(method("POST"))
        .and(path(token_path(UTID)))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "web-at-2",
            Some("web-rt-2"),
            "User.Read",
            3600,
        )))
        .mount(&cc.server)
        .await;
    cc.clock.advance(Duration::from_secs(3500));
    cc.app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(cc.urls().last().unwrap(), &token_url(UTID));
}

/// Behaviour: a region name that is not letters, digits and dashes is refused when building.
#[test]
fn an_invalid_region_is_rejected() {
    for region in [
        "west us",
        "westus2.evil.example",
        "westus2/x",
        "westus2?x=1",
        "ü",
    ] {
        let e = ConfidentialClientApplication::builder(CLIENT_ID)
            .authority(&authority(UTID))
            .client_secret(SECRET)
            .azure_region(region)
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{region:?}: {e:?}");
    }
}

/// Behaviour: an Entra authority on a host msal-rs does not know is validated once with
/// instance discovery before any token request; then its own token endpoint is used.
#[tokio::test]
async fn an_unknown_entra_host_is_validated_with_instance_discovery_first() {
    let host = "login.sovereign-cloud.example";
    let cc = Cc::with(|b| {
        b.authority(&format!("https://{host}/{UTID}"))
            .client_secret(SECRET)
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/common/discovery/instance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tenant_discovery_endpoint": format!("https://{host}/{UTID}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc_ok(UTID, app_token("sovereign-at", 3600))
        .expect(2)
        .mount(&cc.server)
        .await;

    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap();
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .force_refresh(true)
        .await
        .unwrap();
    let urls = cc.urls();
    assert_eq!(urls.len(), 3, "{urls:?}");
    let discovery = url::Url::parse(&urls[0]).unwrap();
    assert_eq!(discovery.host_str(), Some(ENV));
    assert_eq!(discovery.path(), "/common/discovery/instance");
    let q: HashMap<String, String> = discovery.query_pairs().into_owned().collect();
    assert_eq!(
        q["authorization_endpoint"],
        format!("https://{host}/{UTID}/oauth2/v2.0/authorize")
    );
    assert_eq!(
        &urls[1..],
        &[
            format!("https://{host}/{UTID}/oauth2/v2.0/token"),
            format!("https://{host}/{UTID}/oauth2/v2.0/token"),
        ]
    );
}

/// Behaviour: an unknown host that instance discovery rejects (`invalid_instance`) is an
/// authority error and the secret is never sent to it.
#[tokio::test]
async fn an_invalid_instance_is_refused_and_gets_no_secret() {
    let cc = Cc::with(|b| {
        b.authority(&format!("https://login.attacker.example/{UTID}"))
            .client_secret(SECRET)
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/common/discovery/instance"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_instance",
            "error_description": "AADSTS50049: Unknown or invalid instance.",
        })))
        .mount(&cc.server)
        .await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Authority(_)), "{e:?}");
    assert!(cc.token_requests().await.is_empty());
    let hosts: Vec<String> = cc
        .urls()
        .iter()
        .map(|u| url::Url::parse(u).unwrap().host_str().unwrap().to_owned())
        .collect();
    assert_eq!(hosts, vec![ENV], "only instance discovery was asked");
}

// ------------------------------------------------------------------------------------------
// More on-behalf-of and app token cases

/// Behaviour: a claims challenge for an on-behalf-of token skips both the cached access token
/// and the OBO refresh token: the assertion is exchanged again, with the claims.
#[tokio::test]
async fn an_obo_claims_challenge_exchanges_the_assertion_with_the_claims() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    obo_exchange(&alice, obo_tokens("obo-at-1", "obo-rt-1"))
        .up_to_n_times(1)
        .mount(&cc.server)
        .await;
    obo_exchange(&alice, obo_tokens("obo-at-2", "obo-rt-2"))
        .expect(1)
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .await
        .unwrap();
    let challenge = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let r = cc
        .app
        .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ])
        .claims(challenge)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("obo-at-2", TokenSource::IdentityProvider)
    );
    let requests = cc.token_requests().await;
    assert_eq!(requests.len(), 2);
    let f = form(&requests[1]);
    assert_eq!(f["grant_type"], OBO_GRANT);
    let sent: Value = serde_json::from_str(&f["claims"]).unwrap();
    assert_eq!(sent, serde_json::from_str::<Value>(challenge).unwrap());
}

/// Behaviour: an on-behalf-of request for another tenant goes to that tenant's endpoint and is
/// cached apart from the configured tenant's token for the same assertion. The OBO refresh token
/// is not bound to a tenant (as in MSAL.NET): the configured tenant's token is then obtained by
/// redeeming it there, not by exchanging the assertion again.
#[tokio::test]
async fn an_obo_request_for_another_tenant_goes_there_and_is_cached_apart() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    Mock::given(method("POST"))
        .and(path(token_path("guest-tenant")))
        .and(body_string_contains("requested_token_use=on_behalf_of"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(obo_tokens("obo-guest", "obo-rt-guest")),
        )
        .expect(1)
        .mount(&cc.server)
        .await;
    obo_refresh("obo-rt-guest", obo_tokens("obo-home", "obo-rt-home"))
        .expect(1)
        .mount(&cc.server)
        .await;
    let obo = |tenant: Option<&str>| {
        let request = cc
            .app
            .acquire_token_on_behalf_of(alice.clone(), [GRAPH_USER_READ]);
        match tenant {
            Some(t) => request.tenant(t),
            None => request,
        }
    };
    let guest = obo(Some("guest-tenant")).await.unwrap();
    assert_eq!(guest.access_token(), "obo-guest");
    assert_eq!(guest.tenant_id(), Some("guest-tenant"));
    let home = obo(None).await.unwrap();
    assert_eq!(home.access_token(), "obo-home");
    assert_eq!(home.tenant_id(), Some(UTID));
    let guest = obo(Some("guest-tenant")).await.unwrap();
    assert_eq!(
        (guest.access_token(), guest.source()),
        ("obo-guest", TokenSource::Cache)
    );
    let home = obo(None).await.unwrap();
    assert_eq!(
        (home.access_token(), home.source()),
        ("obo-home", TokenSource::Cache)
    );
    assert_eq!(cc.urls(), vec![token_url("guest-tenant"), token_url(UTID)]);
}

/// Behaviour: concurrent on-behalf-of calls share one request per assertion, and never across
/// assertions: 20 calls with alice's assertion and 20 with bob's make exactly two requests, and
/// each caller gets its own user's token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_obo_calls_share_a_request_per_assertion_only() {
    let cc = Cc::new().await;
    let alice = user_assertion("alice");
    let bob = user_assertion("bob");
    for (assertion, token) in [(&alice, "obo-alice"), (&bob, "obo-bob")] {
        Mock::given(method("POST"))
            .and(path(token_path(UTID)))
            .and(body_string_contains(format!("&assertion={assertion}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(obo_tokens(token, "rt"))
                    .set_delay(Duration::from_millis(200)),
            )
            .expect(1)
            .mount(&cc.server)
            .await;
    }
    let calls: Vec<_> = (0..40)
        .map(|i| {
            let app = cc.app.clone();
            let (assertion, expected) = if i % 2 == 0 {
                (alice.clone(), "obo-alice")
            } else {
                (bob.clone(), "obo-bob")
            };
            tokio::spawn(async move {
                let r = app
                    .acquire_token_on_behalf_of(assertion, [GRAPH_USER_READ])
                    .await
                    .unwrap();
                assert_eq!(r.access_token(), expected);
            })
        })
        .collect();
    for call in futures::future::join_all(calls).await {
        call.unwrap();
    }
    assert_eq!(cc.token_requests().await.len(), 2);
}

/// Behaviour: tenants compare without regard to case: a token obtained for `.tenant("OTHER")`
/// is served to `.tenant("other")`.
#[tokio::test]
async fn per_request_tenants_compare_without_regard_to_case() {
    let cc = Cc::new().await;
    Mock::given(method("POST"))
        .and(path(token_path("OTHER")))
        .respond_with(ResponseTemplate::new(200).set_body_json(app_token("other-at", 3600)))
        .mount(&cc.server)
        .await;
    cc_ok("other", app_token("other-at", 3600))
        .mount(&cc.server)
        .await;
    cc.app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("OTHER")
        .await
        .unwrap();
    let r = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .tenant("other")
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(cc.token_requests().await.len(), 1);
}

/// Behaviour: a multi-tenant web app (`common`) signs a user in through `/common`, caches the
/// user's tokens under their home tenant, serves silent calls from there and refreshes against
/// the home tenant's endpoint with the client secret.
#[tokio::test]
async fn a_multi_tenant_web_app_signs_in_through_common_and_refreshes_in_the_home_tenant() {
    let cc = Cc::with(|b| b.authority(&authority("common")).client_secret(SECRET)).await;
    let flow = cc
        .app
        .authorization_request(["User.Read"], REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(
        url::Url::parse(flow.authorization_url()).unwrap().path(),
        "/common/oauth2/v2.0/authorize"
    );
    Mock::given(method("POST"))
        .and(path(token_path("common")))
        .respond_with(ResponseTemplate::new(200).set_body_json(web_tokens(
            "web-at-1",
            "web-rt-1",
            flow.nonce(),
        )))
        .expect(1)
        .mount(&cc.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "web-at-2",
            Some("web-rt-2"),
            "User.Read openid profile offline_access",
            3600,
        )))
        .expect(1)
        .mount(&cc.server)
        .await;
    let r = cc
        .app
        .acquire_token_by_auth_code_flow(&flow, &format!("code=c&state={}", flow.state()))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(r.tenant_id(), Some(UTID));
    let account = cc.app.account(&hid()).await.unwrap().expect("the account");
    assert_eq!(account.tenant_id, UTID);
    let hit = cc
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        ("web-at-1", TokenSource::Cache)
    );
    cc.clock.advance(Duration::from_secs(3500));
    let refreshed = cc
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(refreshed.access_token(), "web-at-2");
    assert_eq!(cc.urls(), vec![token_url("common"), token_url(UTID)]);
    assert_eq!(form(&cc.token_requests().await[1])["client_secret"], SECRET);
}

/// Behaviour: the assertion callback's error is reachable by walking `source()` and downcasting
/// (what `anyhow`'s `chain()`/`downcast_ref` and most error reporters do), not only through the
/// `Error::Credential` field.
#[tokio::test]
async fn the_assertion_callbacks_error_downcasts_through_the_source_chain() {
    let cc = Cc::with(|b| {
        b.client_assertion(|_| async { Err::<String, AssertionError>(Box::new(TokenFileMissing)) })
    })
    .await;
    let e = cc
        .app
        .acquire_token_for_client([GRAPH_DEFAULT])
        .await
        .unwrap_err();
    let mut found = false;
    let mut next = std::error::Error::source(&e);
    while let Some(source) = next {
        found |= source.downcast_ref::<TokenFileMissing>().is_some();
        next = source.source();
    }
    assert!(
        found,
        "TokenFileMissing is not in the source chain of {e:?}"
    );
}
