//! `TokenCache` (the in-memory, indexed unified token cache) against its documented contract
//! and the behaviour spec (msal-behaviour.md sections 1, 2.5, 2.6, 6, 9; decisions.md).

use msal_cache::index::secret_fingerprint;
use msal_cache::keys;
use msal_cache::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};
use msal_cache::{
    AccessTokenQuery, AccountRemoval, ArcStr, CacheError, RedeemedRefreshToken, TokenCache,
    TokenWrite,
};
use msal_core::ScopeSet;
use proptest::prelude::*;
use serde_json::{json, Value};

// ------------------------------------------------------------------------------ fixtures

const HID: &str = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222";
const UID: &str = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111";
const UTID: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
const CLIENT: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
const OTHER_CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const THIRD_CLIENT: &str = "1950a258-227b-4e31-a9cf-717495945fc2";
const PY_ENV: &str = "login.microsoftonline.com";
const NET_ENV: &str = "login.windows.net";
/// Far enough ahead that `max_expires_on` never filters a fixture out.
const FAR: u64 = 4_000_000_000;

/// The example document of spec section 1.7, verbatim.
const SPEC_1_7: &str = r#"{
    "AccessToken": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.microsoftonline.com-accesstoken-9f1c3e2a-1111-4a2b-9c3d-0123456789ab-common-user.read email openid profile": {
            "credential_type": "AccessToken",
            "secret": "eyJ0eXAiOi...fake-access-token",
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.microsoftonline.com",
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "target": "User.Read email openid profile",
            "realm": "common",
            "token_type": "Bearer",
            "cached_at": "1700000000",
            "expires_on": "1700003599",
            "extended_expires_on": "1700003599"
        }
    },
    "Account": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.microsoftonline.com-common": {
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.microsoftonline.com",
            "realm": "common",
            "local_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111",
            "username": "alice@contoso.example",
            "authority_type": "MSSTS",
            "account_source": "authorization_code"
        }
    },
    "IdToken": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.microsoftonline.com-idtoken-9f1c3e2a-1111-4a2b-9c3d-0123456789ab-common-": {
            "credential_type": "IdToken",
            "secret": "eyJ0eXAiOi...fake-id-token",
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.microsoftonline.com",
            "realm": "common",
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab"
        }
    },
    "RefreshToken": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.microsoftonline.com-refreshtoken-9f1c3e2a-1111-4a2b-9c3d-0123456789ab--user.read email openid profile": {
            "credential_type": "RefreshToken",
            "secret": "0.AAAA...fake-refresh-token",
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.microsoftonline.com",
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "target": "User.Read email openid profile",
            "last_modification_time": "1700000000"
        }
    },
    "AppMetadata": {
        "appmetadata-login.microsoftonline.com-9f1c3e2a-1111-4a2b-9c3d-0123456789ab": {
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "environment": "login.microsoftonline.com"
        }
    }
}"#;

/// The same sign-in as MSAL.NET would write it (spec 1.7 "Variants"): `login.windows.net`,
/// realm = tid, target sorted case-insensitively, no `token_type`, `ext_expires_on` and
/// `client_info` on each credential, RT key without target, all five sections.
const NET_DOC: &str = r#"{
    "AccessToken": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.windows.net-accesstoken-9f1c3e2a-1111-4a2b-9c3d-0123456789ab-72f9a1b0-dddd-4eee-9fff-222222222222-email openid profile user.read": {
            "credential_type": "AccessToken",
            "secret": "eyJ0eXAiOi...net-access-token",
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.windows.net",
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "realm": "72f9a1b0-dddd-4eee-9fff-222222222222",
            "target": "email openid profile User.Read",
            "cached_at": "1700000000",
            "expires_on": "1700003599",
            "extended_expires_on": "1700003599",
            "ext_expires_on": "1700003599",
            "client_info": "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ"
        }
    },
    "RefreshToken": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.windows.net-refreshtoken-9f1c3e2a-1111-4a2b-9c3d-0123456789ab--": {
            "credential_type": "RefreshToken",
            "secret": "0.AAAA...net-refresh-token",
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.windows.net",
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "client_info": "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ",
            "ext_expires_on": "1700003599"
        }
    },
    "IdToken": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.windows.net-idtoken-9f1c3e2a-1111-4a2b-9c3d-0123456789ab-72f9a1b0-dddd-4eee-9fff-222222222222-": {
            "credential_type": "IdToken",
            "secret": "eyJ0eXAiOi...net-id-token",
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.windows.net",
            "realm": "72f9a1b0-dddd-4eee-9fff-222222222222",
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "client_info": "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ",
            "ext_expires_on": "1700003599"
        }
    },
    "Account": {
        "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222-login.windows.net-72f9a1b0-dddd-4eee-9fff-222222222222": {
            "home_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222",
            "environment": "login.windows.net",
            "realm": "72f9a1b0-dddd-4eee-9fff-222222222222",
            "local_account_id": "5f6e7d8c-aaaa-4bbb-8ccc-111111111111",
            "username": "alice@contoso.example",
            "authority_type": "MSSTS",
            "name": "Alice",
            "client_info": "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ"
        }
    },
    "AppMetadata": {
        "appmetadata-login.windows.net-9f1c3e2a-1111-4a2b-9c3d-0123456789ab": {
            "client_id": "9f1c3e2a-1111-4a2b-9c3d-0123456789ab",
            "environment": "login.windows.net"
        }
    }
}"#;

fn load(doc: &str) -> TokenCache {
    TokenCache::from_json(doc.as_bytes()).expect("document loads")
}

fn to_value(cache: &TokenCache) -> Value {
    serde_json::from_slice(&cache.to_json()).expect("to_json writes JSON")
}

fn scopes(s: &[&str]) -> ScopeSet {
    ScopeSet::new(s)
}

/// A plain Bearer access token (Python dialect).
fn at(
    hid: Option<&str>,
    env: &str,
    client: &str,
    realm: &str,
    target: &str,
    expires_on: u64,
    secret: &str,
) -> AccessTokenEntry {
    AccessTokenEntry {
        credential_type: "AccessToken".into(),
        secret: secret.into(),
        home_account_id: hid.map(ArcStr::from),
        environment: env.into(),
        client_id: client.into(),
        realm: realm.into(),
        target: target.into(),
        // Cached an hour before it expires, so that a write of it (whose time is its
        // `cached_at`) never finds the tokens of the same fixture expired.
        cached_at: expires_on.saturating_sub(3_600),
        expires_on,
        extended_expires_on: expires_on,
        refresh_on: None,
        token_type: Some("Bearer".into()),
        extra: Default::default(),
    }
}

fn rt(hid: &str, env: &str, client: &str, family: Option<&str>, secret: &str) -> RefreshTokenEntry {
    RefreshTokenEntry {
        credential_type: "RefreshToken".into(),
        secret: secret.into(),
        home_account_id: hid.into(),
        environment: env.into(),
        client_id: client.into(),
        target: None,
        last_modification_time: Some(1_700_000_000),
        family_id: family.map(ArcStr::from),
        extra: Default::default(),
    }
}

fn idt(hid: &str, env: &str, client: &str, realm: &str, secret: &str) -> IdTokenEntry {
    IdTokenEntry {
        credential_type: "IdToken".into(),
        secret: secret.into(),
        home_account_id: hid.into(),
        environment: env.into(),
        realm: realm.into(),
        client_id: client.into(),
        extra: Default::default(),
    }
}

fn account(hid: &str, env: &str, realm: &str, username: &str) -> AccountEntry {
    AccountEntry {
        home_account_id: hid.into(),
        environment: env.into(),
        realm: realm.into(),
        local_account_id: hid.split('.').next().unwrap_or_default().into(),
        username: username.into(),
        authority_type: "MSSTS".into(),
        account_source: None,
        name: None,
        extra: Default::default(),
    }
}

fn meta(env: &str, client: &str, family: Option<&str>) -> AppMetadataEntry {
    AppMetadataEntry {
        client_id: client.into(),
        environment: env.into(),
        family_id: family.map(ArcStr::from),
        extra: Default::default(),
    }
}

/// Write entries the way a sign-in does (no redeemed RT).
fn sign_in(cache: &mut TokenCache, w: TokenWrite) {
    assert!(cache.apply(&w), "a sign-in write always applies");
}

/// A query with sensible defaults.
fn query<'a>(
    hid: Option<&'a str>,
    env: &'a str,
    client: &'a str,
    realm: &'a str,
    s: &'a ScopeSet,
) -> AccessTokenQuery<'a> {
    AccessTokenQuery {
        home_account_id: hid,
        environment: env,
        client_id: client,
        realm,
        scopes: s,
        max_expires_on: FAR,
    }
}

fn secret_of(found: Option<&AccessTokenEntry>) -> Option<&str> {
    found.map(|e| e.secret.expose_secret())
}

fn redeemed(
    hid: &str,
    env: &str,
    client_or_family: &str,
    old_secret: &str,
    new_secret: Option<&str>,
    family_id: Option<&str>,
) -> RedeemedRefreshToken {
    RedeemedRefreshToken {
        home_account_id: hid.into(),
        environment: env.into(),
        client_or_family: client_or_family.into(),
        redeemed_secret_fingerprint: secret_fingerprint(old_secret),
        new_secret: new_secret.map(msal_core::Secret::from),
        now: 1_700_009_999,
        family_id: family_id.map(str::to_owned),
    }
}

fn usernames(cache: &TokenCache, env: &str, client: &str) -> Vec<String> {
    cache
        .accounts(env, client)
        .into_iter()
        .map(|a| a.username)
        .collect()
}

// --------------------------------------------------------------- 1. spec 1.7 document

#[test]
fn spec_example_loads_with_one_entry_of_each_kind() {
    let cache = load(SPEC_1_7);
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    assert!(!cache.is_empty());
}

#[test]
fn spec_example_access_token_is_found_case_insensitively() {
    let cache = load(SPEC_1_7);
    let s = scopes(&["user.read"]);
    let found = cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .expect("the AT covers user.read");
    assert_eq!(found.secret, "eyJ0eXAiOi...fake-access-token");
    assert_eq!(found.expires_on, 1_700_003_599);
    assert_eq!(found.cached_at, 1_700_000_000);
    assert_eq!(found.extended_expiry(), 1_700_003_599);
    assert_eq!(found.token_type.as_deref(), Some("Bearer"));

    // Several requested scopes, any case, all covered.
    let s = scopes(&["USER.READ", "Email"]);
    assert!(cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .is_some());
}

#[test]
fn spec_example_misses_scopes_it_does_not_hold() {
    let cache = load(SPEC_1_7);
    let s = scopes(&["Mail.Read"]);
    assert!(cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .is_none());
    // A superset of the cached scopes misses too.
    let s = scopes(&["User.Read", "Mail.Read"]);
    assert!(cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .is_none());
}

#[test]
fn spec_example_lists_alice() {
    let cache = load(SPEC_1_7);
    let accounts = cache.accounts(PY_ENV, CLIENT);
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    let a = &accounts[0];
    assert_eq!(a.home_account_id, HID);
    assert_eq!(a.username, "alice@contoso.example");
    assert_eq!(a.local_account_id, UID);
    assert_eq!(a.tenant_id, "common");
    assert_eq!(a.environment, PY_ENV);
    assert_eq!(a.home_tenant_id(), Some(UTID));

    // Another app sharing the cache has no RT for alice: it sees nobody.
    assert!(cache.accounts(PY_ENV, OTHER_CLIENT).is_empty());
    // A different cloud sees nobody.
    assert!(cache.accounts("login.chinacloudapi.cn", CLIENT).is_empty());
}

