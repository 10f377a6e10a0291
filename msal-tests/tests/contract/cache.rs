//! Cache contracts: persistence in a file, corrupt files, both dialects of the unified schema,
//! environment aliases, FOCI, account listing and removal, OpenID Connect authorities, and two
//! application objects ("processes") sharing one store.

use std::time::Duration;

use msal::cache::{CacheError, FileCache, MemoryCache};
use msal::{Account, Error, ManualClock, PublicClientApplication, TokenSource};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TARGET: &str = "User.Read email openid profile";
const GUEST_TENANT: &str = "11111111-eeee-4fff-8aaa-333333333333";

fn alice() -> Account {
    let mut a = Account::new(hid(), ENV, "alice@contoso.example");
    a.tenant_id = UTID.into();
    a
}

/// An app for `https://login.microsoftonline.com/common` over `store`, talking to `server`.
fn app_over(
    server: &MockServer,
    clock: &ManualClock,
    store: impl msal::cache::CacheStore + 'static,
) -> PublicClientApplication {
    PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(LoopbackTransport::new(server))
        .clock(clock.clone())
        .cache(store)
        .build()
        .unwrap()
}

/// Mount a token endpoint answer for requests redeeming `refresh_token`.
async fn answer_refresh(server: &MockServer, token_path: &str, refresh_token: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(token_path))
        .and(body_string_contains(format!(
            "refresh_token={refresh_token}&"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

fn with_hid(doc: &Value, section: &str, home_account_id: &str) -> Vec<Value> {
    entries(doc, section)
        .into_iter()
        .filter(|e| e["home_account_id"].as_str() == Some(home_account_id))
        .collect()
}

fn client_ids(doc: &Value, section: &str) -> Vec<String> {
    let mut v: Vec<String> = entries(doc, section)
        .iter()
        .map(|e| e["client_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    v.sort();
    v
}

fn assert_ui_required(result: Result<msal::AuthenticationResult, Error>) {
    match result {
        Err(e) => assert!(e.is_ui_required(), "expected UI required, got {e:?}"),
        Ok(r) => panic!("expected UI required, got a token from {:?}", r.source()),
    }
}

// ---- FileCache -------------------------------------------------------------------------------

/// Zero HTTP for a cache hit in a brand-new app: app 1 refreshes through a `FileCache` (one
/// request) and saves; a second app built over a new `FileCache` for the same file serves the
/// token with no request. The file is unified-schema JSON and mode 0600.
#[tokio::test]
async fn a_new_app_over_the_same_file_serves_the_saved_token_without_http() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.json");
    let seed = CacheDoc::signed_in_with("rt-1", TARGET, "at-1", T0 - 60);
    std::fs::write(&file, serde_json::to_vec(&seed.0).unwrap()).unwrap();
    answer_refresh(
        &server,
        TOKEN_PATH,
        "rt-1",
        token_response("at-2", Some("rt-2"), "User.Read openid profile email", 3600),
    )
    .await;

    let app1 = app_over(&server, &clock, FileCache::new(&file));
    let r = app1
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    drop(app1);

    let app2 = app_over(&server, &clock, FileCache::new(&file));
    let account = app2.accounts().await.unwrap().remove(0);
    let r = app2
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // The file: the unified schema in MSAL Python's dialect.
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for section in [
        "AccessToken",
        "RefreshToken",
        "IdToken",
        "Account",
        "AppMetadata",
    ] {
        assert!(doc[section].is_object(), "section {section} missing");
    }
    let ats = entries(&doc, "AccessToken");
    assert_eq!(ats.len(), 1);
    let (at_key, at) = doc["AccessToken"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(at["secret"], "at-2");
    assert_eq!(at["credential_type"], "AccessToken");
    assert_eq!(at["home_account_id"], hid());
    assert_eq!(at["environment"], ENV);
    assert_eq!(at["client_id"], CLIENT_ID);
    assert_eq!(at["realm"], UTID);
    assert_eq!(at["token_type"], "Bearer");
    assert_eq!(at["cached_at"], json!(T0.to_string()));
    assert_eq!(at["expires_on"], json!((T0 + 3600).to_string()));
    assert_eq!(at["extended_expires_on"], json!((T0 + 3600).to_string()));
    let target = at["target"].as_str().unwrap();
    let mut words: Vec<&str> = target.split(' ').collect();
    let mut sorted = words.clone();
    sorted.sort();
    assert_eq!(
        words, sorted,
        "target is sorted (ordinal, as MSAL Python writes it)"
    );
    words.sort();
    assert_eq!(words, ["User.Read", "email", "openid", "profile"]);
    assert_eq!(
        at_key,
        &format!("{}-{ENV}-accesstoken-{CLIENT_ID}-{UTID}-{target}", hid()).to_lowercase()
    );
    let (rt_key, rt) = doc["RefreshToken"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(rt["secret"], "rt-2");
    assert_eq!(
        rt_key,
        &format!("{}-{ENV}-refreshtoken-{CLIENT_ID}--", hid()).to_lowercase()
    );
    assert_eq!(
        doc["AppMetadata"][format!("appmetadata-{ENV}-{CLIENT_ID}")]["client_id"],
        CLIENT_ID
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
}

/// A corrupt cache file (`{not json`) fails a silent call and a `remove_account` with
/// `CacheError::Corrupt`, and is never overwritten.
#[tokio::test]
async fn a_corrupt_file_is_an_error_and_is_never_overwritten() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.json");
    std::fs::write(&file, b"{not json").unwrap();
    let app = app_over(&server, &clock, FileCache::new(&file));

    let err = app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Cache(CacheError::Corrupt { .. })),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"{not json");

    let err = app.remove_account(&alice()).await.unwrap_err();
    assert!(
        matches!(err, Error::Cache(CacheError::Corrupt { .. })),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"{not json");

    let err = app.accounts().await.unwrap_err();
    assert!(
        matches!(err, Error::Cache(CacheError::Corrupt { .. })),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"{not json");
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// decisions.md: for a file that cannot be parsed, "the error says which and where": the
/// `Corrupt` error names the cache file.
#[tokio::test]
async fn a_corrupt_file_error_names_the_file() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.json");
    std::fs::write(&file, b"{not json").unwrap();
    let app = app_over(&server, &clock, FileCache::new(&file));

    let err = app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap_err();
    match &err {
        Error::Cache(CacheError::Corrupt { location, .. }) => {
            assert_eq!(location.as_deref(), Some(file.as_path()), "{err}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(err.to_string().contains("cache.json"), "{err}");
}

// ---- dialects and aliases --------------------------------------------------------------------

/// Aliases: account, ID token, refresh and access tokens stored under `login.windows.net`
/// (MSAL.NET's environment) are found by an app configured for `login.microsoftonline.com`.
#[tokio::test]
async fn entries_under_login_windows_net_are_found_by_a_login_microsoftonline_com_app() {
    let h = Harness::new().await;
    let net = "login.windows.net";
    h.seed(
        &CacheDoc::new()
            .account(&hid(), net, UTID, "alice@contoso.example")
            .refresh_token(&hid(), net, CLIENT_ID, "rt-1", None)
            .id_token(&hid(), net, CLIENT_ID, UTID)
            .access_token_at(
                &hid(),
                net,
                CLIENT_ID,
                UTID,
                TARGET,
                "at-net",
                T0 + 3600,
                None,
            ),
    )
    .await;

    let accounts = h.app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0].home_account_id, hid());
    assert_eq!(accounts[0].username, "alice@contoso.example");

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &accounts[0])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-net", TokenSource::Cache)
    );
    assert!(r.id_token().is_some());
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-net");
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// A cache as MSAL.NET writes it (all five sections).
fn net_dialect_doc() -> Value {
    let net = "login.windows.net";
    let ci = client_info(UID, UTID);
    let hid = hid();
    json!({
        "AccessToken": {
            format!("{hid}-{net}-accesstoken-{CLIENT_ID}-{UTID}-email openid profile user.read"): {
                "home_account_id": hid, "environment": net, "client_info": ci,
                "client_id": CLIENT_ID, "secret": "at-net", "credential_type": "AccessToken",
                "realm": UTID, "target": "email openid profile User.Read",
                "cached_at": T0.to_string(), "expires_on": (T0 + 3600).to_string(),
                "extended_expires_on": (T0 + 3600).to_string(),
                "ext_expires_on": (T0 + 3600).to_string()
            }
        },
        "RefreshToken": {
            format!("{hid}-{net}-refreshtoken-{CLIENT_ID}--"): {
                "home_account_id": hid, "environment": net, "client_info": ci,
                "client_id": CLIENT_ID, "secret": "rt-net", "credential_type": "RefreshToken"
            }
        },
        "IdToken": {
            format!("{hid}-{net}-idtoken-{CLIENT_ID}-{UTID}-"): {
                "home_account_id": hid, "environment": net, "client_info": ci,
                "client_id": CLIENT_ID, "secret": id_token(), "credential_type": "IdToken",
                "realm": UTID
            }
        },
        "Account": {
            format!("{hid}-{net}-{UTID}"): {
                "home_account_id": hid, "environment": net, "client_info": ci,
                "username": "alice@contoso.example", "given_name": "Alice", "name": "Alice",
                "local_account_id": UID, "authority_type": "MSSTS", "realm": UTID
            }
        },
        "AppMetadata": {
            format!("appmetadata-{net}-{CLIENT_ID}"): {
                "environment": net, "client_id": CLIENT_ID
            }
        },
        "Extra": { "written-by": { "library": "some future MSAL", "version": 7 } }
    })
}

/// MSAL.NET dialect (`login.windows.net`, realm = tid, case-insensitively sorted target, no
/// `token_type`, `ext_expires_on`, `client_info`, refresh token without target): a cache hit;
/// after a refresh (for new scopes), unknown fields of the entries and the unknown top-level
/// section are still in the stored JSON.
#[tokio::test]
async fn msal_net_dialect_is_a_cache_hit_and_survives_a_refresh() {
    let h = Harness::new().await;
    let original = net_dialect_doc();
    h.seed(&CacheDoc(original.clone())).await;

    let accounts = h.app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    let r = h
        .app
        .acquire_token_silent(["user.read"], &accounts[0])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source(), r.token_type()),
        ("at-net", TokenSource::Cache, "Bearer")
    );
    assert!(h.server.received_requests().await.unwrap().is_empty());

    answer_refresh(
        &h.server,
        TOKEN_PATH,
        "rt-net",
        token_response("at-mail", Some("rt-net-2"), "Mail.Read", 3600),
    )
    .await;
    let r = h
        .app
        .acquire_token_silent(["Mail.Read"], &accounts[0])
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-mail", TokenSource::IdentityProvider)
    );

    let stored = h.stored().await;
    assert_eq!(stored["Extra"], original["Extra"], "unknown section kept");
    let account = entries(&stored, "Account");
    assert_eq!(account.len(), 1);
    assert_eq!(account[0]["client_info"], client_info(UID, UTID));
    assert_eq!(account[0]["given_name"], "Alice");
    let net_at = entries(&stored, "AccessToken")
        .into_iter()
        .find(|e| e["secret"] == "at-net")
        .expect("the untouched MSAL.NET access token is still there");
    assert_eq!(net_at["client_info"], client_info(UID, UTID));
    assert_eq!(net_at["ext_expires_on"], (T0 + 3600).to_string());
    assert_eq!(net_at["environment"], "login.windows.net");
    let net_idt = entries(&stored, "IdToken")
        .into_iter()
        .find(|e| e["environment"] == "login.windows.net")
        .expect("the MSAL.NET ID token is still there");
    assert_eq!(net_idt["client_info"], client_info(UID, UTID));
    // The refresh token was rotated in place: new secret, its other fields kept.
    let rts = entries(&stored, "RefreshToken");
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0]["secret"], "rt-net-2");
    assert_eq!(rts[0]["client_info"], client_info(UID, UTID));
    assert_eq!(rts[0]["environment"], "login.windows.net");

    // And both tokens are served from the cache now.
    for (scope, secret) in [("User.Read", "at-net"), ("Mail.Read", "at-mail")] {
        let r = h
            .app
            .acquire_token_silent([scope], &accounts[0])
            .await
            .unwrap();
        assert_eq!((r.access_token(), r.source()), (secret, TokenSource::Cache));
    }
    assert_eq!(h.token_requests().await.len(), 1);
}

