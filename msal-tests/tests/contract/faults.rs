//! Fault injection: what the token endpoint (or the network in front of it) can do wrong, and
//! what a silent call makes of it. For every fault kind, four properties are pinned:
//!
//! 1. the call fails with the right typed error;
//! 2. a transient fault is transient and never "interaction required";
//! 3. with a cached access token inside the 5-minute buffer but not expired, a transient fault
//!    yields that token (source Cache) instead of the error, and a permanent one is reported;
//! 4. the stored cache is the same before and after: nothing lost, refresh token intact.
//!
//! wiremock plays the faults that are whole HTTP responses (5xx, 429, HTML, slow, huge); a tiny
//! std TCP server plays those that are not (resets, connections closed without an answer or in
//! the middle of one, a body streamed without end).
//! Complements `contract_errors.rs` (classification table, retry and throttling timelines).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use msal::http::{HttpClient, HttpError};
use msal::{AuthenticationResult, Error, ManualClock, TokenSource};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The refresh token every fixture holds.
const RT: &str = "rt-1";
/// The secret of the near-expiry access token.
const CACHED_AT: &str = "at-cached";
/// The response-size cap of the default transport.
const ONE_MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Cache fixtures
// ---------------------------------------------------------------------------------------------

/// The signed-in user with RT `rt-1`, an expired `User.Read` token (so a refresh is needed and
/// there is nothing to fall back on) and a valid `Mail.Read` token (must survive every fault).
fn expired_doc() -> CacheDoc {
    CacheDoc::new()
        .signed_in(CLIENT_ID, RT)
        .app_metadata(ENV, CLIENT_ID, None)
        .access_token(CLIENT_ID, UTID, "Mail.Read", "at-mail", T0 + 3600)
        .access_token(CLIENT_ID, UTID, "User.Read", "at-expired", T0 - 10)
}

/// Like [`expired_doc`], but the `User.Read` token expires in 200 s: inside the 5-minute
/// buffer (so it is refreshed) but still good (so it is the fallback).
fn near_expiry_doc() -> CacheDoc {
    expired_doc().access_token(CLIENT_ID, UTID, "User.Read", CACHED_AT, T0 + 200)
}

async fn silent(h: &Harness) -> Result<AuthenticationResult, Error> {
    h.app
        .acquire_token_silent(["User.Read"], &h.account())
        .await
}

/// The result is the near-expiry cached token.
fn assert_cached(what: &str, r: Result<AuthenticationResult, Error>) {
    let r = r.unwrap_or_else(|e| panic!("{what}: expected the cached token, got {e:?}"));
    assert_eq!(
        (r.access_token(), r.source()),
        (CACHED_AT, TokenSource::Cache),
        "{what}"
    );
    assert_eq!(r.expires_on(), at(T0 + 200), "{what}");
}

/// Property 4: the store holds exactly what it held before, refresh token included.
async fn assert_cache_intact(what: &str, h: &Harness, before: &Value) {
    let after = h.stored().await;
    assert_eq!(&after, before, "{what}: the cache changed");
    assert_eq!(refresh_token_secrets(&after), vec![RT], "{what}");
}

// ---------------------------------------------------------------------------------------------
// A fault-playing TCP server and a transport that targets it
// ---------------------------------------------------------------------------------------------

/// What the TCP server does with each connection.
#[derive(Clone, Debug)]
enum Reply {
    /// Read only the first byte of the request, then close: with unread data in the receive
    /// queue, Linux answers with RST (a reset, without needing SO_LINGER).
    Reset,
    /// Read the whole request, then close without writing anything (FIN).
    Close,
    /// Read the whole request, write these bytes, then close.
    Raw(Vec<u8>),
    /// Read the whole request, then stream a chunked 200 body until the client goes away (or
    /// `max` bytes of it were written).
    Endless { max: usize },
}

/// A std TCP server on 127.0.0.1 playing one [`Reply`] on every connection, one at a time.
struct FaultServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Body bytes written per connection, once the connection is done with.
    written: Mutex<mpsc::Receiver<usize>>,
}

