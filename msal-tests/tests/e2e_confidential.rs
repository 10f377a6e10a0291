//! End to end for confidential clients against the real `oidc-provider` (`e2e/provider`):
//! client credentials with a client secret and with a certificate (private_key_jwt, the
//! provider verifying the assertion against the committed test certificate's public key), and a
//! web app's authorization code sign-in through headless Chromium followed by silent calls from
//! the cache and a refresh with the client secret. Needs `scripts/e2e-provider.sh setup`.

mod e2e_support;

use std::time::{Duration, SystemTime};

use e2e_support::{jwt_claims, sign_in_in_browser, Counting, Provider, SERIAL};
use msal::cache::FileCache;
use msal::{
    ClientCertificate, ConfidentialClientApplication, ConfidentialClientApplicationBuilder, Error,
    JwtSignature, ManualClock, TokenSource,
};

const SECRET_CLIENT_ID: &str = "msal-rs-e2e-confidential";
const SECRET: &str = "e2e-secret";
const CERTIFICATE_CLIENT_ID: &str = "msal-rs-e2e-certificate";
const API_DEFAULT: &str = "api://e2e/.default";

const CERT_PEM: &[u8] = include_bytes!("../data/certs/cert.pem");
const KEY_PKCS8_PEM: &[u8] = include_bytes!("../data/certs/key-pkcs8.pem");
const OTHER_CERT_PEM: &[u8] = include_bytes!("../data/certs/other-cert.pem");
const OTHER_KEY_PEM: &[u8] = include_bytes!("../data/certs/other-key.pem");
const P12_AES: &[u8] = include_bytes!("../data/certs/cert-aes.p12");

fn builder(
    client_id: &str,
    provider: &Provider,
    http: &Counting,
    clock: &ManualClock,
    cache: &std::path::Path,
) -> ConfidentialClientApplicationBuilder {
    ConfidentialClientApplication::builder(client_id)
        .oidc_authority(&provider.issuer)
        .http_client(http.clone())
        .clock(clock.clone())
        .cache(FileCache::new(cache))
}

/// Client credentials with the client secret: a real app token for the API; the second call is
/// served from the cache without a request to the provider; force_refresh gets a new one; a
/// wrong secret is `invalid_client`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_with_a_secret() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let http = Counting::default();
    let clock = ManualClock::new(SystemTime::now());
    let app = builder(
        SECRET_CLIENT_ID,
        &provider,
        &http,
        &clock,
        &dir.path().join("cache.json"),
    )
    .client_secret(SECRET)
    .build()
    .unwrap();

    let token = app.acquire_token_for_client([API_DEFAULT]).await.unwrap();
    assert_eq!(token.source(), TokenSource::IdentityProvider);
    assert!(token.account().is_none());
    let claims = jwt_claims(token.access_token());
    assert_eq!(claims["aud"], "api://e2e");
    assert_eq!(claims["client_id"], SECRET_CLIENT_ID);
    let after_first = http.count();
    assert!(after_first >= 1);

    let hit = app.acquire_token_for_client([API_DEFAULT]).await.unwrap();
    assert_eq!(hit.source(), TokenSource::Cache);
    assert_eq!(hit.access_token(), token.access_token());
    assert_eq!(http.count(), after_first, "a cache hit reaches no provider");

    let forced = app
        .acquire_token_for_client([API_DEFAULT])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(forced.source(), TokenSource::IdentityProvider);
    assert_ne!(forced.access_token(), token.access_token());

    // A restarted app over the same cache file: served from the file.
    let restarted = builder(
        SECRET_CLIENT_ID,
        &provider,
        &http,
        &clock,
        &dir.path().join("cache.json"),
    )
    .client_secret(SECRET)
    .build()
    .unwrap();
    let before = http.count();
    let r = restarted
        .acquire_token_for_client([API_DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        (r.source(), &r.access_token()),
        (TokenSource::Cache, &forced.access_token())
    );
    assert_eq!(http.count(), before);

    let wrong = builder(
        SECRET_CLIENT_ID,
        &provider,
        &http,
        &clock,
        &dir.path().join("other.json"),
    )
    .client_secret("not-the-secret")
    .build()
    .unwrap();
    let e = wrong
        .acquire_token_for_client([API_DEFAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Service(s) if s.oauth.error == "invalid_client"),
        "{e:?}"
    );
}