/// MSAL Python dialect with realm `common` on the access token (Python keeps `common`): an app
/// for `common` gets a cache hit.
#[tokio::test]
async fn msal_python_common_realm_access_token_is_a_cache_hit() {
    let h = Harness::new().await;
    let hid = hid();
    let py = json!({
        "AccessToken": {
            format!("{hid}-{ENV}-accesstoken-{CLIENT_ID}-common-user.read email openid profile"): {
                "credential_type": "AccessToken", "secret": "at-py", "home_account_id": hid,
                "environment": ENV, "client_id": CLIENT_ID, "target": TARGET,
                "realm": "common", "token_type": "Bearer", "cached_at": T0.to_string(),
                "expires_on": (T0 + 3600).to_string(),
                "extended_expires_on": (T0 + 3600).to_string()
            }
        },
        "Account": {
            format!("{hid}-{ENV}-common"): {
                "home_account_id": hid, "environment": ENV, "realm": "common",
                "local_account_id": UID, "username": "alice@contoso.example",
                "authority_type": "MSSTS", "account_source": "authorization_code"
            }
        },
        "IdToken": {
            format!("{hid}-{ENV}-idtoken-{CLIENT_ID}-common-"): {
                "credential_type": "IdToken", "secret": id_token(), "home_account_id": hid,
                "environment": ENV, "realm": "common", "client_id": CLIENT_ID
            }
        },
        "RefreshToken": {
            format!("{hid}-{ENV}-refreshtoken-{CLIENT_ID}--user.read email openid profile"): {
                "credential_type": "RefreshToken", "secret": "rt-py", "home_account_id": hid,
                "environment": ENV, "client_id": CLIENT_ID, "target": TARGET,
                "last_modification_time": T0.to_string()
            }
        },
        "AppMetadata": {
            format!("appmetadata-{ENV}-{CLIENT_ID}"): { "client_id": CLIENT_ID, "environment": ENV }
        }
    });
    h.seed(&CacheDoc(py)).await;

    let accounts = h.app.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    for account in [accounts[0].clone(), alice()] {
        let r = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_eq!(
            (r.access_token(), r.source()),
            ("at-py", TokenSource::Cache)
        );
    }
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

// ---- FOCI ------------------------------------------------------------------------------------

/// FOCI, unknown app (no app metadata for this client): the family refresh token of another
/// family app is redeemed, and the answer's `foci: "1"` makes this app a family member.
#[tokio::test]
async fn unknown_app_redeems_the_family_refresh_token_and_joins_the_family() {
    let h = Harness::new().await;
    h.seed(
        &CacheDoc::new()
            .account(&hid(), ENV, UTID, "alice@contoso.example")
            .refresh_token(&hid(), ENV, OTHER_CLIENT_ID, "frt-1", Some("1"))
            .app_metadata(ENV, OTHER_CLIENT_ID, Some("1")),
    )
    .await;
    assert_eq!(h.app.accounts().await.unwrap().len(), 1);
    let mut body = token_response("at-2", Some("frt-2"), "User.Read openid profile", 3600);
    body["foci"] = json!("1");
    answer_refresh(&h.server, TOKEN_PATH, "frt-1", body).await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 1);
    let sent = form(&requests[0]);
    assert_eq!(sent["refresh_token"], "frt-1");
    assert_eq!(sent["client_id"], CLIENT_ID);

    let stored = h.stored().await;
    let meta = &stored["AppMetadata"][format!("appmetadata-{ENV}-{CLIENT_ID}")];
    assert_eq!(meta["client_id"], CLIENT_ID);
    assert_eq!(meta["family_id"], "1");
    let rts = entries(&stored, "RefreshToken");
    assert_eq!(rts.len(), 1, "the family token was rotated in place");
    assert_eq!(rts[0]["secret"], "frt-2");
    assert_eq!(rts[0]["family_id"], "1");
}

