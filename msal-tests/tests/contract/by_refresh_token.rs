//! `acquire_token_by_refresh_token` (migration from ADAL or another library): the external
//! refresh token is redeemed once, the answer cached like a sign-in's, and later calls are
//! ordinary silent calls; the given token never shows in `Debug` or an error.

use msal::{ConfidentialClientApplication, Error, ManualClock, TokenSource};
use msal_tests::harness::*;
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

const SIGN_IN_TOKEN_PATH: &str = "/common/oauth2/v2.0/token";
const EXTERNAL_RT: &str = "adal-refresh-token-0123456789abcdefghij";

fn redeem(body: serde_json::Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!("refresh_token={EXTERNAL_RT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

/// The exact form, the account from client_info and the ID token, the new refresh token cached
/// in place of the given one, and the next silent call served from the cache.
#[tokio::test]
async fn an_external_refresh_token_is_redeemed_once_and_cached_as_a_sign_in() {
    let h = Harness::new().await;
    redeem(token_response("at-1", Some("rt-new"), "User.Read", 3600))
        .expect(1)
        .mount(&h.server)
        .await;

    let r = h
        .app
        .acquire_token_by_refresh_token(EXTERNAL_RT, ["User.Read"])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-1");
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    let account = r.account().unwrap().clone();
    assert_eq!(account.home_account_id, hid());
    assert_eq!(account.username, USERNAME);

    let f = form(&h.token_requests().await[0]);
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["grant_type"], "refresh_token");
    assert_eq!(f["refresh_token"], EXTERNAL_RT);
    assert_eq!(f["client_info"], "1");
    let scopes: Vec<&str> = f["scope"].split(' ').collect();
    for s in ["User.Read", "openid", "profile", "offline_access"] {
        assert!(scopes.contains(&s), "{scopes:?}");
    }

    let stored = h.stored().await;
    assert_eq!(refresh_token_secrets(&stored), vec!["rt-new".to_owned()]);
    assert_eq!(entries(&stored, "Account").len(), 1);
    assert_eq!(h.app.accounts().await.unwrap(), vec![account.clone()]);

    let again = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (again.access_token(), again.source()),
        ("at-1", TokenSource::Cache)
    );
}

/// An answer without a new refresh token: the given one is cached, so silent refresh works.
#[tokio::test]
async fn the_given_refresh_token_is_kept_when_no_new_one_comes_back() {
    let h = Harness::new().await;
    redeem(token_response("at-1", None, "User.Read", 3600))
        .expect(1)
        .mount(&h.server)
        .await;
    h.app
        .acquire_token_by_refresh_token(EXTERNAL_RT, ["User.Read"])
        .await
        .unwrap();
    assert_eq!(
        refresh_token_secrets(&h.stored().await),
        vec![EXTERNAL_RT.to_owned()]
    );
}

/// A refused token is "interaction required" and its text carries no trace of the token; an
/// empty one is an invalid argument and sends nothing; `Debug` redacts it.
#[tokio::test]
async fn the_given_token_never_shows_and_a_refusal_is_ui_required() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": format!("AADSTS70000: the grant {EXTERNAL_RT} is expired"),
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    let request = h
        .app
        .acquire_token_by_refresh_token(EXTERNAL_RT, ["User.Read"]);
    assert!(!format!("{request:?}").contains(EXTERNAL_RT));
    let err = request.await.unwrap_err();
    assert!(err.is_ui_required(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(EXTERNAL_RT));
    assert!(h
        .stored()
        .await
        .get("RefreshToken")
        .is_none_or(|v| v.as_object().is_none_or(|o| o.is_empty())));

    let err = h
        .app
        .acquire_token_by_refresh_token("  ", ["User.Read"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

/// A confidential client redeems with its credential and caches in the user's partition.
#[tokio::test]
async fn a_confidential_client_redeems_with_its_credential() {
    let h = Harness::new().await;
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&format!("https://login.microsoftonline.com/{UTID}"))
        .client_secret("cc-secret-value")
        .http_client(LoopbackTransport::new(&h.server))
        .clock(ManualClock::at_unix(T0))
        .cache(h.cache.clone())
        .build()
        .unwrap();
    Mock::given(method("POST"))
        .and(path(format!("/{UTID}/oauth2/v2.0/token")))
        .and(body_string_contains(format!("refresh_token={EXTERNAL_RT}")))
        .and(body_string_contains("client_secret=cc-secret-value"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "cc-at",
            Some("cc-rt"),
            "User.Read",
            3600,
        )))
        .expect(1)
        .mount(&h.server)
        .await;
    let r = app
        .acquire_token_by_refresh_token(EXTERNAL_RT, ["User.Read"])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "cc-at");
    let account = app.account(&hid()).await.unwrap().expect("cached account");
    let again = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(again.source(), TokenSource::Cache);
}
