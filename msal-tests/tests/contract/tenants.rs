//! Per-request tenants (`.tenant(..)` on silent, interactive and device code requests) and
//! tenant profiles against wiremock: a guest tenant's token comes from the home refresh token,
//! is cached under that tenant, is never served for another tenant, and every tenant's entries
//! go with `remove_account`.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};

use msal::{Error, ManualClock, TokenSource, WebUi, WebUiError};
use msal_interactive::{AuthorizationResponse, AuthorizationSession};
use msal_tests::harness::*;
use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// The tenant the user is a guest in.
const GUEST: &str = "b0b0b0b0-0000-4000-8000-000000000000";
/// The user's object id in the guest tenant.
const GUEST_OID: &str = "9e9e9e9e-0000-4000-8000-000000000001";
const SCOPES: &str = "User.Read openid profile email";

fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

/// The ID token the guest tenant issues to the user (the home `client_info` stays).
fn guest_id_token(nonce: Option<&str>) -> String {
    let mut claims = json!({
        "aud": CLIENT_ID, "iss": format!("https://login.microsoftonline.com/{GUEST}/v2.0"),
        "sub": "guest-subject", "oid": GUEST_OID, "tid": GUEST,
        "preferred_username": USERNAME, "name": "Alice (guest)",
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    jwt(claims)
}

/// A token response of the guest tenant.
fn guest_tokens(access_token: &str, nonce: Option<&str>) -> Value {
    let mut body = token_response(access_token, Some("rt-2"), SCOPES, 3600);
    body["id_token"] = json!(guest_id_token(nonce));
    body
}

/// The refresh endpoint of `tenant` answering `body`, expected `times` times.
async fn mount_refresh(h: &Harness, tenant: &str, body: Value, times: u64) {
    Mock::given(method("POST"))
        .and(path(token_path(tenant)))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(&h.server)
        .await;
}

/// The realms of the entries of `section`, sorted.
fn realms(doc: &Value, section: &str) -> Vec<String> {
    let mut v: Vec<String> = entries(doc, section)
        .iter()
        .map(|e| e["realm"].as_str().unwrap_or("").to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort();
    v.into_iter().map(str::to_owned).collect()
}

/// A guest tenant's first silent call redeems the home refresh token at that tenant; the
/// access token, ID token and account entry are cached under the tenant (as MSAL.NET writes
/// them), the second call is a cache hit, and the home tenant's token is untouched.
#[tokio::test]
async fn silent_for_a_guest_tenant_uses_the_home_refresh_token_and_caches_under_it() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        SCOPES,
        "at-home",
        T0 + 3600,
    ))
    .await;
    mount_refresh(&h, GUEST, guest_tokens("at-guest", None), 1).await;
    let account = h.account();

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .tenant(GUEST)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-guest");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(r.tenant_id(), Some(GUEST));
    let sent = h.token_requests().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(form(&sent[0])["refresh_token"], "rt-1");

    let again = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .tenant(GUEST)
        .await
        .unwrap();
    assert_eq!(again.access_token(), "at-guest");
    assert_eq!(again.source(), TokenSource::Cache);
    assert_eq!(
        h.token_requests().await.len(),
        1,
        "the second call hit the cache"
    );

    let home = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(home.access_token(), "at-home");
    assert_eq!(home.source(), TokenSource::Cache);

    let stored = h.stored().await;
    assert_eq!(realms(&stored, "AccessToken"), sorted(vec![UTID, GUEST]));
    assert_eq!(realms(&stored, "IdToken"), sorted(vec![UTID, GUEST]));
    assert_eq!(realms(&stored, "Account"), sorted(vec![UTID, GUEST]));
    let guest_account = entries(&stored, "Account")
        .into_iter()
        .find(|e| e["realm"] == GUEST)
        .unwrap();
    assert_eq!(guest_account["local_account_id"], GUEST_OID);
    assert_eq!(guest_account["home_account_id"], hid());
    // The refresh token is tenant-less: rotated in place, not duplicated.
    assert_eq!(refresh_token_secrets(&stored), vec!["rt-2"]);
}