#[test]
fn spec_example_point_lookups() {
    let cache = load(SPEC_1_7);

    let rts = cache.refresh_tokens(HID, PY_ENV);
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0].secret, "0.AAAA...fake-refresh-token");
    assert_eq!(rts[0].client_id, CLIENT);
    assert_eq!(rts[0].last_modification_time, Some(1_700_000_000));
    assert!(!rts[0].is_family());
    // Aliases and case of the home account id do not matter.
    assert_eq!(cache.refresh_tokens(&HID.to_uppercase(), NET_ENV).len(), 1);
    assert!(cache.refresh_tokens("someone.else", PY_ENV).is_empty());

    let m = cache.app_metadata(PY_ENV, CLIENT).expect("app metadata");
    assert_eq!(m.family_id, None);
    assert!(cache.app_metadata("login.microsoft.com", CLIENT).is_some());
    assert!(cache.app_metadata(PY_ENV, OTHER_CLIENT).is_none());

    let id = cache
        .id_token(HID, PY_ENV, CLIENT, "common")
        .expect("id token");
    assert_eq!(id.secret, "eyJ0eXAiOi...fake-id-token");
    assert!(cache
        .id_token(HID, "sts.windows.net", CLIENT, "COMMON")
        .is_some());
    assert!(cache.id_token(HID, PY_ENV, CLIENT, UTID).is_none());
    assert!(cache
        .id_token(HID, PY_ENV, OTHER_CLIENT, "common")
        .is_none());

    let a = cache.account(HID, NET_ENV).expect("account via alias");
    assert_eq!(a.username, "alice@contoso.example");
    assert_eq!(a.tenant_id, "common");
    assert!(cache.account(HID, "login.microsoftonline.us").is_none());
    assert!(cache.account("nobody.none", PY_ENV).is_none());
}

#[test]
fn debug_output_never_contains_secrets() {
    let cache = load(SPEC_1_7);
    let dbg = format!("{cache:?}");
    assert!(!dbg.contains("fake-access-token"), "{dbg}");
    assert!(!dbg.contains("fake-refresh-token"), "{dbg}");
    assert!(!dbg.contains("fake-id-token"), "{dbg}");
}

// ------------------------------------------------------------------- 2. round trip

#[test]
fn spec_example_round_trips() {
    let cache = load(SPEC_1_7);
    let out = cache.to_json();
    let again = TokenCache::from_json(&out).expect("own output loads");
    assert_eq!(again.counts(), cache.counts());
    // Writing is a fixed point after one round.
    assert_eq!(again.to_json(), out);
}

#[test]
fn to_json_writes_python_dialect_with_derived_keys() {
    let v = to_value(&load(SPEC_1_7));
    let top = v.as_object().expect("top-level object");
    for section in [
        "AccessToken",
        "RefreshToken",
        "IdToken",
        "Account",
        "AppMetadata",
    ] {
        let s = top[section].as_object().expect("section object");
        assert_eq!(s.len(), 1, "{section}: {s:?}");
    }

    let at_key = keys::access_token_key(
        HID,
        PY_ENV,
        CLIENT,
        "common",
        &ScopeSet::from_target("User.Read email openid profile").to_target(),
    );
    assert_eq!(
        at_key,
        format!("{HID}-login.microsoftonline.com-accesstoken-{CLIENT}-common-user.read email openid profile")
    );
    let a = &v["AccessToken"][&at_key];
    assert_eq!(a["secret"], "eyJ0eXAiOi...fake-access-token");
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["cached_at"], "1700000000");
    assert_eq!(a["expires_on"], "1700003599");
    assert_eq!(a["extended_expires_on"], "1700003599");
    assert_eq!(a["target"], "User.Read email openid profile");
    assert_eq!(a["credential_type"], "AccessToken");

    // The RT key is rebuilt without target (decisions.md), whatever the stored key was.
    let rt_key = keys::refresh_token_key(HID, PY_ENV, CLIENT);
    assert_eq!(
        rt_key,
        format!("{HID}-login.microsoftonline.com-refreshtoken-{CLIENT}--")
    );
    let r = &v["RefreshToken"][&rt_key];
    assert_eq!(r["secret"], "0.AAAA...fake-refresh-token");
    assert_eq!(r["last_modification_time"], "1700000000");
    assert_eq!(r["target"], "User.Read email openid profile");
    assert!(r.get("family_id").is_none());

    let id_key = keys::id_token_key(HID, PY_ENV, CLIENT, "common");
    assert_eq!(
        v["IdToken"][&id_key]["secret"],
        "eyJ0eXAiOi...fake-id-token"
    );
    let acct_key = keys::account_key(HID, PY_ENV, "common");
    assert_eq!(
        v["Account"][&acct_key]["account_source"],
        "authorization_code"
    );
    assert_eq!(v["Account"][&acct_key]["username"], "alice@contoso.example");
    let app_key = keys::app_metadata_key(PY_ENV, CLIENT);
    assert_eq!(
        app_key,
        format!("appmetadata-login.microsoftonline.com-{CLIENT}")
    );
    assert_eq!(v["AppMetadata"][&app_key]["client_id"], CLIENT);

    // Every key is lowercase.
    for (_, section) in top {
        for key in section.as_object().unwrap().keys() {
            assert_eq!(key, &key.to_lowercase());
        }
    }
}

#[test]
fn empty_cache_writes_all_five_empty_sections() {
    let v = to_value(&TokenCache::new());
    let top = v.as_object().unwrap();
    assert_eq!(top.len(), 5);
    for section in top.values() {
        assert_eq!(section, &json!({}));
    }
}

// ------------------------------------------------------------------- 3. .NET dialect

#[test]
fn net_dialect_loads_and_is_found_through_aliases() {
    let cache = load(NET_DOC);
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));

    let s = scopes(&["user.read"]);
    for env in [PY_ENV, NET_ENV, "login.microsoft.com", "sts.windows.net"] {
        let found = cache.find_access_token(&query(Some(HID), env, CLIENT, UTID, &s));
        assert_eq!(
            secret_of(found),
            Some("eyJ0eXAiOi...net-access-token"),
            "via {env}"
        );
    }
    let found = cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, UTID, &s))
        .unwrap();
    // Missing token_type reads as Bearer (the entry is usable).
    assert!(found.is_plain_bearer());
    assert_eq!(found.token_type, None);
    assert_eq!(found.extended_expiry(), 1_700_003_599);
    // Realm is the tid: "common" does not match.
    assert!(cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .is_none());
    // A different cloud does not match.
    assert!(cache
        .find_access_token(&query(
            Some(HID),
            "login.microsoftonline.us",
            CLIENT,
            UTID,
            &s
        ))
        .is_none());

    let accounts = cache.accounts(PY_ENV, CLIENT);
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].username, "alice@contoso.example");
    assert_eq!(accounts[0].tenant_id, UTID);
    assert_eq!(accounts[0].name.as_deref(), Some("Alice"));

    assert_eq!(cache.refresh_tokens(HID, PY_ENV).len(), 1);
    assert!(cache.app_metadata(PY_ENV, CLIENT).is_some());
    assert!(cache.id_token(HID, PY_ENV, CLIENT, UTID).is_some());
}

#[test]
fn net_dialect_extra_fields_survive_round_trip() {
    let cache = load(NET_DOC);
    let v = to_value(&cache);

    let at_key = keys::access_token_key(
        HID,
        NET_ENV,
        CLIENT,
        UTID,
        &ScopeSet::from_target("email openid profile User.Read").to_target(),
    );
    assert_eq!(
        at_key,
        format!(
            "{HID}-login.windows.net-accesstoken-{CLIENT}-{UTID}-user.read email openid profile"
        )
    );
    let a = &v["AccessToken"][&at_key];
    assert_eq!(a["client_info"], "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ");
    assert_eq!(a["ext_expires_on"], "1700003599");
    assert_eq!(a["environment"], NET_ENV);
    assert_eq!(a["realm"], UTID);
    // token_type stays absent for an entry .NET wrote without one.
    assert!(a.get("token_type").is_none());

    let r = &v["RefreshToken"][&keys::refresh_token_key(HID, NET_ENV, CLIENT)];
    assert_eq!(r["client_info"], "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ");
    assert_eq!(r["ext_expires_on"], "1700003599");
    assert_eq!(r["secret"], "0.AAAA...net-refresh-token");

    let i = &v["IdToken"][&keys::id_token_key(HID, NET_ENV, CLIENT, UTID)];
    assert_eq!(i["client_info"], "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ");
    assert_eq!(i["ext_expires_on"], "1700003599");

    let acct = &v["Account"][&keys::account_key(HID, NET_ENV, UTID)];
    assert_eq!(
        acct["client_info"],
        "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ"
    );
    assert_eq!(acct["name"], "Alice");

    assert!(v["AppMetadata"][&keys::app_metadata_key(NET_ENV, CLIENT)].is_object());

    let again = TokenCache::from_json(&cache.to_json()).unwrap();
    assert_eq!(again.counts(), (1, 1, 1, 1, 1));
    assert_eq!(again.to_json(), cache.to_json());
}

#[test]
fn net_ext_expires_on_is_the_fallback_for_extended_expiry() {
    let doc = json!({"AccessToken": {"k": {
        "credential_type": "AccessToken", "secret": "s", "home_account_id": "u.t",
        "environment": NET_ENV, "client_id": "c", "realm": "t", "target": "a",
        "expires_on": 100, "ext_expires_on": "250"
    }}});
    let cache = load(&doc.to_string());
    let s = scopes(&["a"]);
    let e = cache
        .find_access_token(&query(Some("u.t"), NET_ENV, "c", "t", &s))
        .unwrap();
    // Numbers are accepted for timestamps too.
    assert_eq!(e.expires_on, 100);
    assert_eq!(e.extended_expiry(), 250);
}

#[test]
fn both_dialects_side_by_side_are_both_kept() {
    // A cache shared by MSAL Python and MSAL.NET: same account under two hosts.
    let mut py: Value = serde_json::from_str(SPEC_1_7).unwrap();
    let net: Value = serde_json::from_str(NET_DOC).unwrap();
    for (section, entries) in net.as_object().unwrap() {
        let target = py[section].as_object_mut().unwrap();
        for (k, e) in entries.as_object().unwrap() {
            target.insert(k.clone(), e.clone());
        }
    }
    let cache = load(&py.to_string());
    assert_eq!(cache.counts(), (2, 2, 2, 2, 2));
    // One home account, one result; the home-tenant profile (NET's realm = tid) is preferred.
    let accounts = cache.accounts(PY_ENV, CLIENT);
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0].tenant_id, UTID);
    let s = scopes(&["User.Read"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))),
        Some("eyJ0eXAiOi...fake-access-token")
    );
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some(HID), PY_ENV, CLIENT, UTID, &s))),
        Some("eyJ0eXAiOi...net-access-token")
    );
    assert_eq!(cache.refresh_tokens(HID, NET_ENV).len(), 2);
}

// ------------------------------------------------------- 4. unknown data and corruption

