//! The default [`HttpClient`], built on `reqwest` (feature `reqwest`, on by default).

use std::error::Error as _;
use std::fmt;
use std::io;
use std::time::Duration;

use crate::client::{HttpClient, HttpError};
use crate::redact::{redacted_uri, scrub};

/// Default total time allowed for one request (connect, send, read the whole body).
/// The per-request total timeout [`ReqwestHttpClient::new`] sets (30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time allowed to establish the connection (TCP + TLS).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default largest response body accepted: 1 MiB.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// An [`HttpClient`] on top of [`reqwest::Client`].
///
/// [`ReqwestHttpClient::new`] configures:
///
/// * a 30 s total timeout per request and a 10 s connect timeout;
/// * a 1 MiB cap on the response body, enforced while streaming (the body is read chunk
///   by chunk and the request fails with [`HttpError::BodyTooLarge`] as soon as the cap
///   is crossed, so no more than the cap is ever buffered);
/// * **no redirects**: a 3xx is returned as a response, so a token request carrying a
///   secret is never replayed to another host;
/// * plain `http` allowed (`https_only(false)`): the authority layer above decides which
///   hosts may be reached over http (loopback only).
///
/// Cloning is cheap: the connection pool is shared.
#[derive(Clone)]
pub struct ReqwestHttpClient {
    /// The underlying client, or why it could not be built (reported on each `send`).
    client: Result<reqwest::Client, HttpError>,
    /// Per-request total timeout; `None` leaves the client's own setting.
    timeout: Option<Duration>,
    max_response_bytes: usize,
}

