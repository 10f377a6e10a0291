//! Contract tests of the hit memo: repeated silent hits share one result, and nothing the full
//! lookup would see differently (a store written by someone else, a sign-out, the expiry
//! buffer, `refresh_on`, force_refresh, claims, a request spelled differently) is answered
//! from it. Run on every backend (`MSAL_TEST_BACKEND`).

use std::time::Duration;

use msal::TokenSource;
use msal_tests::harness::*;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

fn seeded(at: &str, expires_on: u64, refresh_on: Option<u64>) -> CacheDoc {
    CacheDoc::signed_in_with_refresh_on(
        "rt-1",
        "User.Read email openid profile",
        at,
        expires_on,
        refresh_on,
    )
}

/// Two identical silent hits for `User.Read`, both served `secret` from the cache (the second
/// from the memo).
async fn hit_twice(h: &Harness, account: &msal::Account, secret: &str) {
    for _ in 0..2 {
        let r = h
            .app
            .acquire_token_silent(["User.Read"], account)
            .await
            .unwrap();
        assert_eq!((r.access_token(), r.source()), (secret, TokenSource::Cache));
    }
}

async fn refresh_answers(h: &Harness, at: &str) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            at,
            Some("rt-2"),
            "User.Read email openid profile",
            3600,
        )))
        .mount(&h.server)
        .await;
}

/// Behaviour: the second identical hit is served from the memo: the same token (the very same
/// bytes, shared, not copied), a correlation id of its own, no request.
#[tokio::test]
async fn repeated_hits_share_one_result_with_a_correlation_id_each() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, None)).await;
    let account = h.account();

    let first = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    let second = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();

    assert_eq!(first.access_token(), "at-1");
    assert_eq!(second.source(), TokenSource::Cache);
    assert_eq!(
        first.access_token().as_ptr(),
        second.access_token().as_ptr(),
        "the second hit shares the first one's token"
    );
    assert_eq!(first.account(), second.account());
    assert_eq!(first.id_token(), second.id_token());
    assert_eq!(first.scopes(), second.scopes());
    assert_ne!(first.correlation_id(), second.correlation_id());
    let given = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .correlation_id("0f0e0d0c-0b0a-4908-8706-050403020100")
        .await
        .unwrap();
    assert_eq!(
        given.correlation_id(),
        "0f0e0d0c-0b0a-4908-8706-050403020100"
    );
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// Behaviour: a token written to the store by someone else (another process, another app)
/// is what the next hit returns, memo or not.
#[tokio::test]
async fn a_token_written_to_the_store_elsewhere_is_seen_by_the_next_hit() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, None)).await;
    let account = h.account();
    hit_twice(&h, &account, "at-1").await;

    h.seed(&seeded("at-2", T0 + 7200, None)).await;
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-2");
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// Behaviour: after sign-out, the account's memoised hit is gone: the next silent call needs
/// the user, with no request.
#[tokio::test]
async fn sign_out_ends_memoised_hits() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, None)).await;
    let account = h.account();
    hit_twice(&h, &account, "at-1").await;

    h.app.remove_account(&account).await.unwrap();
    let e = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

/// Behaviour: the 5-minute expiry buffer applies to memoised hits: once the token is inside
/// it, the refresh token is redeemed (one request) and the new token is served, then hit.
#[tokio::test]
async fn the_expiry_buffer_ends_a_memoised_hit_and_the_refreshed_token_replaces_it() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, None)).await;
    refresh_answers(&h, "at-2").await;
    let account = h.account();
    hit_twice(&h, &account, "at-1").await;

    h.clock.advance(Duration::from_secs(3600 - 300));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("at-2", TokenSource::IdentityProvider)
    );
    hit_twice(&h, &account, "at-2").await;
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Behaviour: a memoised token whose `refresh_on` has passed is still served, and one
/// background refresh starts, as without the memo.
#[tokio::test]
async fn refresh_on_passed_starts_the_background_refresh_after_memoised_hits() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, Some(T0 + 1800))).await;
    refresh_answers(&h, "at-2").await;
    let account = h.account();
    hit_twice(&h, &account, "at-1").await;
    assert!(h.token_requests().await.is_empty());

    h.clock.advance(Duration::from_secs(1800));
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!((r.access_token(), r.source()), ("at-1", TokenSource::Cache));
    // The background refresh lands: later hits serve its token.
    let mut served = String::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        served = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap()
            .access_token()
            .to_owned();
        if served == "at-2" {
            break;
        }
    }
    assert_eq!(served, "at-2");
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Behaviour: force_refresh and a claims challenge skip a memoised hit.
#[tokio::test]
async fn force_refresh_and_claims_skip_the_memo() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, None)).await;
    refresh_answers(&h, "at-2").await;
    let account = h.account();
    hit_twice(&h, &account, "at-1").await;

    let forced = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(forced.source(), TokenSource::IdentityProvider);
    let challenged = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#)
        .await
        .unwrap();
    assert_eq!(challenged.source(), TokenSource::IdentityProvider);
    assert_eq!(h.token_requests().await.len(), 2);
}

/// Behaviour: requests spelled differently (case, order, another scope) are answered by the
/// full lookup, correctly, each from the cache; one for scopes the token lacks is refreshed.
#[tokio::test]
async fn requests_spelled_differently_get_what_the_full_lookup_gives() {
    let h = Harness::new().await;
    h.seed(&seeded("at-1", T0 + 3600, None)).await;
    refresh_answers(&h, "at-mail").await;
    let account = h.account();
    for scopes in [
        vec!["User.Read"],
        vec!["User.Read"],
        vec!["user.read"],
        vec!["email", "User.Read"],
        vec!["User.Read", "email"],
        vec!["User.Read", "email"],
    ] {
        let r = h
            .app
            .acquire_token_silent(scopes.clone(), &account)
            .await
            .unwrap();
        assert_eq!(
            (r.access_token(), r.source()),
            ("at-1", TokenSource::Cache),
            "{scopes:?}"
        );
    }
    assert!(h.token_requests().await.is_empty());
    let r = h
        .app
        .acquire_token_silent(["Mail.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(h.token_requests().await.len(), 1);
}

/// Behaviour: while other tasks hit the memo as fast as they can (and so keep filling it from
/// whatever cache copy they read), a token written to the store is what the very next hit
/// returns, every time: an entry built from an older copy of the cache is never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hitters_never_serve_a_token_older_than_the_last_write() {
    let h = std::sync::Arc::new(Harness::new().await);
    h.seed(&seeded("at-0", T0 + 3600, None)).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hitters: Vec<_> = (0..2)
        .map(|_| {
            let (h, stop) = (h.clone(), stop.clone());
            tokio::spawn(async move {
                let account = h.account();
                let mut hits = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = h
                        .app
                        .acquire_token_silent(["User.Read"], &account)
                        .await
                        .unwrap();
                    assert_eq!(r.source(), TokenSource::Cache);
                    hits += 1;
                    tokio::task::yield_now().await;
                }
                hits
            })
        })
        .collect();

    let account = h.account();
    for i in 1..=300 {
        let secret = format!("at-{i}");
        h.seed(&seeded(&secret, T0 + 3600 + i, None)).await;
        let r = h
            .app
            .acquire_token_silent(["User.Read"], &account)
            .await
            .unwrap();
        assert_eq!(r.access_token(), secret, "after write {i}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut hits = 0;
    for hitter in hitters {
        hits += hitter.await.unwrap();
    }
    assert!(hits > 0, "the hitters ran");
    assert!(h.server.received_requests().await.unwrap().is_empty());
}
