//! `send_with_retry`'s decision table, with a mocked `HttpClient` (no network).

use std::time::Duration;

use crate::events::{Events, RequestStep};
use crate::http::retry::{send_with_retry, RetryPolicy};
use crate::http::{HttpClient, HttpError};
use mockall::predicate::always;
use msal_core::SystemClock;

mockall::mock! {
    pub Client {}
    #[async_trait::async_trait]
    impl HttpClient for Client {
        async fn send(
            &self,
            request: http::Request<Vec<u8>>,
        ) -> Result<http::Response<Vec<u8>>, HttpError>;
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 1,
        delay: Duration::from_millis(1),
    }
}

fn request() -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri("https://login.example.com/t/oauth2/v2.0/token")
        .header("client-request-id", "cid")
        .body(b"grant_type=refresh_token&refresh_token=RT".to_vec())
        .unwrap()
}

fn response(status: u16, retry_after: Option<&str>) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(status);
    if let Some(value) = retry_after {
        builder = builder.header("retry-after", value);
    }
    builder
        .body(format!("status {status}").into_bytes())
        .unwrap()
}

/// A mock that answers `answers` in order and expects exactly that many calls.
fn mock_answering(answers: Vec<Result<http::Response<Vec<u8>>, HttpError>>) -> MockClient {
    let mut mock = MockClient::new();
    let mut seq = mockall::Sequence::new();
    for answer in answers {
        let answer = std::sync::Mutex::new(Some(answer));
        mock.expect_send()
            .with(always())
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |request| {
                // Every attempt carries the full request.
                assert_eq!(request.method(), http::Method::POST);
                assert_eq!(request.headers()["client-request-id"], "cid");
                assert_eq!(request.body(), b"grant_type=refresh_token&refresh_token=RT");
                answer.lock().unwrap().take().unwrap()
            });
    }
    mock
}

/// One send through the retry rules with the test policy, the system clock and no observer.
async fn send(mock: &MockClient) -> Result<http::Response<Vec<u8>>, HttpError> {
    send_with(mock, &policy()).await
}

/// One send through the retry rules with `policy`, the system clock and no observer.
async fn send_with(
    mock: &MockClient,
    policy: &RetryPolicy,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    send_with_retry(
        mock,
        request(),
        policy,
        &SystemClock,
        RequestStep::Token,
        &Events::none(),
    )
    .await
}

#[tokio::test]
async fn server_error_without_retry_after_makes_two_calls() {
    let mock = mock_answering(vec![Ok(response(500, None)), Ok(response(200, None))]);
    let result = send(&mock).await.unwrap();
    assert_eq!(result.status(), 200);
}

#[tokio::test]
async fn server_error_twice_returns_the_last_answer() {
    let mock = mock_answering(vec![Ok(response(502, None)), Ok(response(504, None))]);
    let result = send(&mock).await.unwrap();
    assert_eq!(result.status(), 504);
}

#[tokio::test]
async fn server_error_with_retry_after_makes_one_call() {
    let mock = mock_answering(vec![Ok(response(503, Some("30")))]);
    let result = send(&mock).await.unwrap();
    assert_eq!(result.status(), 503);
}

#[tokio::test]
async fn timeout_makes_two_calls() {
    let mock = mock_answering(vec![Err(HttpError::Timeout), Ok(response(200, None))]);
    let result = send(&mock).await.unwrap();
    assert_eq!(result.status(), 200);
}

#[tokio::test]
async fn timeout_twice_returns_timeout() {
    let mock = mock_answering(vec![Err(HttpError::Timeout), Err(HttpError::Timeout)]);
    let err = send(&mock).await.unwrap_err();
    assert_eq!(err, HttpError::Timeout);
}

#[tokio::test]
async fn connect_error_makes_two_calls() {
    let refused = HttpError::Connect {
        message: "connection refused".into(),
    };
    let mock = mock_answering(vec![Err(refused.clone()), Err(refused.clone())]);
    let err = send(&mock).await.unwrap_err();
    assert_eq!(err, refused);
}

#[tokio::test]
async fn client_errors_make_one_call() {
    for status in [400u16, 401, 403, 404, 429] {
        let mock = mock_answering(vec![Ok(response(status, None))]);
        let result = send(&mock).await.unwrap();
        assert_eq!(result.status(), status);
    }
}

#[tokio::test]
async fn success_makes_one_call() {
    let mock = mock_answering(vec![Ok(response(200, None))]);
    let result = send(&mock).await.unwrap();
    assert_eq!(result.body(), b"status 200");
}

#[tokio::test]
async fn non_transient_errors_make_one_call() {
    let mock = mock_answering(vec![Err(HttpError::BodyTooLarge { limit: 1 })]);
    let err = send(&mock).await.unwrap_err();
    assert_eq!(err, HttpError::BodyTooLarge { limit: 1 });
    let mock = mock_answering(vec![Err(HttpError::Transport {
        message: "boom".into(),
    })]);
    assert!(send(&mock).await.is_err());
}

#[tokio::test]
async fn max_retries_zero_makes_one_call() {
    let mock = mock_answering(vec![Ok(response(500, None))]);
    let result = send_with(&mock, &RetryPolicy::none()).await.unwrap();
    assert_eq!(result.status(), 500);
    let mock = mock_answering(vec![Err(HttpError::Timeout)]);
    let err = send_with(&mock, &RetryPolicy::none()).await.unwrap_err();
    assert!(err.is_timeout());
}

#[tokio::test]
async fn max_retries_three_makes_up_to_four_calls() {
    let policy = RetryPolicy {
        max_retries: 3,
        delay: Duration::ZERO,
    };
    let mock = mock_answering(vec![
        Ok(response(500, None)),
        Err(HttpError::Timeout),
        Ok(response(503, None)),
        Ok(response(500, None)),
    ]);
    let result = send_with(&mock, &policy).await.unwrap();
    assert_eq!(result.status(), 500);
}

/// The pause before each retry is taken on the clock it is given: an auto-advancing
/// `ManualClock` moves by exactly the delay per retry, and no runtime timer is needed (this
/// test has none: `block_on` with Tokio's timer absent would panic on `tokio::time::sleep`).
#[test]
fn the_retry_delay_goes_through_the_clock() {
    let policy = RetryPolicy {
        max_retries: 2,
        delay: Duration::from_secs(7),
    };
    let clock = msal_core::ManualClock::at_unix(1_000).with_auto_advance();
    let before = msal_core::Clock::now(&clock);
    let mock = mock_answering(vec![
        Ok(response(503, None)),
        Err(HttpError::Timeout),
        Ok(response(200, None)),
    ]);
    let result = futures::executor::block_on(send_with_retry(
        &mock,
        request(),
        &policy,
        &clock,
        RequestStep::Token,
        &Events::none(),
    ))
    .unwrap();
    assert_eq!(result.status(), 200);
    let moved = msal_core::Clock::now(&clock)
        .duration_since(before)
        .unwrap();
    assert_eq!(moved, Duration::from_secs(14));
}
