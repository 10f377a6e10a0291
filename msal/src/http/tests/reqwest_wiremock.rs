//! End-to-end tests of `ReqwestHttpClient` + `send_with_retry` against a loopback
//! wiremock server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::events::{Events, RequestStep};
use crate::http::exchange::{self as endpoints, execute, EndpointResponse};
use crate::http::retry::{send_with_retry, RetryPolicy};
use crate::http::{HttpClient, HttpError, ReqwestHttpClient};
use msal_core::SystemClock;
use wiremock::matchers::{body_string, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 1,
        delay: Duration::from_millis(10),
    }
}

fn token_url(server: &MockServer) -> url::Url {
    url::Url::parse(&format!("{}/tenant/oauth2/v2.0/token", server.uri())).unwrap()
}

fn token_request(server: &MockServer) -> http::Request<Vec<u8>> {
    endpoints::form_post(
        &token_url(server),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "api://x/.default"),
        ],
        "11111111-2222-3333-4444-555555555555",
        &[],
    )
    .unwrap()
}

/// One send of `request` through the retry rules with `fast_retry()`, the system clock and no
/// observer.
async fn send_fast(
    client: &dyn HttpClient,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    send_with_retry(
        client,
        request,
        &fast_retry(),
        &SystemClock,
        RequestStep::Token,
        &Events::none(),
    )
    .await
}

/// [`execute`] of `request` with `fast_retry()`, the system clock and no observer.
async fn execute_fast(
    client: &dyn HttpClient,
    request: http::Request<Vec<u8>>,
) -> Result<EndpointResponse, HttpError> {
    execute(
        client,
        request,
        &fast_retry(),
        &SystemClock,
        RequestStep::Token,
        &Events::none(),
    )
    .await
}

/// Counts the requests that reach the inner client.
struct Counting<C> {
    inner: C,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl<C: HttpClient> HttpClient for Counting<C> {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request).await
    }
}

#[tokio::test]
async fn form_post_is_sent_with_msal_headers_and_answer_is_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant/oauth2/v2.0/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("x-client-SKU", "MSAL.Rust"))
        .and(header("x-client-Ver", crate::http::headers::VERSION))
        .and(header("x-client-OS", std::env::consts::OS))
        .and(header(
            "client-request-id",
            "11111111-2222-3333-4444-555555555555",
        ))
        .and(header("return-client-request-id", "true"))
        .and(header_exists("x-ms-lib-capability"))
        .and(header("accept", "application/json"))
        .and(body_string(
            "grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"at","expires_in":3600}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let client = ReqwestHttpClient::new();
    let response = execute_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, br#"{"access_token":"at","expires_in":3600}"#);
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.retry_after, None);
}

#[tokio::test]
async fn get_is_sent_through_arc_dyn_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .and(header("x-client-SKU", "MSAL.Rust"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let client: Arc<dyn HttpClient> = Arc::new(ReqwestHttpClient::new());
    let url = url::Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        server.uri()
    ))
    .unwrap();
    let request = endpoints::get(&url, "cid").unwrap();
    let response = execute_fast(&client, request).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"{}");
}

#[tokio::test]
async fn server_error_without_retry_after_is_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("first"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("second"))
        .expect(1)
        .mount(&server)
        .await;

    let client = ReqwestHttpClient::new();
    let response = send_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), b"second");
}

#[tokio::test]
async fn server_error_twice_returns_second_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new();
    let response = send_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn server_error_with_retry_after_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "7"))
        .expect(1)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new();
    let response = execute_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(response.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn too_many_requests_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .expect(1)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new();
    let response = send_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(r#"{"error":"invalid_grant"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new();
    let response = execute_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.body, br#"{"error":"invalid_grant"}"#);
}

#[tokio::test]
async fn body_over_the_limit_is_rejected() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(100)))
        .expect(1)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new().with_max_response_bytes(16);
    let err = send_fast(&client, token_request(&server))
        .await
        .unwrap_err();
    assert_eq!(err, HttpError::BodyTooLarge { limit: 16 });
    assert!(!err.is_transient());
}