#[test]
fn unknown_fields_and_sections_survive_round_trip() {
    let mut doc: Value = serde_json::from_str(SPEC_1_7).unwrap();
    let at_key = doc["AccessToken"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    doc["AccessToken"][&at_key]["future_field"] = json!({"nested": [1, 2, {"x": null}]});
    doc["AccessToken"][&at_key]["kid_like_but_not"] = json!("v");
    let rt_key = doc["RefreshToken"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    doc["RefreshToken"][&rt_key]["user_assertion_hash_x"] = json!(42);
    let acct_key = doc["Account"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    doc["Account"][&acct_key]["wam_account_ids"] = json!({"c": "wam-1"});
    doc["AppMetadata"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap()["flags"] = json!(true);
    doc["FutureSection"] = json!({"some-key": {"anything": [true, 1.5]}});
    doc["NotAnObjectButUnknown"] = json!([1, 2, 3]);

    let cache = load(&doc.to_string());
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    let v = to_value(&cache);

    let new_at_key = keys::access_token_key(
        HID,
        PY_ENV,
        CLIENT,
        "common",
        "User.Read email openid profile",
    );
    assert_eq!(
        new_at_key, at_key,
        "the Python AT key is reproduced exactly"
    );
    assert_eq!(
        v["AccessToken"][&at_key]["future_field"],
        json!({"nested": [1, 2, {"x": null}]})
    );
    assert_eq!(v["AccessToken"][&at_key]["kid_like_but_not"], "v");
    assert_eq!(
        v["RefreshToken"][&keys::refresh_token_key(HID, PY_ENV, CLIENT)]["user_assertion_hash_x"],
        42
    );
    assert_eq!(
        v["Account"][&acct_key]["wam_account_ids"],
        json!({"c": "wam-1"})
    );
    assert_eq!(
        v["AppMetadata"][&keys::app_metadata_key(PY_ENV, CLIENT)]["flags"],
        true
    );
    assert_eq!(
        v["FutureSection"],
        json!({"some-key": {"anything": [true, 1.5]}})
    );
    assert_eq!(v["NotAnObjectButUnknown"], json!([1, 2, 3]));

    // Unknown fields do not stop the token from being found.
    let s = scopes(&["User.Read"]);
    assert!(cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .is_some());
}

#[test]
fn unparsable_entries_are_written_back_verbatim_under_their_key() {
    let odd_at = json!(["not", "an", "object"]);
    let bad_secret = json!({
        "credential_type": "AccessToken", "secret": {"x": 1}, "home_account_id": "u.t",
        "environment": PY_ENV, "client_id": "c", "realm": "r", "target": "a"
    });
    let no_env_rt = json!({"secret": "s", "home_account_id": "u.t", "client_id": "c"});
    let bad_account =
        json!({"home_account_id": "u.t", "environment": PY_ENV, "username": {"no": 1}});
    let bad_meta = json!("just a string");
    let doc = json!({
        "AccessToken": {
            "Weird-Key-Array": odd_at,
            "Weird Key Secret Object": bad_secret,
        },
        "RefreshToken": {"rt-without-env": no_env_rt},
        "IdToken": {"idt-null": null},
        "Account": {"ACCOUNT-BAD": bad_account},
        "AppMetadata": {"meta-string": bad_meta},
    });
    let cache = load(&doc.to_string());
    assert_eq!(cache.counts(), (0, 0, 0, 0, 0));
    assert!(!cache.is_empty(), "unparsed entries still count as content");

    let v = to_value(&cache);
    assert_eq!(v["AccessToken"]["Weird-Key-Array"], odd_at);
    assert_eq!(v["AccessToken"]["Weird Key Secret Object"], bad_secret);
    assert_eq!(v["RefreshToken"]["rt-without-env"], no_env_rt);
    assert_eq!(v["IdToken"]["idt-null"], Value::Null);
    assert!(v["IdToken"].as_object().unwrap().contains_key("idt-null"));
    assert_eq!(v["Account"]["ACCOUNT-BAD"], bad_account);
    assert_eq!(v["AppMetadata"]["meta-string"], bad_meta);

    // And again: still verbatim after a second round.
    let again = TokenCache::from_json(&cache.to_json()).unwrap();
    assert_eq!(again.to_json(), cache.to_json());

    // The broken AT is never served.
    let s = scopes(&["a"]);
    assert!(again
        .find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))
        .is_none());
}

#[test]
fn unparsable_entry_next_to_good_ones() {
    let mut doc: Value = serde_json::from_str(SPEC_1_7).unwrap();
    doc["AccessToken"]["broken"] = json!({"secret": [1]});
    let cache = load(&doc.to_string());
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    let v = to_value(&cache);
    assert_eq!(v["AccessToken"].as_object().unwrap().len(), 2);
    assert_eq!(v["AccessToken"]["broken"], json!({"secret": [1]}));
}

#[test]
fn corrupt_input_is_an_error() {
    let cases: [&[u8]; 8] = [
        b"not json",
        b"{\"AccessToken\": {",
        b"[1, 2, 3]",
        b"[]",
        b"\"a string\"",
        b"42",
        b"{\"AccessToken\": []}",
        b"{\"RefreshToken\": \"x\"}",
    ];
    for bytes in cases {
        match TokenCache::from_json(bytes) {
            Err(CacheError::Corrupt { location, message }) => {
                assert_eq!(location, None);
                assert!(!message.is_empty());
            }
            Err(other) => panic!(
                "{:?}: wrong error {other:?}",
                String::from_utf8_lossy(bytes)
            ),
            Ok(c) => panic!("{:?}: loaded {c:?}", String::from_utf8_lossy(bytes)),
        }
    }
    // A known section given in other casing that is not an object is corrupt too.
    assert!(matches!(
        TokenCache::from_json(br#"{"accesstoken": 1}"#),
        Err(CacheError::Corrupt { .. })
    ));
    assert!(matches!(
        TokenCache::from_json(br#"{"Account": null}"#),
        Err(CacheError::Corrupt { .. })
    ));
}

#[test]
fn corrupt_error_never_quotes_the_data() {
    let doc = br#"{"AccessToken": {"k": {"secret": "TOP-SECRET-VALUE" "#;
    let err = TokenCache::from_json(doc).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("TOP-SECRET-VALUE"), "{text}");
}

#[test]
fn empty_or_whitespace_input_is_an_empty_cache() {
    for bytes in [&b""[..], b"   ", b"\n\t \r\n", b"{}"] {
        let cache = TokenCache::from_json(bytes).expect("empty input loads");
        assert!(cache.is_empty());
        assert_eq!(cache.counts(), (0, 0, 0, 0, 0));
    }
}

#[test]
fn known_sections_are_matched_case_insensitively() {
    let doc = json!({"accesstoken": {"whatever": {
        "credential_type": "AccessToken", "secret": "lower-section", "home_account_id": "u.t",
        "environment": PY_ENV, "client_id": "c", "realm": "r", "target": "a b",
    }}});
    let cache = load(&doc.to_string());
    assert_eq!(cache.counts(), (1, 0, 0, 0, 0));
    let s = scopes(&["a"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("lower-section")
    );
    let v = to_value(&cache);
    assert_eq!(
        v["AccessToken"][&keys::access_token_key("u.t", PY_ENV, "c", "r", "a b")]["secret"],
        "lower-section"
    );
}

#[test]
fn stored_keys_are_ignored_and_rebuilt_from_content() {
    // Keys that match nothing msal-rs would write.
    let doc = json!({
        "AccessToken": {"zzz": {
            "credential_type": "AccessToken", "secret": "s1", "home_account_id": "U.T",
            "environment": "Login.MicrosoftOnline.com", "client_id": "C", "realm": "Common",
            "target": "S2 s1", "expires_on": "100"
        }},
        "RefreshToken": {"yyy": {
            "secret": "r1", "home_account_id": "U.T", "environment": PY_ENV, "client_id": "C",
            "family_id": "1"
        }},
    });
    let v = to_value(&load(&doc.to_string()));
    // Spec section 9, vector 1.
    assert_eq!(
        v["AccessToken"]["u.t-login.microsoftonline.com-accesstoken-c-common-s2 s1"]["secret"],
        "s1"
    );
    // A family RT is keyed by its family id.
    assert_eq!(
        v["RefreshToken"]["u.t-login.microsoftonline.com-refreshtoken-1--"]["secret"],
        "r1"
    );
    assert!(v["AccessToken"].get("zzz").is_none());
    assert!(v["RefreshToken"].get("yyy").is_none());
}

#[test]
fn colliding_access_tokens_keep_the_later_expiring() {
    // Same key after lowercasing; the later-expiring one comes first in the document.
    let doc = json!({"AccessToken": {
        "a": {"secret": "later", "home_account_id": "u.t", "environment": "LOGIN.microsoftonline.com",
              "client_id": "c", "realm": "r", "target": "x", "expires_on": "2000"},
        "b": {"secret": "earlier", "home_account_id": "u.t", "environment": PY_ENV,
              "client_id": "c", "realm": "r", "target": "X", "expires_on": "1000"},
    }});
    let cache = load(&doc.to_string());
    assert_eq!(cache.counts().0, 1);
    let s = scopes(&["x"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("later")
    );

    // insert_access_token follows the same rule.
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "x", 2000, "later"));
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "x", 1000, "earlier"));
    assert_eq!(cache.counts().0, 1);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("later")
    );
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "x", 3000, "newest"));
    assert_eq!(cache.counts().0, 1);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("newest")
    );
}

#[test]
fn python_refresh_tokens_per_target_collapse_to_the_newest() {
    // MSAL Python keys RTs by target, so one account/client can hold several; msal-rs keys
    // them without target and keeps the one modified last.
    let doc = json!({"RefreshToken": {
        "u.t-login.microsoftonline.com-refreshtoken-c--a": {
            "secret": "newer", "home_account_id": "u.t", "environment": PY_ENV, "client_id": "c",
            "target": "a", "last_modification_time": "200"},
        "u.t-login.microsoftonline.com-refreshtoken-c--b": {
            "secret": "older", "home_account_id": "u.t", "environment": PY_ENV, "client_id": "c",
            "target": "b", "last_modification_time": "100"},
    }});
    let cache = load(&doc.to_string());
    let rts = cache.refresh_tokens("u.t", PY_ENV);
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0].secret, "newer");
    assert_eq!(cache.counts().1, 1);
}

#[test]
fn refresh_tokens_are_listed_newest_first() {
    let mut cache = TokenCache::new();
    let mut a = rt("u.t", PY_ENV, "c1", None, "old");
    a.last_modification_time = Some(100);
    let mut b = rt("u.t", NET_ENV, "c2", None, "new");
    b.last_modification_time = Some(300);
    let mut c = rt("u.t", PY_ENV, "c3", None, "none");
    c.last_modification_time = None;
    let mut d = rt("u.t", PY_ENV, "c4", Some("1"), "mid");
    d.last_modification_time = Some(200);
    for r in [a, b, c, d] {
        sign_in(
            &mut cache,
            TokenWrite {
                refresh_token: Some(r),
                ..Default::default()
            },
        );
    }
    let secrets: Vec<&str> = cache
        .refresh_tokens("u.t", "login.microsoft.com")
        .iter()
        .map(|r| r.secret.expose_secret())
        .collect();
    assert_eq!(secrets, ["new", "mid", "old", "none"]);
}

// ------------------------------------------------------------------ 5. AT lookups

#[test]
fn find_uses_subset_matching() {
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(
        Some("u.t"),
        PY_ENV,
        "c",
        "r",
        "Mail.Read User.Read Files.Read",
        5000,
        "big",
    ));
    for (req, hit) in [
        (&["user.read"][..], true),
        (&["User.Read", "mail.read"], true),
        (&["FILES.READ", "Mail.Read", "User.Read"], true),
        (&["User.Read", "Calendars.Read"], false),
        (&["Calendars.Read"], false),
    ] {
        let s = scopes(req);
        let got = cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s));
        assert_eq!(got.is_some(), hit, "{req:?}");
    }
}

#[test]
fn reserved_scopes_are_the_callers_job() {
    let mut cache = TokenCache::new();
    // The server answered without echoing openid/profile.
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "User.Read", 5000, "s"));
    let requested = scopes(&["User.Read", "openid", "profile", "offline_access"]);
    let stripped = requested.without_reserved();
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &stripped))),
        Some("s")
    );
    // Passed through unstripped, the reserved scopes take part in matching.
    assert!(cache
        .find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &requested))
        .is_none());
}

