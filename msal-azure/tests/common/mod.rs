//! The test harness: apps configured with a real Entra authority
//! (`https://login.microsoftonline.com/{TENANT}`) whose HTTP clients rewrite every request to
//! the local wiremock server, so the tests see exactly what msal-rs would send to Entra (and
//! an Azure SDK client to Azure) without leaving the machine.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, Request, StatusCode};
use msal::cache::MemoryCache;
use msal::http::RetryPolicy;
use msal::{ManualClock, PublicClientApplication};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

// The shared harness: the loopback transport, the user's ids, token and cache-document builders.
pub(crate) use msal_tests::harness::*;

/// The user's home tenant, and the tenant of the apps' authority.
pub(crate) const TENANT: &str = UTID;
pub(crate) const OTHER_TENANT: &str = "0b0b0b0b-eeee-4fff-8000-333333333333";
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
        .http_client(LoopbackTransport::new(server))
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

/// A successful token response, its ID token issued at `now` (the Azure SDK reads the real clock).
pub(crate) fn tokens(access_token: &str, refresh_token: &str, scope: &str, now: u64) -> Value {
    token_response_at(access_token, Some(refresh_token), scope, 3600, now)
}

/// A cache where the user is signed in (account, ID token, refresh token), with optionally an
/// access token for `target` expiring at `expires_on` (ID token issued and access token cached at
/// the harness's `T0`: msal reads neither time).
pub(crate) fn signed_in_cache(
    refresh_token: &str,
    access_token: Option<(&str, &str, u64)>,
) -> MemoryCache {
    MemoryCache::from_bytes(
        serde_json::to_vec(&signed_in_document(refresh_token, access_token)).unwrap(),
    )
}

/// The unified-schema document of [`signed_in_cache`].
pub(crate) fn signed_in_document(
    refresh_token: &str,
    access_token: Option<(&str, &str, u64)>,
) -> Value {
    let mut doc = CacheDoc::new().signed_in(CLIENT_ID, refresh_token);
    if let Some((secret, target, expires_on)) = access_token {
        doc = doc.access_token(CLIENT_ID, TENANT, target, secret, expires_on);
    }
    doc.0
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

/// The home tenant's token endpoint answering `status` with this (OAuth error) body; the
/// caller adds expectations and mounts it.
pub(crate) fn token_error(status: u16, body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path(token_path(TENANT)))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

/// Entra rejecting the client secret (401 `invalid_client`, AADSTS7000215).
pub(crate) fn invalid_client_secret() -> Mock {
    token_error(
        401,
        serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
        }),
    )
}
