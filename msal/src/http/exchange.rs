//! Request builders and the response type used by the token, device-code and discovery
//! calls.

use std::fmt;
use std::time::{Duration, Instant};

use msal_core::Clock;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};

use crate::events::{Event, Events, RequestStep};
use crate::http::headers::{apply_msal_headers, CLIENT_REQUEST_ID};
use crate::http::retry::{send_with_retry, RetryPolicy};
use crate::http::retry_after::parse_retry_after;
use crate::http::{redacted_uri, HttpClient, HttpError};

/// A response from an identity-provider endpoint, ready for the protocol layer to parse.
///
/// Any status code ends up here; only transport failures are errors. `Debug` shows the
/// status, `retry_after` and the body length, never the body (it holds tokens).
#[derive(Clone)]
pub(crate) struct EndpointResponse {
    /// The HTTP status.
    pub(crate) status: http::StatusCode,
    /// The response headers (kept whole for the calls that need more than `Retry-After`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) headers: http::HeaderMap,
    /// The raw body (usually JSON).
    pub(crate) body: Vec<u8>,
    /// The parsed `Retry-After` header, relative to the `now` given to [`execute`].
    pub(crate) retry_after: Option<Duration>,
}

impl EndpointResponse {
    /// `true` for a 2xx status.
    #[cfg(test)]
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

impl fmt::Debug for EndpointResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointResponse")
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Turn a `url::Url` into a request target: http(s) only, fragment dropped.
fn to_uri(url: &url::Url) -> Result<http::Uri, HttpError> {
    match url.scheme() {
        "https" | "http" => {}
        other => {
            return Err(HttpError::InvalidRequest {
                message: format!("unsupported URL scheme `{other}` (expected https or http)"),
            })
        }
    }
    let mut url = url.clone();
    url.set_fragment(None);
    url.as_str()
        .parse::<http::Uri>()
        .map_err(|_| HttpError::InvalidRequest {
            message: "the URL is not a valid HTTP request target".to_owned(),
        })
}

fn build(
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Vec<u8>,
) -> http::Request<Vec<u8>> {
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request
}

/// Build a form POST (application/x-www-form-urlencoded, url::form_urlencoded) with the
/// MSAL headers.
///
/// `extra_headers` are set after the MSAL headers (so they may override them). Fails
/// with [`HttpError::InvalidRequest`] if the URL is not http(s) or an extra header name or
/// value is invalid; the message never repeats the URL's query or any header value.
pub(crate) fn form_post(
    url: &url::Url,
    form: &[(&str, &str)],
    correlation_id: &str,
    extra_headers: &[(&str, &str)],
) -> Result<http::Request<Vec<u8>>, HttpError> {
    let uri = to_uri(url)?;
    let mut headers = http::HeaderMap::new();
    apply_msal_headers(&mut headers, correlation_id);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    for (name, value) in extra_headers {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpError::InvalidRequest {
                message: "an extra header has an invalid name".to_owned(),
            })?;
        let value = HeaderValue::from_str(value).map_err(|_| HttpError::InvalidRequest {
            message: format!("extra header `{name}` has an invalid value"),
        })?;
        headers.insert(name, value);
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish()
        .into_bytes();
    Ok(build(http::Method::POST, uri, headers, body))
}

/// Build a GET (for OIDC discovery) with the MSAL headers.
pub(crate) fn get(
    url: &url::Url,
    correlation_id: &str,
) -> Result<http::Request<Vec<u8>>, HttpError> {
    let uri = to_uri(url)?;
    let mut headers = http::HeaderMap::new();
    apply_msal_headers(&mut headers, correlation_id);
    Ok(build(http::Method::GET, uri, headers, Vec::new()))
}

/// Send with retry and wrap the answer: this is what the token, device-code and
/// discovery calls use.
///
/// `clock` times the retry delay and is the reference for an HTTP-date `Retry-After` (read
/// when the answer came). Logs at debug level the
/// method, URL without query, status, elapsed milliseconds and correlation id (read back
/// from the request's `client-request-id` header); never bodies.
///
/// `events` is told of the request ([`Event::Requesting`]), its retries and a failure after
/// the last attempt ([`Event::RequestFailed`]), all about `step`. A transport failure's message
/// ends with the step and the URL it went to (no query), e.g. `...: connection refused (token
/// request to https://login.example.com/t/oauth2/v2.0/token)`.
pub(crate) async fn execute(
    client: &dyn HttpClient,
    request: http::Request<Vec<u8>>,
    policy: &RetryPolicy,
    clock: &dyn Clock,
    step: RequestStep,
    events: &Events,
) -> Result<EndpointResponse, HttpError> {
    let method = request.method().clone();
    let target = redacted_uri(request.uri());
    let correlation_id = request
        .headers()
        .get(CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    events.emit(|| Event::Requesting {
        step,
        url: target.clone(),
    });
    let started = Instant::now();
    let result = send_with_retry(client, request, policy, clock, step, events).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let retry_after = parse_retry_after(&parts.headers, clock.now());
            tracing::debug!(
                %method,
                url = %target,
                status = parts.status.as_u16(),
                elapsed_ms,
                correlation_id = %correlation_id,
                "identity provider responded"
            );
            Ok(EndpointResponse {
                status: parts.status,
                headers: parts.headers,
                body,
                retry_after,
            })
        }
        Err(err) => {
            tracing::debug!(
                %method,
                url = %target,
                elapsed_ms,
                correlation_id = %correlation_id,
                error = %err,
                "request to the identity provider failed"
            );
            events.emit(|| Event::RequestFailed {
                step,
                url: target.clone(),
                error: err.to_string(),
            });
            Err(with_step(err, step, &target))
        }
    }
}

