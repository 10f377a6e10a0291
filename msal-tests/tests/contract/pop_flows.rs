//! Proof-of-possession tokens and SSH certificates on the builders past client credentials:
//! on-behalf-of, authorization code and the confidential client's silent request (PoP and
//! SSH), the public client's device code and interactive sign-ins (SSH). For each: what the
//! token request carries (`token_type`, `req_cnf`, `key_id`), the result's type, the SHR
//! verified with the public key, caching per key, Bearer and bound tokens never served for
//! each other, refreshes asking for the bound type, and an answer of another type refused.

use msal::cache::Partition;
use msal::on_behalf_of::user_assertion_hash;
use msal::{Acquisition, TokenSource};
use msal_tests::harness::*;
use serde_json::{json, Value};

use crate::pop_support::*;

const RESOURCE: &str = "https://resource.example/.default";
const ITEMS: &str = "https://resource.example/api/items?x=1";
const OTHER: &str = "https://resource.example/other";
const INCOMING: &str = "incoming-user-token-for-the-web-api-0123456789";
const OBO: &str = "requested_token_use=on_behalf_of";
const REFRESH: &str = "grant_type=refresh_token";
const AUTH_CODE: &str = "grant_type=authorization_code";
const REDIRECT_URI: &str = "https://app.example/callback";
const SSH_SCOPE: &str = "https://pas.windows.net/CheckMyAccess/Linux/.default";

/// An app-style answer (no account): `token_type`, the token, an optional refresh token.
fn answer(token_type: &str, access_token: &str, refresh_token: Option<&str>) -> Value {
    let mut v = json!({
        "token_type": token_type, "expires_in": 3600, "ext_expires_in": 3600,
        "access_token": access_token,
    });
    if let Some(rt) = refresh_token {
        v["refresh_token"] = json!(rt);
    }
    v
}

/// The signed-in user's tokens (ID token, `client_info`), of `token_type`.
fn user_answer(token_type: &str, access_token: &str, refresh_token: &str) -> Value {
    let mut v = token_response(
        access_token,
        Some(refresh_token),
        "User.Read openid profile",
        3600,
    );
    v["token_type"] = json!(token_type);
    v
}

/// The token types of stored access tokens, sorted.
fn types(entries: &[Value]) -> Vec<String> {
    let mut types: Vec<String> = entries
        .iter()
        .map(|e| e["token_type"].as_str().unwrap_or("").to_owned())
        .collect();
    types.sort_unstable();
    types
}

/// A Bearer request next to a cached bound token (the first request made): not served it, it
/// redeemed `refresh_token` with no scheme fields and got `access_token`.
async fn assert_bearer_refresh(
    t: &Pop,
    r: &msal::AuthenticationResult,
    access_token: &str,
    refresh_token: &str,
) {
    assert_eq!((r.token_type(), r.access_token()), ("Bearer", access_token));
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[1]["refresh_token"], refresh_token);
    assert!(is_bearer_request(&forms[1]), "{:?}", forms[1]);
}

fn obo_partition() -> String {
    user_assertion_hash(INCOMING)
}