impl FaultServer {
    fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let counter = Arc::clone(&connections);
        // Detached: it blocks in accept() once the test is over, which does not keep the
        // process alive.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let written = serve(stream, &reply);
                let _ = tx.send(written);
            }
        });
        FaultServer {
            addr,
            connections,
            written: Mutex::new(rx),
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Wait for the next connection to be done with; its body bytes written.
    fn next_written(&self) -> usize {
        self.written
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(60))
            .expect("the fault server never finished the connection")
    }
}

/// Read one HTTP/1.1 request (headers, then Content-Length bytes of body).
fn read_request(stream: &mut TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < header_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Play `reply` on one connection; the body bytes written.
fn serve(mut stream: TcpStream, reply: &Reply) -> usize {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match reply {
        Reply::Reset => {
            let _ = stream.read(&mut [0u8; 1]);
            drop(stream);
            0
        }
        Reply::Close => {
            read_request(&mut stream);
            0
        }
        Reply::Raw(bytes) => {
            read_request(&mut stream);
            let _ = stream.write_all(bytes);
            let _ = stream.flush();
            bytes.len()
        }
        Reply::Endless { max } => {
            read_request(&mut stream);
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return 0;
            }
            let mut written = 0;
            let start = br#"{"access_token":""#;
            let filler = vec![b'a'; 64 * 1024];
            let mut first = true;
            while written < *max {
                let data: &[u8] = if first { start } else { &filler };
                first = false;
                let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
                chunk.extend_from_slice(data);
                chunk.extend_from_slice(b"\r\n");
                if stream.write_all(&chunk).is_err() {
                    break;
                }
                written += data.len();
            }
            written
        }
    }
}

/// Sends every request to a [`FaultServer`] through the harness's [`LoopbackTransport`] (the
/// real reqwest transport, default 1 MiB cap), counting them.
#[derive(Clone)]
struct TcpTransport {
    inner: LoopbackTransport,
    /// Requests sent (attempts, retries included).
    sends: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl HttpClient for TcpTransport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request).await
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a harness whose token endpoint plays one fault
// ---------------------------------------------------------------------------------------------

/// A harness and how its token requests are counted.
struct Fixture {
    h: Harness,
    tcp: Option<FaultServer>,
    /// Sends through a [`TcpTransport`], for faults where no server sees them.
    sends: Option<Arc<AtomicUsize>>,
}

impl Fixture {
    /// The token endpoint (wiremock) answers every request with `template`.
    async fn wiremock(template: ResponseTemplate) -> Self {
        let h = Harness::new().await;
        token_reply(template).mount(&h.server).await;
        Fixture {
            h,
            tcp: None,
            sends: None,
        }
    }

    /// The token endpoint (wiremock) answers with `template`, the transport gives up after
    /// `timeout`.
    async fn wiremock_with_timeout(template: ResponseTemplate, timeout: Duration) -> Self {
        let server = MockServer::start().await;
        let clock = ManualClock::at_unix(T0);
        let cache = TestStore::from_env();
        let app = app_builder(&server, &clock, &cache, CLIENT_ID)
            .authority("https://login.microsoftonline.com/common")
            .http_client(LoopbackTransport::new(&server).with_timeout(timeout))
            .build()
            .unwrap();
        token_reply(template).mount(&server).await;
        let h = Harness {
            server,
            clock,
            cache,
            app,
        };
        Fixture {
            h,
            tcp: None,
            sends: None,
        }
    }

    /// Every request goes to a [`FaultServer`] playing `reply`.
    async fn tcp(reply: Reply) -> Self {
        Self::tcp_at(FaultServer::start(reply)).await
    }

    async fn tcp_at(server: FaultServer) -> Self {
        let addr = server.addr;
        Self::with_transport(addr, Some(server)).await
    }

