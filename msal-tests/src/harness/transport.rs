//! The loopback transport: Entra URLs in, the wiremock server out.

use std::time::Duration;

use msal::http::{HttpClient, HttpError, ReqwestHttpClient};
use wiremock::MockServer;

/// Sends every request to the wiremock server, keeping path, query, headers and body.
#[derive(Clone)]
pub struct LoopbackTransport {
    target: url::Url,
    inner: ReqwestHttpClient,
}

impl LoopbackTransport {
    /// A transport to `server`, every request bounded by 5 seconds.
    pub fn new(server: &MockServer) -> Self {
        LoopbackTransport {
            target: url::Url::parse(&server.uri()).expect("wiremock serves a valid URL"),
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
        let host = self.target.host_str().expect("wiremock URL has a host");
        let port = self.target.port().expect("wiremock URL has a port");
        parts.uri = format!("http://{host}:{port}{path_and_query}")
            .parse()
            .expect("a path and query from a valid URI");
        self.inner
            .send(http::Request::from_parts(parts, body))
            .await
    }
}
