//! Extra query parameters (MSAL.NET's `WithExtraQueryParameters`): on the token endpoint's URL
//! (never in the form), on the authorization URL; the request's merge over the application's;
//! a protocol parameter is refused with a typed error before anything is sent.

use std::future::IntoFuture;

use msal::cache::CacheStore;
use msal::{ConfidentialClientApplication, Error, ManualClock};
use msal_tests::harness::*;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn refresh_ok(body: serde_json::Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn query(request: &wiremock::Request) -> Vec<(String, String)> {
    request.url.query_pairs().into_owned().collect()
}

/// A refresh carries the request's `dc` and the application's `slice` on the token URL's
/// query, the request's value winning over the application's for the same name; the form
/// carries neither.
#[tokio::test]
async fn silent_refresh_sends_merged_parameters_on_the_token_url_only() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let cache = TestStore::from_env();
    let app = app_builder(&server, &clock, &cache, CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .extra_query_parameters([("slice", "testslice"), ("dc", "ESTS-PUB-EUS")])
        .build()
        .unwrap();
    let doc = CacheDoc::new().signed_in(CLIENT_ID, "rt-1");
    cache
        .modify(msal::cache::Partition::All, None, &mut |_| {
            Ok(doc.to_bytes())
        })
        .await
        .unwrap();
    refresh_ok(token_response("at-2", Some("rt-2"), "User.Read", 3600))
        .expect(1)
        .mount(&server)
        .await;
    let mut account = msal::Account::new(hid(), ENV, USERNAME);
    account.tenant_id = UTID.into();

    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-2");

    let requests = server.received_requests().await.unwrap();
    let token = requests
        .iter()
        .find(|r| r.url.path() == TOKEN_PATH)
        .unwrap();
    assert_eq!(
        query(token),
        vec![
            ("slice".to_owned(), "testslice".to_owned()),
            ("dc".to_owned(), "ESTS-PUB-WUS2".to_owned())
        ]
    );
    let f = form(token);
    assert!(!f.contains_key("dc") && !f.contains_key("slice"), "{f:?}");
    assert_eq!(f["grant_type"], "refresh_token");
}

/// A request naming a protocol parameter fails with `InvalidArgument` and sends nothing, even
/// when a cached token would have answered; an application naming one does not build.
#[tokio::test]
async fn protocol_parameters_are_refused_before_anything_is_sent() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read",
        "at-1",
        T0 + 3600,
    ))
    .await;
    for name in [
        "client_id",
        "grant_type",
        "Scope",
        "redirect_uri",
        "refresh_token",
    ] {
        let err = h
            .app
            .acquire_token_silent(["User.Read"], &h.account())
            .extra_query_parameters([(name, "evil")])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{name}: {err:?}");
    }
    assert!(h.server.received_requests().await.unwrap().is_empty());

    let built = msal::PublicClientApplication::builder(CLIENT_ID)
        .http_client(LoopbackTransport::new(&h.server))
        .extra_query_parameters([("code", "x")])
        .build();
    assert!(matches!(built, Err(Error::InvalidArgument(_))));

    // Without extra parameters the same request is a cache hit.
    let r = h
        .app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
        .unwrap();
    assert_eq!(r.access_token(), "at-1");
}

/// A web app's authorization URL carries the application's and the request's parameters; the
/// client credentials grant sends them on the token URL.
#[tokio::test]
async fn authorization_url_and_client_credentials_carry_them() {
    let server = MockServer::start().await;
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&format!("https://login.microsoftonline.com/{UTID}"))
        .client_secret("cc-secret")
        .http_client(LoopbackTransport::new(&server))
        .clock(ManualClock::at_unix(T0))
        .cache(TestStore::from_env())
        .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
        .build()
        .unwrap();

    let flow = app
        .authorization_request(["User.Read"], "https://app.example/callback")
        .extra_query_parameters([("slice", "testslice")])
        .await
        .unwrap();
    let url = url::Url::parse(flow.authorization_url()).unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(q.contains(&("dc".into(), "ESTS-PUB-WUS2".into())), "{q:?}");
    assert!(q.contains(&("slice".into(), "testslice".into())), "{q:?}");
    assert_eq!(q.iter().filter(|(k, _)| k == "client_id").count(), 1);

    Mock::given(method("POST"))
        .and(path(format!("/{UTID}/oauth2/v2.0/token")))
        .and(query_param("dc", "ESTS-PUB-WUS2"))
        .and(query_param("slice", "s2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "access_token": "app-at", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    let r = app
        .acquire_token_for_client(["https://graph.microsoft.com/.default"])
        .extra_query_parameters([("slice", "s2")])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "app-at");
}

/// The device code flow sends them on the device authorization endpoint's URL and on every
/// poll of the token endpoint (the clock moves by each polling pause: no real wait).
#[tokio::test]
async fn device_code_sends_them_to_both_endpoints() {
    let server = MockServer::start().await;
    let app = msal::PublicClientApplication::builder(CLIENT_ID)
        .authority("https://login.microsoftonline.com/common")
        .http_client(LoopbackTransport::new(&server))
        .clock(ManualClock::at_unix(T0).with_auto_advance())
        .cache(TestStore::from_env())
        .build()
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/devicecode"))
        .and(query_param("dc", "ESTS-PUB-WUS2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "device_code": "secret-device-code", "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 1,
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/token"))
        .and(query_param("dc", "ESTS-PUB-WUS2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "dc-at",
            Some("dc-rt"),
            "User.Read",
            3600,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        app.acquire_token_with_device_code(["User.Read"], |_| {})
            .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
            .into_future(),
    )
    .await
    .expect("the device code flow does not hang")
    .unwrap();
    assert_eq!(r.access_token(), "dc-at");
}

/// A client assertion's audience is the token endpoint itself: the extra parameters go on the
/// URL the request is sent to, not into the assertion.
#[tokio::test]
async fn a_client_assertion_audience_is_the_endpoint_without_them() {
    let server = MockServer::start().await;
    let audiences = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&audiences);
    let app = ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&format!("https://login.microsoftonline.com/{UTID}"))
        .client_assertion(move |request: msal::AssertionRequest| {
            seen.lock().unwrap().push(request.token_endpoint);
            async { Ok::<_, msal::AssertionError>("signed-assertion".to_owned()) }
        })
        .http_client(LoopbackTransport::new(&server))
        .clock(ManualClock::at_unix(T0))
        .cache(TestStore::from_env())
        .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
        .build()
        .unwrap();
    Mock::given(method("POST"))
        .and(path(format!("/{UTID}/oauth2/v2.0/token")))
        .and(query_param("dc", "ESTS-PUB-WUS2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "access_token": "app-at", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
        .await
        .unwrap();
    assert_eq!(
        *audiences.lock().unwrap(),
        vec![format!(
            "https://login.microsoftonline.com/{UTID}/oauth2/v2.0/token"
        )]
    );
}
