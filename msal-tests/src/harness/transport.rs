//! The loopback transport: Entra URLs in, the wiremock server out.

use std::net::SocketAddr;
use std::time::Duration;

use msal::http::{HttpClient, HttpError, ReqwestHttpClient};
use wiremock::MockServer;

/// Sends every request to the wiremock server (or another loopback address), keeping path,
/// query, headers and body, over plain HTTP with the real reqwest transport.
#[derive(Clone)]
pub struct LoopbackTransport {
    target: SocketAddr,
    inner: ReqwestHttpClient,
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
        }
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
