//! The wiremock contract harness every test binary shares (msal-tests' own and msal-azure's).
//!
//! Apps are configured with real Entra authorities (`https://login.microsoftonline.com/...`),
//! and [`LoopbackTransport`] rewrites every request's scheme and host to a local wiremock
//! server before sending it with the real reqwest transport, so the tests exercise the exact
//! URLs, headers and bodies msal-rs would send to Entra without leaving the machine.
//!
//! - [`transport`]: the loopback transport; [`scripted`]: a transport answering from a script.
//! - [`store`]: the cache store chosen by `MSAL_TEST_BACKEND`.
//! - [`app`]: [`Harness`] (an app, its manual clock, its cache and its server) and
//!   [`app_builder`].
//! - [`tokens`]: unsigned JWTs, ID tokens, `client_info` and token responses.
//! - [`cache_doc`]: unified-schema cache documents to seed, and readers of stored ones.
//!
//! Everything is re-exported here: `use msal_tests::harness::*;` is the usual import.

pub mod app;
pub mod cache_doc;
pub mod scripted;
pub mod store;
pub mod tokens;
pub mod transport;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use app::{app_builder, Harness};
pub use cache_doc::{access_token_secrets, entries, refresh_token_secrets, secrets, CacheDoc};
pub use scripted::{ScriptedTransport, SeenRequest};
pub use store::TestStore;
pub use tokens::{b64, client_info, id_token, id_token_at, jwt, token_response, token_response_at};
pub use transport::LoopbackTransport;

/// The public client the harness apps use.
pub const CLIENT_ID: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
/// A second client id (another app sharing the cache).
pub const OTHER_CLIENT_ID: &str = "0e5a2f3b-2222-4c3d-8e4f-0123456789cd";
/// The signed-in user's object id.
pub const UID: &str = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111";
/// The signed-in user's home tenant.
pub const UTID: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
/// The cloud every harness authority is in.
pub const ENV: &str = "login.microsoftonline.com";
/// The signed-in user's name.
pub const USERNAME: &str = "alice@contoso.example";
/// The clock's starting point (Unix seconds).
pub const T0: u64 = 1_700_000_000;
/// The token path for the home tenant (what a `common` app refreshes against).
pub const TOKEN_PATH: &str = "/72f9a1b0-dddd-4eee-9fff-222222222222/oauth2/v2.0/token";

/// The signed-in user's home account id (`UID.UTID`).
pub fn hid() -> String {
    format!("{UID}.{UTID}")
}

/// The form fields of a recorded request.
pub fn form(request: &wiremock::Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// `Arc::new`, for brevity where tests share apps across tasks.
pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}

/// The instant `secs` Unix seconds.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `secs` Unix seconds as an HTTP date (RFC 7231 IMF-fixdate), as in `Retry-After`.
pub fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(at(secs))
}

/// Serves an OIDC discovery document at `server`'s root making it the issuer, with its
/// `/authorize` and `/token` endpoints (what an OIDC-authority app reads first).
pub async fn mount_oidc_discovery(server: &wiremock::MockServer) {
    use wiremock::matchers::{method, path};
    let issuer = server.uri();
    wiremock::Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
            })),
        )
        .mount(server)
        .await;
}