/// On-behalf-of with PoP: the exchange asks for `pop`, the SHR wraps Entra's token, the next
/// request with the key is a cache hit, a Bearer request redeems the (ordinary) refresh token
/// without scheme fields, and a PoP refresh asks for `pop` again.
#[tokio::test]
async fn on_behalf_of_pop_is_cached_per_key_apart_from_bearer_and_refreshed_as_pop() {
    let t = Pop::new().await;
    let pop_exchange = answer("pop", "obo-pop", Some("obo-rt-1"));
    t.answer_with(&[OBO, "token_type=pop"], pop_exchange, 1)
        .await;
    t.answer_with(
        &[REFRESH, "token_type=pop"],
        answer("pop", "obo-pop-2", None),
        1,
    )
    .await;
    t.answer_with(&[REFRESH], answer("Bearer", "obo-bearer", None), 5)
        .await;
    let obo = || t.app.acquire_token_on_behalf_of(INCOMING, [RESOURCE]);

    let first = obo().proof_of_possession(pop_request(ITEMS)).await.unwrap();
    assert_eq!(
        (first.token_type(), first.source()),
        ("pop", TokenSource::IdentityProvider)
    );
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 1);
    assert_asks_for_pop(&forms[0]);
    assert_eq!(
        (
            forms[0]["assertion"].as_str(),
            forms[0]["requested_token_use"].as_str()
        ),
        (INCOMING, "on_behalf_of")
    );
    let payload = verified_with_app_key(first.access_token());
    assert_eq!(
        (
            payload["at"].as_str(),
            payload["m"].as_str(),
            payload["p"].as_str()
        ),
        (Some("obo-pop"), Some("GET"), Some("/api/items"))
    );

    // The same key for another request: the cached token in a new SHR.
    let second = obo().proof_of_possession(pop_request(OTHER)).await.unwrap();
    assert_cached_shr(&second, "obo-pop", "/other");
    assert_eq!(t.token_forms().await.len(), 1);

    // A Bearer request is not served the PoP token: it redeems the refresh token, as Bearer.
    let bearer = obo().await.unwrap();
    assert_bearer_refresh(&t, &bearer, "obo-bearer", "obo-rt-1").await;

    // Each is now served from the cache to its own kind of request only.
    let bearer = obo().await.unwrap();
    assert_eq!(
        (bearer.access_token(), bearer.source()),
        ("obo-bearer", TokenSource::Cache)
    );
    let pop = obo().proof_of_possession(pop_request(ITEMS)).await.unwrap();
    assert_eq!(
        (pop.token_type(), pop.source()),
        ("pop", TokenSource::Cache)
    );
    assert_eq!(t.token_forms().await.len(), 2);

    // Near expiry, the PoP request redeems the refresh token asking for `pop`.
    t.clock.advance(std::time::Duration::from_secs(3500));
    let refreshed = obo().proof_of_possession(pop_request(ITEMS)).await.unwrap();
    assert_eq!(refreshed.source(), TokenSource::IdentityProvider);
    assert_eq!(
        verified_with_app_key(refreshed.access_token())["at"],
        "obo-pop-2"
    );
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 3);
    assert_eq!(forms[2]["grant_type"], "refresh_token");
    assert_asks_for_pop(&forms[2]);

    let stored = t
        .stored_in(Partition::UserAssertion(&obo_partition()))
        .await;
    assert_eq!(types(&stored), ["Bearer", "pop"]);
    let pop_entry = stored.iter().find(|e| e["token_type"] == "pop").unwrap();
    assert_eq!(pop_entry["secret"], "obo-pop-2");
    assert_eq!(pop_entry["key_id"], app_key_thumbprint().as_str());
    assert_eq!(pop_entry["user_assertion_hash"], obo_partition().as_str());
}

/// On-behalf-of with an SSH certificate: `token_type`, `req_cnf` and `key_id` sent, the
/// certificate cached per key id; a PoP request answered with a Bearer token is refused and
/// caches nothing.
#[tokio::test]
async fn on_behalf_of_ssh_certificate_is_cached_and_a_mismatched_answer_is_refused() {
    let t = Pop::new().await;
    t.answer_with(
        &[OBO, "token_type=ssh-cert"],
        answer("ssh-cert", "obo-cert", None),
        1,
    )
    .await;
    t.answer_with(&[OBO], answer("Bearer", "obo-bearer", None), 5)
        .await;
    let obo = || t.app.acquire_token_on_behalf_of(INCOMING, [SSH_SCOPE]);

    let cert = obo().ssh_certificate(ssh_request("k1")).await.unwrap();
    assert_eq!(
        (cert.token_type(), cert.access_token()),
        ("ssh-cert", "obo-cert")
    );
    assert_asks_for_ssh(&t.token_forms().await[0], "k1");
    let cached = obo().ssh_certificate(ssh_request("k1")).await.unwrap();
    assert_eq!(
        (cached.access_token(), cached.source()),
        ("obo-cert", TokenSource::Cache)
    );
    assert_eq!(t.token_forms().await.len(), 1);

    // The identity provider answers the PoP request with a Bearer token: refused.
    let e = obo()
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap_err();
    assert_refused(&e, "obo-bearer");
    assert_asks_for_pop(&t.token_forms().await[1]);
    let stored = t
        .stored_in(Partition::UserAssertion(&obo_partition()))
        .await;
    assert_eq!(types(&stored), ["ssh-cert"]);
}

