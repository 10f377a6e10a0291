//! A refresh that hangs: a caller holding a still-valid cached token gets it after a bounded
//! wait instead of blocking, and the refresh completes in the background; a caller whose token
//! has expired waits for the refresh.

use std::time::Duration;

use msal::TokenSource;
use msal_tests::harness::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

async fn mount_slow_token_endpoint(h: &Harness, delay: Duration) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_response(
                    "at-new",
                    Some("rt-2"),
                    "User.Read openid profile email",
                    3600,
                ))
                .set_delay(delay),
        )
        .mount(&h.server)
        .await;
}

/// The cached token has 200 s left (inside the 5-minute buffer, not expired) and the identity
/// provider takes 3 s to answer: with a 200 ms wait the caller gets the cached token, and the
/// refresh still lands in the cache afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_refresh_serves_the_still_valid_token() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read email openid profile",
        "at-old",
        T0 + 200,
    ))
    .await;
    mount_slow_token_endpoint(&h, Duration::from_secs(3)).await;
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .max_refresh_wait(Duration::from_millis(200))
        .build()
        .unwrap();
    let account = h.account();

    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-old", TokenSource::Cache)
    );

    // The refresh goes on without the caller and its result is cached.
    let mut refreshed = false;
    for _ in 0..100 {
        if access_token_secrets(&h.stored().await).contains(&"at-new".to_owned()) {
            refreshed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refreshed, "the background refresh never completed");
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-2"]);
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-new", TokenSource::Cache)
    );
    assert_eq!(h.token_requests().await.len(), 1);
}

/// With the cached token already expired there is nothing to fall back on: the caller waits
/// for the (slow) refresh and gets its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_waits_for_the_refresh() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read email openid profile",
        "at-old",
        T0 - 1,
    ))
    .await;
    mount_slow_token_endpoint(&h, Duration::from_millis(700)).await;
    let app = app_builder(&h.server, &h.clock, &h.cache, CLIENT_ID)
        .max_refresh_wait(Duration::from_millis(100))
        .build()
        .unwrap();
    let r = app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-new", TokenSource::IdentityProvider)
    );
}
