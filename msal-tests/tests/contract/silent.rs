//! Contract tests of the silent-first pipeline against wiremock: cache hits make no request,
//! scope matching, the expiry buffer, what a refresh sends and what it writes back.

use std::time::{Duration, UNIX_EPOCH};

use msal::{Account, Error, TokenSource};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// A token endpoint answering 200 with `body` at `token_path`.
fn token_ok(token_path: &str, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(token_path.to_owned()))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

/// The secret of the single entry in `section`, panicking when there is not exactly one.
fn only_entry(doc: &Value, section: &str) -> Value {
    let entries = doc[section].as_object().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{section}: {entries:?}");
    entries.into_iter().next().unwrap().1
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn header_value<'a>(request: &'a wiremock::Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_str()
        .unwrap()
}

fn sorted_ci(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| s.to_ascii_lowercase());
    v
}

/// Behaviour: a cached access token valid past the buffer is served with zero HTTP requests;
/// scopes match case-insensitively as a subset; the result describes the cached token.
#[tokio::test]
async fn cache_hit_makes_no_request_and_matches_scopes_case_insensitively_as_subset() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read email openid profile",
        "at-1",
        T0 + 3600,
    ))
    .await;
    // An account that only carries the home account id: the rest comes from the cache.
    let account = Account::new(hid(), ENV, "");

    let r = h
        .app
        .acquire_token_silent(["user.read"], &account)
        .await
        .unwrap();

    assert!(h.server.received_requests().await.unwrap().is_empty());
    assert_eq!(r.access_token(), "at-1");
    assert_eq!(r.token_type(), "Bearer");
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(
        sorted_ci(r.scopes().to_vec()),
        vec!["email", "openid", "profile", "User.Read"]
    );
    let acct = r.account().expect("account");
    assert_eq!(acct.home_account_id, hid());
    assert_eq!(acct.username, "alice@contoso.example");
    assert_eq!(r.id_token(), Some(id_token().as_str()));
    assert_eq!(r.tenant_id(), Some(UTID));
    assert_eq!(r.expires_on(), UNIX_EPOCH + Duration::from_secs(T0 + 3600));
    assert_eq!(r.refresh_on(), None);
    assert!(is_uuid(r.correlation_id()), "{}", r.correlation_id());

    // Several requested scopes, in any case, still a subset of the cached target: a hit.
    let hit_subset = h
        .app
        .acquire_token_silent(["USER.READ", "Email"], &account)
        .await
        .unwrap();
    assert_eq!(hit_subset.access_token(), "at-1");
    assert!(h.token_requests().await.is_empty());
}

/// Behaviour: `openid`, `profile`, `offline_access` in the request are ignored for matching;
/// a request with only reserved scopes is an invalid argument (and sends nothing).
#[tokio::test]
async fn reserved_scopes_are_ignored_for_matching_and_alone_are_rejected() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read",
        "at-1",
        T0 + 3600,
    ))
    .await;
    let account = h.account();

    let r = h
        .app
        .acquire_token_silent(
            ["openid", "profile", "offline_access", "User.Read"],
            &account,
        )
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));

    let e = h
        .app
        .acquire_token_silent(["openid", "profile", "offline_access"], &account)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(!e.is_ui_required());
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// Behaviour: the 300 s expiry buffer. An AT expiring at now+301 is a hit; at now+300 and
/// now+299 the refresh token is redeemed (exactly one token request).
#[tokio::test]
async fn expiry_buffer_edges() {
    for (expires_in, expected_requests, expected_token) in
        [(301, 0, "at-old"), (300, 1, "at-new"), (299, 1, "at-new")]
    {
        let h = Harness::new().await;
        h.seed(&CacheDoc::signed_in_with(
            "rt-1",
            "User.Read",
            "at-old",
            T0 + expires_in,
        ))
        .await;
        token_ok(
            TOKEN_PATH,
            token_response("at-new", Some("rt-2"), "User.Read", 3600),
        )
        .mount(&h.server)
        .await;

        let r = h
            .app
            .acquire_token_silent(["User.Read"], &h.account())
            .await
            .unwrap();
        assert_eq!(
            h.token_requests().await.len(),
            expected_requests,
            "expires at now+{expires_in}"
        );
        assert_eq!(
            r.access_token(),
            expected_token,
            "expires at now+{expires_in}"
        );
        let source = if expected_requests == 0 {
            TokenSource::Cache
        } else {
            TokenSource::IdentityProvider
        };
        assert_eq!(r.source(), source, "expires at now+{expires_in}");
    }
}