/// FOCI, `client_mismatch`: the family token is refused for this client, so the app's own
/// refresh token is redeemed next (second request) and succeeds; the family token is kept.
#[tokio::test]
async fn client_mismatch_on_the_family_token_falls_back_to_the_apps_own_token() {
    let h = Harness::new().await;
    h.seed(
        &CacheDoc::new()
            .account(&hid(), ENV, UTID, "alice@contoso.example")
            .refresh_token(&hid(), ENV, OTHER_CLIENT_ID, "frt-1", Some("1"))
            .refresh_token(&hid(), ENV, CLIENT_ID, "rt-own", None),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("refresh_token=frt-1&"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "AADSTS70000: the refresh token was issued to a different client",
            "suberror": "client_mismatch",
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    answer_refresh(
        &h.server,
        TOKEN_PATH,
        "rt-own",
        token_response("at-2", Some("rt-own-2"), "User.Read openid profile", 3600),
    )
    .await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let sent: Vec<String> = h
        .token_requests()
        .await
        .iter()
        .map(|r| form(r)["refresh_token"].clone())
        .collect();
    assert_eq!(sent, ["frt-1", "rt-own"]);

    let stored = h.stored().await;
    let mut rts: Vec<String> = refresh_token_secrets(&stored);
    rts.sort();
    assert_eq!(
        rts,
        ["frt-1", "rt-own-2"],
        "the family token is not deleted"
    );
    let meta = &stored["AppMetadata"][format!("appmetadata-{ENV}-{CLIENT_ID}")];
    assert_eq!(meta["client_id"], CLIENT_ID);
    assert!(meta.get("family_id").is_none(), "{meta}");
}

/// FOCI, an app known not to be a family member (app metadata without `family_id`) never uses
/// the family token: with only a family token cached, "UI required" with no request.
#[tokio::test]
async fn known_non_member_never_uses_the_family_token() {
    let h = Harness::new().await;
    h.seed(
        &CacheDoc::new()
            .account(&hid(), ENV, UTID, "alice@contoso.example")
            .refresh_token(&hid(), ENV, OTHER_CLIENT_ID, "frt-1", Some("1"))
            .app_metadata(ENV, OTHER_CLIENT_ID, Some("1"))
            .app_metadata(ENV, CLIENT_ID, None),
    )
    .await;
    assert!(h.app.accounts().await.unwrap().is_empty());
    assert_ui_required(h.app.acquire_token_silent(["User.Read"], &alice()).await);
    assert!(h.server.received_requests().await.unwrap().is_empty());
    assert_eq!(refresh_token_secrets(&h.stored().await), ["frt-1"]);
}

// ---- accounts and remove_account ------------------------------------------------------------

/// accounts(): several users are listed; a user with account entries in two tenants is listed
/// once with the home tenant's profile; an account without a refresh token this app may use is
/// not listed; an account whose only refresh token belongs to another (non-family) client is
/// listed for that client's app only.
#[tokio::test]
async fn accounts_lists_each_usable_home_account_once() {
    let h = Harness::new().await;
    let bob = format!("6b7c8d9e-bbbb-4ccc-8ddd-444444444444.{UTID}");
    let carol = format!("7c8d9e0f-cccc-4ddd-8eee-555555555555.{UTID}");
    let dave = format!("8d9e0f1a-dddd-4eee-8fff-666666666666.{UTID}");
    let mut doc = CacheDoc::new()
        // Alice: home tenant and a guest tenant (the guest entry sorts first).
        .account(&hid(), ENV, GUEST_TENANT, "alice@contoso.example")
        .account(&hid(), ENV, UTID, "alice@contoso.example")
        .refresh_token(&hid(), ENV, CLIENT_ID, "rt-alice", None)
        // Bob: signed in to this app.
        .account(&bob, ENV, UTID, "bob@contoso.example")
        .refresh_token(&bob, ENV, CLIENT_ID, "rt-bob", None)
        // Carol: an account entry and nothing else.
        .account(&carol, ENV, UTID, "carol@contoso.example")
        // Dave: signed in to the other (non-family) app only.
        .account(&dave, ENV, UTID, "dave@contoso.example")
        .refresh_token(&dave, ENV, OTHER_CLIENT_ID, "rt-dave", None);
    // The guest profile has its own local id.
    doc.0["Account"][format!("{}-{ENV}-{GUEST_TENANT}", hid())]["local_account_id"] =
        json!("guest-object-id");
    h.seed(&doc).await;

    let accounts = h.app.accounts().await.unwrap();
    let listed: Vec<(&str, &str)> = accounts
        .iter()
        .map(|a| (a.home_account_id.as_str(), a.username.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (hid().as_str(), "alice@contoso.example"),
            (bob.as_str(), "bob@contoso.example")
        ]
    );
    assert_eq!(accounts[0].tenant_id, UTID, "home tenant profile preferred");
    assert_eq!(accounts[0].local_account_id, UID);
    assert_eq!(accounts[0].environment, ENV);

    let other = h.sibling(OTHER_CLIENT_ID);
    let listed: Vec<String> = other
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.home_account_id)
        .collect();
    assert_eq!(listed, [dave]);
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// remove_account: removes this app's refresh, access and ID tokens for the account and keeps
/// another client's; the account entry stays while that client's refresh token remains and
/// goes when the other app removes the account too; then neither app lists it and silent
/// calls need UI.
#[tokio::test]
async fn remove_account_removes_this_apps_tokens_and_the_account_once_unused() {
    let h = Harness::new().await;
    h.seed(
        &CacheDoc::new()
            .account(&hid(), ENV, UTID, "alice@contoso.example")
            .refresh_token(&hid(), ENV, CLIENT_ID, "rt-a", None)
            .refresh_token(&hid(), ENV, OTHER_CLIENT_ID, "rt-b", None)
            .id_token(&hid(), ENV, CLIENT_ID, UTID)
            .id_token(&hid(), ENV, OTHER_CLIENT_ID, UTID)
            .access_token(CLIENT_ID, UTID, TARGET, "at-a", T0 + 3600)
            .access_token(OTHER_CLIENT_ID, UTID, TARGET, "at-b", T0 + 3600),
    )
    .await;
    let other = h.sibling(OTHER_CLIENT_ID);

    h.app.remove_account(&alice()).await.unwrap();
    let stored = h.stored().await;
    assert_eq!(refresh_token_secrets(&stored), ["rt-b"]);
    assert_eq!(access_token_secrets(&stored), ["at-b"]);
    assert_eq!(client_ids(&stored, "IdToken"), [OTHER_CLIENT_ID]);
    assert_eq!(with_hid(&stored, "Account", &hid()).len(), 1);
    assert!(h.app.accounts().await.unwrap().is_empty());
    assert_eq!(other.accounts().await.unwrap().len(), 1);
    let r = other
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-b", TokenSource::Cache));
    assert_ui_required(h.app.acquire_token_silent(["User.Read"], &alice()).await);

    other.remove_account(&alice()).await.unwrap();
    let stored = h.stored().await;
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        assert!(
            with_hid(&stored, section, &hid()).is_empty(),
            "{section}: {}",
            stored[section]
        );
    }
    assert!(h.app.accounts().await.unwrap().is_empty());
    assert!(other.accounts().await.unwrap().is_empty());
    assert_ui_required(h.app.acquire_token_silent(["User.Read"], &alice()).await);
    assert_ui_required(other.acquire_token_silent(["User.Read"], &alice()).await);
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

// ---- OpenID Connect authorities --------------------------------------------------------------

fn discovery_document(issuer: &str, base: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

/// An app for a generic OpenID Connect provider on loopback, with the default (reqwest)
/// transport; the cache's environment is `host:port`.
fn oidc_app(
    server: &MockServer,
    clock: &ManualClock,
    cache: &MemoryCache,
) -> PublicClientApplication {
    PublicClientApplication::builder(CLIENT_ID)
        .oidc_authority(&server.uri())
        .clock(clock.clone())
        .cache(cache.clone())
        .build()
        .unwrap()
}

fn oidc_environment(server: &MockServer) -> String {
    server.uri().trim_start_matches("http://").to_owned()
}

fn oidc_seed(env: &str, at_expires_on: u64) -> CacheDoc {
    CacheDoc::new()
        .account(&hid(), env, "", "alice@contoso.example")
        .refresh_token(&hid(), env, CLIENT_ID, "rt-1", None)
        .access_token_at(
            &hid(),
            env,
            CLIENT_ID,
            "",
            TARGET,
            "at-1",
            at_expires_on,
            None,
        )
}

async fn seed_store(cache: &MemoryCache, doc: &CacheDoc) {
    use msal::cache::{CacheStore, Partition};
    let bytes = serde_json::to_vec(&doc.0).unwrap();
    cache
        .modify(Partition::All, None, &mut |_| Ok(bytes.clone()))
        .await
        .unwrap();
}

/// OIDC authority: a cache hit makes no request at all (not even discovery); the first refresh
/// fetches the discovery document once, then POSTs to its token endpoint; a second refresh does
/// not fetch discovery again. Cache entries use `127.0.0.1:<port>` as their environment.
#[tokio::test]
async fn oidc_authority_discovers_once_and_only_when_the_network_is_needed() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let cache = MemoryCache::new();
    let env = oidc_environment(&server);
    seed_store(&cache, &oidc_seed(&env, T0 + 3600)).await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(discovery_document(&server.uri(), &server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    for (redeemed, at, rt) in [("rt-1", "at-2", "rt-2"), ("rt-2", "at-3", "rt-3")] {
        answer_refresh(
            &server,
            "/token",
            redeemed,
            token_response(at, Some(rt), "User.Read openid profile", 3600),
        )
        .await;
    }
    let app = oidc_app(&server, &clock, &cache);
    let mut account = Account::new(hid(), env.clone(), "alice@contoso.example");
    account.tenant_id = String::new();

    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
    assert!(server.received_requests().await.unwrap().is_empty());

    clock.advance(Duration::from_secs(3500));
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let seen: Vec<(String, String)> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "GET".to_owned(),
                "/.well-known/openid-configuration".to_owned()
            ),
            ("POST".to_owned(), "/token".to_owned())
        ]
    );

    clock.advance(Duration::from_secs(3500));
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-3", TokenSource::IdentityProvider)
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].url.path(), "/token");
    assert_eq!(form(&requests[2])["refresh_token"], "rt-2");

    let stored: Value = serde_json::from_slice(&cache.snapshot().unwrap()).unwrap();
    let ats = entries(&stored, "AccessToken");
    assert_eq!(ats.len(), 1);
    assert_eq!(ats[0]["secret"], "at-3");
    assert_eq!(ats[0]["environment"], env.as_str());
    for rt in entries(&stored, "RefreshToken") {
        assert_eq!(rt["environment"], env.as_str());
    }
}

