//! The [`HttpClient`] abstraction and its error type.

use std::sync::Arc;

/// Sends one HTTP request and returns the whole response.
///
/// This is the only network primitive msal-rs needs. Implementations must not follow
/// redirects (return the 3xx as a response), should bound the response size and the
/// total request time, and must never put request bodies, query strings or headers in
/// their errors: those can hold tokens and secrets.
///
/// Retrying is not the implementation's job: the facade (`msal`) retries transient failures.
#[async_trait::async_trait]
pub trait HttpClient: Send + Sync {
    /// Send `request` and return the response, whatever its status code.
    ///
    /// Only transport failures (timeout, connection failure, oversized body…) are
    /// errors; a 4xx or 5xx is an `Ok` response.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError>;
}

#[async_trait::async_trait]
impl<T: HttpClient + ?Sized> HttpClient for Arc<T> {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        (**self).send(request).await
    }
}

#[async_trait::async_trait]
impl<T: HttpClient + ?Sized> HttpClient for Box<T> {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        (**self).send(request).await
    }
}

/// A transport-level failure: no usable HTTP response was received.
///
/// Messages never contain request bodies, query strings or headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The request (connecting, sending or reading the response) took too long.
    #[error("the request timed out")]
    Timeout,
    /// The connection could not be established (refused, unreachable, TLS handshake failed):
    /// the request was not sent.
    #[error("could not connect to the server: {message}")]
    Connect {
        /// What went wrong, without the URL's query string.
        message: String,
    },
    /// The connection was reset or closed after it was established, before the whole response
    /// was read: the server may have received (and acted on) the request.
    #[error("the connection was reset or closed before the response was complete: {message}")]
    ConnectionClosed {
        /// What went wrong, without the URL's query string.
        message: String,
    },
    /// The response body was larger than the client accepts.
    #[error("the response body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request could not be built or is not acceptable to the transport.
    #[error("invalid HTTP request: {message}")]
    InvalidRequest {
        /// What is wrong with the request (never its content).
        message: String,
    },
    /// Any other transport failure.
    #[error("HTTP transport error: {message}")]
    Transport {
        /// What went wrong, without the URL's query string.
        message: String,
    },
}

impl HttpError {
    /// `true` for [`HttpError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, HttpError::Timeout)
    }

    /// `true` when trying again may succeed: [`HttpError::Timeout`],
    /// [`HttpError::Connect`] and [`HttpError::ConnectionClosed`]. These are the errors the
    /// facade's retry rule retries.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout | HttpError::Connect { .. } | HttpError::ConnectionClosed { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(HttpError::Timeout.is_timeout());
        assert!(HttpError::Timeout.is_transient());
        let connect = HttpError::Connect {
            message: "refused".into(),
        };
        assert!(!connect.is_timeout());
        assert!(connect.is_transient());
        assert!(HttpError::ConnectionClosed {
            message: "reset".into()
        }
        .is_transient());
        assert!(!HttpError::BodyTooLarge { limit: 1 }.is_transient());
        assert!(!HttpError::InvalidRequest {
            message: String::new()
        }
        .is_transient());
        assert!(!HttpError::Transport {
            message: String::new()
        }
        .is_transient());
    }

    #[test]
    fn display() {
        assert_eq!(HttpError::Timeout.to_string(), "the request timed out");
        assert_eq!(
            HttpError::BodyTooLarge { limit: 10 }.to_string(),
            "the response body is larger than the limit of 10 bytes"
        );
    }
}