#[test]
fn of_several_matches_the_later_expiring_wins() {
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "a b", 3000, "mid"));
    cache.insert_access_token(at(Some("u.t"), NET_ENV, "c", "r", "a c", 4000, "late"));
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "a", 2000, "early"));
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "b", 9000, "no-a"));
    assert_eq!(cache.counts().0, 4);
    let s = scopes(&["a"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("late")
    );
    let s = scopes(&["A", "B"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("mid")
    );
    let s = scopes(&["b"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
        Some("no-a")
    );
}

/// Variants of an AT a Bearer request must never be given.
fn non_bearer_variants() -> Vec<(&'static str, AccessTokenEntry)> {
    let base = || at(Some("u.t"), PY_ENV, "c", "r", "a x", 9000, "bound");
    let mut key_id = base();
    key_id.target = "a k1".into();
    key_id.extra.insert("key_id".into(), json!("key-1"));
    let mut kid = base();
    kid.target = "a k2".into();
    kid.extra.insert("kid".into(), json!("key-2"));
    let mut pop = base();
    pop.target = "a k3".into();
    pop.token_type = Some("pop".into());
    let mut pop_upper = base();
    pop_upper.target = "a k4".into();
    pop_upper.token_type = Some("PoP".into());
    let mut ssh = base();
    ssh.target = "a k5".into();
    ssh.token_type = Some("ssh-cert".into());
    let mut atext = base();
    atext.target = "a k6".into();
    atext.credential_type = "ATExt".into();
    let mut ext = base();
    ext.target = "a k7".into();
    ext.extra.insert("ext".into(), json!({"k": "v"}));
    let mut obo = base();
    obo.target = "a k8".into();
    obo.extra
        .insert("user_assertion_hash".into(), json!("hash"));
    vec![
        ("key_id", key_id),
        ("kid", kid),
        ("pop", pop),
        ("PoP", pop_upper),
        ("ssh-cert", ssh),
        ("ATExt", atext),
        ("ext", ext),
        ("user_assertion_hash", obo),
    ]
}

#[test]
fn bound_and_non_bearer_tokens_are_never_returned() {
    let s = scopes(&["a"]);
    for (name, variant) in non_bearer_variants() {
        // Alone: nothing is found.
        let mut alone = TokenCache::new();
        alone.insert_access_token(variant.clone());
        assert_eq!(alone.counts().0, 1, "{name}");
        assert!(
            alone
                .find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))
                .is_none(),
            "{name} was returned"
        );
        // Next to an earlier-expiring plain Bearer token: the Bearer one is found.
        let mut both = TokenCache::new();
        both.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "a", 5000, "plain"));
        both.insert_access_token(variant);
        assert_eq!(both.counts().0, 2, "{name}");
        assert_eq!(
            secret_of(both.find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))),
            Some("plain"),
            "{name}"
        );
    }
    // Explicit Bearer spellings are fine.
    for tt in [Some("Bearer"), Some("bearer"), Some("BEARER"), None] {
        let mut cache = TokenCache::new();
        let mut e = at(Some("u.t"), PY_ENV, "c", "r", "a", 5000, "ok");
        e.token_type = tt.map(ArcStr::from);
        cache.insert_access_token(e);
        assert!(
            cache
                .find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))
                .is_some(),
            "{tt:?}"
        );
    }
}

#[test]
fn bound_tokens_loaded_from_json_are_never_returned() {
    let doc = json!({"AccessToken": {
        "py-ssh": {"secret": "s1", "home_account_id": "u.t", "environment": PY_ENV, "client_id": "c",
                   "realm": "r", "target": "a b", "expires_on": "9000", "token_type": "ssh-cert",
                   "key_id": "k"},
        "net-pop": {"credential_type": "AccessToken", "secret": "s2", "home_account_id": "u.t",
                    "environment": NET_ENV, "client_id": "c", "realm": "r", "target": "a c",
                    "expires_on": "9000", "token_type": "pop", "kid": "k"},
        "net-ext": {"credential_type": "ATExt", "secret": "s3", "home_account_id": "u.t",
                    "environment": NET_ENV, "client_id": "c", "realm": "r", "target": "a d",
                    "expires_on": "9000", "ext": {"x": "y"}},
    }});
    let cache = load(&doc.to_string());
    assert_eq!(cache.counts().0, 3);
    let s = scopes(&["a"]);
    assert!(cache
        .find_access_token(&query(Some("u.t"), PY_ENV, "c", "r", &s))
        .is_none());
}

/// A .NET cache may hold a Bearer AT and a PoP AT for the same account and scopes: .NET keys
/// them apart (`accesstoken_with_authscheme`, `-pop` suffix). A load/save round trip must lose
/// neither, and the Bearer one must stay findable.
#[test]
fn bearer_and_pop_tokens_with_same_scopes_both_survive() {
    let doc = json!({"AccessToken": {
        format!("{HID}-login.windows.net-accesstoken-{CLIENT}-{UTID}-user.read"): {
            "credential_type": "AccessToken", "secret": "bearer", "home_account_id": HID,
            "environment": NET_ENV, "client_id": CLIENT, "realm": UTID, "target": "User.Read",
            "expires_on": "5000"},
        format!("{HID}-login.windows.net-accesstoken_with_authscheme-{CLIENT}-{UTID}-user.read-pop"): {
            "credential_type": "AccessToken", "secret": "pop", "home_account_id": HID,
            "environment": NET_ENV, "client_id": CLIENT, "realm": UTID, "target": "User.Read",
            "expires_on": "6000", "token_type": "pop", "kid": "key-1"},
        format!("{HID}-login.windows.net-atext-{CLIENT}-{UTID}-user.read-abc"): {
            "credential_type": "ATExt", "secret": "ext", "home_account_id": HID,
            "environment": NET_ENV, "client_id": CLIENT, "realm": UTID, "target": "User.Read",
            "expires_on": "7000", "ext": {"k": "v"}},
    }});
    let cache = load(&doc.to_string());
    assert_eq!(cache.counts().0, 3, "no access token may be lost on load");
    let s = scopes(&["User.Read"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some(HID), PY_ENV, CLIENT, UTID, &s))),
        Some("bearer")
    );
    let v = to_value(&cache);
    let secrets: Vec<&str> = v["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["secret"].as_str().unwrap())
        .collect();
    assert_eq!(secrets.len(), 3, "{secrets:?}");
}

#[test]
fn max_expires_on_filters_absurd_expiry() {
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "a", 5000, "normal"));
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "a b", 10_000, "absurd"));
    let s = scopes(&["a"]);
    let mut q = query(Some("u.t"), PY_ENV, "c", "r", &s);
    q.max_expires_on = 8000;
    assert_eq!(secret_of(cache.find_access_token(&q)), Some("normal"));
    q.max_expires_on = 10_000;
    assert_eq!(secret_of(cache.find_access_token(&q)), Some("absurd"));
    q.max_expires_on = 9_999;
    assert_eq!(secret_of(cache.find_access_token(&q)), Some("normal"));
    q.max_expires_on = 4_999;
    assert_eq!(secret_of(cache.find_access_token(&q)), None);
}

#[test]
fn realm_client_and_account_must_match_case_insensitively() {
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(
        Some("Uid.Tid"),
        "Login.MicrosoftOnline.com",
        "Client-A",
        "Contoso.OnMicrosoft.com",
        "a",
        5000,
        "s",
    ));
    let s = scopes(&["a"]);
    let hit = |hid: &str, env: &str, client: &str, realm: &str| {
        cache
            .find_access_token(&query(Some(hid), env, client, realm, &s))
            .is_some()
    };
    assert!(hit(
        "uid.tid",
        PY_ENV,
        "client-a",
        "contoso.onmicrosoft.com"
    ));
    assert!(hit(
        "UID.TID",
        "LOGIN.WINDOWS.NET",
        "CLIENT-A",
        "CONTOSO.ONMICROSOFT.COM"
    ));
    assert!(!hit(
        "uid.tid",
        PY_ENV,
        "client-b",
        "contoso.onmicrosoft.com"
    ));
    assert!(!hit(
        "uid.tid",
        PY_ENV,
        "client-a",
        "fabrikam.onmicrosoft.com"
    ));
    assert!(!hit("uid.tid", PY_ENV, "client-a", "common"));
    assert!(!hit(
        "other.tid",
        PY_ENV,
        "client-a",
        "contoso.onmicrosoft.com"
    ));
    assert!(!hit(
        "uid.tid",
        "login.microsoftonline.us",
        "client-a",
        "contoso.onmicrosoft.com"
    ));
}

#[test]
fn non_entra_hosts_match_only_themselves_ignoring_case() {
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(
        Some("sub"),
        "adfs.contoso.com",
        "c",
        "adfs",
        "a",
        5000,
        "adfs",
    ));
    let s = scopes(&["a"]);
    assert!(cache
        .find_access_token(&query(Some("sub"), "ADFS.Contoso.com", "c", "adfs", &s))
        .is_some());
    assert!(cache
        .find_access_token(&query(Some("sub"), "adfs.fabrikam.com", "c", "adfs", &s))
        .is_none());
    assert!(cache
        .find_access_token(&query(Some("sub"), PY_ENV, "c", "adfs", &s))
        .is_none());
}

#[test]
fn app_only_tokens_are_found_only_without_an_account() {
    let doc = json!({"AccessToken": {"-login.microsoftonline.com-accesstoken-c-t-https://graph.microsoft.com/.default": {
        "credential_type": "AccessToken", "secret": "app", "home_account_id": null,
        "environment": PY_ENV, "client_id": "c", "realm": "t",
        "target": "https://graph.microsoft.com/.default", "token_type": "Bearer",
        "expires_on": "5000"
    }}});
    let mut cache = load(&doc.to_string());
    // A .NET app-only AT omits home_account_id altogether.
    let net_app: AccessTokenEntry = serde_json::from_value(json!({
        "secret": "net-app", "environment": NET_ENV, "client_id": "c", "realm": "t2",
        "target": "https://graph.microsoft.com/.default", "expires_on": "5000"
    }))
    .unwrap();
    assert_eq!(net_app.home_account_id, None);
    cache.insert_access_token(net_app);
    cache.insert_access_token(at(
        Some("u.t"),
        PY_ENV,
        "c",
        "t",
        "https://graph.microsoft.com/.default",
        6000,
        "user",
    ));

    let s = scopes(&["https://graph.microsoft.com/.default"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(None, PY_ENV, "c", "t", &s))),
        Some("app")
    );
    assert_eq!(
        secret_of(cache.find_access_token(&query(None, PY_ENV, "c", "t2", &s))),
        Some("net-app")
    );
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some("u.t"), PY_ENV, "c", "t", &s))),
        Some("user")
    );
    assert!(cache
        .find_access_token(&query(Some("u.t"), PY_ENV, "c", "t2", &s))
        .is_none());
    assert!(cache
        .find_access_token(&query(Some("x.y"), PY_ENV, "c", "t", &s))
        .is_none());

    // `null` survives the round trip.
    let v = to_value(&cache);
    let app_key =
        keys::access_token_key("", PY_ENV, "c", "t", "https://graph.microsoft.com/.default");
    assert!(v["AccessToken"][&app_key]["home_account_id"].is_null());
    assert_eq!(v["AccessToken"][&app_key]["secret"], "app");
}

// -------------------------------------------------------------------- 6. apply