/// Behaviour: several cached ATs match; the one that expires last wins (no error), whatever
/// the entries' keys or realms (`common` entries written by MSAL Python included).
#[tokio::test]
async fn of_two_matching_access_tokens_the_later_expiring_wins() {
    let cases = [
        // (target, realm, secret, expires_on) x2
        [
            ("User.Read", UTID, "at-early", T0 + 1000),
            ("Mail.Read User.Read", UTID, "at-late", T0 + 2000),
        ],
        [
            ("User.Read", UTID, "at-late", T0 + 2000),
            ("Mail.Read User.Read", UTID, "at-early", T0 + 1000),
        ],
        [
            ("User.Read", UTID, "at-early", T0 + 1000),
            ("User.Read", "common", "at-late", T0 + 2000),
        ],
    ];
    for (i, case) in cases.iter().enumerate() {
        let h = Harness::new().await;
        let mut doc = CacheDoc::new().signed_in(CLIENT_ID, "rt-1");
        for (target, realm, secret, expires_on) in case {
            doc = doc.access_token(CLIENT_ID, realm, target, secret, *expires_on);
        }
        h.seed(&doc).await;
        let r = h
            .app
            .acquire_token_silent(["user.read"], &h.account())
            .await
            .unwrap();
        assert_eq!(r.access_token(), "at-late", "case {i}");
        assert_eq!(
            r.expires_on(),
            UNIX_EPOCH + Duration::from_secs(T0 + 2000),
            "case {i}"
        );
        assert_eq!(r.source(), TokenSource::Cache, "case {i}");
        assert!(h.server.received_requests().await.unwrap().is_empty());
    }
}

/// Behaviour: a refresh rotates the RT in place (same entry, new secret), replaces the old AT
/// whose scopes intersect the new one (one AT remains), and stores expiry times as strings of
/// `now + expires_in`.
#[tokio::test]
async fn refresh_rotates_refresh_token_in_place_and_replaces_intersecting_access_token() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "Mail.Read User.Read",
        "at-old",
        T0 + 1200,
    ))
    .await;
    let before = h.stored().await;
    let rt_key = before["RefreshToken"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    token_ok(
        TOKEN_PATH,
        token_response(
            "at-new",
            Some("rt-2"),
            "User.Read openid profile email",
            3600,
        ),
    )
    .expect(1)
    .mount(&h.server)
    .await;

    let elapsed = 1000;
    h.clock.advance(Duration::from_secs(elapsed));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-new");
    assert_eq!(form(&h.token_requests().await[0])["refresh_token"], "rt-1");

    let after = h.stored().await;
    // The RT entry is the same one (same key), with the new secret.
    let rts = after["RefreshToken"].as_object().unwrap();
    assert_eq!(rts.len(), 1, "{rts:?}");
    let rt = &rts[&rt_key];
    assert_eq!(rt["secret"], "rt-2");
    assert_eq!(rt["client_id"], CLIENT_ID);
    assert_eq!(rt["home_account_id"], hid());
    // The old AT (scopes intersect on User.Read) is gone; only the new one is left.
    let at = only_entry(&after, "AccessToken");
    assert_eq!(at["secret"], "at-new");
    assert_eq!(at["realm"], UTID);
    assert_eq!(at["environment"], ENV);
    assert_eq!(at["client_id"], CLIENT_ID);
    assert_eq!(at["home_account_id"], hid());
    assert_eq!(at["token_type"], "Bearer");
    assert_eq!(at["target"], "User.Read email openid profile");
    assert_eq!(at["cached_at"], json!((T0 + elapsed).to_string()));
    assert_eq!(at["expires_on"], json!((T0 + elapsed + 3600).to_string()));
    assert_eq!(
        at["extended_expires_on"],
        json!((T0 + elapsed + 3600).to_string())
    );
    assert_eq!(
        r.expires_on(),
        UNIX_EPOCH + Duration::from_secs(T0 + elapsed + 3600)
    );
}