#[tokio::test]
async fn body_exactly_at_the_limit_is_accepted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(16)))
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new().with_max_response_bytes(16);
    let response = client.send(token_request(&server)).await.unwrap();
    assert_eq!(response.body().len(), 16);
}

/// Serve one chunked response (no Content-Length) from a raw loopback socket, so the
/// limit is enforced while streaming rather than from the announced length.
fn serve_chunked_once(chunks: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for chunk in chunks {
            let _ = stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
            let _ = stream.write_all(&chunk);
            let _ = stream.write_all(b"\r\n");
            let _ = stream.flush();
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    (format!("http://{addr}/stream"), handle)
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_rejected_while_streaming() {
    let (url, handle) = serve_chunked_once(vec![vec![b'a'; 10], vec![b'b'; 10], vec![b'c'; 10]]);
    let client = ReqwestHttpClient::new().with_max_response_bytes(15);
    let request = endpoints::get(&url::Url::parse(&url).unwrap(), "cid").unwrap();
    let err = client.send(request).await.unwrap_err();
    assert_eq!(err, HttpError::BodyTooLarge { limit: 15 });
    handle.join().unwrap();
}

#[tokio::test]
async fn chunked_body_within_the_limit_is_assembled() {
    let (url, handle) = serve_chunked_once(vec![vec![b'a'; 10], vec![b'b'; 5]]);
    let client = ReqwestHttpClient::new().with_max_response_bytes(15);
    let request = endpoints::get(&url::Url::parse(&url).unwrap(), "cid").unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.body(), b"aaaaaaaaaabbbbb");
    handle.join().unwrap();
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = format!("{}/elsewhere", server.uri());
    Mock::given(method("POST"))
        .and(path("/tenant/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", elsewhere.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new();
    let response = send_fast(&client, token_request(&server)).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], elsewhere.as_str());
}

#[tokio::test]
async fn timeout_is_reported_and_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .expect(2)
        .mount(&server)
        .await;
    let client = ReqwestHttpClient::new().with_timeout(Duration::from_millis(200));
    let mut request = token_request(&server);
    *request.uri_mut() = format!("{}?code=SECRET", request.uri()).parse().unwrap();
    let err = send_fast(&client, request).await.unwrap_err();
    assert_eq!(err, HttpError::Timeout);
    assert!(err.is_timeout());
    assert!(!err.to_string().contains("SECRET"));
}

#[tokio::test]
async fn connection_refused_is_connect_error_and_retried_once() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Counting {
        inner: ReqwestHttpClient::new(),
        calls: AtomicUsize::new(0),
    };
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/token?code=SECRET")).unwrap();
    let request = endpoints::form_post(&url, &[("client_secret", "SECRET")], "cid", &[]).unwrap();
    let err = send_fast(&client, request).await.unwrap_err();
    assert!(
        matches!(err, HttpError::Connect { .. }),
        "expected Connect, got {err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(client.calls.load(Ordering::SeqCst), 2);
    assert!(!err.to_string().contains("SECRET"));
    assert!(!format!("{err:?}").contains("SECRET"));
}

#[tokio::test]
async fn reqwest_error_conversion_hides_the_query_string() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let raw = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/token?code=SECRET"))
        .body("client_secret=BODYSECRET")
        .send()
        .await
        .unwrap_err();
    // Sanity check: reqwest itself would have shown the query.
    assert!(raw.to_string().contains("SECRET"));
    let err = HttpError::from(raw);
    assert!(matches!(err, HttpError::Connect { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(!shown.contains("code="), "{shown}");
}

#[tokio::test]
async fn from_client_uses_the_given_client() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let inner = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = ReqwestHttpClient::from_client(inner);
    let boxed: Box<dyn HttpClient> = Box::new(client);
    let response = send_with_retry(
        &boxed,
        token_request(&server),
        &RetryPolicy::none(),
        &SystemClock,
        RequestStep::Token,
        &Events::none(),
    )
    .await
    .unwrap();
    assert_eq!(response.body(), b"ok");
}