/// The home tenant is never served a guest tenant's token, nor a guest tenant the home one
/// (memoised hits included), nor MSAL Python's `common` entry for a named tenant.
#[tokio::test]
async fn no_tenant_is_served_another_tenants_token() {
    let h = Harness::new().await;
    h.seed(
        &CacheDoc::new()
            .signed_in(CLIENT_ID, "rt-1")
            .access_token(CLIENT_ID, GUEST, SCOPES, "at-guest", T0 + 3600)
            .access_token(CLIENT_ID, "common", SCOPES, "at-python-common", T0 + 3600),
    )
    .await;
    let home_tokens = token_response("at-home", Some("rt-1"), SCOPES, 3600);
    mount_refresh(&h, UTID, home_tokens, 0).await;
    mount_refresh(&h, "other.example", guest_tokens("at-other", None), 1).await;
    let account = h.account();
    let silent = |tenant: Option<&'static str>| {
        let app = h.app.clone();
        let account = account.clone();
        async move {
            let mut request = app.acquire_token_silent(["User.Read"], &account);
            if let Some(t) = tenant {
                request = request.tenant(t);
            }
            request.await.unwrap().access_token().to_owned()
        }
    };

    for _ in 0..2 {
        assert_eq!(silent(Some(GUEST)).await, "at-guest");
        // MSAL Python's `common` entry is the home tenant's: served without a tenant only.
        assert_eq!(silent(None).await, "at-python-common");
        assert_eq!(silent(Some(GUEST)).await, "at-guest");
    }
    assert_eq!(silent(Some("other.example")).await, "at-other");
    assert_eq!(silent(Some("other.example")).await, "at-other");
    assert_eq!(silent(None).await, "at-python-common");
    assert_eq!(silent(Some(GUEST)).await, "at-guest");
    // `common` and `organizations` name no tenant: the home tenant's token.
    assert_eq!(silent(Some("organizations")).await, "at-python-common");
    assert_eq!(h.token_requests().await.len(), 1);
}

/// A tenant given as a domain name is asked at that domain and cached under it (MSAL.NET's
/// rule), so the next call naming it is a hit; a value that is no tenant id or domain is an
/// invalid argument and sends nothing.
#[tokio::test]
async fn a_tenant_given_as_a_domain_is_asked_and_cached_under_that_domain() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        SCOPES,
        "at-home",
        T0 + 3600,
    ))
    .await;
    mount_refresh(&h, "fabrikam.example", guest_tokens("at-fabrikam", None), 1).await;
    let account = h.account();

    for (tenant, source) in [
        ("Fabrikam.example", TokenSource::IdentityProvider),
        ("fabrikam.example", TokenSource::Cache),
    ] {
        let r = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .tenant(tenant)
            .await
            .unwrap();
        assert_eq!((r.access_token(), r.source()), ("at-fabrikam", source));
        assert_eq!(r.tenant_id(), Some("fabrikam.example"));
    }
    let stored = h.stored().await;
    assert_eq!(
        realms(&stored, "AccessToken"),
        sorted(vec![UTID, "fabrikam.example"])
    );

    for bad in ["a/b", "t?x=1", "ü"] {
        let e = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .tenant(bad)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{bad}: {e:?}");
    }
    assert_eq!(h.token_requests().await.len(), 1);
}

/// After tokens in two tenants, the account lists both tenant profiles with each tenant's
/// claims, the home one first; results carry them too.
#[tokio::test]
async fn tenant_profiles_list_each_tenant_with_its_claims() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        SCOPES,
        "at-home",
        T0 + 3600,
    ))
    .await;
    let before = h.app.accounts().await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].tenant_profiles().len(), 1);
    mount_refresh(&h, GUEST, guest_tokens("at-guest", None), 1).await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &before[0])
        .tenant(GUEST)
        .await
        .unwrap();
    assert_eq!(r.account().unwrap().tenant_profiles().len(), 2);

    let accounts = h.app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1, "one account, two tenants");
    assert_eq!(
        accounts[0], before[0],
        "profiles do not change who the account is"
    );
    let profiles: &[msal::TenantProfile] = accounts[0].tenant_profiles();
    let ids: Vec<(&str, bool)> = profiles
        .iter()
        .map(|p| (p.tenant_id(), p.is_home_tenant()))
        .collect();
    assert_eq!(ids, vec![(UTID, true), (GUEST, false)]);
    let home = &profiles[0];
    assert_eq!(home.oid(), Some(UID));
    assert_eq!(home.claims().unwrap().tid.as_deref(), Some(UTID));
    let guest = &profiles[1];
    assert_eq!(guest.oid(), Some(GUEST_OID));
    assert_eq!(guest.local_account_id(), GUEST_OID);
    let claims = guest.claims().unwrap();
    assert_eq!(claims.tid.as_deref(), Some(GUEST));
    assert_eq!(claims.name.as_deref(), Some("Alice (guest)"));
    // `Debug` shows ids, never the ID token.
    assert!(!format!("{profiles:?}").contains(&guest_id_token(None)));

    let one = h.app.account(&hid()).await.unwrap().unwrap();
    assert_eq!(one.tenant_profiles().len(), 2);
}

/// `remove_account` removes every tenant's access token, ID token and account entry, and the
/// refresh token.
#[tokio::test]
async fn remove_account_removes_every_tenants_entries() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        SCOPES,
        "at-home",
        T0 + 3600,
    ))
    .await;
    mount_refresh(&h, GUEST, guest_tokens("at-guest", None), 1).await;
    let account = h.account();
    h.app
        .acquire_token_silent(["User.Read"], &account)
        .tenant(GUEST)
        .await
        .unwrap();
    assert_eq!(realms(&h.stored().await, "Account").len(), 2);

    h.app.remove_account(&account).await.unwrap();

    let stored = h.stored().await;
    for section in ["AccessToken", "IdToken", "Account", "RefreshToken"] {
        assert!(entries(&stored, section).is_empty(), "{section} left");
    }
    assert!(h.app.accounts().await.unwrap().is_empty());
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .tenant(GUEST)
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
}