impl ReqwestHttpClient {
    /// A client with the defaults described on [`ReqwestHttpClient`].
    ///
    /// Never panics. Building a reqwest client can only fail if the TLS backend cannot
    /// be initialised; in that (practically impossible) case the failure is kept and
    /// every [`HttpClient::send`] returns [`HttpError::Transport`]. Use
    /// [`ReqwestHttpClient::try_new`] to see that failure up front.
    pub fn new() -> Self {
        let client = build_default_client();
        Self {
            client,
            timeout: Some(DEFAULT_TIMEOUT),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Like [`ReqwestHttpClient::new`], but fails if the reqwest client cannot be built.
    pub fn try_new() -> Result<Self, HttpError> {
        let client = build_default_client()?;
        Ok(Self::from_client(client)
            .with_timeout(DEFAULT_TIMEOUT)
            .with_max_response_bytes(DEFAULT_MAX_RESPONSE_BYTES))
    }

    /// Wrap a client you configured yourself (proxy, root certificates…).
    ///
    /// Your client's own timeout, connect timeout and redirect policy apply; configure
    /// `redirect::Policy::none()` on it, as msal-rs never wants redirects followed. The
    /// response-size cap (1 MiB unless changed) still applies, and
    /// [`ReqwestHttpClient::with_timeout`] can add a per-request timeout.
    pub fn from_client(client: reqwest::Client) -> Self {
        Self {
            client: Ok(client),
            timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Set the total time allowed for each request (connect, send, read the body).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Set the largest response body accepted, in bytes.
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The per-request timeout, if this client sets one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }
}

impl Default for ReqwestHttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ReqwestHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestHttpClient")
            .field("ready", &self.client.is_ok())
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

fn build_default_client() -> Result<reqwest::Client, HttpError> {
    reqwest::Client::builder()
        .timeout(DEFAULT_TIMEOUT)
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(false)
        .build()
        .map_err(|err| HttpError::Transport {
            message: format!(
                "could not initialise the HTTP client: {}",
                describe(&err.without_url())
            ),
        })
}

#[async_trait::async_trait]
impl HttpClient for ReqwestHttpClient {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let uri = request.uri().clone();
        let mut request =
            reqwest::Request::try_from(request).map_err(|err| HttpError::InvalidRequest {
                message: format!(
                    "cannot send a request to {}: {}",
                    redacted_uri(&uri),
                    scrub(describe(&err.without_url()), &uri)
                ),
            })?;
        if let Some(timeout) = self.timeout {
            *request.timeout_mut() = Some(timeout);
        }

        let map_err = |err: reqwest::Error| scrub_error(HttpError::from(err), &uri);

        let mut response = client.execute(request).await.map_err(map_err)?;

        let limit = self.max_response_bytes;
        if let Some(length) = response.content_length() {
            if length > limit as u64 {
                return Err(HttpError::BodyTooLarge { limit });
            }
        }
        let mut body = Vec::with_capacity(
            response
                .content_length()
                .map_or(0, |l| usize::try_from(l).unwrap_or(0))
                .min(limit),
        );
        while let Some(chunk) = response.chunk().await.map_err(map_err)? {
            if chunk.len() > limit - body.len() {
                return Err(HttpError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }

        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        builder.body(body).map_err(|err| HttpError::Transport {
            message: format!("could not assemble the response: {err}"),
        })
    }
}

/// Converts a reqwest error, dropping its URL.
///
/// Timeouts become [`HttpError::Timeout`]; failures to establish the connection (connect
/// errors, refused connections) become [`HttpError::Connect`]; a connection reset, aborted or
/// closed once established becomes [`HttpError::ConnectionClosed`]; builder errors become
/// [`HttpError::InvalidRequest`]; everything else [`HttpError::Transport`].
impl From<reqwest::Error> for HttpError {
    fn from(err: reqwest::Error) -> Self {
        let err = err.without_url();
        if err.is_timeout() {
            return HttpError::Timeout;
        }
        let message = describe(&err);
        // `is_request`/`is_body`/`is_decode`: the exchange broke after connecting (the server
        // closed the connection before answering, or mid-body: "connection closed before
        // message completed", "end of file before message length reached"; reading a body
        // reports the latter as a decode error, and this transport uses no compression or JSON
        // decoding that could fail otherwise). Like a reset, that is a transient network fault,
        // so it is retried and never mistaken for a bad answer.
        if err.is_connect() || io_error_kind(&err) == Some(io::ErrorKind::ConnectionRefused) {
            HttpError::Connect { message }
        } else if err.is_request()
            || err.is_body()
            || err.is_decode()
            || io_error_kind(&err).is_some_and(|kind| {
                matches!(
                    kind,
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::NotConnected
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof
                )
            })
        {
            HttpError::ConnectionClosed { message }
        } else if err.is_builder() {
            HttpError::InvalidRequest { message }
        } else {
            HttpError::Transport { message }
        }
    }
}

fn scrub_error(err: HttpError, uri: &http::Uri) -> HttpError {
    match err {
        HttpError::Connect { message } => HttpError::Connect {
            message: scrub(message, uri),
        },
        HttpError::ConnectionClosed { message } => HttpError::ConnectionClosed {
            message: scrub(message, uri),
        },
        HttpError::InvalidRequest { message } => HttpError::InvalidRequest {
            message: scrub(message, uri),
        },
        HttpError::Transport { message } => HttpError::Transport {
            message: scrub(message, uri),
        },
        other => other,
    }
}

/// The error and its causes, joined with `": "`. The caller must strip the URL first.
fn describe(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The kind of the first I/O error among the causes of `err`.
fn io_error_kind(err: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let client = ReqwestHttpClient::new();
        assert_eq!(client.timeout(), Some(Duration::from_secs(30)));
        assert_eq!(client.max_response_bytes(), 1024 * 1024);
        let client = ReqwestHttpClient::try_new().unwrap();
        assert_eq!(client.timeout(), Some(Duration::from_secs(30)));
        let client = ReqwestHttpClient::from_client(reqwest::Client::new())
            .with_max_response_bytes(5)
            .with_timeout(Duration::from_secs(2));
        assert_eq!(client.timeout(), Some(Duration::from_secs(2)));
        assert_eq!(client.max_response_bytes(), 5);
        let debug = format!("{client:?}");
        assert!(debug.contains("ReqwestHttpClient"));
    }
}
