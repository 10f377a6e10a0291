//! The loopback transport: Entra URLs in, the wiremock server out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use msal::http::{HttpClient, HttpError, ReqwestHttpClient};
use wiremock::MockServer;

/// Sends every request to the wiremock server (or another loopback address), keeping path,
/// query, headers and body, over plain HTTP with the real reqwest transport. A request to an IP
/// address that is not loopback (IMDS at 169.254.169.254) is refused before it is sent.
///
/// Clones share a log of the URLs requested (before the rewrite, refused ones included):
/// keep a clone to read it with [`sent_urls`](Self::sent_urls).
#[derive(Clone)]
pub struct LoopbackTransport {
    target: SocketAddr,
    inner: ReqwestHttpClient,
    sent: Arc<Mutex<Vec<String>>>,
}

impl LoopbackTransport {
    /// A transport to `server`, every request bounded by 5 seconds.
    pub fn new(server: &MockServer) -> Self {
        Self::to(*server.address())
    }

    /// A transport to `addr` (a fault-injecting server), every request bounded by 5 seconds.
    pub fn to(addr: SocketAddr) -> Self {
        LoopbackTransport {
            target: addr,
            inner: ReqwestHttpClient::new().with_timeout(Duration::from_secs(5)),
            sent: Arc::default(),
        }
    }

    /// Every URL requested through this transport or its clones, in order, as msal-rs asked
    /// for it (before the rewrite to loopback).
    pub fn sent_urls(&self) -> Vec<String> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The same transport with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.with_timeout(timeout);
        self
    }
}

#[async_trait::async_trait]
impl HttpClient for LoopbackTransport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.uri().to_string());
        // Entra hosts are names; an IP address that is not loopback is IMDS (169.254.169.254)
        // or another machine a test forgot to point at the fake: refused before sending, so a
        // missing override fails the test instead of being quietly answered by wiremock.
        if let Some(host) = request.uri().host() {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| !ip.is_loopback())
            {
                return Err(HttpError::InvalidRequest {
                    message: format!(
                        "loopback guard: refused to send a request to {host}; tests may only reach 127.0.0.1, localhost or [::1]"
                    ),
                });
            }
        }
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        parts.uri = format!("http://{}{path_and_query}", self.target)
            .parse()
            .expect("a path and query from a valid URI");
        self.inner
            .send(http::Request::from_parts(parts, body))
            .await
    }
}