    /// Every request goes to `addr` (through a [`TcpTransport`]).
    async fn with_transport(addr: SocketAddr, tcp: Option<FaultServer>) -> Self {
        let sends = Arc::new(AtomicUsize::new(0));
        let transport = TcpTransport {
            inner: LoopbackTransport::to(addr),
            sends: Arc::clone(&sends),
        };
        let h = Harness::with_transport(transport).await;
        Fixture {
            h,
            tcp,
            sends: Some(sends),
        }
    }

    /// Token requests (or, for TCP faults, connections) made so far.
    async fn attempts(&self) -> usize {
        match (&self.tcp, &self.sends) {
            (Some(server), _) => server.connections(),
            (None, Some(sends)) => sends.load(Ordering::SeqCst),
            (None, None) => self.h.token_requests().await.len(),
        }
    }
}

fn token_reply(template: ResponseTemplate) -> Mock {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(template)
}

/// What a fault must produce.
struct Expect {
    /// Token requests the call makes (2 when the transport retries).
    attempts: usize,
    /// Whether the error is transient (retrying later may succeed).
    transient: bool,
}

const RETRIED: Expect = Expect {
    attempts: 2,
    transient: true,
};
const NOT_RETRIED_TRANSIENT: Expect = Expect {
    attempts: 1,
    transient: true,
};
const PERMANENT: Expect = Expect {
    attempts: 1,
    transient: false,
};

/// Check the four properties for one fault: `setup` builds a fresh fixture playing it, `check`
/// says whether the error is the right one.
async fn assert_fault(
    what: &str,
    setup: impl AsyncFn() -> Fixture,
    expect: Expect,
    check: impl Fn(&Error) -> bool,
) {
    // 1, 2, 4: nothing usable in the cache, so the error comes out.
    let f = setup().await;
    f.h.seed(&expired_doc()).await;
    let before = f.h.stored().await;
    let e = silent(&f.h).await.unwrap_err();
    assert!(check(&e), "{what}: wrong error {e:?}");
    assert!(!e.is_ui_required(), "{what}: {e:?}");
    assert_eq!(e.is_transient(), expect.transient, "{what}: {e:?}");
    assert!(!format!("{e:?} {e}").contains(RT), "{what}: leaks the RT");
    assert_eq!(f.attempts().await, expect.attempts, "{what}: attempts");
    assert_cache_intact(what, &f.h, &before).await;

    // 3, 4: a token that has not expired yet keeps being served through a transient fault; a
    // permanent one is reported (serving the old token would hide it until the token runs
    // out). Either way the cache is intact.
    let f = setup().await;
    f.h.seed(&near_expiry_doc()).await;
    let before = f.h.stored().await;
    let near_expiry = silent(&f.h).await;
    if expect.transient {
        assert_cached(what, near_expiry);
    } else {
        let e = near_expiry.expect_err(what);
        assert!(check(&e), "{what} (near expiry): wrong error {e:?}");
    }
    assert_eq!(
        f.attempts().await,
        expect.attempts,
        "{what} (near expiry): attempts"
    );
    assert_cache_intact(what, &f.h, &before).await;
}

fn is_service(e: &Error, status: u16, error: &str) -> bool {
    matches!(e, Error::Service(s) if s.status == status && s.oauth.error == error)
}

fn is_unavailable(e: &Error, status: u16) -> bool {
    matches!(e, Error::ServiceUnavailable { status: s, .. } if *s == status)
}

fn is_connect(e: &Error) -> bool {
    matches!(e, Error::Http(HttpError::Connect { .. }))
}

/// A connection reset or closed once the request was sent (never "could not connect").
fn is_closed(e: &Error) -> bool {
    matches!(e, Error::Http(HttpError::ConnectionClosed { .. }))
        && !e.to_string().contains("could not connect")
}

// ---------------------------------------------------------------------------------------------
// 5xx
// ---------------------------------------------------------------------------------------------