/// Client credentials with the certificate: the provider verifies msal-rs's client assertion
/// (RS256 with `x5t` by default for an OIDC provider, and PS256 when asked) against the
/// certificate's public key and issues a token; a certificate it does not know is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_with_a_certificate() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let http = Counting::default();
    let clock = ManualClock::new(SystemTime::now());

    let certificates = [
        (
            "PEM, default (RS256)",
            ClientCertificate::from_pem(CERT_PEM, KEY_PKCS8_PEM).unwrap(),
        ),
        (
            "PKCS#12, PS256",
            ClientCertificate::from_pkcs12(P12_AES, "test-password")
                .unwrap()
                .signature_algorithm(JwtSignature::Ps256),
        ),
    ];
    for (i, (name, certificate)) in certificates.into_iter().enumerate() {
        let app = builder(
            CERTIFICATE_CLIENT_ID,
            &provider,
            &http,
            &clock,
            &dir.path().join(format!("cache-{i}.json")),
        )
        .certificate(certificate)
        .build()
        .unwrap();
        let token = app
            .acquire_token_for_client([API_DEFAULT])
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(token.source(), TokenSource::IdentityProvider, "{name}");
        assert_eq!(
            jwt_claims(token.access_token())["client_id"],
            CERTIFICATE_CLIENT_ID
        );
        let before = http.count();
        let hit = app.acquire_token_for_client([API_DEFAULT]).await.unwrap();
        assert_eq!(hit.source(), TokenSource::Cache, "{name}");
        assert_eq!(http.count(), before);
        // A second request needs a new assertion (a new jti): the provider rejects replays.
        app.acquire_token_for_client([API_DEFAULT])
            .force_refresh(true)
            .await
            .unwrap_or_else(|e| panic!("{name}, second assertion: {e:?}"));
    }

    let stranger = builder(
        CERTIFICATE_CLIENT_ID,
        &provider,
        &http,
        &clock,
        &dir.path().join("stranger.json"),
    )
    .certificate(ClientCertificate::from_pem(OTHER_CERT_PEM, OTHER_KEY_PEM).unwrap())
    .build()
    .unwrap();
    let e = stranger
        .acquire_token_for_client([API_DEFAULT])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Service(s) if s.oauth.error == "invalid_client"),
        "{e:?}"
    );
}

/// A web app signs alice in with the authorization code flow through headless Chromium (the
/// redirect captured from the browser), redeeming the code with the client secret and PKCE;
/// then silent calls are served from the user's cache partition, and after expiry the refresh
/// token is redeemed with the client secret; sign-out removes the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_app_auth_code_sign_in_then_silent() {
    let _serial = SERIAL.lock().await;
    let provider = Provider::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let http = Counting::default();
    let clock = ManualClock::new(SystemTime::now());
    let app = builder(
        SECRET_CLIENT_ID,
        &provider,
        &http,
        &clock,
        &dir.path().join("cache.json"),
    )
    .client_secret(SECRET)
    .build()
    .unwrap();

    let flow = app
        .authorization_request(["api://e2e/read"], "http://127.0.0.1/")
        .await
        .unwrap();
    // The web app keeps the flow in the user's session between the two requests.
    let session = serde_json::to_string(&flow).unwrap();
    let redirect = {
        let url = flow.authorization_url().to_owned();
        tokio::task::spawn_blocking(move || sign_in_in_browser(&url))
            .await
            .unwrap()
    };
    let redirect = url::Url::parse(&redirect).unwrap();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    let flow: msal::AuthorizationCodeFlow = serde_json::from_str(&session).unwrap();
    let signed_in = app
        .acquire_token_by_auth_code_flow(&flow, redirect.query().unwrap_or_default())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(signed_in.source(), TokenSource::IdentityProvider);
    let account = signed_in.account().cloned().unwrap();
    assert_eq!(account.username, "alice@example.com");
    assert!(signed_in.id_token().is_some());

    let found = app
        .account(&account.home_account_id)
        .await
        .unwrap()
        .expect("the signed-in user");
    assert_eq!(found.username, "alice@example.com");
    let before = http.count();
    let hit = app
        .acquire_token_silent(["api://e2e/read"], &found)
        .await
        .unwrap();
    assert_eq!(
        (hit.source(), &hit.access_token()),
        (TokenSource::Cache, &signed_in.access_token())
    );
    assert_eq!(http.count(), before, "a cache hit reaches no provider");

    clock.advance(Duration::from_secs(3600));
    let refreshed = app
        .acquire_token_silent(["api://e2e/read"], &found)
        .await
        .unwrap();
    assert_eq!(refreshed.source(), TokenSource::IdentityProvider);
    assert_ne!(refreshed.access_token(), signed_in.access_token());
    let hit = app
        .acquire_token_silent(["api://e2e/read"], &found)
        .await
        .unwrap();
    assert_eq!(hit.source(), TokenSource::Cache);

    // The code is single-use: redeeming the same redirect again fails (and the provider, as
    // RFC 6749 §4.1.2 recommends, revokes what that code bought: the refresh token too).
    let e = app
        .acquire_token_by_auth_code_flow(&flow, redirect.query().unwrap_or_default())
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::UiRequired(u) if u.oauth.as_ref().is_some_and(|o| o.error == "invalid_grant")),
        "{e:?}"
    );

    app.remove_account(&found).await.unwrap();
    assert!(app
        .account(&account.home_account_id)
        .await
        .unwrap()
        .is_none());
    let e = app
        .acquire_token_silent(["api://e2e/read"], &found)
        .await
        .unwrap_err();
    assert!(e.is_ui_required(), "{e:?}");
}