/// OIDC issuer mismatch: a discovery document whose `issuer` is not the configured authority
/// is refused with `Error::Authority` and no token request is made.
#[tokio::test]
async fn oidc_issuer_mismatch_is_refused_before_any_token_request() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let cache = MemoryCache::new();
    let env = oidc_environment(&server);
    seed_store(&cache, &oidc_seed(&env, T0 - 60)).await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(discovery_document("https://evil.example", &server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-2",
            Some("rt-2"),
            "User.Read",
            3600,
        )))
        .expect(0)
        .mount(&server)
        .await;
    let app = oidc_app(&server, &clock, &cache);
    let account = Account::new(hid(), env.clone(), "alice@contoso.example");

    let err = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Authority(_)), "{err:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/.well-known/openid-configuration");
    let stored: Value = serde_json::from_slice(&cache.snapshot().unwrap()).unwrap();
    assert_eq!(refresh_token_secrets(&stored), ["rt-1"]);
}

// ---- two "processes" -------------------------------------------------------------------------

/// Two application objects ("processes") over one `MemoryCache`: A refreshes and rotates the
/// refresh token; B, which had loaded the cache before, then serves A's new access token from
/// the cache with no request, and when it later needs a refresh it sends A's rotated token.
#[tokio::test]
async fn a_second_app_sees_the_first_apps_refresh_and_never_uses_a_stale_refresh_token() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with("rt-1", TARGET, "at-1", T0 - 60))
        .await;
    answer_refresh(
        &h.server,
        TOKEN_PATH,
        "rt-1",
        token_response("at-2", Some("rt-2"), "User.Read openid profile", 3600),
    )
    .await;
    answer_refresh(
        &h.server,
        TOKEN_PATH,
        "rt-2",
        token_response("at-3", Some("rt-3"), "User.Read openid profile", 3600),
    )
    .await;
    let b = app_over(&h.server, &h.clock, h.cache.clone());
    // B loads the cache (rt-1) before A refreshes.
    assert_eq!(b.accounts().await.unwrap().len(), 1);

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    assert_eq!(h.token_requests().await.len(), 1);

    let r = b
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(h.token_requests().await.len(), 1);

    h.clock.advance(Duration::from_secs(3500));
    let r = b
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-3", TokenSource::IdentityProvider)
    );
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(form(&requests[1])["refresh_token"], "rt-2");
    assert_eq!(refresh_token_secrets(&h.stored().await), ["rt-3"]);

    // And A, in turn, sees B's write.
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-3", TokenSource::Cache));
    assert_eq!(h.token_requests().await.len(), 2);
}