/// A web app's sign-in with PoP (authorization code), then the confidential client's silent
/// PoP request served from the cache; a Bearer silent request refreshes as Bearer and is never
/// served the PoP token; near expiry the silent PoP request refreshes asking for `pop`.
#[tokio::test]
async fn authorization_code_pop_then_silent_pop_from_the_cache_and_a_pop_refresh() {
    let t = Pop::new().await;
    t.answer_with(
        &[AUTH_CODE, "token_type=pop"],
        user_answer("pop", "web-pop", "web-rt-1"),
        1,
    )
    .await;
    t.answer_with(
        &[REFRESH, "token_type=pop"],
        user_answer("pop", "web-pop-2", "web-rt-3"),
        1,
    )
    .await;
    t.answer_with(
        &[REFRESH],
        user_answer("Bearer", "web-bearer", "web-rt-2"),
        5,
    )
    .await;

    let r = t
        .app
        .acquire_token_by_authorization_code("the-code", ["User.Read"], Some("the-verifier"))
        .redirect_uri(REDIRECT_URI)
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap();
    assert_eq!(
        (r.token_type(), r.acquisition()),
        ("pop", Acquisition::SignIn)
    );
    assert_eq!(verified_with_app_key(r.access_token())["at"], "web-pop");
    let forms = t.token_forms().await;
    assert_eq!(
        (forms[0]["grant_type"].as_str(), forms[0]["code"].as_str()),
        ("authorization_code", "the-code")
    );
    assert_asks_for_pop(&forms[0]);
    let account = r.account().cloned().expect("the signed-in account");
    assert_eq!(account.home_account_id, hid());

    let silent = || t.app.acquire_token_silent(["User.Read"], &account);
    let hit = silent()
        .proof_of_possession(pop_request(OTHER))
        .await
        .unwrap();
    assert_cached_shr(&hit, "web-pop", "/other");
    assert_eq!(t.token_forms().await.len(), 1);

    // Bearer: not served the PoP token; the refresh asks for no scheme.
    let bearer = silent().await.unwrap();
    assert_bearer_refresh(&t, &bearer, "web-bearer", "web-rt-1").await;
    let bearer = silent().await.unwrap();
    assert_eq!(bearer.source(), TokenSource::Cache);
    let pop = silent()
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap();
    assert_eq!(verified_with_app_key(pop.access_token())["at"], "web-pop");
    assert_eq!(t.token_forms().await.len(), 2);

    // Near expiry: the refresh token (an ordinary one) is redeemed for a PoP token.
    t.clock.advance(std::time::Duration::from_secs(3500));
    let refreshed = silent()
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap();
    assert_eq!(
        (refreshed.token_type(), refreshed.acquisition()),
        ("pop", Acquisition::Refresh)
    );
    assert_eq!(
        verified_with_app_key(refreshed.access_token())["at"],
        "web-pop-2"
    );
    let forms = t.token_forms().await;
    assert_eq!(
        (
            forms[2]["grant_type"].as_str(),
            forms[2]["refresh_token"].as_str()
        ),
        ("refresh_token", "web-rt-2")
    );
    assert_asks_for_pop(&forms[2]);

    let bytes = t.cache.snapshot_of(Partition::Account(&hid())).await;
    let doc: Value = serde_json::from_slice(&bytes.unwrap()).unwrap();
    assert_eq!(types(&entries(&doc, "AccessToken")), ["Bearer", "pop"]);
    let rts = entries(&doc, "RefreshToken");
    assert_eq!(rts.len(), 1);
    assert_eq!(rts[0]["secret"], "web-rt-3");
    assert!(rts[0].get("key_id").is_none() && rts[0].get("token_type").is_none());
}