/// A transport failure's message, followed by which request it was and where it went (the
/// URL without its query). The variant stays the same, so callers that match on it (and
/// [`HttpError::is_transient`]) see no difference; the messageless ones stay as they are.
fn with_step(err: HttpError, step: RequestStep, target: &str) -> HttpError {
    let add = |message: String| format!("{message} ({step} to {target})");
    match err {
        HttpError::Connect { message } => HttpError::Connect {
            message: add(message),
        },
        HttpError::ConnectionClosed { message } => HttpError::ConnectionClosed {
            message: add(message),
        },
        HttpError::Transport { message } => HttpError::Transport {
            message: add(message),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_post_builds_request() {
        let url = url::Url::parse("https://login.example.com/t/oauth2/v2.0/token#frag").unwrap();
        let req = form_post(
            &url,
            &[("grant_type", "refresh_token"), ("scope", "a b&c")],
            "cid",
            &[("x-extra", "1")],
        )
        .unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), "https://login.example.com/t/oauth2/v2.0/token");
        assert_eq!(
            req.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(req.headers()["x-extra"], "1");
        assert_eq!(req.headers()["client-request-id"], "cid");
        assert_eq!(
            std::str::from_utf8(req.body()).unwrap(),
            "grant_type=refresh_token&scope=a+b%26c"
        );
    }

    #[test]
    fn form_post_rejects_bad_inputs_without_echoing_them() {
        let url = url::Url::parse("https://h/p").unwrap();
        let err = form_post(&url, &[], "cid", &[("x-secret", "SECRET\n")]).unwrap_err();
        assert!(matches!(err, HttpError::InvalidRequest { .. }));
        assert!(!err.to_string().contains("SECRET"));
        let err = form_post(&url, &[], "cid", &[("bad name", "v")]).unwrap_err();
        assert!(matches!(err, HttpError::InvalidRequest { .. }));
        let ftp = url::Url::parse("ftp://h/p?code=SECRET").unwrap();
        let err = get(&ftp, "cid").unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }

    #[test]
    fn get_builds_request() {
        let url = url::Url::parse("https://h/.well-known/openid-configuration?x=1").unwrap();
        let req = get(&url, "cid").unwrap();
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(req.uri(), "https://h/.well-known/openid-configuration?x=1");
        assert!(req.body().is_empty());
        assert_eq!(req.headers()["accept"], "application/json");
    }

    #[test]
    fn debug_hides_body() {
        let r = EndpointResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: b"{\"access_token\":\"SECRET\"}".to_vec(),
            retry_after: None,
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("SECRET"));
        assert!(shown.contains("body_len"));
        assert!(r.is_success());
    }
}
