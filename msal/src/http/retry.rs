//! The retry rule shared by every call to an identity-provider endpoint.

use std::time::Duration;

use msal_core::Clock;

use crate::events::{Event, Events, RequestStep};
use crate::http::pause::sleep_on;
use crate::http::{redacted_uri, HttpClient, HttpError};

/// How many times, and after how long, a request to the identity provider is tried again.
///
/// The default is MSAL.NET's: one retry after one second. Only transient failures are retried:
/// a 5xx without `Retry-After`, a timeout, a connection that failed, or broke before the
/// answer was complete; never a 4xx (429 included) or an answer carrying `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests). Default 1.
    pub max_retries: u32,
    /// Pause before each retry. Default 1 s.
    pub delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 1,
            delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// Never retry: exactly one attempt.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            delay: Duration::ZERO,
        }
    }
}

/// Why an attempt is worth repeating, if it is.
fn retry_reason(result: &Result<http::Response<Vec<u8>>, HttpError>) -> Option<&'static str> {
    match result {
        Ok(response) => {
            let server_error = response.status().is_server_error();
            let has_retry_after = response.headers().contains_key(http::header::RETRY_AFTER);
            (server_error && !has_retry_after).then_some("server error without Retry-After")
        }
        Err(HttpError::Timeout) => Some("timeout"),
        Err(HttpError::Connect { .. }) => Some("connection failure"),
        Err(HttpError::ConnectionClosed { .. }) => Some("connection reset or closed"),
        Err(_) => None,
    }
}

/// Copy a request (`http::Request` is not `Clone`): method, URI, version, headers,
/// extensions and body.
fn copy_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    copy
}

/// Send, retrying per MSAL.NET's rule: one retry after `delay` when the response is
/// 5xx WITHOUT a Retry-After header, when the request timed out, or when the connection
/// failed. Never retry 4xx or anything carrying Retry-After.
///
/// With `policy.max_retries` above 1 the same rule applies to each further attempt.
/// The result of the last attempt is returned (a 5xx is an `Ok` response). The pause is
/// taken on `clock` ([`crate::http::pause::sleep_on`]): Tokio's timer unless the clock takes
/// it over, so with a real clock this must run inside a Tokio runtime with the timer enabled
/// when a retry happens. Each retry is told to `events` ([`Event::Retrying`], about `step`)
/// before its pause.
pub(crate) async fn send_with_retry(
    client: &dyn HttpClient,
    request: http::Request<Vec<u8>>,
    policy: &RetryPolicy,
    clock: &dyn Clock,
    step: RequestStep,
    events: &Events,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    let method = request.method().clone();
    let target = redacted_uri(request.uri());
    let mut pending = Some(request);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let is_last = attempt > policy.max_retries;
        let Some(current) = pending.take() else {
            // Unreachable: `pending` is refilled before every non-final attempt.
            return Err(HttpError::InvalidRequest {
                message: "request already consumed".to_owned(),
            });
        };
        if !is_last {
            pending = Some(copy_request(&current));
        }
        let result = client.send(current).await;
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        tracing::debug!(
            %method,
            url = %target,
            ?status,
            attempt,
            "HTTP attempt finished"
        );
        match retry_reason(&result) {
            Some(reason) if !is_last => {
                tracing::warn!(
                    %method,
                    url = %target,
                    ?status,
                    attempt,
                    reason,
                    delay_ms = u64::try_from(policy.delay.as_millis()).unwrap_or(u64::MAX),
                    "retrying HTTP request"
                );
                events.emit(|| Event::Retrying {
                    step,
                    url: target.clone(),
                    attempt: attempt + 1,
                    attempts: policy.max_retries.saturating_add(1),
                    delay: policy.delay,
                    reason,
                });
                sleep_on(clock, policy.delay).await;
            }
            _ => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_none() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_retries, 1);
        assert_eq!(p.delay, Duration::from_secs(1));
        assert_eq!(RetryPolicy::none().max_retries, 0);
    }

    #[test]
    fn copy_keeps_everything() {
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri("https://h/p?q=1")
            .version(http::Version::HTTP_11)
            .header("a", "b")
            .extension(7u32)
            .body(b"body".to_vec())
            .unwrap();
        let copy = copy_request(&request);
        assert_eq!(copy.method(), request.method());
        assert_eq!(copy.uri(), request.uri());
        assert_eq!(copy.version(), request.version());
        assert_eq!(copy.headers(), request.headers());
        assert_eq!(copy.extensions().get::<u32>(), Some(&7));
        assert_eq!(copy.body(), request.body());
    }

    #[test]
    fn decision_table() {
        let response = |status: u16, retry_after: bool| {
            let mut b = http::Response::builder().status(status);
            if retry_after {
                b = b.header("Retry-After", "5");
            }
            Ok(b.body(Vec::new()).unwrap())
        };
        assert!(retry_reason(&response(500, false)).is_some());
        assert!(retry_reason(&response(503, false)).is_some());
        assert!(retry_reason(&response(503, true)).is_none());
        assert!(retry_reason(&response(429, false)).is_none());
        assert!(retry_reason(&response(400, false)).is_none());
        assert!(retry_reason(&response(200, false)).is_none());
        assert!(retry_reason(&Err(HttpError::Timeout)).is_some());
        assert!(retry_reason(&Err(HttpError::Connect {
            message: String::new()
        }))
        .is_some());
        assert!(retry_reason(&Err(HttpError::BodyTooLarge { limit: 1 })).is_none());
    }
}
