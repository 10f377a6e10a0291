//! The loopback redirect listener, driven by raw TCP clients on loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use msal_interactive::{
    LoopbackHost, LoopbackListener, LoopbackPages, LoopbackRedirect, WebUiError,
    DEFAULT_CONTENT_SECURITY_POLICY,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

const LONG: Duration = Duration::from_secs(120);

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n").into_bytes()
}

/// Send `raw` on a new connection and read the whole answer (the server closes).
async fn exchange(addr: SocketAddr, raw: impl AsRef<[u8]>) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(raw.as_ref()).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    String::from_utf8(out).expect("utf-8 answer")
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or_default()
}

fn body(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

async fn bind_localhost() -> LoopbackListener {
    LoopbackListener::bind(LoopbackRedirect::localhost(0))
        .await
        .expect("bind")
}

fn ipv6_available() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

#[tokio::test]
async fn binds_loopback_only_with_the_expected_redirect_uris() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(addr.port(), 0);
    assert_eq!(
        l.redirect_uri().as_str(),
        format!("http://localhost:{}/", addr.port())
    );

    let l = LoopbackListener::bind(LoopbackRedirect::ipv4(0))
        .await
        .unwrap();
    assert_eq!(
        l.redirect_uri().as_str(),
        format!("http://127.0.0.1:{}/", l.local_addr().port())
    );

    let l = LoopbackListener::bind(LoopbackRedirect::localhost(0).with_path("/callback"))
        .await
        .unwrap();
    assert_eq!(
        l.redirect_uri().as_str(),
        format!("http://localhost:{}/callback", l.local_addr().port())
    );

    if ipv6_available() {
        let l = LoopbackListener::bind(LoopbackRedirect::ipv6(0))
            .await
            .unwrap();
        assert_eq!(l.local_addr().ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            l.redirect_uri().as_str(),
            format!("http://[::1]:{}/", l.local_addr().port())
        );
    } else {
        eprintln!("IPv6 loopback unavailable: skipping the [::1] case");
    }
}

#[tokio::test]
async fn refuses_non_loopback_addresses_and_bad_paths() {
    for ip in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "::ffff:127.0.0.1".parse().unwrap(),
    ] {
        let e = LoopbackListener::bind(LoopbackRedirect::ip(ip, 0))
            .await
            .unwrap_err();
        assert!(matches!(e, WebUiError::NotLoopback(_)), "{ip}: {e:?}");
    }
    for path in ["callback", "/cb?x=1", "/cb#f"] {
        let e = LoopbackListener::bind(LoopbackRedirect::localhost(0).with_path(path))
            .await
            .unwrap_err();
        assert!(
            matches!(e, WebUiError::InvalidRedirectUri(_)),
            "{path}: {e:?}"
        );
    }
}

