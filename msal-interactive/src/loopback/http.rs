//! Just enough HTTP/1.1 for one redirect: read a request head with hard size caps and parse it
//! with `httparse`, and write a small `Connection: close` response.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most a request line may take, CRLF included.
pub(crate) const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The most a whole request head (request line and headers) may take.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// After an error response, at most this much of what the client still sends is read and
/// discarded so that closing does not reset the connection before the client reads the answer.
const MAX_DRAIN: usize = 1024 * 1024;
/// How long that draining may last.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Headers a request may have; more is refused like an oversized head.
const MAX_HEADERS: usize = 64;

/// Why no usable request could be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The connection closed or failed before a complete head.
    Closed,
    /// The request line is longer than [`MAX_REQUEST_LINE`].
    LineTooLong,
    /// The head is longer than [`MAX_HEAD`], or has more than [`MAX_HEADERS`] headers.
    HeadTooLarge,
    /// Not an HTTP/1.x request with an origin-form target (`/path?query`).
    Malformed,
}

/// What the listener needs of a request: its method and target, split at the first `?`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
}

/// Read and parse a request head. Never buffers more than [`MAX_HEAD`] + 1 bytes; the caller
/// bounds the total time.
pub(crate) async fn read_request(stream: &mut TcpStream) -> Result<Request, HeadError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let room = (MAX_HEAD + 1 - buf.len()).min(chunk.len());
        let n = match stream.read(&mut chunk[..room]).await {
            Ok(0) | Err(_) => return Err(HeadError::Closed),
            Ok(n) => n,
        };
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(request) = parse(&buf, searched_from)? {
            return Ok(request);
        }
    }
}

/// Parse `buf` once its head is complete (`Ok(None)` while it is not), checking the size caps.
/// `httparse` only runs once the blank line ending the head is in `buf[searched_from..]`, so a
/// client sending one byte at a time costs a scan of the new bytes, not a parse of the whole
/// buffer each time.
fn parse(buf: &[u8], searched_from: usize) -> Result<Option<Request>, HeadError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) if i + 1 > MAX_REQUEST_LINE => return Err(HeadError::LineTooLong),
        None if buf.len() > MAX_REQUEST_LINE => return Err(HeadError::LineTooLong),
        _ => {}
    }
    let complete = buf[searched_from..].windows(2).any(|w| w == b"\n\n")
        || buf[searched_from..].windows(4).any(|w| w == b"\r\n\r\n");
    if !complete {
        return if buf.len() > MAX_HEAD {
            Err(HeadError::HeadTooLarge)
        } else {
            Ok(None)
        };
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(HeadError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::HeadTooLarge),
        Err(_) => return Err(HeadError::Malformed),
    }
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return Err(HeadError::Malformed);
    };
    if !target.starts_with('/') {
        return Err(HeadError::Malformed);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (target, None),
    };
    Ok(Some(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
    }))
}

/// A complete response with a body and `Connection: close`.
pub(crate) fn response(
    status: u16,
    reason: &str,
    content_type: &str,
    body: &str,
    extra_headers: &[(&str, &str)],
) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         Cache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// A plain-text response.
pub(crate) fn plain(status: u16, reason: &str, extra_headers: &[(&str, &str)]) -> Vec<u8> {
    response(
        status,
        reason,
        "text/plain; charset=utf-8",
        &format!("{status} {reason}\n"),
        extra_headers,
    )
}

/// Write `response` within `timeout`, end the sending side, then read and discard what the
/// client still sends (bounded) so the close does not turn into a reset that would destroy the
/// response before the client reads it.
pub(crate) async fn respond_and_close(mut stream: TcpStream, response: &[u8], timeout: Duration) {
    if write_response(&mut stream, response, timeout).await {
        linger(stream).await;
    }
}

/// Write `response` and end the sending side within `timeout`; whether that worked.
pub(crate) async fn write_response(
    stream: &mut TcpStream,
    response: &[u8],
    timeout: Duration,
) -> bool {
    let written = tokio::time::timeout(timeout, async {
        stream.write_all(response).await?;
        stream.shutdown().await
    })
    .await;
    matches!(written, Ok(Ok(())))
}

/// Read and discard what the client still sends, at most [`MAX_DRAIN`] bytes for at most
/// [`DRAIN_TIMEOUT`], then close.
pub(crate) async fn linger(mut stream: TcpStream) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < MAX_DRAIN {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

/// Escape text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(head: &[u8]) -> Result<Option<Request>, HeadError> {
        parse(head, 0)
    }

    #[test]
    fn requests() {
        assert_eq!(
            parse_all(b"GET /cb?code=a&state=b HTTP/1.1\r\nHost: x\r\n\r\n"),
            Ok(Some(Request {
                method: "GET".into(),
                path: "/cb".into(),
                query: Some("code=a&state=b".into())
            }))
        );
        assert_eq!(
            parse_all(b"GET /favicon.ico HTTP/1.1\n\n"),
            Ok(Some(Request {
                method: "GET".into(),
                path: "/favicon.ico".into(),
                query: None
            }))
        );
        assert_eq!(parse_all(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        assert_eq!(parse_all(b"GET / HTTP/1.1\r\n\r"), Ok(None));
        for bad in [
            &b"GET http://localhost/ HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"\xff / HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01 hello\r\n\r\n",
        ] {
            assert_eq!(parse_all(bad), Err(HeadError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn size_caps() {
        let line = [b'G'; MAX_REQUEST_LINE + 1];
        assert_eq!(parse_all(&line), Err(HeadError::LineTooLong));
        let long_line = format!("GET /?{} HTTP/1.1\r\n", "q".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse_all(long_line.as_bytes()), Err(HeadError::LineTooLong));
        let mut head = b"GET / HTTP/1.1\r\nX: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        assert_eq!(parse_all(&head), Err(HeadError::HeadTooLarge));
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(parse_all(many.as_bytes()), Err(HeadError::HeadTooLarge));
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn responses_close_the_connection() {
        let r = String::from_utf8(plain(404, "Not Found", &[])).unwrap();
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(r.contains("\r\nConnection: close\r\n"));
        assert!(r.contains("\r\nContent-Length: 14\r\n"));
        assert!(r.ends_with("\r\n\r\n404 Not Found\n"));
    }
}
