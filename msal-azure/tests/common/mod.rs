//! The test harness: apps configured with a real Entra authority
//! (`https://login.microsoftonline.com/{TENANT}`) whose HTTP clients rewrite every request to
//! the local wiremock server, so the tests see exactly what msal-rs would send to Entra (and
//! an Azure SDK client to Azure) without leaving the machine.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, Request, StatusCode};
use base64::Engine;
use msal::cache::MemoryCache;
use msal::http::{HttpClient, HttpError, ReqwestHttpClient, RetryPolicy};
use msal::{ManualClock, PublicClientApplication};
use serde_json::{json, Value};
use wiremock::MockServer;

pub(crate) const CLIENT_ID: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
pub(crate) const UID: &str = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111";
/// The user's home tenant, and the tenant of the apps' authority.
pub(crate) const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
pub(crate) const OTHER_TENANT: &str = "0b0b0b0b-eeee-4fff-8000-333333333333";
pub(crate) const ENV: &str = "login.microsoftonline.com";
pub(crate) const USERNAME: &str = "alice@contoso.example";
pub(crate) const VAULT: &str = "https://vault.azure.net/.default";

pub(crate) fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

pub(crate) fn device_code_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/devicecode")
}

pub(crate) fn authority(tenant: &str) -> String {
    format!("https://{ENV}/{tenant}")
}

/// msal's transport: every request goes to the wiremock server, path, query, headers and body
/// kept.
#[derive(Clone)]
pub(crate) struct Loopback {
    target: url::Url,
    inner: ReqwestHttpClient,
}

impl Loopback {
    pub(crate) fn new(server: &MockServer) -> Self {
        Loopback {
            target: url::Url::parse(&server.uri()).unwrap(),
            inner: ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)),
        }
    }
}

#[async_trait]
impl HttpClient for Loopback {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        let (host, port) = (self.target.host_str().unwrap(), self.target.port().unwrap());
        parts.uri = format!("http://{host}:{port}{path_and_query}")
            .parse()
            .unwrap();
        self.inner
            .send(http::Request::from_parts(parts, body))
            .await
    }
}

/// The Azure SDK's transport (an `azure_core::http::HttpClient` on reqwest): `https://any-host`
/// requests go to the wiremock server over plain HTTP on loopback.
#[derive(Debug, Clone)]
pub(crate) struct SdkLoopback {
    port: u16,
    client: reqwest::Client,
}

impl SdkLoopback {
    pub(crate) fn new(server: &MockServer) -> Self {
        SdkLoopback {
            port: server.address().port(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        }
    }
}

#[async_trait]
impl azure_core::http::HttpClient for SdkLoopback {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut url = request.url().clone();
        url.set_scheme("http").unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes()).unwrap();
        let mut builder = self.client.request(method, url.as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Body::Bytes(bytes) = request.body() {
            builder = builder.body(bytes.to_vec());
        }
        let response = builder.send().await.map_err(|e| {
            azure_core::Error::with_error(azure_core::error::ErrorKind::Io, e, "loopback send")
        })?;
        let status = StatusCode::from(response.status().as_u16());
        let headers: HashMap<HeaderName, HeaderValue> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from(k.as_str().to_owned()),
                    HeaderValue::from(v.to_str().unwrap().to_owned()),
                )
            })
            .collect();
        let body = response.bytes().await.map_err(|e| {
            azure_core::Error::with_error(azure_core::error::ErrorKind::Io, e, "loopback body")
        })?;
        Ok(AsyncRawResponse::from_bytes(
            status,
            Headers::from(headers),
            body,
        ))
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An app at `authority(tenant)` on the wiremock server, with this cache and clock.
pub(crate) fn app(
    server: &MockServer,
    tenant: &str,
    cache: &MemoryCache,
    clock: Option<&ManualClock>,
) -> PublicClientApplication {
    let mut builder = PublicClientApplication::builder(CLIENT_ID)
        .authority(&authority(tenant))
        .http_client(Loopback::new(server))
        .cache(cache.clone())
        .retry_policy(RetryPolicy {
            max_retries: 0,
            delay: Duration::from_millis(10),
        });
    if let Some(clock) = clock {
        builder = builder.clock(clock.clone());
    }
    builder.build().unwrap()
}

