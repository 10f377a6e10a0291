//! Just enough HTTP/1.1 for one redirect: read a request head with hard size caps, and write a
//! small `Connection: close` response.

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

/// Why no usable request head could be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The connection closed or failed before a complete head.
    Closed,
    /// The request line is longer than [`MAX_REQUEST_LINE`].
    LineTooLong,
    /// The head is longer than [`MAX_HEAD`].
    HeadTooLarge,
}

/// Read a request head, up to and excluding the blank line that ends it. Never buffers more
/// than [`MAX_HEAD`] + 1 bytes.
pub(crate) async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let room = (MAX_HEAD + 1 - buf.len()).min(chunk.len());
        let n = match stream.read(&mut chunk[..room]).await {
            Ok(0) | Err(_) => return Err(HeadError::Closed),
            Ok(n) => n,
        };
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        let line_end = buf.iter().position(|&b| b == b'\n');
        match line_end {
            Some(i) if i + 1 > MAX_REQUEST_LINE => return Err(HeadError::LineTooLong),
            None if buf.len() > MAX_REQUEST_LINE => return Err(HeadError::LineTooLong),
            _ => {}
        }
        if let Some(end) = find_head_end(&buf[searched_from..]) {
            buf.truncate(searched_from + end);
            return Ok(buf);
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::HeadTooLarge);
        }
    }
}

/// Where the blank line ending a head starts (`\r\n\r\n`, or the `\n\n` some clients send).
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len())
        .find(|&i| bytes[i..].starts_with(b"\r\n\r\n") || bytes[i..].starts_with(b"\n\n"))
}

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestLine<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
}

/// Parse the first line of `head`: `METHOD SP origin-form-target SP HTTP/1.x`.
pub(crate) fn parse_request_line(head: &[u8]) -> Option<RequestLine<'_>> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !version.starts_with("HTTP/1.")
    {
        return None;
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    Some(RequestLine {
        method,
        path,
        query,
    })
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

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line(b"GET /cb?code=a&state=b HTTP/1.1\r\nHost: x"),
            Some(RequestLine {
                method: "GET",
                path: "/cb",
                query: Some("code=a&state=b")
            })
        );
        assert_eq!(
            parse_request_line(b"GET /favicon.ico HTTP/1.1"),
            Some(RequestLine {
                method: "GET",
                path: "/favicon.ico",
                query: None
            })
        );
        for bad in [
            &b"GET http://localhost/ HTTP/1.1"[..],
            b"GET / HTTP/2",
            b"GET  / HTTP/1.1",
            b"get / HTTP/1.1",
            b"GET /",
            b"GET / HTTP/1.1 extra",
            b"\xff / HTTP/1.1",
            b"",
        ] {
            assert_eq!(parse_request_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn head_end_and_escaping() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"),
            Some(20)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
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