/// Behaviour: a refresh response without `refresh_token` keeps the RT that was redeemed.
#[tokio::test]
async fn response_without_refresh_token_keeps_the_old_one() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    token_ok(
        TOKEN_PATH,
        token_response("at-new", None, "User.Read", 3600),
    )
    .expect(1)
    .mount(&h.server)
    .await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-new", TokenSource::IdentityProvider)
    );
    let after = h.stored().await;
    assert_eq!(refresh_token_secrets(&after), vec!["rt-1"]);
    assert_eq!(access_token_secrets(&after), vec!["at-new"]);
}

/// Behaviour: scopes never asked before redeem the account's RT (RTs are not matched by
/// scope); ATs with disjoint scopes then coexist in the cache.
#[tokio::test]
async fn new_scopes_redeem_the_refresh_token_and_disjoint_tokens_coexist() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read",
        "at-user",
        T0 + 3600,
    ))
    .await;
    token_ok(
        TOKEN_PATH,
        token_response("at-mail", Some("rt-2"), "Mail.Read", 3600),
    )
    .expect(1)
    .mount(&h.server)
    .await;

    let r = h
        .app
        .acquire_token_silent(["Mail.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-mail", TokenSource::IdentityProvider)
    );
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 1);
    let sent = form(&requests[0]);
    assert_eq!(sent["scope"], "Mail.Read offline_access openid profile");
    assert_eq!(sent["refresh_token"], "rt-1");

    let mut ats = access_token_secrets(&h.stored().await);
    ats.sort();
    assert_eq!(ats, vec!["at-mail", "at-user"]);

    // Both are now hits.
    for (scope, secret) in [("User.Read", "at-user"), ("Mail.Read", "at-mail")] {
        let r = h
            .app
            .acquire_token_silent([scope], &h.account())
            .await
            .unwrap();
        assert_eq!((r.access_token(), r.source()), (secret, TokenSource::Cache));
    }
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Behaviour: `force_refresh(true)` skips a valid cached AT and redeems the RT.
#[tokio::test]
async fn force_refresh_skips_a_valid_cached_token() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read",
        "at-1",
        T0 + 3600,
    ))
    .await;
    token_ok(
        TOKEN_PATH,
        token_response("at-2", Some("rt-2"), "User.Read", 3600),
    )
    .expect(1)
    .mount(&h.server)
    .await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(form(&requests[0])["refresh_token"], "rt-1");
    assert!(!form(&requests[0]).contains_key("claims"));
    assert_eq!(access_token_secrets(&h.stored().await), vec!["at-2"]);
}