pub(crate) fn b64url(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

pub(crate) fn client_info() -> String {
    b64url(&json!({ "uid": UID, "utid": TENANT }).to_string())
}

pub(crate) fn home_account_id() -> String {
    format!("{UID}.{TENANT}")
}

pub(crate) fn id_token(now: u64) -> String {
    let claims = json!({
        "aud": CLIENT_ID, "iss": format!("https://{ENV}/{TENANT}/v2.0"),
        "sub": "subject", "oid": UID, "tid": TENANT, "preferred_username": USERNAME,
        "name": "Alice", "iat": now, "exp": now + 3600,
    });
    format!(
        "{}.{}.sig",
        b64url(r#"{"alg":"none","typ":"JWT"}"#),
        b64url(&claims.to_string())
    )
}

/// A successful token response.
pub(crate) fn tokens(access_token: &str, refresh_token: &str, scope: &str, now: u64) -> Value {
    json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "id_token": id_token(now),
        "client_info": client_info(),
    })
}

/// A cache where the user is signed in (account, ID token, refresh token), with optionally an
/// access token for `target` expiring at `expires_on`.
pub(crate) fn signed_in_cache(
    refresh_token: &str,
    access_token: Option<(&str, &str, u64)>,
    now: u64,
) -> MemoryCache {
    MemoryCache::from_bytes(
        serde_json::to_vec(&signed_in_document(refresh_token, access_token, now)).unwrap(),
    )
}

/// The unified-schema document of [`signed_in_cache`].
pub(crate) fn signed_in_document(
    refresh_token: &str,
    access_token: Option<(&str, &str, u64)>,
    now: u64,
) -> Value {
    let hid = home_account_id();
    let mut doc = json!({
        "Account": {
            format!("{hid}-{ENV}-{TENANT}"): {
                "home_account_id": hid, "environment": ENV, "realm": TENANT,
                "local_account_id": UID, "username": USERNAME, "authority_type": "MSSTS",
            }
        },
        "IdToken": {
            format!("{hid}-{ENV}-idtoken-{CLIENT_ID}-{TENANT}-"): {
                "credential_type": "IdToken", "secret": id_token(now), "home_account_id": hid,
                "environment": ENV, "realm": TENANT, "client_id": CLIENT_ID,
            }
        },
        "RefreshToken": {
            format!("{hid}-{ENV}-refreshtoken-{CLIENT_ID}--"): {
                "credential_type": "RefreshToken", "secret": refresh_token,
                "home_account_id": hid, "environment": ENV, "client_id": CLIENT_ID,
            }
        },
        "AccessToken": {},
        "AppMetadata": {},
    });
    if let Some((secret, target, expires_on)) = access_token {
        doc["AccessToken"][format!(
            "{hid}-{ENV}-accesstoken-{CLIENT_ID}-{TENANT}-{}",
            target.to_lowercase()
        )] = json!({
            "credential_type": "AccessToken", "secret": secret, "home_account_id": hid,
            "environment": ENV, "client_id": CLIENT_ID, "realm": TENANT, "target": target,
            "token_type": "Bearer", "cached_at": now.to_string(),
            "expires_on": expires_on.to_string(), "extended_expires_on": expires_on.to_string(),
        });
    }
    doc
}

/// The form fields of a recorded request.
pub(crate) fn form(request: &wiremock::Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The requests the identity provider received (token and device code endpoints).
pub(crate) async fn idp_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().contains("/oauth2/"))
        .collect()
}

/// A manual clock for msal at the real current time (the Azure SDK reads the real clock).
pub(crate) fn manual_clock_now() -> (ManualClock, u64) {
    let now = now_secs();
    (ManualClock::at_unix(now), now)
}

pub(crate) fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}