#[test]
fn new_access_token_replaces_intersecting_ones_only() {
    let mut cache = TokenCache::new();
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "A B", 3000, "ab"));
    cache.insert_access_token(at(Some("u.t"), NET_ENV, "c", "r", "b C", 3000, "bc-alias"));
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "d", 3000, "d"));
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r2", "b", 3000, "other-realm"));
    cache.insert_access_token(at(
        Some("u.t"),
        PY_ENV,
        "c2",
        "r",
        "b",
        3000,
        "other-client",
    ));
    cache.insert_access_token(at(
        Some("x.y"),
        PY_ENV,
        "c",
        "r",
        "b",
        3000,
        "other-account",
    ));
    cache.insert_access_token(at(None, PY_ENV, "c", "r", "b", 3000, "app-only"));
    cache.insert_access_token(at(
        Some("u.t"),
        "login.microsoftonline.us",
        "c",
        "r",
        "b",
        3000,
        "other-cloud",
    ));
    assert_eq!(cache.counts().0, 8);

    let applied = cache.apply(&TokenWrite {
        access_token: Some(at(Some("u.t"), PY_ENV, "c", "r", "b e", 4000, "new")),
        ..Default::default()
    });
    assert!(applied);
    // "ab" and "bc-alias" are gone, the new one added.
    assert_eq!(cache.counts().0, 7);

    let find = |hid: Option<&str>, env: &str, client: &str, realm: &str, req: &[&str]| {
        let s = scopes(req);
        cache
            .find_access_token(&query(hid, env, client, realm, &s))
            .map(|e| e.secret.expose_secret().to_owned())
    };
    assert_eq!(find(Some("u.t"), PY_ENV, "c", "r", &["a"]), None);
    assert_eq!(find(Some("u.t"), PY_ENV, "c", "r", &["c"]), None);
    assert_eq!(
        find(Some("u.t"), PY_ENV, "c", "r", &["b"]).as_deref(),
        Some("new")
    );
    assert_eq!(
        find(Some("u.t"), PY_ENV, "c", "r", &["E"]).as_deref(),
        Some("new")
    );
    assert_eq!(
        find(Some("u.t"), PY_ENV, "c", "r", &["d"]).as_deref(),
        Some("d")
    );
    assert_eq!(
        find(Some("u.t"), PY_ENV, "c", "r2", &["b"]).as_deref(),
        Some("other-realm")
    );
    assert_eq!(
        find(Some("u.t"), PY_ENV, "c2", "r", &["b"]).as_deref(),
        Some("other-client")
    );
    assert_eq!(
        find(Some("x.y"), PY_ENV, "c", "r", &["b"]).as_deref(),
        Some("other-account")
    );
    assert_eq!(
        find(None, PY_ENV, "c", "r", &["b"]).as_deref(),
        Some("app-only")
    );
    assert_eq!(
        find(Some("u.t"), "login.microsoftonline.us", "c", "r", &["b"]).as_deref(),
        Some("other-cloud")
    );
}

#[test]
fn new_access_token_keeps_bound_tokens_with_overlapping_scopes() {
    let mut cache = TokenCache::new();
    let mut pop = at(Some("u.t"), PY_ENV, "c", "r", "a p", 3000, "pop");
    pop.token_type = Some("pop".into());
    pop.extra.insert("key_id".into(), json!("k"));
    cache.insert_access_token(pop);
    cache.insert_access_token(at(Some("u.t"), PY_ENV, "c", "r", "a", 3000, "old"));
    assert!(cache.apply(&TokenWrite {
        access_token: Some(at(Some("u.t"), PY_ENV, "c", "r", "a b", 4000, "new")),
        ..Default::default()
    }));
    assert_eq!(cache.counts().0, 2);
    let v = to_value(&cache);
    let secrets: Vec<&str> = v["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["secret"].as_str().unwrap())
        .collect();
    assert!(
        secrets.contains(&"pop") && secrets.contains(&"new"),
        "{secrets:?}"
    );
}

#[test]
fn sign_in_write_stores_every_kind() {
    let mut cache = TokenCache::new();
    let applied = cache.apply(&TokenWrite {
        redeemed_refresh_token: None,
        access_token: Some(at(Some(HID), PY_ENV, CLIENT, UTID, "User.Read", 5000, "at")),
        refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "rt")),
        id_token: Some(idt(HID, PY_ENV, CLIENT, UTID, "idt")),
        account: Some(account(HID, PY_ENV, UTID, "alice@contoso.example")),
        app_metadata: Some(meta(PY_ENV, CLIENT, None)),
    });
    assert!(applied);
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    let s = scopes(&["user.read"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some(HID), PY_ENV, CLIENT, UTID, &s))),
        Some("at")
    );
    assert_eq!(
        usernames(&cache, NET_ENV, CLIENT),
        ["alice@contoso.example"]
    );
    assert_eq!(
        cache.id_token(HID, PY_ENV, CLIENT, UTID).unwrap().secret,
        "idt"
    );

    // A second sign-in replaces the RT stored under the same key.
    assert!(cache.apply(&TokenWrite {
        refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "rt2")),
        id_token: Some(idt(HID, PY_ENV, CLIENT, UTID, "idt2")),
        ..Default::default()
    }));
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    assert_eq!(cache.refresh_tokens(HID, PY_ENV)[0].secret, "rt2");
    assert_eq!(
        cache.id_token(HID, PY_ENV, CLIENT, UTID).unwrap().secret,
        "idt2"
    );
}

#[test]
fn refresh_rotates_the_redeemed_refresh_token_in_place() {
    let mut cache = load(SPEC_1_7);
    let applied = cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed(
            HID,
            PY_ENV,
            CLIENT,
            "0.AAAA...fake-refresh-token",
            Some("0.BBBB...rotated"),
            None,
        )),
        access_token: Some(at(
            Some(HID),
            PY_ENV,
            CLIENT,
            "common",
            "User.Read Mail.Read",
            1_700_013_599,
            "new-at",
        )),
        app_metadata: Some(meta(PY_ENV, CLIENT, None)),
        ..Default::default()
    });
    assert!(applied);
    // The old AT (intersecting on User.Read) was replaced; still one RT, no new account.
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    let rts = cache.refresh_tokens(HID, PY_ENV);
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0].secret, "0.BBBB...rotated");
    assert_eq!(rts[0].last_modification_time, Some(1_700_009_999));
    assert_eq!(rts[0].client_id, CLIENT);
    assert_eq!(
        rts[0].target.as_deref(),
        Some("User.Read email openid profile")
    );
    assert!(!rts[0].is_family());

    let v = to_value(&cache);
    let r = &v["RefreshToken"][&keys::refresh_token_key(HID, PY_ENV, CLIENT)];
    assert_eq!(r["secret"], "0.BBBB...rotated");
    assert_eq!(r["last_modification_time"], "1700009999");

    let s = scopes(&["mail.read"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))),
        Some("new-at")
    );
}

#[test]
fn refresh_without_new_secret_keeps_the_refresh_token() {
    let mut cache = load(SPEC_1_7);
    assert!(cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(RedeemedRefreshToken {
            // Before the spec's access token expires, which a write would purge.
            now: 1_700_000_100,
            ..redeemed(
                HID,
                PY_ENV,
                CLIENT,
                "0.AAAA...fake-refresh-token",
                None,
                None,
            )
        }),
        access_token: Some(AccessTokenEntry {
            cached_at: 1_700_000_100,
            ..at(
                Some(HID),
                PY_ENV,
                CLIENT,
                "common",
                "Mail.Read",
                1_700_013_599,
                "mail",
            )
        }),
        ..Default::default()
    }));
    let rts = cache.refresh_tokens(HID, PY_ENV);
    assert_eq!(rts[0].secret, "0.AAAA...fake-refresh-token");
    assert_eq!(rts[0].last_modification_time, Some(1_700_000_000));
    // Disjoint scopes: both ATs coexist.
    assert_eq!(cache.counts().0, 2);
}

#[test]
fn refresh_rotates_a_net_refresh_token_under_its_stored_environment() {
    let mut cache = load(NET_DOC);
    assert!(cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed(
            HID,
            NET_ENV,
            CLIENT,
            "0.AAAA...net-refresh-token",
            Some("rotated"),
            None
        )),
        access_token: Some(at(
            Some(HID),
            PY_ENV,
            CLIENT,
            UTID,
            "User.Read",
            1_700_013_599,
            "py-at"
        )),
        ..Default::default()
    }));
    let rts = cache.refresh_tokens(HID, PY_ENV);
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0].secret, "rotated");
    assert_eq!(rts[0].environment, NET_ENV);
    assert_eq!(
        rts[0].extra["client_info"],
        "eyJ1aWQiOiI1ZjZlIiwidXRpZCI6IjcyZjkifQ"
    );
    // The NET AT (alias environment, intersecting scopes) was replaced by the new one.
    assert_eq!(cache.counts().0, 1);
    let s = scopes(&["User.Read"]);
    assert_eq!(
        secret_of(cache.find_access_token(&query(Some(HID), NET_ENV, CLIENT, UTID, &s))),
        Some("py-at")
    );
}

#[test]
fn refresh_whose_refresh_token_is_gone_writes_nothing() {
    // The account was removed while the refresh was in flight.
    let mut cache = load(SPEC_1_7);
    assert!(cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: PY_ENV,
        client_id: CLIENT,
    }));
    let before = cache.to_json();
    let counts = cache.counts();
    let applied = cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed(
            HID,
            PY_ENV,
            CLIENT,
            "0.AAAA...fake-refresh-token",
            Some("rotated"),
            Some("1"),
        )),
        access_token: Some(at(
            Some(HID),
            PY_ENV,
            CLIENT,
            "common",
            "User.Read",
            1_700_013_599,
            "zombie",
        )),
        refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "zombie-rt")),
        id_token: Some(idt(HID, PY_ENV, CLIENT, "common", "zombie-idt")),
        account: Some(account(HID, PY_ENV, "common", "alice@contoso.example")),
        app_metadata: Some(meta(PY_ENV, CLIENT, Some("1"))),
    });
    assert!(!applied);
    assert_eq!(cache.counts(), counts);
    assert_eq!(cache.to_json(), before);
    let s = scopes(&["User.Read"]);
    assert!(cache
        .find_access_token(&query(Some(HID), PY_ENV, CLIENT, "common", &s))
        .is_none());
}

#[test]
fn refresh_naming_another_refresh_token_writes_nothing() {
    // The account still has an RT, but not the one named (another client's key).
    let mut cache = load(SPEC_1_7);
    let before = cache.to_json();
    let applied = cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed(HID, PY_ENV, OTHER_CLIENT, "x", Some("y"), None)),
        access_token: Some(at(
            Some(HID),
            PY_ENV,
            CLIENT,
            "common",
            "Mail.Read",
            1_700_013_599,
            "at",
        )),
        ..Default::default()
    });
    assert!(!applied);
    assert_eq!(cache.to_json(), before);
    // An unknown account: nothing either.
    let applied = cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed("no.one", PY_ENV, CLIENT, "x", Some("y"), None)),
        app_metadata: Some(meta(PY_ENV, CLIENT, Some("1"))),
        ..Default::default()
    });
    assert!(!applied);
    assert_eq!(cache.to_json(), before);
}

#[test]
fn family_id_in_the_response_turns_the_own_refresh_token_into_a_family_one() {
    let mut cache = load(SPEC_1_7);
    assert!(cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(RedeemedRefreshToken {
            // Before the spec's access token expires, which a write would purge.
            now: 1_700_000_100,
            ..redeemed(
                HID,
                PY_ENV,
                CLIENT,
                "0.AAAA...fake-refresh-token",
                Some("frt"),
                Some("1"),
            )
        }),
        app_metadata: Some(meta(PY_ENV, CLIENT, Some("1"))),
        ..Default::default()
    }));
    assert_eq!(cache.counts(), (1, 1, 1, 1, 1));
    let rts = cache.refresh_tokens(HID, PY_ENV);
    assert_eq!(rts.len(), 1);
    assert!(rts[0].is_family());
    assert_eq!(rts[0].family_id.as_deref(), Some("1"));
    assert_eq!(rts[0].secret, "frt");
    assert_eq!(rts[0].client_id, CLIENT);

    let v = to_value(&cache);
    let rt_section = v["RefreshToken"].as_object().unwrap();
    assert_eq!(rt_section.len(), 1);
    let frt_key = keys::refresh_token_key(HID, PY_ENV, "1");
    assert_eq!(
        frt_key,
        format!("{HID}-login.microsoftonline.com-refreshtoken-1--")
    );
    assert_eq!(rt_section[&frt_key]["family_id"], "1");
    assert_eq!(rt_section[&frt_key]["secret"], "frt");
    assert_eq!(
        cache
            .app_metadata(PY_ENV, CLIENT)
            .unwrap()
            .family_id
            .as_deref(),
        Some("1")
    );

    // A later refresh redeems it under the family key.
    assert!(cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed(HID, PY_ENV, "1", "frt", Some("frt2"), Some("1"))),
        ..Default::default()
    }));
    let rts = cache.refresh_tokens(HID, PY_ENV);
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0].secret, "frt2");
    // And the old own key is gone.
    assert!(!cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed(HID, PY_ENV, CLIENT, "x", Some("y"), None)),
        ..Default::default()
    }));
    // The family RT still serves the account (the app is a family member).
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["alice@contoso.example"]);
}

