//! A transport that only ever talks to loopback: any request to another host (IMDS at
//! 169.254.169.254, a real Entra endpoint, anything a missing override would reach) fails
//! before it is handed to the wrapped transport, so it never reaches the network.
//!
//! Every managed identity test sends through it: a test whose environment forgot to point a
//! source at the local fake fails with a clear error instead of probing the machine's real
//! managed identity endpoint.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use msal::http::{HttpClient, HttpError};

/// Wraps a transport; refuses every request whose host is not `127.0.0.1` (or another
/// 127.x address), `localhost` or `[::1]`.
#[derive(Clone)]
pub struct LoopbackOnly<C> {
    inner: C,
    refused: Arc<AtomicUsize>,
}

impl<C> LoopbackOnly<C> {
    /// Guard `inner`.
    pub fn new(inner: C) -> Self {
        LoopbackOnly {
            inner,
            refused: Arc::default(),
        }
    }

    /// How many requests were refused so far (shared by clones).
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

/// Whether `uri` names a loopback host.
pub fn is_loopback(uri: &http::Uri) -> bool {
    let Some(host) = uri.host() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[async_trait::async_trait]
impl<C: HttpClient> HttpClient for LoopbackOnly<C> {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        if !is_loopback(request.uri()) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            let host = request.uri().host().unwrap_or("(no host)").to_owned();
            return Err(HttpError::InvalidRequest {
                message: format!(
                    "loopback guard: refused to send a request to {host}; tests may only reach 127.0.0.1, localhost or [::1]"
                ),
            });
        }
        self.inner.send(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]:1/x",
            "http://127.1.2.3/",
        ] {
            assert!(is_loopback(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "http://169.254.169.254/metadata/identity/oauth2/token",
            "https://login.microsoftonline.com/common",
            "http://localhost.example.com/",
            "http://10.0.0.1/",
            "http://[fe80::1]/",
            "/relative",
        ] {
            assert!(!is_loopback(&bad.parse().unwrap()), "{bad}");
        }
    }
}