// ---- mixed-library caches, beyond the basics --------------------------------------------------

/// An app whose cache MSAL.NET wrote (app metadata under `login.windows.net`, no family) joins
/// the FOCI family with a refresh answered with `foci: "1"`; afterwards it is a family member:
/// it still lists the account and its next refresh redeems its (now family) refresh token.
#[tokio::test]
async fn joining_the_family_after_msal_net_wrote_the_app_metadata_keeps_the_account_usable() {
    let h = Harness::new().await;
    h.seed(&CacheDoc(net_dialect_doc())).await;
    let mut body = token_response("at-mail", Some("rt-net-2"), "Mail.Read", 3600);
    body["foci"] = json!("1");
    answer_refresh(&h.server, TOKEN_PATH, "rt-net", body).await;
    answer_refresh(
        &h.server,
        TOKEN_PATH,
        "rt-net-2",
        token_response("at-3", Some("rt-net-3"), "User.Read", 3600),
    )
    .await;

    let r = h
        .app
        .acquire_token_silent(["Mail.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-mail");
    let stored = h.stored().await;
    let rts = entries(&stored, "RefreshToken");
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0]["family_id"], "1");

    assert_eq!(
        h.app.accounts().await.unwrap().len(),
        1,
        "the account is still usable by this app"
    );
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-3", TokenSource::IdentityProvider)
    );
    let sent: Vec<String> = h
        .token_requests()
        .await
        .iter()
        .map(|r| form(r)["refresh_token"].clone())
        .collect();
    assert_eq!(sent, ["rt-net", "rt-net-2"]);
}