#[test]
fn app_metadata_is_overwritten_whole() {
    let mut cache = TokenCache::new();
    let mut first = meta(PY_ENV, CLIENT, Some("1"));
    first.extra.insert("old_field".into(), json!("x"));
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(first),
            ..Default::default()
        },
    );
    assert_eq!(
        cache
            .app_metadata(PY_ENV, CLIENT)
            .unwrap()
            .family_id
            .as_deref(),
        Some("1")
    );
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
            ..Default::default()
        },
    );
    assert_eq!(cache.counts().4, 1);
    let m = cache.app_metadata(PY_ENV, CLIENT).unwrap();
    assert_eq!(m.family_id, None);
    assert!(m.extra.is_empty(), "whole-entry overwrite: {m:?}");
    let v = to_value(&cache);
    let entry = &v["AppMetadata"][&keys::app_metadata_key(PY_ENV, CLIENT)];
    assert!(entry.get("family_id").is_none(), "{entry}");
    assert!(entry.get("old_field").is_none(), "{entry}");
}

/// In a cache shared with MSAL.NET, .NET's AppMetadata sits under `login.windows.net`; when
/// msal-rs later records (under its own host) that the app left the family, a lookup under its
/// own host must see the new entry, not the stale alias one.
#[test]
fn app_metadata_lookup_prefers_the_entry_of_the_exact_environment() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(meta(NET_ENV, CLIENT, Some("1"))),
            ..Default::default()
        },
    );
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
            ..Default::default()
        },
    );
    assert_eq!(cache.counts().4, 2);
    let m = cache.app_metadata(PY_ENV, CLIENT).unwrap();
    assert_eq!(m.environment, PY_ENV);
    assert_eq!(m.family_id, None);
}

#[test]
fn a_write_purges_expired_access_tokens_and_keeps_everything_else() {
    const NOW: u64 = 1_700_005_000;
    let mut cache = TokenCache::new();
    // Account A: a sign-in long ago left an access token that has expired since, and another
    // one that is still valid; and its refresh token, ID token, account and app metadata.
    sign_in(
        &mut cache,
        TokenWrite {
            access_token: Some(at(
                Some(HID),
                PY_ENV,
                CLIENT,
                UTID,
                "User.Read",
                NOW - 1,
                "a-old",
            )),
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "a-rt")),
            id_token: Some(idt(HID, PY_ENV, CLIENT, UTID, "a-idt")),
            account: Some(account(HID, PY_ENV, UTID, "alice@contoso.example")),
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
            ..Default::default()
        },
    );
    cache.insert_access_token(at(
        Some(HID),
        PY_ENV,
        CLIENT,
        UTID,
        "Mail.Read",
        NOW + 1,
        "a-mail",
    ));
    // Other buckets: an expired app-only token, an expired token of another app, a valid one.
    cache.insert_access_token(at(
        None,
        PY_ENV,
        CLIENT,
        UTID,
        ".default",
        NOW - 100,
        "app-old",
    ));
    cache.insert_access_token(at(
        Some(HID),
        NET_ENV,
        OTHER_CLIENT,
        UTID,
        "x",
        1,
        "other-old",
    ));
    cache.insert_access_token(at(None, PY_ENV, CLIENT, "t2", ".default", NOW, "app-valid"));
    assert_eq!(cache.counts(), (5, 1, 1, 1, 1));

    // Any write, here account B's sign-in at NOW; then a save and a load.
    let bob_at = AccessTokenEntry {
        cached_at: NOW,
        ..at(
            Some("bob.t"),
            PY_ENV,
            CLIENT,
            "t",
            "User.Read",
            NOW + 3_600,
            "b-at",
        )
    };
    sign_in(
        &mut cache,
        TokenWrite {
            access_token: Some(bob_at),
            account: Some(account("bob.t", PY_ENV, "t", "bob@contoso.example")),
            ..Default::default()
        },
    );
    let cache = load(std::str::from_utf8(&cache.to_json()).unwrap());

    assert_eq!(at_secrets(&cache), ["a-mail", "app-valid", "b-at"]);
    assert_eq!(cache.counts(), (3, 1, 1, 2, 1), "no other kind is purged");
    assert_eq!(cache.refresh_tokens(HID, PY_ENV)[0].secret, "a-rt");
    assert_eq!(
        cache.id_token(HID, PY_ENV, CLIENT, UTID).unwrap().secret,
        "a-idt"
    );
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["alice@contoso.example"]);
}

#[test]
fn a_refresh_write_purges_by_its_time_and_a_refused_one_purges_nothing() {
    // SPEC_1_7's access token expires at 1700003599.
    let mut cache = load(SPEC_1_7);
    let (ats, rts, idts, accounts, apps) = cache.counts();
    assert_eq!(ats, 1);
    let before = cache.to_json();
    // Refused (the refresh token is gone): nothing changes, the expired token included.
    assert!(!cache.apply(&TokenWrite {
        redeemed_refresh_token: Some(redeemed("no.one", PY_ENV, CLIENT, "x", Some("y"), None)),
        ..Default::default()
    }));
    assert_eq!(cache.to_json(), before);
    // A refresh at the second the token expires keeps it; one a second later removes it.
    let refresh_at = |now: u64| TokenWrite {
        redeemed_refresh_token: Some(RedeemedRefreshToken {
            now,
            ..redeemed(
                HID,
                PY_ENV,
                CLIENT,
                "0.AAAA...fake-refresh-token",
                None,
                None,
            )
        }),
        ..Default::default()
    };
    assert!(cache.apply(&refresh_at(1_700_003_599)));
    assert_eq!(cache.counts().0, 1);
    assert!(cache.apply(&refresh_at(1_700_003_600)));
    assert_eq!(cache.counts(), (0, rts, idts, accounts, apps));
}

// ------------------------------------------------------------------- 7. accounts()

/// A cache with one account per scenario, each with its own kind of RT.
fn accounts_fixture() -> TokenCache {
    let mut cache = TokenCache::new();
    let add =
        |cache: &mut TokenCache, hid: &str, user: &str, rt_entry: Option<RefreshTokenEntry>| {
            sign_in(
                cache,
                TokenWrite {
                    refresh_token: rt_entry,
                    account: Some(account(hid, PY_ENV, hid.split('.').nth(1).unwrap(), user)),
                    ..Default::default()
                },
            );
        };
    add(
        &mut cache,
        "own.t1",
        "own@x",
        Some(rt("own.t1", PY_ENV, CLIENT, None, "r")),
    );
    add(
        &mut cache,
        "foreign.t2",
        "foreign@x",
        Some(rt("foreign.t2", PY_ENV, OTHER_CLIENT, None, "r")),
    );
    add(
        &mut cache,
        "family.t3",
        "family@x",
        Some(rt("family.t3", NET_ENV, OTHER_CLIENT, Some("1"), "r")),
    );
    add(&mut cache, "nort.t4", "nort@x", None);
    cache
}

#[test]
fn accounts_of_an_unknown_app_include_family_refresh_tokens() {
    let cache = accounts_fixture();
    assert!(cache.app_metadata(PY_ENV, CLIENT).is_none());
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["family@x", "own@x"]);
    // The foreign app sees its own and the family one (it has no metadata either).
    assert_eq!(
        usernames(&cache, PY_ENV, OTHER_CLIENT),
        ["family@x", "foreign@x"]
    );
    // A third app sees only the family account.
    assert_eq!(usernames(&cache, NET_ENV, THIRD_CLIENT), ["family@x"]);
}

#[test]
fn accounts_of_a_family_member_include_family_refresh_tokens() {
    let mut cache = accounts_fixture();
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(meta(NET_ENV, CLIENT, Some("1"))),
            ..Default::default()
        },
    );
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["family@x", "own@x"]);
}

#[test]
fn accounts_of_a_known_non_member_exclude_family_refresh_tokens() {
    let mut cache = accounts_fixture();
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
            ..Default::default()
        },
    );
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["own@x"]);
    // A member of another family does not get family "1" tokens either.
    sign_in(
        &mut cache,
        TokenWrite {
            app_metadata: Some(meta(PY_ENV, THIRD_CLIENT, Some("2"))),
            ..Default::default()
        },
    );
    assert!(usernames(&cache, PY_ENV, THIRD_CLIENT).is_empty());
}

/// The doc of `usable_by` says an app may use "its own" refresh token; a family RT the app
/// itself obtained (client_id == app) is its own even after its AppMetadata lost `family_id`
/// (MSAL Python step 4: "the app's own RTs (client_id match, any family)").
#[test]
fn accounts_include_the_apps_own_family_refresh_token() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, Some("1"), "frt")),
            account: Some(account(HID, PY_ENV, UTID, "alice@contoso.example")),
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
            ..Default::default()
        },
    );
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["alice@contoso.example"]);
}

#[test]
fn accounts_collapse_tenant_profiles_preferring_the_home_tenant() {
    for home_first in [true, false] {
        let mut cache = TokenCache::new();
        let guest = account(HID, PY_ENV, "guest-tenant", "alice@contoso.example");
        let mut home = account(HID, NET_ENV, UTID, "alice@contoso.example");
        home.name = Some("Alice".into());
        let common = account(HID, PY_ENV, "common", "alice@contoso.example");
        let order = if home_first {
            vec![home, guest, common]
        } else {
            vec![guest, common, home]
        };
        for a in order {
            sign_in(
                &mut cache,
                TokenWrite {
                    account: Some(a),
                    ..Default::default()
                },
            );
        }
        sign_in(
            &mut cache,
            TokenWrite {
                refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "r")),
                ..Default::default()
            },
        );
        assert_eq!(cache.counts().3, 3);
        let accounts = cache.accounts(PY_ENV, CLIENT);
        assert_eq!(accounts.len(), 1, "{accounts:?}");
        assert_eq!(accounts[0].tenant_id, UTID, "home_first={home_first}");
        assert_eq!(accounts[0].name.as_deref(), Some("Alice"));
        let single = cache.account(HID, "login.microsoft.com").unwrap();
        assert_eq!(single.tenant_id, UTID, "home_first={home_first}");
    }
}

#[test]
fn accounts_without_a_home_tenant_profile_still_appear_once() {
    let mut cache = TokenCache::new();
    for realm in ["t1", "t2", "t3"] {
        sign_in(
            &mut cache,
            TokenWrite {
                account: Some(account("sub-only", "adfs.contoso.com", realm, "bob")),
                ..Default::default()
            },
        );
    }
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt("sub-only", "adfs.contoso.com", "c", None, "r")),
            ..Default::default()
        },
    );
    let accounts = cache.accounts("ADFS.contoso.com", "c");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].username, "bob");
    assert!(["t1", "t2", "t3"].contains(&accounts[0].tenant_id.as_str()));
    assert!(cache.accounts(PY_ENV, "c").is_empty());
}