/// Behaviour: a claims challenge skips a valid cached AT and is sent as `claims`; client
/// capabilities are merged into the claims as `xms_cc`, and capabilities alone do not bypass
/// the cache.
#[tokio::test]
async fn claims_skip_the_cache_and_capabilities_are_merged() {
    let h = Harness::new().await;
    let seed = CacheDoc::signed_in_with("rt-1", "User.Read", "at-1", T0 + 3600);
    h.seed(&seed).await;
    token_ok(
        TOKEN_PATH,
        token_response("at-2", Some("rt-2"), "User.Read", 3600),
    )
    .mount(&h.server)
    .await;
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

    // Claims alone: cache skipped, claims sent exactly.
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .claims(claims)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(form(&requests[0])["claims"], claims);

    // Capabilities alone: still a cache hit.
    h.seed(&seed).await;
    let cp1 = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .client_capabilities(["cp1"])
        .build()
        .unwrap();
    let r = cp1
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
    assert_eq!(h.token_requests().await.len(), 1);

    // Capabilities + claims: merged.
    let r = cp1
        .acquire_token_silent(["User.Read"], &h.account())
        .claims(claims)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 2);
    let sent: Value = serde_json::from_str(&form(&requests[1])["claims"]).unwrap();
    assert_eq!(
        sent,
        json!({"access_token": {
            "nbf": {"essential": true, "value": "1700000000"},
            "xms_cc": {"values": ["cp1"]},
        }})
    );

    // Capabilities + force_refresh: the capabilities alone are sent as claims.
    let r = cp1
        .acquire_token_silent(["User.Read"], &h.account())
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 3);
    let sent: Value = serde_json::from_str(&form(&requests[2])["claims"]).unwrap();
    assert_eq!(
        sent,
        json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
    );
}

/// Behaviour: the shape of a refresh request: MSAL headers, correlation id (a UUID, or the
/// caller's), CCS routing hint, form-encoded body with the refresh-token grant.
#[tokio::test]
async fn refresh_request_shape() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("x-client-sku", "MSAL.Rust"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-2",
            Some("rt-2"),
            "User.Read",
            3600,
        )))
        .expect(2)
        .mount(&h.server)
        .await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), TOKEN_PATH);
    assert_eq!(req.url.query(), None);
    assert_eq!(header_value(req, "x-client-SKU"), "MSAL.Rust");
    assert_eq!(header_value(req, "x-client-Ver"), msal::http::VERSION);
    assert!(!header_value(req, "x-client-Ver").is_empty());
    assert_eq!(
        header_value(req, "x-ms-lib-capability"),
        "retry-after, h429"
    );
    assert_eq!(
        header_value(req, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(header_value(req, "accept"), "application/json");
    assert_eq!(header_value(req, "return-client-request-id"), "true");
    assert_eq!(
        header_value(req, "x-anchormailbox"),
        format!("Oid:{UID}@{UTID}")
    );
    let correlation_id = header_value(req, "client-request-id");
    assert!(is_uuid(correlation_id), "{correlation_id}");
    assert_eq!(r.correlation_id(), correlation_id);
    let sent = form(req);
    assert_eq!(sent["client_id"], CLIENT_ID);
    assert_eq!(sent["grant_type"], "refresh_token");
    assert_eq!(sent["client_info"], "1");
    assert_eq!(sent["refresh_token"], "rt-1");
    assert_eq!(sent["scope"], "User.Read offline_access openid profile");
    let mut fields: Vec<&str> = sent.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "client_id",
            "client_info",
            "grant_type",
            "refresh_token",
            "scope"
        ]
    );

    // The caller's correlation id is sent verbatim and echoed in the result.
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .force_refresh(true)
        .correlation_id("my-correlation-42")
        .await
        .unwrap();
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(
        header_value(&requests[1], "client-request-id"),
        "my-correlation-42"
    );
    assert_eq!(r.correlation_id(), "my-correlation-42");
    assert_eq!(form(&requests[1])["refresh_token"], "rt-2");
}