/// Behaviour: 500, 502, 503 and 504 with an OAuth JSON body are transient service errors with
/// the status, retried once; a near-expiry token is served through them; the cache is intact.
#[tokio::test]
async fn server_errors_with_json_bodies() {
    for status in [500u16, 502, 503, 504] {
        let error = if status == 503 {
            "temporarily_unavailable"
        } else {
            "server_error"
        };
        assert_fault(
            &format!("HTTP {status} JSON"),
            async || {
                Fixture::wiremock(ResponseTemplate::new(status).set_body_json(json!({
                    "error": error,
                    "error_description": format!("AADSTS50000: {status} from the service"),
                })))
                .await
            },
            RETRIED,
            |e| is_service(e, status, error),
        )
        .await;
    }
}

/// Behaviour: an HTML error page from a gateway (502/503) is a transient `ServiceUnavailable`
/// with the status, retried once; a near-expiry token is served through it.
#[tokio::test]
async fn server_errors_with_html_bodies() {
    for status in [502u16, 503] {
        assert_fault(
            &format!("HTTP {status} HTML"),
            async || {
                Fixture::wiremock(
                    ResponseTemplate::new(status)
                        .insert_header("content-type", "text/html")
                        .set_body_string(
                            "<html><head><title>Service Unavailable</title></head>\
                             <body><h1>The gateway is down</h1></body></html>",
                        ),
                )
                .await
            },
            RETRIED,
            |e| is_unavailable(e, status),
        )
        .await;
    }
}

