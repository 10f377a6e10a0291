//! The basic story end to end against wiremock: a cache hit makes no request, an expired token
//! is refreshed once, and the refreshed token is then served from the cache.

use msal::TokenSource;
use msal_tests::harness::*;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn hit_then_expiry_then_refresh_then_hit() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read email openid profile",
        "at-1",
        T0 + 3600,
    ))
    .await;
    let account = h.app.accounts().await.unwrap().remove(0);

    let r = h
        .app
        .acquire_token_silent(["user.read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
    assert!(h.server.received_requests().await.unwrap().is_empty());

    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-2",
            Some("rt-2"),
            "User.Read openid profile email",
            3600,
        )))
        .expect(1)
        .mount(&h.server)
        .await;
    h.clock.advance(std::time::Duration::from_secs(3400));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    let sent = form(&h.token_requests().await[0]);
    assert_eq!(sent["refresh_token"], "rt-1");
    assert_eq!(sent["client_info"], "1");
    assert_eq!(sent["scope"], "User.Read offline_access openid profile");

    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-2", TokenSource::Cache));
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-2"]);
    assert_eq!(access_token_secrets(&h.stored().await), vec!["at-2"]);
}
