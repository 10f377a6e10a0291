//! Unit seams with mockall: the transport is a mock that fails the test if it is called more
//! than expected, pinning exactly how many HTTP requests each path makes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use msal::cache::MemoryCache;
use msal::http::{HttpClient, HttpError, RetryPolicy};
use msal::{Account, ManualClock, PublicClientApplication, TokenSource};

mockall::mock! {
    Transport {}
    #[async_trait::async_trait]
    impl HttpClient for Transport {
        async fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError>;
    }
}

const NOW: u64 = 1_700_000_000;

fn cache(expires_on: u64) -> MemoryCache {
    let json =
        include_str!("../doc/example-cache.json").replace("EXPIRES_ON", &expires_on.to_string());
    MemoryCache::from_bytes(json.into_bytes())
}

fn app(transport: MockTransport, expires_on: u64) -> PublicClientApplication {
    PublicClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
        .authority("https://login.microsoftonline.com/common")
        .http_client(transport)
        .clock(ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW)))
        .cache(cache(expires_on))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

async fn the_account(app: &PublicClientApplication) -> Account {
    app.accounts().await.unwrap().remove(0)
}

/// A brand-new Entra app with a valid cached token makes no HTTP request at all: no discovery,
/// no instance discovery, no token call.
#[tokio::test]
async fn cache_hit_in_a_new_app_never_touches_the_transport() {
    let mut transport = MockTransport::new();
    transport.expect_send().times(0);
    let app = app(transport, NOW + 3600);
    let account = the_account(&app).await;
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(r.access_token(), "example-access-token");
}

/// An expired token costs exactly one request, a POST to the home tenant's token endpoint.
#[tokio::test]
async fn expired_token_costs_exactly_one_token_request() {
    let mut transport = MockTransport::new();
    transport
        .expect_send()
        .times(1)
        .withf(|req| {
            req.method() == http::Method::POST
                && *req.uri()
                    == "https://login.microsoftonline.com/72f9a1b0-dddd-4eee-9fff-222222222222/oauth2/v2.0/token"
        })
        .returning(|_| {
            let body = br#"{"token_type":"Bearer","access_token":"fresh","expires_in":3600,"scope":"User.Read"}"#;
            Ok(http::Response::builder().status(200).body(body.to_vec()).unwrap())
        });
    let app = app(transport, NOW + 60);
    let account = the_account(&app).await;
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("fresh", TokenSource::IdentityProvider)
    );
    assert!(r.expires_on() > SystemTime::UNIX_EPOCH + Duration::from_secs(NOW + 3000));
}

/// A transport failure surfaces as a transient HTTP error, never as "interaction required".
#[tokio::test]
async fn transport_failure_is_transient_not_ui_required() {
    let mut transport = MockTransport::new();
    transport
        .expect_send()
        .times(1)
        .returning(|_| Err(HttpError::Timeout));
    let app = app(transport, NOW - 1);
    let account = the_account(&app).await;
    let e = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap_err();
    assert!(e.is_transient() && !e.is_ui_required(), "{e:?}");
}