#[test]
fn accounts_are_found_across_environment_aliases() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            // Account written by .NET, RT written by Python.
            account: Some(account(HID, NET_ENV, UTID, "alice@contoso.example")),
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "r")),
            ..Default::default()
        },
    );
    for env in [PY_ENV, NET_ENV, "login.microsoft.com", "STS.windows.net"] {
        assert_eq!(
            usernames(&cache, env, CLIENT),
            ["alice@contoso.example"],
            "{env}"
        );
    }
    assert!(cache
        .accounts("login.microsoftonline.us", CLIENT)
        .is_empty());
    assert!(cache.accounts("login.chinacloudapi.cn", CLIENT).is_empty());
}

#[test]
fn accounts_are_sorted_and_one_per_home_account() {
    let mut cache = TokenCache::new();
    for (hid, user) in [("c.t", "carol"), ("a.t", "alice"), ("b.t", "bob")] {
        sign_in(
            &mut cache,
            TokenWrite {
                account: Some(account(hid, PY_ENV, "t", user)),
                refresh_token: Some(rt(hid, PY_ENV, CLIENT, None, "r")),
                ..Default::default()
            },
        );
        // A second profile of the same home account, under an alias.
        sign_in(
            &mut cache,
            TokenWrite {
                account: Some(account(hid, NET_ENV, "guest", user)),
                ..Default::default()
            },
        );
    }
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["alice", "bob", "carol"]);
}

// -------------------------------------------------------------- 8. remove_account

/// Alice signed in to two apps (CLIENT via Python, OTHER_CLIENT via .NET), plus Bob in CLIENT.
fn shared_fixture() -> TokenCache {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            redeemed_refresh_token: None,
            access_token: Some(at(
                Some(HID),
                PY_ENV,
                CLIENT,
                UTID,
                "User.Read",
                5000,
                "a-at1",
            )),
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "a-rt1")),
            id_token: Some(idt(HID, PY_ENV, CLIENT, UTID, "a-idt1")),
            account: Some(account(HID, PY_ENV, UTID, "alice@contoso.example")),
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
        },
    );
    // A second AT of CLIENT for alice, under the .NET alias and another tenant.
    cache.insert_access_token(at(
        Some(HID),
        NET_ENV,
        CLIENT,
        "guest",
        "Mail.Read",
        5000,
        "a-at1b",
    ));
    sign_in(
        &mut cache,
        TokenWrite {
            redeemed_refresh_token: None,
            access_token: Some(at(
                Some(HID),
                NET_ENV,
                OTHER_CLIENT,
                UTID,
                "User.Read",
                5000,
                "a-at2",
            )),
            refresh_token: Some(rt(HID, NET_ENV, OTHER_CLIENT, None, "a-rt2")),
            id_token: Some(idt(HID, NET_ENV, OTHER_CLIENT, UTID, "a-idt2")),
            account: Some(account(HID, NET_ENV, UTID, "alice@contoso.example")),
            app_metadata: Some(meta(NET_ENV, OTHER_CLIENT, None)),
        },
    );
    sign_in(
        &mut cache,
        TokenWrite {
            access_token: Some(at(
                Some("bob.t"),
                PY_ENV,
                CLIENT,
                "t",
                "User.Read",
                5000,
                "b-at",
            )),
            refresh_token: Some(rt("bob.t", PY_ENV, CLIENT, None, "b-rt")),
            id_token: Some(idt("bob.t", PY_ENV, CLIENT, "t", "b-idt")),
            account: Some(account("bob.t", PY_ENV, "t", "bob@contoso.example")),
            ..Default::default()
        },
    );
    assert_eq!(cache.counts(), (4, 3, 3, 3, 2));
    cache
}

fn at_secrets(cache: &TokenCache) -> Vec<String> {
    let v = to_value(cache);
    let mut s: Vec<String> = v["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["secret"].as_str().unwrap().to_owned())
        .collect();
    s.sort();
    s
}

#[test]
fn remove_account_removes_only_the_apps_tokens_while_another_app_remains() {
    let mut cache = shared_fixture();
    // Removal named under an alias of where the tokens were stored.
    let removed = cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: "login.microsoft.com",
        client_id: CLIENT,
    });
    assert!(removed);
    // Own RT, both own ATs (any alias, any realm), own IdToken gone; OTHER_CLIENT's kept;
    // alice's account entries stay because OTHER_CLIENT still holds an RT; bob untouched.
    assert_eq!(cache.counts(), (2, 2, 2, 3, 2));
    assert_eq!(at_secrets(&cache), ["a-at2", "b-at"]);
    let rts: Vec<&str> = cache
        .refresh_tokens(HID, PY_ENV)
        .iter()
        .map(|r| r.secret.expose_secret())
        .collect();
    assert_eq!(rts, ["a-rt2"]);
    assert!(cache.id_token(HID, PY_ENV, CLIENT, UTID).is_none());
    assert_eq!(
        cache
            .id_token(HID, PY_ENV, OTHER_CLIENT, UTID)
            .unwrap()
            .secret,
        "a-idt2"
    );
    assert!(cache.account(HID, PY_ENV).is_some());

    // CLIENT no longer lists alice; OTHER_CLIENT still does.
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["bob@contoso.example"]);
    assert_eq!(
        usernames(&cache, PY_ENV, OTHER_CLIENT),
        ["alice@contoso.example"]
    );

    // Removing again finds nothing more to remove.
    assert!(!cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: PY_ENV,
        client_id: CLIENT,
    }));
}

#[test]
fn remove_account_removes_account_entries_once_no_refresh_token_remains() {
    let mut cache = shared_fixture();
    for client in [CLIENT, OTHER_CLIENT] {
        assert!(cache.remove_account(&AccountRemoval {
            home_account_id: &HID.to_uppercase(),
            environment: NET_ENV,
            client_id: client,
        }));
    }
    // Only bob remains.
    assert_eq!(cache.counts(), (1, 1, 1, 1, 2));
    assert!(cache.account(HID, PY_ENV).is_none());
    assert!(cache.refresh_tokens(HID, PY_ENV).is_empty());
    assert_eq!(at_secrets(&cache), ["b-at"]);
    assert_eq!(usernames(&cache, PY_ENV, CLIENT), ["bob@contoso.example"]);
    // AppMetadata is not account data.
    assert!(cache.app_metadata(PY_ENV, CLIENT).is_some());
}

#[test]
fn remove_account_of_spec_example_empties_everything_but_app_metadata() {
    let mut cache = load(SPEC_1_7);
    assert!(cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: PY_ENV,
        client_id: CLIENT,
    }));
    assert_eq!(cache.counts(), (0, 0, 0, 0, 1));
    assert!(cache.accounts(PY_ENV, CLIENT).is_empty());
}

#[test]
fn remove_account_keeps_account_entries_in_another_cloud() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "public")),
            account: Some(account(HID, PY_ENV, UTID, "alice")),
            ..Default::default()
        },
    );
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt(HID, "login.microsoftonline.us", CLIENT, None, "gov")),
            account: Some(account(HID, "login.microsoftonline.us", UTID, "alice")),
            ..Default::default()
        },
    );
    assert_eq!(cache.counts(), (0, 2, 0, 2, 0));
    assert!(cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: PY_ENV,
        client_id: CLIENT,
    }));
    assert_eq!(cache.counts(), (0, 1, 0, 1, 0));
    assert!(cache.account(HID, PY_ENV).is_none());
    let gov = cache.account(HID, "login.usgovcloudapi.net").unwrap();
    assert_eq!(gov.environment, "login.microsoftonline.us");
    assert_eq!(
        cache.refresh_tokens(HID, "login.microsoftonline.us")[0].secret,
        "gov"
    );
    assert_eq!(
        usernames(&cache, "login.microsoftonline.us", CLIENT),
        ["alice"]
    );
}

#[test]
fn remove_account_by_a_family_member_also_removes_the_family_refresh_token() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            redeemed_refresh_token: None,
            access_token: Some(at(Some(HID), PY_ENV, CLIENT, UTID, "User.Read", 5000, "at")),
            refresh_token: Some(rt(HID, PY_ENV, OTHER_CLIENT, Some("1"), "frt")),
            id_token: Some(idt(HID, PY_ENV, CLIENT, UTID, "idt")),
            account: Some(account(HID, PY_ENV, UTID, "alice")),
            app_metadata: Some(meta(PY_ENV, CLIENT, Some("1"))),
        },
    );
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt(HID, NET_ENV, CLIENT, None, "own")),
            ..Default::default()
        },
    );
    assert_eq!(cache.refresh_tokens(HID, PY_ENV).len(), 2);
    assert!(cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: PY_ENV,
        client_id: CLIENT,
    }));
    assert!(cache.refresh_tokens(HID, PY_ENV).is_empty());
    assert_eq!(cache.counts(), (0, 0, 0, 0, 1));
}

#[test]
fn remove_account_by_a_non_member_keeps_the_family_refresh_token() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt(HID, PY_ENV, OTHER_CLIENT, Some("1"), "frt")),
            account: Some(account(HID, PY_ENV, UTID, "alice")),
            ..Default::default()
        },
    );
    sign_in(
        &mut cache,
        TokenWrite {
            access_token: Some(at(Some(HID), PY_ENV, CLIENT, UTID, "User.Read", 5000, "at")),
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, None, "own")),
            ..Default::default()
        },
    );
    for app_meta in [None, Some(meta(PY_ENV, CLIENT, None))] {
        let mut c = cache.clone();
        if let Some(m) = app_meta.clone() {
            sign_in(
                &mut c,
                TokenWrite {
                    app_metadata: Some(m),
                    ..Default::default()
                },
            );
        }
        assert!(c.remove_account(&AccountRemoval {
            home_account_id: HID,
            environment: PY_ENV,
            client_id: CLIENT,
        }));
        let rts: Vec<&str> = c
            .refresh_tokens(HID, PY_ENV)
            .iter()
            .map(|r| r.secret.expose_secret())
            .collect();
        assert_eq!(rts, ["frt"], "metadata {app_meta:?}");
        assert_eq!(c.counts().0, 0);
        assert_eq!(c.counts().3, 1, "the family RT keeps the account");
    }
}

/// MSAL Python removes the RTs "where client_id == app" whatever their family; an FRT the app
/// obtained itself is its own RT even when its AppMetadata no longer names the family.
#[test]
fn remove_account_removes_the_apps_own_family_refresh_token() {
    let mut cache = TokenCache::new();
    sign_in(
        &mut cache,
        TokenWrite {
            refresh_token: Some(rt(HID, PY_ENV, CLIENT, Some("1"), "frt")),
            account: Some(account(HID, PY_ENV, UTID, "alice")),
            app_metadata: Some(meta(PY_ENV, CLIENT, None)),
            ..Default::default()
        },
    );
    assert!(cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: PY_ENV,
        client_id: CLIENT,
    }));
    assert!(cache.refresh_tokens(HID, PY_ENV).is_empty());
    assert_eq!(cache.counts().3, 0);
}

#[test]
fn remove_unknown_account_is_a_no_op() {
    let mut cache = load(SPEC_1_7);
    let before = cache.to_json();
    assert!(!cache.remove_account(&AccountRemoval {
        home_account_id: "nobody.none",
        environment: PY_ENV,
        client_id: CLIENT,
    }));
    // Same account, another cloud: nothing either.
    assert!(!cache.remove_account(&AccountRemoval {
        home_account_id: HID,
        environment: "login.microsoftonline.us",
        client_id: CLIENT,
    }));
    assert_eq!(cache.to_json(), before);
}

// ------------------------------------------------------------------------ 9. scale