/// A sign-in for an SSH certificate (authorization code): the certificate is cached per key
/// id, a silent request with the same key is a cache hit, another key refreshes for its own.
#[tokio::test]
async fn authorization_code_ssh_certificate_then_silent_per_key_id() {
    let t = Pop::new().await;
    let cert = user_answer("ssh-cert", "web-cert-1", "web-rt-1");
    t.answer_with(&[AUTH_CODE, "token_type=ssh-cert"], cert, 1)
        .await;
    let cert = user_answer("ssh-cert", "web-cert-2", "web-rt-2");
    t.answer_with(&[REFRESH, "key_id=k2"], cert, 1).await;

    let r = t
        .app
        .acquire_token_by_authorization_code("the-code", ["User.Read"], None)
        .redirect_uri(REDIRECT_URI)
        .ssh_certificate(ssh_request("k1"))
        .await
        .unwrap();
    assert_eq!(
        (r.token_type(), r.access_token()),
        ("ssh-cert", "web-cert-1")
    );
    assert_asks_for_ssh(&t.token_forms().await[0], "k1");
    let account = r.account().cloned().unwrap();

    let silent = || t.app.acquire_token_silent(["User.Read"], &account);
    let hit = silent().ssh_certificate(ssh_request("k1")).await.unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        ("web-cert-1", TokenSource::Cache)
    );
    let other = silent().ssh_certificate(ssh_request("k2")).await.unwrap();
    assert_eq!(
        (other.access_token(), other.source()),
        ("web-cert-2", TokenSource::IdentityProvider)
    );
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[1]["grant_type"], "refresh_token");
    assert_asks_for_ssh(&forms[1], "k2");
    let bytes = t.cache.snapshot_of(Partition::Account(&hid())).await;
    let doc: Value = serde_json::from_slice(&bytes.unwrap()).unwrap();
    let mut kids: Vec<String> = entries(&doc, "AccessToken")
        .iter()
        .filter_map(|e| e["key_id"].as_str().map(str::to_owned))
        .collect();
    kids.sort_unstable();
    assert_eq!(kids, ["k1", "k2"]);
}

/// An answer of another token type is refused: a PoP code redemption answered with a Bearer
/// token signs nobody in; a PoP refresh answered with a Bearer token caches no access token
/// (the rotated refresh token is kept).
#[tokio::test]
async fn a_bearer_answer_to_a_pop_sign_in_or_refresh_is_refused() {
    let t = Pop::new().await;
    t.answer_with(&[AUTH_CODE], user_answer("Bearer", "web-at", "web-rt-1"), 5)
        .await;
    t.answer_with(
        &[REFRESH],
        user_answer("Bearer", "sneaky-bearer", "web-rt-2"),
        5,
    )
    .await;
    let redeem = || {
        t.app
            .acquire_token_by_authorization_code("the-code", ["User.Read"], None)
            .redirect_uri(REDIRECT_URI)
    };

    let e = redeem()
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap_err();
    assert_refused(&e, "web-at");
    assert!(t.app.account(&hid()).await.unwrap().is_none());

    let signed_in = redeem().await.unwrap();
    let account = signed_in.account().cloned().unwrap();
    let e = t
        .app
        .acquire_token_silent(["User.Read"], &account)
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap_err();
    assert_refused(&e, "sneaky-bearer");
    let bytes = t.cache.snapshot_of(Partition::Account(&hid())).await;
    let doc: Value = serde_json::from_slice(&bytes.unwrap()).unwrap();
    assert_eq!(access_token_secrets(&doc), ["web-at"]);
    assert_eq!(refresh_token_secrets(&doc), ["web-rt-2"]);
}