/// Behaviour: a specific-tenant authority refreshes at that tenant's token endpoint and caches
/// the AT under that realm; a `/.default` request is a hit on the next call even though the
/// server answered with the resource's scope list.
#[tokio::test]
async fn specific_tenant_authority_and_dot_default_scope() {
    const GUEST: &str = "0c0ffee0-1234-4abc-8def-333333333333";
    let guest_token_path = format!("/{GUEST}/oauth2/v2.0/token");
    let h = Harness::with_authority(&format!("https://login.microsoftonline.com/{GUEST}")).await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    token_ok(
        &guest_token_path,
        token_response(
            "at-graph",
            Some("rt-2"),
            "https://graph.microsoft.com/User.Read",
            3600,
        ),
    )
    .expect(1)
    .mount(&h.server)
    .await;
    let scopes = ["https://graph.microsoft.com/.default"];

    let r = h
        .app
        .acquire_token_silent(scopes, &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-graph", TokenSource::IdentityProvider)
    );
    assert_eq!(r.tenant_id(), Some(GUEST));
    let requests = h.token_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), guest_token_path);
    assert_eq!(
        form(&requests[0])["scope"],
        "https://graph.microsoft.com/.default offline_access openid profile"
    );
    let at = only_entry(&h.stored().await, "AccessToken");
    assert_eq!(at["realm"], GUEST);
    assert_eq!(at["secret"], "at-graph");
    let target = at["target"].as_str().unwrap();
    assert!(
        target
            .split(' ')
            .any(|s| s == "https://graph.microsoft.com/User.Read"),
        "{target}"
    );

    let r = h
        .app
        .acquire_token_silent(scopes, &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-graph", TokenSource::Cache)
    );
    assert_eq!(r.tenant_id(), Some(GUEST));
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Behaviour: a refreshed result has source IdentityProvider and `refresh_on` = now +
/// `refresh_in` when the response has `refresh_in` (also stored on the AT).
#[tokio::test]
async fn refresh_result_has_source_identity_provider_and_refresh_on() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    let mut body = token_response("at-2", Some("rt-2"), "User.Read", 3600);
    body["refresh_in"] = json!(1800);
    token_ok(TOKEN_PATH, body).expect(1).mount(&h.server).await;

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(r.access_token(), "at-2");
    assert_eq!(
        r.refresh_on(),
        Some(UNIX_EPOCH + Duration::from_secs(T0 + 1800))
    );
    assert_eq!(r.expires_on(), UNIX_EPOCH + Duration::from_secs(T0 + 3600));
    assert_eq!(r.tenant_id(), Some(UTID));
    assert_eq!(r.id_token(), Some(id_token().as_str()));
    assert_eq!(
        r.account().map(|a| a.home_account_id.as_str()),
        Some(hid().as_str())
    );
    let at = only_entry(&h.stored().await, "AccessToken");
    assert_eq!(at["refresh_on"], json!((T0 + 1800).to_string()));

    // Without refresh_in there is no refresh_on.
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    token_ok(
        TOKEN_PATH,
        token_response("at-3", Some("rt-3"), "User.Read", 3600),
    )
    .mount(&h.server)
    .await;
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(r.refresh_on(), None);
    assert!(only_entry(&h.stored().await, "AccessToken")
        .get("refresh_on")
        .is_none());
}

/// `account(id)` is `accounts()` filtered to one id, found by a hash probe: the same account,
/// any case of the id, and only while this app holds a usable refresh token for it.
#[tokio::test]
async fn account_by_id_matches_accounts_and_needs_a_usable_refresh_token() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;

    let listed = h.app.accounts().await.unwrap();
    assert_eq!(listed.len(), 1);
    let found = h.app.account(&hid()).await.unwrap().expect("signed in");
    assert_eq!(found, listed[0]);
    let upper = h
        .app
        .account(&hid().to_ascii_uppercase())
        .await
        .unwrap()
        .expect("ids compare without regard to case");
    assert_eq!(upper.home_account_id, listed[0].home_account_id);
    assert!(h.app.account("nobody.nowhere").await.unwrap().is_none());

    // Another app's refresh token only (not a family one): this app cannot use the account.
    h.seed(&CacheDoc::new().signed_in("another-app", "rt-other"))
        .await;
    assert!(h.app.accounts().await.unwrap().is_empty());
    assert!(h.app.account(&hid()).await.unwrap().is_none());
}
