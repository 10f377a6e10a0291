//! The public API pinned by the foundation issue: users and tests outside this repository
//! compile against exactly this. If this file stops compiling, the API was reshaped.

use msal::cache::FileCache;
use msal::{Account, AuthenticationResult, Error, PublicClientApplication, TokenSource};
use msal_tests::harness::*;
use std::future::IntoFuture;
use std::time::SystemTime;

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

/// The snippet from the issue, with a real transport pointed at loopback.
#[tokio::test]
async fn the_pinned_snippet_compiles_and_runs() -> Result<(), Error> {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let my_client = LoopbackTransport::new(&h.server);
    let app = PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .instance_discovery(false)
        .cache(FileCache::new(dir.path().join("cache.json")))
        .http_client(my_client)
        .build()?;
    let accounts: Vec<Account> = app.accounts().await?;
    assert!(accounts.is_empty());

    let account = Account::new(hid(), ENV, "alice@contoso.example");
    let request = app
        .acquire_token_silent(["User.Read"], &account)
        .force_refresh(false)
        .claims(r#"{"access_token":{"nbf":{"essential":true}}}"#);
    let future = request.into_future();
    assert_send(&future);
    let outcome: Result<AuthenticationResult, Error> = future.await;
    let e = outcome.unwrap_err();
    assert!(e.is_ui_required());
    assert!(e.classification().is_some());
    app.remove_account(&account).await?;
    Ok(())
}

/// The result's pinned accessors and types, and Debug redaction.
#[allow(dead_code)]
fn result_fields(r: AuthenticationResult) {
    let _: &str = r.access_token();
    let _: &str = r.token_type();
    let _: SystemTime = r.expires_on();
    let _: Option<SystemTime> = r.refresh_on();
    let _: &[String] = r.scopes();
    let _: Option<&Account> = r.account();
    let _: Option<&str> = r.id_token();
    let _: Option<&str> = r.tenant_id();
    let _: TokenSource = r.source();
    let _: &str = r.correlation_id();
    let _: AuthenticationResult = r.clone();
    assert!(!format!("{r:?}").contains(r.access_token()));
}

/// Issue 17's pinned tenant API: a per-request tenant on silent calls, and an account's
/// tenant profiles.
#[allow(dead_code)]
async fn tenant_api(app: PublicClientApplication, account: Account) -> Result<(), Error> {
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .tenant("<tenant id or domain>")
        .await?;
    let _: AuthenticationResult = r;
    let profiles: &[msal::TenantProfile] = account.tenant_profiles();
    for p in profiles {
        let _: &str = p.tenant_id();
        let _: bool = p.is_home_tenant();
    }
    Ok(())
}

/// Account's pinned public fields.
#[allow(dead_code)]
fn account_fields(a: &Account) -> (&String, &String, &String) {
    (&a.home_account_id, &a.environment, &a.username)
}

#[test]
fn app_is_send_sync_and_cheap_to_share() {
    assert_send_sync_clone::<PublicClientApplication>();
    assert_send_sync_clone::<Error>();
    assert_send_sync_clone::<AuthenticationResult>();
}

/// msal-http's trait, pinned: `async fn send(&self, http::Request<Vec<u8>>) ->
/// Result<http::Response<Vec<u8>>, msal_http::HttpError>`.
#[allow(dead_code)]
struct Echo;

#[async_trait::async_trait]
impl msal_http::HttpClient for Echo {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, msal_http::HttpError> {
        Ok(http::Response::new(request.into_body()))
    }
}

/// The managed identity snippet pinned by issue 15, with the IMDS endpoint pointed at loopback
/// (through the builder's environment, never the process's) and a transport that refuses
/// anything else.
#[tokio::test]
async fn the_pinned_managed_identity_snippet_compiles_and_runs() -> Result<(), Error> {
    use msal::{ManagedIdentityApplication, ManagedIdentityId, ManagedIdentitySource};
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(path("/metadata/identity/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-token", "expires_in": "3599", "token_type": "Bearer",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let store = msal::cache::MemoryCache::new();
    let client = msal_tests::loopback_guard::LoopbackOnly::new(msal_http::ReqwestHttpClient::new());
    let app = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
        .environment(msal::ManagedIdentityEnvironment::from_vars([(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            server.uri(),
        )]))
        .cache(store)
        .http_client(client)
        .build()?;
    let src: ManagedIdentitySource = app.source();
    assert_eq!(src, ManagedIdentitySource::Imds);
    let r = app
        .acquire_token_for_managed_identity("https://management.azure.com/")
        .claims("{}")
        .force_refresh(false)
        .await?;
    let _: &str = r.access_token();
    let _: SystemTime = r.expires_on();
    let _: TokenSource = r.source();
    assert_eq!(r.access_token(), "mi-token");
    let _ = [
        ManagedIdentityId::UserAssignedClientId(String::new()),
        ManagedIdentityId::UserAssignedResourceId(String::new()),
        ManagedIdentityId::UserAssignedObjectId(String::new()),
    ];
    let _ = [
        ManagedIdentitySource::AppService,
        ManagedIdentitySource::AzureArc,
        ManagedIdentitySource::CloudShell,
        ManagedIdentitySource::ServiceFabric,
        ManagedIdentitySource::MachineLearning,
    ];
    assert_send_sync_clone::<ManagedIdentityApplication>();
    Ok(())
}

/// Issue 16, pinned: with the facade's feature `sqlite`, `msal::cache::SqliteCache::open(path)
/// -> Result<SqliteCache, msal_cache::CacheError>`, passed to `.cache(..)` of every application
/// builder (clones share one database).
#[tokio::test]
async fn the_pinned_sqlite_store_plugs_into_every_builder() -> Result<(), Box<dyn std::error::Error>>
{
    use msal::cache::SqliteCache;
    use msal::{ConfidentialClientApplication, ManagedIdentityApplication, ManagedIdentityId};

    let dir = tempfile::tempdir()?;
    let opened: Result<SqliteCache, msal_cache::CacheError> =
        SqliteCache::open(dir.path().join("tokens.db"));
    let store = opened?;
    let public = PublicClientApplication::builder(CLIENT_ID)
        .cache(store.clone())
        .build()?;
    assert!(public.accounts().await?.is_empty());
    let _confidential = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/contoso.example")
        .client_secret("not-a-real-secret")
        .cache(store.clone())
        .build()?;
    let _managed = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
        .cache(store)
        .build()?;
    Ok(())
}

/// Issue 18, pinned: `.proof_of_possession(msal::PopRequest::new(method, url)?)` on the client
/// credentials request; `token_type()` is `"pop"` and `access_token()` the signed HTTP request,
/// a JWS (RS256, typ `pop`) whose payload holds at, ts, m, u, p and cnf.jwk. Also the additions:
/// `PopRequest::nonce/key`, the `PopKey` trait, `RsaPopKey`, `RsaPublicJwk` and
/// `SshCertificateRequest` with `.ssh_certificate(..)` on client credentials and silent requests.
#[tokio::test]
async fn the_pinned_proof_of_possession_snippet_compiles_and_runs() -> Result<(), Error> {
    use base64::Engine;
    use msal::{ConfidentialClientApplication, PopKey, RsaPopKey, RsaPublicJwk};
    use msal::{PopRequest, SshCertificateRequest};
    use std::sync::Arc;
    use wiremock::matchers::{body_string_contains, path};
    use wiremock::{Mock, ResponseTemplate};

    let h = Harness::new().await;
    Mock::given(path("/contoso.example/oauth2/v2.0/token"))
        .and(body_string_contains("token_type=pop"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "pop", "access_token": "token-from-entra", "expires_in": 3600,
        })))
        .mount(&h.server)
        .await;
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/contoso.example")
        .client_secret("not-a-real-secret")
        .http_client(LoopbackTransport::new(&h.server))
        .build()?;
    let r = app
        .acquire_token_for_client(["https://resource.example/.default"])
        .proof_of_possession(msal::PopRequest::new(
            "GET",
            "https://resource.example/api/items?x=1",
        )?)
        .await?;
    assert_eq!(r.token_type(), "pop");
    let payload = r.access_token().split('.').nth(1).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    for field in ["at", "ts", "m", "u", "p"] {
        assert!(payload.get(field).is_some(), "{field}");
    }
    assert!(payload["cnf"]["jwk"].is_object());

    // The additions' shapes.
    let key: Arc<dyn PopKey> = Arc::new(RsaPopKey::generate()?);
    let jwk: &RsaPublicJwk = key.public_jwk();
    let _with_key: PopRequest = PopRequest::new("POST", "https://r.example/")?
        .nonce("n")
        .key(Arc::clone(&key));
    let ssh: SshCertificateRequest = SshCertificateRequest::new("key-1", jwk)?;
    let _client = app
        .acquire_token_for_client(["https://pas.windows.net/CheckMyAccess/Linux/.default"])
        .ssh_certificate(ssh.clone());
    let _silent = PublicClientApplication::builder(CLIENT_ID)
        .build()?
        .acquire_token_silent(
            ["https://pas.windows.net/CheckMyAccess/Linux/.default"],
            &Account::new(hid(), ENV, "a"),
        )
        .ssh_certificate(ssh);
    Ok(())
}

/// Issue 17's pinned request surface (refresh token migration, extra query parameters,
/// username/password, long-running on-behalf-of): compiled, and every future is `Send`.
#[allow(dead_code)]
async fn issue_17_pinned(
    app: PublicClientApplication,
    cca: msal::ConfidentialClientApplication,
    account: Account,
) -> Result<(), Error> {
    let r: AuthenticationResult = app
        .acquire_token_by_refresh_token("<refresh token>", ["User.Read"])
        .await?;
    let _ = r;
    let r = cca
        .acquire_token_by_refresh_token("<refresh token>", ["User.Read"])
        .await?;
    let _ = r;
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
        .await?;
    let _ = r;
    let _app = PublicClientApplication::builder(CLIENT_ID)
        .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
        .build()?;
    let r = app
        .acquire_token_by_username_password("user@contoso.example", "password", ["User.Read"])
        .await?;
    let _ = r;
    let session: msal::LongRunningSession = cca
        .initiate_long_running_process_in_web_api("<incoming token>", ["api://downstream/.default"])
        .session_key("job-1")
        .await?;
    let key: &String = &session.session_key;
    let r = cca
        .acquire_token_in_long_running_process(key, ["api://downstream/.default"])
        .await?;
    let _ = r;
    assert_send(
        &app.acquire_token_by_refresh_token("rt", ["User.Read"])
            .into_future(),
    );
    assert_send(
        &app.acquire_token_by_username_password("u", "p", ["User.Read"])
            .into_future(),
    );
    assert_send(
        &cca.acquire_token_in_long_running_process("k", ["User.Read"])
            .into_future(),
    );
    Ok(())
}

/// Issue 16, pinned: with the facade's feature `postgres`,
/// `msal::cache::PostgresCache::connect(url).await -> Result<PostgresCache, msal_cache::CacheError>`,
/// passed to `.cache(..)` of every application builder. The signature is checked at compile time;
/// the run needs `MSAL_TEST_POSTGRES_URL` (skipped with a note without it).
#[tokio::test]
async fn the_pinned_postgres_store_plugs_into_every_builder(
) -> Result<(), Box<dyn std::error::Error>> {
    use msal::cache::PostgresCache;
    use msal::{ConfidentialClientApplication, ManagedIdentityApplication, ManagedIdentityId};

    let Ok(url) = std::env::var("MSAL_TEST_POSTGRES_URL") else {
        eprintln!("MSAL_TEST_POSTGRES_URL is not set (scripts/postgres.sh start): skipped");
        return Ok(());
    };
    let connected: Result<PostgresCache, msal_cache::CacheError> =
        PostgresCache::connect(&url).await;
    let store = connected?.key_prefix(format!("pinned:{}:", std::process::id()));
    let public = PublicClientApplication::builder(CLIENT_ID)
        .cache(store.clone())
        .build()?;
    assert!(public.accounts().await?.is_empty());
    let _confidential = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/contoso.example")
        .client_secret("not-a-real-secret")
        .cache(store.clone())
        .build()?;
    let _managed = ManagedIdentityApplication::builder(ManagedIdentityId::SystemAssigned)
        .cache(store)
        .build()?;
    Ok(())
}