/// A web UI that records the authorize URL and answers with a code.
#[derive(Clone, Default)]
struct RecordingBrowser {
    shown: Arc<Mutex<Vec<Url>>>,
}

struct RecordingSession(RecordingBrowser, Url);

#[async_trait::async_trait]
impl WebUi for RecordingBrowser {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
        let redirect = Url::parse("http://localhost:8400/").unwrap();
        Ok(Box::new(RecordingSession(self.clone(), redirect)))
    }
}

#[async_trait::async_trait]
impl AuthorizationSession for RecordingSession {
    fn redirect_uri(&self) -> &Url {
        &self.1
    }

    async fn complete(
        self: Box<Self>,
        authorize_url: &Url,
        expected_state: &str,
    ) -> Result<AuthorizationResponse, WebUiError> {
        self.0.shown.lock().unwrap().push(authorize_url.clone());
        let state = query(authorize_url, "state");
        AuthorizationResponse::from_redirect_query(
            &format!("code=the-code&state={state}"),
            expected_state,
        )
    }
}

fn query(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The guest tenant's code redemption, echoing the nonce the browser was shown.
struct GuestCodeRedemption(RecordingBrowser);

impl Respond for GuestCodeRedemption {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let shown = self.0.shown.lock().unwrap().last().cloned().unwrap();
        let nonce = query(&shown, "nonce");
        ResponseTemplate::new(200).set_body_json(guest_tokens("at-guest", Some(&nonce)))
    }
}

/// An interactive sign-in at a named tenant goes to that tenant's authorize and token
/// endpoints and caches under it; the next silent call for the tenant is a hit.
#[tokio::test]
async fn interactive_sign_in_at_a_tenant_caches_under_that_tenant() {
    let h = Harness::new().await;
    let browser = RecordingBrowser::default();
    Mock::given(method("POST"))
        .and(path(token_path(GUEST)))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(GuestCodeRedemption(browser.clone()))
        .expect(1)
        .mount(&h.server)
        .await;
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .web_ui(browser.clone())
        .build()
        .unwrap();

    let r = app
        .acquire_token_interactive(["User.Read"])
        .tenant(GUEST)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-guest");
    let shown = browser.shown.lock().unwrap().last().cloned().unwrap();
    assert_eq!(shown.path(), format!("/{GUEST}/oauth2/v2.0/authorize"));

    let account = r.account().unwrap().clone();
    assert_eq!(account.tenant_id, GUEST);
    let again = app
        .acquire_token_silent(["User.Read"], &account)
        .tenant(GUEST)
        .await
        .unwrap();
    assert_eq!(
        (again.access_token(), again.source()),
        ("at-guest", TokenSource::Cache)
    );
    let stored = h.stored().await;
    assert_eq!(realms(&stored, "AccessToken"), vec![GUEST]);
    assert_eq!(realms(&stored, "Account"), vec![GUEST]);
    let profiles = app.accounts().await.unwrap()[0].tenant_profiles().to_vec();
    assert_eq!(profiles.len(), 1);
    assert!(!profiles[0].is_home_tenant());
}

/// A device code sign-in at a named tenant asks that tenant's device authorization and token
/// endpoints and caches under it.
#[tokio::test]
async fn device_code_sign_in_at_a_tenant_caches_under_that_tenant() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path(format!("/{GUEST}/oauth2/v2.0/devicecode")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "secret-device-code", "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900,
            "interval": 1,
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path(GUEST)))
        .and(body_string_contains("device_code=secret-device-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(guest_tokens("at-guest", None)))
        .expect(1)
        .mount(&h.server)
        .await;
    // The polling interval passes on an auto-advancing clock: no real wait.
    let app = app_builder(
        &h.server,
        &ManualClock::at_unix(T0).with_auto_advance(),
        &h.cache,
        CLIENT_ID,
    )
    .build()
    .unwrap();

    let r = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        app.acquire_token_with_device_code(["User.Read"], |_| {})
            .tenant(GUEST)
            .into_future(),
    )
    .await
    .expect("the device code flow finishes")
    .unwrap();
    assert_eq!(r.access_token(), "at-guest");
    assert_eq!(r.tenant_id(), Some(GUEST));
    let stored = h.stored().await;
    assert_eq!(realms(&stored, "AccessToken"), vec![GUEST]);
    assert_eq!(realms(&stored, "IdToken"), vec![GUEST]);
}

/// The tenant of an app with an ADFS (or B2C, or generic OpenID Connect) authority cannot be
/// changed per request: a clear error, nothing sent.
#[tokio::test]
async fn a_tenant_needs_an_entra_authority() {
    let h = Harness::with_authority("https://login.microsoftonline.com/adfs").await;
    let account = h.account();
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .tenant(GUEST)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(h.token_requests().await.is_empty());
}