/// A device code sign-in for an SSH certificate: the polling request (not the device
/// authorization request) carries the scheme, and a later silent request with the same key
/// is a cache hit while a Bearer one refreshes.
#[tokio::test(start_paused = true)]
async fn device_code_ssh_certificate_then_a_silent_cache_hit() {
    let mut cert = token_response("dc-cert", Some("rt-1"), SSH_SCOPE, 3600);
    cert["token_type"] = json!("ssh-cert");
    let bearer = token_response("dc-bearer", Some("rt-2"), SSH_SCOPE, 3600);
    let transport = ScriptedTransport::new(vec![
        crate::device_code::device_authorization(900, Some(1)),
        (200, cert),
        (200, bearer),
    ]);
    let cache = msal::cache::MemoryCache::new();
    let app = crate::device_code::app(&transport, &cache);
    let (_shown, callback) = crate::device_code::shown();

    let r = app
        .acquire_token_with_device_code([SSH_SCOPE], callback)
        .ssh_certificate(ssh_request("dc-key"))
        .await
        .unwrap();
    assert_eq!((r.token_type(), r.access_token()), ("ssh-cert", "dc-cert"));
    let bodies = transport.bodies();
    assert!(!bodies[0].contains("token_type"), "{}", bodies[0]);
    let poll: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(bodies[1].as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        poll["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_asks_for_ssh(&poll, "dc-key");

    let account = app.accounts().await.unwrap().remove(0);
    let hit = app
        .acquire_token_silent([SSH_SCOPE], &account)
        .ssh_certificate(ssh_request("dc-key"))
        .await
        .unwrap();
    assert_eq!(
        (hit.access_token(), hit.source()),
        ("dc-cert", TokenSource::Cache)
    );
    assert_eq!(transport.seen().len(), 2, "the cache hit made no request");
    let plain = app
        .acquire_token_silent([SSH_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(
        (plain.token_type(), plain.access_token()),
        ("Bearer", "dc-bearer")
    );
    assert!(!transport.bodies()[2].contains("token_type"));
}

/// An interactive sign-in for an SSH certificate: the code redemption carries the scheme (the
/// authorize URL does not), and a later silent request with the same key is a cache hit.
#[tokio::test]
async fn interactive_ssh_certificate_then_a_silent_cache_hit() {
    use crate::interactive::{app_with, mount_code_redemption_of, FakeBrowser};
    let h = Harness::new().await;
    let browser = FakeBrowser::signing_in();
    mount_code_redemption_of(&h, &browser, false, "ssh-cert").await;
    let app = app_with(&h, &browser);

    let r = app
        .acquire_token_interactive(["User.Read"])
        .ssh_certificate(ssh_request("int-key"))
        .await
        .unwrap();
    assert_eq!((r.token_type(), r.access_token()), ("ssh-cert", "at-1"));
    assert!(browser
        .last_url()
        .query_pairs()
        .all(|(k, _)| k != "token_type" && k != "req_cnf"));
    assert_asks_for_ssh(&form(&h.token_requests().await[0]), "int-key");

    let account = app.accounts().await.unwrap().remove(0);
    let hit = app
        .acquire_token_silent(["User.Read"], &account)
        .ssh_certificate(ssh_request("int-key"))
        .await
        .unwrap();
    assert_eq!(
        (hit.access_token(), hit.token_type(), hit.source()),
        ("at-1", "ssh-cert", TokenSource::Cache)
    );
    assert_eq!(h.token_requests().await.len(), 1);
    let stored = entries(&h.stored().await, "AccessToken");
    assert_eq!(types(&stored), ["ssh-cert"]);
    assert_eq!(stored[0]["key_id"], "int-key");
}

/// A Bearer refresh throttled by the identity provider (429, Retry-After) throttles identical
/// Bearer requests only: a PoP request for the same account and scopes is its own request.
#[tokio::test]
async fn a_throttled_bearer_refresh_does_not_throttle_a_pop_refresh() {
    let t = Pop::new().await;
    t.answer_with(&[AUTH_CODE], user_answer("Bearer", "web-at", "web-rt-1"), 5)
        .await;
    t.answer_with(
        &[REFRESH, "token_type=pop"],
        user_answer("pop", "web-pop", "web-rt-2"),
        1,
    )
    .await;
    wiremock::Mock::given(wiremock::matchers::body_string_contains(REFRESH))
        .respond_with(
            wiremock::ResponseTemplate::new(429)
                .insert_header("Retry-After", "60")
                .set_body_json(json!({"error": "temporarily_unavailable"})),
        )
        .with_priority(5)
        .mount(&t.server)
        .await;
    let signed_in = t
        .app
        .acquire_token_by_authorization_code("the-code", ["User.Read"], None)
        .redirect_uri(REDIRECT_URI)
        .await
        .unwrap();
    let account = signed_in.account().cloned().unwrap();
    let silent = || {
        t.app
            .acquire_token_silent(["User.Read"], &account)
            .force_refresh(true)
    };

    assert!(silent().await.unwrap_err().is_transient());
    let e = silent().await.unwrap_err();
    assert!(matches!(e, msal::Error::Throttled { .. }), "{e:?}");
    assert_eq!(
        t.token_forms().await.len(),
        2,
        "the throttled call sent nothing"
    );

    let pop = silent()
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap();
    assert_eq!(verified_with_app_key(pop.access_token())["at"], "web-pop");
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 3);
    assert_asks_for_pop(&forms[2]);
}

/// Long-running on-behalf-of with PoP: initiating asks for `pop` in the exchange and returns
/// an SHR; the background calls by session key are served the cached token in new SHRs, a
/// Bearer call by the same key is not (it redeems the refresh token as Bearer), and near
/// expiry a PoP call redeems the refresh token asking for `pop` again.
#[tokio::test]
async fn long_running_on_behalf_of_pop_by_session_key() {
    let t = Pop::new().await;
    t.answer_with(
        &[OBO, "token_type=pop"],
        answer("pop", "lr-pop", Some("lr-rt-1")),
        1,
    )
    .await;
    t.answer_with(
        &[REFRESH, "token_type=pop"],
        answer("pop", "lr-pop-2", None),
        1,
    )
    .await;
    t.answer_with(&[REFRESH], answer("Bearer", "lr-bearer", None), 5)
        .await;

    let session = t
        .app
        .initiate_long_running_process_in_web_api(INCOMING, [RESOURCE])
        .session_key("job-42")
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap();
    assert_eq!(session.session_key, "job-42");
    assert_eq!(session.result.token_type(), "pop");
    assert_eq!(
        verified_with_app_key(session.result.access_token())["at"],
        "lr-pop"
    );
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 1);
    assert_asks_for_pop(&forms[0]);

    let later = || {
        t.app
            .acquire_token_in_long_running_process("job-42", [RESOURCE])
    };
    let cached = later()
        .proof_of_possession(pop_request(OTHER))
        .await
        .unwrap();
    assert_cached_shr(&cached, "lr-pop", "/other");
    assert_eq!(t.token_forms().await.len(), 1);

    let bearer = later().await.unwrap();
    assert_bearer_refresh(&t, &bearer, "lr-bearer", "lr-rt-1").await;

    t.clock.advance(std::time::Duration::from_secs(3500));
    let refreshed = later()
        .proof_of_possession(pop_request(ITEMS))
        .await
        .unwrap();
    assert_eq!(refreshed.source(), TokenSource::IdentityProvider);
    assert_eq!(
        verified_with_app_key(refreshed.access_token())["at"],
        "lr-pop-2"
    );
    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 3);
    assert_asks_for_pop(&forms[2]);
    let stored = t.stored_in(Partition::UserAssertion("job-42")).await;
    assert_eq!(types(&stored), ["Bearer", "pop"]);
}