#[test]
fn hundred_thousand_accounts_stay_isolated() {
    const N: usize = 100_000;
    let mut cache = TokenCache::new();
    for i in 0..N {
        let hid = format!("uid{i}.tid{}", i % 7);
        let env = if i % 2 == 0 { PY_ENV } else { NET_ENV };
        cache.insert_access_token(at(
            Some(&hid),
            env,
            CLIENT,
            "common",
            "User.Read Mail.Read",
            1_700_000_000 + i as u64,
            &format!("at-{i}"),
        ));
    }
    assert_eq!(cache.counts(), (N, 0, 0, 0, 0));

    let s = scopes(&["mail.read"]);
    for i in [0usize, 1, 77_777, 99_998, 99_999] {
        let hid = format!("uid{i}.tid{}", i % 7);
        // Either alias finds it.
        for env in [PY_ENV, NET_ENV] {
            let found = cache
                .find_access_token(&query(Some(&hid), env, CLIENT, "common", &s))
                .expect("found");
            assert_eq!(found.secret, format!("at-{i}"));
            assert_eq!(found.home_account_id.as_deref(), Some(hid.as_str()));
        }
    }
    // A home account that does not exist, a near-miss of one that does, app-only, another
    // client: nothing (never a neighbour's token).
    for hid in [
        Some("uid100000.tid0"),
        Some("uid7.tid1"),
        Some("uid7"),
        None,
    ] {
        assert!(
            cache
                .find_access_token(&query(hid, PY_ENV, CLIENT, "common", &s))
                .is_none(),
            "{hid:?}"
        );
    }
    assert!(cache
        .find_access_token(&query(
            Some("uid7.tid0"),
            PY_ENV,
            OTHER_CLIENT,
            "common",
            &s
        ))
        .is_none());
    // Isolation over a sample: every lookup returns exactly its own account's token.
    for i in (0..N).step_by(997) {
        let hid = format!("uid{i}.tid{}", i % 7);
        let found = cache
            .find_access_token(&query(Some(&hid), PY_ENV, CLIENT, "common", &s))
            .unwrap();
        assert_eq!(found.secret, format!("at-{i}"));
    }
}

// ------------------------------------------------------------------- 10. property

const UNIVERSE: [&str; 6] = ["a", "B", "c.read", "D.Write", "e/x", "F"];

fn target_strategy() -> impl Strategy<Value = (Vec<usize>, bool)> {
    (
        proptest::collection::vec(0..UNIVERSE.len(), 0..5),
        any::<bool>(),
    )
}

fn build_target(idx: &[usize], upper: bool) -> String {
    idx.iter()
        .map(|&i| {
            if upper {
                UNIVERSE[i].to_ascii_uppercase()
            } else {
                UNIVERSE[i].to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn find_returns_the_latest_expiring_superset(
        entries in proptest::collection::vec((target_strategy(), 1u64..50, any::<bool>()), 0..12),
        query_idx in proptest::collection::vec(0..UNIVERSE.len(), 1..4),
        query_upper in any::<bool>(),
        max_expires_on in 1u64..60,
    ) {
        let mut cache = TokenCache::new();
        // Entries whose derived keys are equal are one token (the cache keeps the one expiring
        // later), so the oracle dedupes by the same key.
        let mut all: std::collections::HashMap<String, (ScopeSet, u64)> = Default::default();
        for (n, ((idx, upper), expires_on, alias)) in entries.iter().enumerate() {
            let target = build_target(idx, *upper);
            let env = if *alias { NET_ENV } else { PY_ENV };
            cache.insert_access_token(at(
                Some("u.t"), env, "c", "r", &target, *expires_on, &format!("s{n}"),
            ));
            let scopes = ScopeSet::from_target(&target);
            let key = msal_cache::keys::access_token_key("u.t", env, "c", "r", &scopes.to_target());
            let slot = all.entry(key).or_insert((scopes, 0));
            slot.1 = slot.1.max(*expires_on);
        }
        let q = ScopeSet::from_target(&build_target(&query_idx, query_upper));
        let found = cache.find_access_token(&AccessTokenQuery {
            home_account_id: Some("U.T"),
            environment: PY_ENV,
            client_id: "C",
            realm: "R",
            scopes: &q,
            max_expires_on,
        });
        let best = all
            .values()
            .filter(|(s, e)| *e <= max_expires_on && q.is_subset_of(s))
            .map(|(_, e)| *e)
            .max();
        match (found, best) {
            (None, None) => {}
            (Some(e), Some(best)) => {
                let got = ScopeSet::from_target(&e.target);
                prop_assert!(q.is_subset_of(&got), "{:?} not within {:?}", q, got);
                prop_assert_eq!(e.expires_on, best);
                prop_assert!(e.expires_on <= max_expires_on);
            }
            (found, best) => {
                prop_assert!(false, "found {:?}, expected best expiry {:?}", found, best);
            }
        }
        // Another account never sees these tokens.
        let other = cache.find_access_token(&AccessTokenQuery {
            home_account_id: Some("v.t"),
            environment: PY_ENV,
            client_id: "c",
            realm: "r",
            scopes: &q,
            max_expires_on: u64::MAX,
        });
        prop_assert!(other.is_none());
    }
}

/// Found by the `cache_loader` fuzz target: keys join fields with `-`, which fields may contain,
/// so two different entries can rebuild the same key. Saving must keep both (a suffix makes the
/// second key unique), and saving again must give the same bytes.
#[test]
fn entries_whose_rebuilt_keys_collide_both_survive_a_round_trip() {
    let input = br#"{"AccessToken": {
 "k1": {"credential_type":"AccessToken","secret":"one","home_account_id":"a-b","environment":"c","client_id":"x","realm":"r","target":"s","expires_on":"1"},
 "k2": {"credential_type":"AccessToken","secret":"two","home_account_id":"a","environment":"b-c","client_id":"x","realm":"r","target":"s","expires_on":"1"}
}}"#;
    let saved = TokenCache::from_json(input).unwrap().to_json();
    let doc: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    let secrets: Vec<&str> = doc["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["secret"].as_str().unwrap())
        .collect();
    assert_eq!(secrets.len(), 2, "an entry was lost: {doc}");
    assert!(secrets.contains(&"one") && secrets.contains(&"two"));
    assert_eq!(
        TokenCache::from_json(&saved).unwrap().to_json(),
        saved,
        "not a fixpoint"
    );
}

/// Found by the `cache_loader` fuzz target: an entry kept verbatim (it does not parse) keeps its
/// original key, which a parsed entry's rebuilt key may equal; neither may be dropped.
#[test]
fn an_unparsed_entry_is_not_shadowed_by_a_rebuilt_key() {
    let input = br#"{"Account": {
 "h-e-r": {"home_account_id": [], "note": "does not parse as an Account"},
 "any-key": {"home_account_id": "h", "environment": "e", "realm": "r"}
}}"#;
    let saved = TokenCache::from_json(input).unwrap().to_json();
    let doc: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    let accounts = doc["Account"].as_object().unwrap();
    assert_eq!(accounts.len(), 2, "an entry was lost: {doc}");
    assert!(accounts
        .values()
        .any(|v| v["note"] == "does not parse as an Account"));
    assert!(accounts.values().any(|v| v["home_account_id"] == "h"));
    assert_eq!(
        TokenCache::from_json(&saved).unwrap().to_json(),
        saved,
        "not a fixpoint"
    );
}

// ---- on-behalf-of tokens -------------------------------------------------------------------

fn obo<E>(
    mut entry: E,
    hash: &str,
    extra: impl FnOnce(&mut E) -> &mut serde_json::Map<String, Value>,
) -> E {
    extra(&mut entry).insert(
        msal_cache::USER_ASSERTION_HASH.into(),
        Value::String(hash.into()),
    );
    entry
}

#[test]
fn on_behalf_of_tokens_are_found_by_their_assertion_only() {
    let (env, client, realm) = ("login.microsoftonline.com", "api-client", "tenant");
    let read = scopes(&["https://graph.microsoft.com/User.Read"]);
    let mut cache = TokenCache::new();
    for (hash, secret) in [("HashA", "obo-at-a"), ("HashB", "obo-at-b")] {
        let token = at(
            Some("u.t"),
            env,
            client,
            realm,
            "https://graph.microsoft.com/User.Read",
            FAR - 1,
            secret,
        );
        sign_in(
            &mut cache,
            TokenWrite {
                access_token: Some(obo(token, hash, |e| &mut e.extra)),
                refresh_token: Some(obo(
                    rt("u.t", env, client, None, &format!("obo-rt-{hash}")),
                    hash,
                    |e| &mut e.extra,
                )),
                ..TokenWrite::default()
            },
        );
    }
    // The same user's own sign-in tokens live beside them.
    sign_in(
        &mut cache,
        TokenWrite {
            access_token: Some(at(
                Some("u.t"),
                env,
                client,
                realm,
                "https://graph.microsoft.com/User.Read",
                FAR - 1,
                "user-at",
            )),
            refresh_token: Some(rt("u.t", env, client, None, "user-rt")),
            ..TokenWrite::default()
        },
    );

    let q = query(None, "login.windows.net", client, realm, &read);
    assert_eq!(
        secret_of(cache.find_on_behalf_of_access_token("HashA", &q)),
        Some("obo-at-a")
    );
    assert_eq!(
        secret_of(cache.find_on_behalf_of_access_token("HashB", &q)),
        Some("obo-at-b")
    );
    assert!(cache.find_on_behalf_of_access_token("HashC", &q).is_none());
    // Hashes are compared exactly (base64url is case-sensitive).
    assert!(cache.find_on_behalf_of_access_token("hasha", &q).is_none());
    // A user's silent lookup never returns an on-behalf-of token, nor the reverse.
    let user_q = query(Some("u.t"), env, client, realm, &read);
    assert_eq!(secret_of(cache.find_access_token(&user_q)), Some("user-at"));
    let rts: Vec<&str> = cache
        .refresh_tokens("u.t", env)
        .iter()
        .map(|e| e.secret.expose_secret())
        .collect();
    assert_eq!(rts, ["user-rt"]);
    assert_eq!(
        cache
            .on_behalf_of_refresh_token("HashB", env, client)
            .map(|e| e.secret.expose_secret()),
        Some("obo-rt-HashB")
    );
    assert!(cache
        .on_behalf_of_refresh_token("HashB", env, "other-client")
        .is_none());

    // Both survive a save and load, each under its own key.
    let reloaded = TokenCache::from_json(&cache.to_json()).unwrap();
    assert_eq!(reloaded.counts(), cache.counts());
    assert_eq!(
        secret_of(reloaded.find_on_behalf_of_access_token("HashA", &q)),
        Some("obo-at-a")
    );
    assert_eq!(
        reloaded
            .on_behalf_of_refresh_token("HashA", env, client)
            .map(|e| e.secret.expose_secret()),
        Some("obo-rt-HashA")
    );
    let doc = to_value(&reloaded);
    assert_eq!(doc["RefreshToken"].as_object().unwrap().len(), 3);
    assert_eq!(doc["AccessToken"].as_object().unwrap().len(), 3);
}

#[test]
fn a_new_on_behalf_of_token_replaces_only_its_own_assertions_token() {
    let (env, client, realm) = ("login.microsoftonline.com", "api-client", "tenant");
    let target = "https://graph.microsoft.com/User.Read";
    let mut cache = TokenCache::new();
    for (hash, secret) in [("A", "a1"), ("B", "b1"), ("A", "a2")] {
        let token = at(Some("u.t"), env, client, realm, target, FAR - 1, secret);
        sign_in(
            &mut cache,
            TokenWrite {
                access_token: Some(obo(token, hash, |e| &mut e.extra)),
                ..TokenWrite::default()
            },
        );
    }
    let read = scopes(&[target]);
    let q = query(None, env, client, realm, &read);
    assert_eq!(
        secret_of(cache.find_on_behalf_of_access_token("A", &q)),
        Some("a2")
    );
    assert_eq!(
        secret_of(cache.find_on_behalf_of_access_token("B", &q)),
        Some("b1")
    );
    assert_eq!(cache.counts().0, 2);
}