#[tokio::test]
async fn redirect_from_registered_uri() {
    let r = LoopbackRedirect::from_uri(&Url::parse("http://localhost").unwrap()).unwrap();
    assert_eq!(r, LoopbackRedirect::localhost(0));
    let r = LoopbackRedirect::from_uri(&Url::parse("http://127.0.0.1:8400/cb").unwrap()).unwrap();
    assert_eq!(r.host(), LoopbackHost::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert_eq!((r.port(), r.path()), (8400, "/cb"));
    let r = LoopbackRedirect::from_uri(&Url::parse("http://[::1]:9/").unwrap()).unwrap();
    assert_eq!(r, LoopbackRedirect::ipv6(9));

    for (uri, not_loopback) in [
        ("http://example.com/", true),
        ("http://0.0.0.0:80/", true),
        ("http://10.0.0.1/", true),
        ("https://localhost/", false),
        ("http://localhost/?a=b", false),
        ("http://localhost/#f", false),
        ("http://user@localhost/", false),
    ] {
        let e = LoopbackRedirect::from_uri(&Url::parse(uri).unwrap()).unwrap_err();
        if not_loopback {
            assert!(matches!(e, WebUiError::NotLoopback(_)), "{uri}: {e:?}");
        } else {
            assert!(
                matches!(e, WebUiError::InvalidRedirectUri(_)),
                "{uri}: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_port_in_use_is_an_io_error() {
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let e = LoopbackListener::bind(LoopbackRedirect::localhost(port))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            WebUiError::Io {
                kind: std::io::ErrorKind::AddrInUse,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn happy_path_returns_the_code_and_serves_the_success_page() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let (result, response) = tokio::join!(
        l.wait("s1", LONG),
        exchange(addr, get("/?code=SECRETCODE42&state=s1&client_info=ci"))
    );
    let r = result.unwrap();
    assert_eq!(r.code, "SECRETCODE42");
    assert_eq!(r.client_info.as_deref(), Some("ci"));
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
    assert!(response.contains("\r\nConnection: close\r\n"), "{response}");
    assert!(response.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
    assert!(response.contains("\r\nCache-Control: no-store\r\n"));
    assert!(response.contains(&format!(
        "\r\nContent-Security-Policy: {DEFAULT_CONTENT_SECURITY_POLICY}\r\n"
    )));
    assert!(body(&response).contains("You can close this window"));
    assert!(!response.contains("SECRETCODE42"));
    let length: usize = response
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(length, body(&response).len());
}

#[tokio::test]
async fn other_paths_get_404_and_only_one_request_is_served() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let client = async {
        let favicon = exchange(addr, get("/favicon.ico")).await;
        assert_eq!(status_line(&favicon), "HTTP/1.1 404 Not Found");
        assert!(favicon.contains("\r\nConnection: close\r\n"));
        let no_query = exchange(addr, get("/")).await;
        assert_eq!(status_line(&no_query), "HTTP/1.1 400 Bad Request");
        let post = exchange(
            addr,
            b"POST /?code=x&state=s1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        assert_eq!(status_line(&post), "HTTP/1.1 405 Method Not Allowed");
        assert!(post.contains("\r\nAllow: GET\r\n"));
        let garbage = exchange(addr, b"\x16\x03\x01 hello\r\n\r\n").await;
        assert_eq!(status_line(&garbage), "HTTP/1.1 400 Bad Request");
        exchange(addr, get("/?code=abc&state=s1")).await
    };
    let (result, response) = tokio::join!(l.wait("s1", LONG), client);
    assert_eq!(result.unwrap().code, "abc");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");

    // One request only: the listener is closed once the response arrived.
    match TcpStream::connect(addr).await {
        Err(_) => {}
        Ok(mut s) => {
            let _ = s.write_all(&get("/?code=again&state=s1")).await;
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
            assert!(out.is_empty(), "a second request was answered");
        }
    }
}

#[tokio::test]
async fn a_custom_path_is_the_only_one_that_counts() {
    let l = LoopbackListener::bind(LoopbackRedirect::ipv4(0).with_path("/callback"))
        .await
        .unwrap();
    let addr = l.local_addr();
    let client = async {
        let root = exchange(addr, get("/?code=x&state=s1")).await;
        assert_eq!(status_line(&root), "HTTP/1.1 404 Not Found");
        exchange(addr, get("/callback?code=abc&state=s1")).await
    };
    let (result, response) = tokio::join!(l.wait("s1", LONG), client);
    assert_eq!(result.unwrap().code, "abc");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
}

/// A redirect with a foreign state is refused at once, and the wait goes on until the deadline,
/// which then reports the mismatch rather than a plain timeout.
#[tokio::test]
async fn a_wrong_state_is_refused_and_the_deadline_reports_state_mismatch() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let (result, response) = tokio::join!(
        l.wait("s1", Duration::from_secs(1)),
        exchange(addr, get("/?code=FORGEDCODE&state=evil"))
    );
    assert_eq!(result.unwrap_err(), WebUiError::StateMismatch);
    assert_eq!(status_line(&response), "HTTP/1.1 400 Bad Request");
    assert!(body(&response).contains("Sign-in failed"));
    assert!(body(&response).contains("state does not match"));
    assert!(!response.contains("FORGEDCODE"));
}

/// A local process that guesses the port cannot end the sign-in: forged redirects (a foreign
/// state, no state, a provider error with a foreign state) are refused and the real one still
/// completes it.
#[tokio::test]
async fn forged_redirects_do_not_end_the_wait_and_the_real_one_does() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let client = async {
        for forged in [
            "/?code=FORGEDCODE&state=evil",
            "/?code=FORGEDCODE",
            "/?error=access_denied&state=evil",
        ] {
            let r = exchange(addr, get(forged)).await;
            assert_eq!(status_line(&r), "HTTP/1.1 400 Bad Request", "{forged}");
            assert!(body(&r).contains("state does not match"), "{forged}");
        }
        exchange(addr, get("/?code=abc&state=s1")).await
    };
    let (result, response) = tokio::join!(l.wait("s1", LONG), client);
    assert_eq!(result.unwrap().code, "abc");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn provider_errors_are_reported_and_escaped() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let query = "/?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E+%26+more&state=s1";
    let (result, response) = tokio::join!(l.wait("s1", LONG), exchange(addr, get(query)));
    assert_eq!(
        result.unwrap_err(),
        WebUiError::Provider {
            error: "access_denied".into(),
            description: Some("<script>alert(1)</script> & more".into()),
        }
    );
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
    let page = body(&response);
    assert!(page.contains("Sign-in failed"));
    assert!(
        page.contains("access_denied: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
        "{page}"
    );
    assert!(!page.contains("<script"));
}

#[tokio::test]
async fn custom_pages() {
    let mut pages = LoopbackPages::new("<p>done</p>", "<p>failed: {error} ({error})</p>");
    pages.content_security_policy = None;
    let rendered = pages.render_failure("a<b");
    assert_eq!(rendered, "<p>failed: a&lt;b (a&lt;b)</p>");

    let l = bind_localhost().await.with_pages(pages.clone());
    let addr = l.local_addr();
    let (result, response) = tokio::join!(
        l.wait("s1", LONG),
        exchange(addr, get("/?code=abc&state=s1"))
    );
    result.unwrap();
    assert_eq!(body(&response), "<p>done</p>");
    assert!(!response.contains("Content-Security-Policy"));

    let l = bind_localhost().await.with_pages(pages);
    let addr = l.local_addr();
    let (result, response) = tokio::join!(
        l.wait("s1", LONG),
        exchange(
            addr,
            get("/?error=x&error_description=%7Berror%7D&state=s1")
        )
    );
    assert!(matches!(result, Err(WebUiError::Provider { .. })));
    // The placeholder in the description is not substituted again.
    assert_eq!(body(&response), "<p>failed: the identity provider returned x: {error} (the identity provider returned x: {error})</p>");
}

#[tokio::test]
async fn oversized_requests_are_refused_and_the_wait_goes_on() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let client = async {
        let mut huge_header = b"GET /?code=bad&state=s1 HTTP/1.1\r\nX-Big: ".to_vec();
        huge_header.extend(std::iter::repeat_n(b'a', 100 * 1024));
        huge_header.extend_from_slice(b"\r\n\r\n");
        let r = exchange(addr, &huge_header).await;
        assert_eq!(
            status_line(&r),
            "HTTP/1.1 431 Request Header Fields Too Large"
        );

        let long_line = get(&format!(
            "/?code=bad&state=s1&pad={}",
            "p".repeat(10 * 1024)
        ));
        let r = exchange(addr, &long_line).await;
        assert_eq!(status_line(&r), "HTTP/1.1 414 URI Too Long");

        // A request line without an end.
        let r = exchange(addr, &vec![b'G'; 20 * 1024]).await;
        assert_eq!(status_line(&r), "HTTP/1.1 414 URI Too Long");

        exchange(addr, get("/?code=good&state=s1")).await
    };
    let (result, response) = tokio::join!(l.wait("s1", LONG), client);
    assert_eq!(result.unwrap().code, "good");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_silent_client_does_not_block_the_listener() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let client = async {
        let silent = TcpStream::connect(addr).await.unwrap();
        let half = {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /?code=x&st").await.unwrap();
            s
        };
        let r = exchange(addr, get("/?code=abc&state=s1")).await;
        drop((silent, half));
        r
    };
    let (result, response) = tokio::join!(l.wait("s1", LONG), client);
    assert_eq!(result.unwrap().code, "abc");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_connection_timeout() {
    let l = bind_localhost()
        .await
        .with_connection_timeout(Duration::from_millis(50));
    let addr = l.local_addr();
    let client = async {
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut out = Vec::new();
        // Ends when the listener gives up on this connection, without an answer.
        let _ = silent.read_to_end(&mut out).await;
        assert!(out.is_empty());
        exchange(addr, get("/?code=abc&state=s1")).await
    };
    let (result, response) = tokio::join!(l.wait("s1", LONG), client);
    assert_eq!(result.unwrap().code, "abc");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn times_out_when_nothing_comes() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    assert_eq!(
        l.wait("s1", Duration::from_millis(20)).await.unwrap_err(),
        WebUiError::TimedOut
    );
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_wait_closes_the_port() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let wait = l.wait("s1", LONG);
    tokio::select! {
        _ = wait => panic!("the wait ended without a redirect"),
        r = exchange(addr, get("/favicon.ico")) => {
            assert_eq!(status_line(&r), "HTTP/1.1 404 Not Found");
        }
    }
    // `wait` was dropped with the `select!`: nothing listens any more.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn the_wait_can_be_cancelled() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let client = async {
        let r = exchange(addr, get("/favicon.ico")).await;
        assert_eq!(status_line(&r), "HTTP/1.1 404 Not Found");
        cancel.send(()).unwrap();
    };
    let (result, ()) = tokio::join!(
        l.wait_with_cancel("s1", LONG, async {
            let _ = cancelled.await;
        }),
        client
    );
    assert_eq!(result.unwrap_err(), WebUiError::Cancelled);
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn an_empty_expected_state_never_matches() {
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let (result, response) = tokio::join!(
        l.wait("", Duration::from_secs(1)),
        exchange(addr, get("/?code=abc"))
    );
    assert_eq!(result.unwrap_err(), WebUiError::StateMismatch);
    assert_eq!(status_line(&response), "HTTP/1.1 400 Bad Request");
}

// Slowloris: many idle or drip-feeding connections must not hold the real redirect up. Each
// test bounds the real redirect at a generous 10 s (the listener that read 32 connections at a
// time held it for ~7 s and then reset it) and prints the time it took.

const REAL_REDIRECT_WITHIN: Duration = Duration::from_secs(10);

/// Make sure this process may open `needed` file descriptors: raise the soft limit with
/// `prlimit` if it is lower (the hard limit allowing), or fail saying why.
fn ensure_fd_limit(needed: u64) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let soft = || -> Option<u64> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    };
    if soft().is_some_and(|s| s >= needed) {
        return;
    }
    let _ = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={needed}:"))
        .status();
    let now = soft();
    assert!(
        now.is_none_or(|s| s >= needed),
        "this test needs {needed} file descriptors; the soft limit is {now:?} and could not be \
         raised (`ulimit -n {needed}`)"
    );
}

async fn connect_many(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connection {i} of {n}: {e}"));
        streams.push(stream);
    }
    streams
}

/// Send the real redirect while `wait` runs; both the response and the listener's result must
/// come within [`REAL_REDIRECT_WITHIN`]. Returns how long that took.
async fn real_redirect_through(
    addr: SocketAddr,
    wait: tokio::task::JoinHandle<Result<msal_interactive::AuthorizationResponse, WebUiError>>,
    what: &str,
) -> Duration {
    let started = std::time::Instant::now();
    let (result, response) = tokio::time::timeout(REAL_REDIRECT_WITHIN, async {
        let response = exchange(addr, get("/?code=abc&state=s1")).await;
        (wait.await.expect("the wait panicked"), response)
    })
    .await
    .unwrap_or_else(|_| panic!("the real redirect did not get through {what} in 10 s"));
    let took = started.elapsed();
    eprintln!("the real redirect got through {what} in {took:?}");
    assert_eq!(result.unwrap().code, "abc");
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_gets_through_500_idle_connections() {
    ensure_fd_limit(1_200);
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let wait = tokio::spawn(l.wait("s1", LONG));
    let idle = connect_many(addr, 500).await;
    real_redirect_through(addr, wait, "500 idle connections").await;
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_gets_through_500_drip_feeding_connections() {
    ensure_fd_limit(1_200);
    let l = bind_localhost().await;
    let addr = l.local_addr();
    let wait = tokio::spawn(l.wait("s1", LONG));
    let mut drips = tokio::task::JoinSet::new();
    for mut stream in connect_many(addr, 500).await {
        drips.spawn(async move {
            // A head that never ends, one byte every 300 ms, until the listener closes it.
            let head = b"GET /favicon.ico HTTP/1.1\r\nX-Drip: ";
            for byte in head.iter().chain(std::iter::repeat(&b'a')) {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
    }
    // Let every connection drip a few bytes first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    real_redirect_through(addr, wait, "500 drip-feeding connections").await;
    drips.abort_all();
}

/// Beyond 1,024 open connections a new one closes the oldest: the number of connections (file
/// descriptors, buffers) is bounded, and the real redirect, the newest, still gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_connection_cap_the_oldest_connection_is_closed() {
    ensure_fd_limit(2_600);
    let l = bind_localhost().await.with_connection_timeout(LONG);
    let addr = l.local_addr();
    let wait = tokio::spawn(l.wait("s1", LONG));
    let mut oldest = TcpStream::connect(addr).await.unwrap();
    let idle = connect_many(addr, 1_100).await;
    real_redirect_through(addr, wait, "1,101 idle connections").await;
    let mut out = Vec::new();
    let closed = tokio::time::timeout(REAL_REDIRECT_WITHIN, oldest.read_to_end(&mut out)).await;
    assert!(closed.is_ok(), "the oldest connection is still open");
    assert!(out.is_empty());
    drop(idle);
}