/// Behaviour: an HTML page with HTTP 200 (a captive portal or a misconfigured proxy) is a
/// transient `ServiceUnavailable` with status 200 (issue 14 §4: an answer that is not JSON is
/// not the identity provider's): not retried (not a 5xx), and a near-expiry token is served.
#[tokio::test]
async fn html_body_with_http_200_is_unavailable() {
    assert_fault(
        "HTTP 200 HTML",
        async || {
            Fixture::wiremock(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/html")
                    .set_body_string("<html><body>Sign in to the hotel Wi-Fi</body></html>"),
            )
            .await
        },
        NOT_RETRIED_TRANSIENT,
        |e| is_unavailable(e, 200),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 429 + Retry-After
// ---------------------------------------------------------------------------------------------

/// A 429 carrying `Retry-After: {retry_after}`: the call fails with a transient Service 429
/// after one request (a 429 is never retried), the next identical call fails fast with
/// `Throttled { until }` and no request; with a near-expiry token both calls serve it. The
/// cache is intact throughout.
async fn assert_429(retry_after: &str, until: u64) {
    let what = format!("429 Retry-After: {retry_after}");
    let setup = async || {
        Fixture::wiremock(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", retry_after)
                .set_body_json(json!({
                    "error": "temporarily_unavailable",
                    "error_description": "AADSTS50196: too many requests",
                })),
        )
        .await
    };

    let f = setup().await;
    f.h.seed(&expired_doc()).await;
    let before = f.h.stored().await;
    let e = silent(&f.h).await.unwrap_err();
    assert!(
        is_service(&e, 429, "temporarily_unavailable"),
        "{what}: {e:?}"
    );
    assert!(e.is_transient() && !e.is_ui_required(), "{what}: {e:?}");
    assert_eq!(f.attempts().await, 1, "{what}");
    let e = silent(&f.h).await.unwrap_err();
    assert!(
        matches!(e, Error::Throttled { until: u, status: 429 } if u == at(until)),
        "{what}: {e:?}"
    );
    assert!(e.is_transient() && !e.is_ui_required(), "{what}: {e:?}");
    assert_eq!(
        f.attempts().await,
        1,
        "{what}: throttled calls send nothing"
    );
    assert_cache_intact(&what, &f.h, &before).await;

    let f = setup().await;
    f.h.seed(&near_expiry_doc()).await;
    let before = f.h.stored().await;
    assert_cached(&what, silent(&f.h).await);
    assert_cached(&format!("{what} (throttled)"), silent(&f.h).await);
    assert_eq!(f.attempts().await, 1, "{what}");
    assert_cache_intact(&what, &f.h, &before).await;
}

/// Behaviour: 429 with `Retry-After` in seconds.
#[tokio::test]
async fn too_many_requests_with_retry_after_seconds() {
    assert_429("3", T0 + 3).await;
}

/// Behaviour: 429 with `Retry-After` as an HTTP date (read against the app's clock).
#[tokio::test]
async fn too_many_requests_with_retry_after_http_date() {
    assert_eq!(http_date(T0), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_429(&http_date(T0 + 30), T0 + 30).await;
}

// ---------------------------------------------------------------------------------------------
// Slow responses
// ---------------------------------------------------------------------------------------------

/// Behaviour: a response slower than the transport's timeout is `Http(Timeout)`, transient,
/// after its one retry; a near-expiry token is served through it.
#[tokio::test]
async fn slow_response_past_the_timeout() {
    assert_fault(
        "slow response",
        async || {
            Fixture::wiremock_with_timeout(
                ResponseTemplate::new(200)
                    .set_body_json(token_response(
                        "at-late",
                        Some("rt-late"),
                        "User.Read",
                        3600,
                    ))
                    .set_delay(Duration::from_secs(2)),
                Duration::from_millis(300),
            )
            .await
        },
        RETRIED,
        |e| matches!(e, Error::Http(HttpError::Timeout)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Broken connections
// ---------------------------------------------------------------------------------------------

/// Behaviour: a connection reset (RST) after the request is sent is `Http(ConnectionClosed)`
/// (not "could not connect"), transient, retried once; a near-expiry token is served through it.
#[tokio::test]
async fn connection_reset() {
    assert_fault(
        "connection reset",
        async || Fixture::tcp(Reply::Reset).await,
        RETRIED,
        is_closed,
    )
    .await;
}

/// Behaviour: a refused connection (nothing listens) is `Http(Connect)`, transient; a
/// near-expiry token is served through it.
#[tokio::test]
async fn connection_refused() {
    assert_fault(
        "connection refused",
        async || {
            // Bind to learn a free port, then free it: connecting is refused.
            let addr = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            Fixture::with_transport(addr, None).await
        },
        RETRIED,
        is_connect,
    )
    .await;
}

/// Behaviour: the server reads the request and closes the connection without answering (an
/// overloaded load balancer does this): `Http(ConnectionClosed)`, transient,
/// retried once; a near-expiry token is served through it.
#[tokio::test]
async fn connection_closed_without_a_response() {
    assert_fault(
        "closed without a response",
        async || Fixture::tcp(Reply::Close).await,
        RETRIED,
        is_closed,
    )
    .await;
}

/// Behaviour: a response whose connection closes in the middle of its body (Content-Length
/// 1000, 20 bytes sent) is `Http(ConnectionClosed)`, transient, retried once;
/// the partial body is never quoted; a near-expiry token is served through it.
#[tokio::test]
async fn truncated_body() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"access_token\":\"abc";
    assert_fault(
        "truncated body",
        async || Fixture::tcp(Reply::Raw(bytes.to_vec())).await,
        RETRIED,
        |e| is_closed(e) && !format!("{e:?} {e}").contains("abc"),
    )
    .await;
}

/// Behaviour: a response whose connection closes in the middle of its headers is
/// `Http(ConnectionClosed)`, transient, retried once; a near-expiry token is served through
/// it.
#[tokio::test]
async fn truncated_headers() {
    assert_fault(
        "truncated headers",
        async || Fixture::tcp(Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec())).await,
        RETRIED,
        is_closed,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// OAuth error bodies with HTTP 200
// ---------------------------------------------------------------------------------------------

/// Behaviour: `temporarily_unavailable` with HTTP 200 is a transient service error (status
/// 200), not retried (the status is not 5xx) and not throttled; a near-expiry token is served
/// through it.
#[tokio::test]
async fn transient_error_body_with_http_200() {
    assert_fault(
        "temporarily_unavailable with 200",
        async || {
            Fixture::wiremock(ResponseTemplate::new(200).set_body_json(json!({
                "error": "temporarily_unavailable",
                "error_description": "AADSTS90033: a transient error has occurred",
            })))
            .await
        },
        NOT_RETRIED_TRANSIENT,
        |e| is_service(e, 200, "temporarily_unavailable"),
    )
    .await;
}

/// Behaviour: `invalid_grant` with HTTP 200 is UI required (not transient), even with a
/// near-expiry token in the cache (complements `contract_errors`, which has no cached token);
/// the cache, refresh token included, is intact.
#[tokio::test]
async fn invalid_grant_body_with_http_200_is_ui_required_even_near_expiry() {
    for doc in [expired_doc(), near_expiry_doc()] {
        let f = Fixture::wiremock(ResponseTemplate::new(200).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "AADSTS70008: the refresh token has expired",
        })))
        .await;
        f.h.seed(&doc).await;
        let before = f.h.stored().await;
        let e = silent(&f.h).await.unwrap_err();
        assert!(e.is_ui_required(), "{e:?}");
        assert!(!e.is_transient(), "{e:?}");
        assert_eq!(e.oauth_error().unwrap().error, "invalid_grant");
        assert_eq!(f.attempts().await, 1);
        assert_cache_intact("invalid_grant with 200", &f.h, &before).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Huge bodies
// ---------------------------------------------------------------------------------------------

/// A 2 MiB token response (a valid one, were it not for its size).
fn huge_token_response() -> Value {
    let mut v = token_response("at-huge", Some("rt-huge"), "User.Read", 3600);
    v["padding"] = json!("x".repeat(2 * ONE_MIB));
    v
}

/// Behaviour: a 2 MiB body with Content-Length is `Http(BodyTooLarge { limit: 1 MiB })`, not
/// transient (not retried); a near-expiry token is still served; nothing of it reaches the
/// cache.
#[tokio::test]
async fn huge_body_with_content_length() {
    assert_fault(
        "2 MiB body",
        async || {
            Fixture::wiremock(ResponseTemplate::new(200).set_body_json(huge_token_response())).await
        },
        PERMANENT,
        |e| matches!(e, Error::Http(HttpError::BodyTooLarge { limit }) if *limit == ONE_MIB),
    )
    .await;
}

/// Behaviour: a chunked body without Content-Length that never ends is cut off once it
/// crosses 1 MiB (`BodyTooLarge`): the client stops reading and drops the connection, so the
/// server cannot write more than the cap plus the sockets' buffers of the 128 MiB it offers.
#[tokio::test]
async fn endless_chunked_body_is_read_boundedly() {
    const OFFERED: usize = 128 * ONE_MIB;
    let check = |e: &Error| matches!(e, Error::Http(HttpError::BodyTooLarge { limit }) if *limit == ONE_MIB);
    for doc in [expired_doc(), near_expiry_doc()] {
        let f = Fixture::tcp(Reply::Endless { max: OFFERED }).await;
        f.h.seed(&doc).await;
        let before = f.h.stored().await;
        // Not transient (a server streaming without end is broken, not busy): reported even
        // near expiry.
        let e = silent(&f.h).await.unwrap_err();
        assert!(check(&e), "{e:?}");
        assert!(!e.is_transient() && !e.is_ui_required(), "{e:?}");
        assert_eq!(f.attempts().await, 1);
        let written = f.tcp.as_ref().unwrap().next_written();
        assert!(written > ONE_MIB, "only {written} bytes were offered");
        assert!(
            written < OFFERED / 4,
            "the client kept reading: {written} bytes written"
        );
        assert_cache_intact("endless body", &f.h, &before).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Force refresh
// ---------------------------------------------------------------------------------------------

/// Behaviour: a transient fault during a FORCED refresh returns the error even though the cache
/// holds a token that still works (near expiry, or fully valid). `force_refresh` bypasses the
/// access-token lookup (silent.rs: the fallback is only taken when the cached token was looked
/// up, which force_refresh and claims skip): the caller asked for a new token, and handing back
/// the one it wanted replaced would hide the failure. The cached token is not lost: the next
/// ordinary call serves it.
#[tokio::test]
async fn forced_refresh_reports_a_transient_fault() {
    for (doc, expires_on) in [
        (near_expiry_doc(), T0 + 200),
        (
            expired_doc().access_token(CLIENT_ID, UTID, "User.Read", CACHED_AT, T0 + 3600),
            T0 + 3600,
        ),
    ] {
        let f = Fixture::wiremock(
            ResponseTemplate::new(503).set_body_json(json!({"error": "temporarily_unavailable"})),
        )
        .await;
        f.h.seed(&doc).await;
        let before = f.h.stored().await;
        let e =
            f.h.app
                .acquire_token_silent(["User.Read"], &f.h.account())
                .force_refresh(true)
                .await
                .unwrap_err();
        assert!(is_service(&e, 503, "temporarily_unavailable"), "{e:?}");
        assert!(e.is_transient() && !e.is_ui_required(), "{e:?}");
        assert_eq!(f.attempts().await, 2);
        assert_cache_intact("forced refresh", &f.h, &before).await;

        // An ordinary call still gets the cached token: directly when it is fully valid; near
        // expiry, through the local throttle the 503 set (transient, so the fallback applies).
        let r = silent(&f.h).await.unwrap();
        assert_eq!(
            (r.access_token(), r.source(), r.expires_on()),
            (CACHED_AT, TokenSource::Cache, at(expires_on))
        );
        assert_eq!(f.attempts().await, 2);
        assert_cache_intact("forced refresh", &f.h, &before).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Permanent answers near expiry
// ---------------------------------------------------------------------------------------------

/// Behaviour: a permanent answer to the refresh (an OAuth error that is not "interaction
/// required": `invalid_scope`, `invalid_client`, an error code nobody knows) is reported even
/// while the cached token is still good: a misconfigured or disabled app must not look healthy
/// for up to five minutes. The cache is intact.
#[tokio::test]
async fn permanent_errors_near_expiry_are_reported_not_hidden() {
    for (status, error) in [
        (400u16, "invalid_scope"),
        (401, "invalid_client"),
        (400, "unheard_of_error"),
    ] {
        let f = Fixture::wiremock(ResponseTemplate::new(status).set_body_json(json!({
            "error": error,
            "error_description": "permanent",
        })))
        .await;
        f.h.seed(&near_expiry_doc()).await;
        let before = f.h.stored().await;
        let e = silent(&f.h)
            .await
            .expect_err("a permanent error must not be hidden behind the cached token");
        assert!(is_service(&e, status, error), "{error}: {e:?}");
        assert!(!e.is_transient(), "{error}: {e:?}");
        assert_eq!(f.attempts().await, 1, "{error}");
        assert_cache_intact(error, &f.h, &before).await;
    }
}

/// Behaviour: after a token request timed out, an identical request fails fast with the same
/// timeout for a while instead of waiting the whole timeout again (and a still-valid cached
/// token is served meanwhile); no second request reaches the hanging provider.
#[tokio::test]
async fn after_a_timeout_identical_requests_fail_fast() {
    let f = Fixture::wiremock_with_timeout(
        ResponseTemplate::new(200)
            .set_body_json(token_response(
                "at-late",
                Some("rt-late"),
                "User.Read",
                3600,
            ))
            .set_delay(Duration::from_secs(30)),
        Duration::from_millis(300),
    )
    .await;
    f.h.seed(&expired_doc()).await;
    let e = silent(&f.h).await.unwrap_err();
    assert!(matches!(e, Error::Http(HttpError::Timeout)), "{e:?}");
    let first_attempts = f.attempts().await;
    let started = std::time::Instant::now();
    let e = silent(&f.h).await.unwrap_err();
    assert!(matches!(e, Error::Http(HttpError::Timeout)), "{e:?}");
    assert!(e.is_transient());
    assert_eq!(
        f.attempts().await,
        first_attempts,
        "a request reached the provider again"
    );
    // Well under the 300 ms timeout it would otherwise wait (a loose bound: the point is
    // that nothing was sent, which the count above proves).
    assert!(started.elapsed() < Duration::from_secs(5));
    // A near-expiry token is served through the block.
    f.h.seed(&near_expiry_doc()).await;
    assert_cached("blocked after a timeout", silent(&f.h).await);
}