/// remove_account on a cache MSAL.NET wrote (`login.windows.net`) from an app configured for
/// `login.microsoftonline.com` removes the account's tokens and account entry (all aliases).
#[tokio::test]
async fn remove_account_covers_entries_under_an_alias() {
    let h = Harness::new().await;
    h.seed(&CacheDoc(net_dialect_doc())).await;
    let account = h.app.accounts().await.unwrap().remove(0);
    h.app.remove_account(&account).await.unwrap();
    let stored = h.stored().await;
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        assert!(
            with_hid(&stored, section, &hid()).is_empty(),
            "{section}: {}",
            stored[section]
        );
    }
    assert_eq!(stored["Extra"], net_dialect_doc()["Extra"]);
    assert!(h.app.accounts().await.unwrap().is_empty());
    assert_ui_required(h.app.acquire_token_silent(["User.Read"], &account).await);
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// Write-back: a new access token replaces cached ones whose scopes intersect it, but the
/// reserved OpenID scopes (`openid`, `profile`, `offline_access`) are ignored for matching
/// (decisions.md; MSAL JS: "do not allow OIDC scopes to be the only intersecting scopes"), so a
/// token for another resource whose response also lists `openid profile` does not evict the
/// cached Graph token.
#[tokio::test]
async fn tokens_sharing_only_openid_scopes_coexist_after_a_refresh() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read openid profile",
        "at-graph",
        T0 + 3600,
    ))
    .await;
    answer_refresh(
        &h.server,
        TOKEN_PATH,
        "rt-1",
        token_response(
            "at-api",
            Some("rt-2"),
            "api://contoso/Files.Read openid profile",
            3600,
        ),
    )
    .await;

    let r = h
        .app
        .acquire_token_silent(["api://contoso/Files.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-api");
    let mut ats = access_token_secrets(&h.stored().await);
    ats.sort();
    assert_eq!(ats, ["at-api", "at-graph"]);
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-graph", TokenSource::Cache)
    );
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Two processes over one cache file (two `FileCache::new` for the same path, so no shared
/// in-process lock): B loaded the file before A refreshed; B then notices A's write (the file
/// changed) and serves A's token from it, and later redeems A's rotated refresh token.
#[tokio::test]
async fn a_second_app_over_the_same_file_sees_the_first_apps_refresh() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msal").join("cache.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let seed = CacheDoc::signed_in_with("rt-1", TARGET, "at-1", T0 - 60);
    std::fs::write(&file, serde_json::to_vec(&seed.0).unwrap()).unwrap();
    for (redeemed, at, rt) in [("rt-1", "at-2", "rt-2"), ("rt-2", "at-3", "rt-3")] {
        answer_refresh(
            &server,
            TOKEN_PATH,
            redeemed,
            token_response(at, Some(rt), "User.Read openid profile", 3600),
        )
        .await;
    }
    let a = app_over(&server, &clock, FileCache::new(&file));
    let b = app_over(&server, &clock, FileCache::new(&file));
    assert_eq!(b.accounts().await.unwrap().len(), 1);

    let r = a
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let r = b
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    clock.advance(Duration::from_secs(3500));
    let r = b
        .acquire_token_silent(["User.Read"], &alice())
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-3");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(form(&requests[1])["refresh_token"], "rt-2");
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(refresh_token_secrets(&doc), ["rt-3"]);
    assert_eq!(access_token_secrets(&doc), ["at-3"]);
}
