//! The loopback redirect listener (RFC 8252 §7.3): a one-shot HTTP server on a loopback
//! address that receives the authorization response.
//!
//! - [`LoopbackListener::bind`] listens on a loopback address only (never `0.0.0.0`);
//!   anything else is refused with [`WebUiError::NotLoopback`].
//! - [`LoopbackListener::wait`] accepts every connection at once and reads each in a task of
//!   its own, with one deadline for its whole request head (the connection timeout) and hard
//!   size caps (8 KiB request line, 16 KiB head, parsed with `httparse`); at most 1,024
//!   connections are open at once, a new one closing the oldest. So neither a silent, a slow
//!   (drip-feeding) nor an oversized client, nor hundreds of them, can hold the real redirect
//!   up or exhaust memory. Requests for other paths (a browser's `/favicon.ico`) get a 404 and
//!   the wait goes on.
//! - A `GET` of the redirect path with a query is parsed with
//!   [`AuthorizationResponse::from_redirect_query`] (constant-time `state` check). Only one
//!   with our `state` ends the wait: a code, or the provider's error (`access_denied`, ...);
//!   it is answered with the success or failure page and the listener is closed. One with a
//!   foreign or missing `state` gets the failure page (400) and the wait goes on, so a local
//!   process that guesses the port cannot end the user's sign-in. If the deadline passes and
//!   such requests came (and no right one), the wait ends with [`WebUiError::StateMismatch`]
//!   rather than [`WebUiError::TimedOut`], so the caller learns that a forged or tampered
//!   redirect arrived.
//! - `wait` consumes the listener: dropping its future (for example in a `select!`) closes the
//!   socket at once; [`LoopbackListener::wait_with_cancel`] also takes a cancellation future.
//!
//! The response mode must be `query` (the default for the code flow): a fragment never reaches
//! the server and `form_post` bodies are not read.

mod http;
mod serve;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;
use url::Url;

use crate::web_ui::{AuthorizationResponse, WebUiError};

/// How long one connection may take to send its whole request head, by default.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The host part of a loopback redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoopbackHost {
    /// `http://localhost:{port}`, listening on `127.0.0.1` (Entra's recommended registration
    /// for desktop apps is `http://localhost`, any port).
    Localhost,
    /// `http://{ip}:{port}` (`127.0.0.1`, `[::1]`), listening on that address, which must be a
    /// loopback address.
    Ip(IpAddr),
}

/// Where the loopback listener listens and what redirect URI it answers to: a host, a port (`0`
/// for a free port chosen by the system) and a path (`/` by default).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoopbackRedirect {
    host: LoopbackHost,
    port: u16,
    path: String,
}

impl Default for LoopbackRedirect {
    /// `http://localhost` on a free port.
    fn default() -> Self {
        LoopbackRedirect::localhost(0)
    }
}

impl LoopbackRedirect {
    /// `http://localhost:{port}`, listening on `127.0.0.1`; `port` 0 picks a free port.
    pub fn localhost(port: u16) -> Self {
        LoopbackRedirect {
            host: LoopbackHost::Localhost,
            port,
            path: "/".into(),
        }
    }

    /// `http://127.0.0.1:{port}`; `port` 0 picks a free port.
    pub fn ipv4(port: u16) -> Self {
        LoopbackRedirect::ip(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    /// `http://[::1]:{port}`; `port` 0 picks a free port.
    pub fn ipv6(port: u16) -> Self {
        LoopbackRedirect::ip(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
    }

    /// `http://{ip}:{port}`. [`LoopbackListener::bind`] refuses an `ip` that is not a loopback
    /// address with [`WebUiError::NotLoopback`].
    pub fn ip(ip: IpAddr, port: u16) -> Self {
        LoopbackRedirect {
            host: LoopbackHost::Ip(ip),
            port,
            path: "/".into(),
        }
    }

    /// The same with a path, e.g. `/callback` (it must start with `/` and have no query or
    /// fragment; [`LoopbackListener::bind`] refuses it otherwise).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Read a registered redirect URI such as `http://localhost`, `http://localhost:8400/cb` or
    /// `http://127.0.0.1:0`. Without a port, a free port is picked (Entra ignores the port of
    /// loopback redirect URIs). Refuses other schemes, user info, queries and fragments
    /// ([`WebUiError::InvalidRedirectUri`]) and non-loopback hosts
    /// ([`WebUiError::NotLoopback`]).
    pub fn from_uri(uri: &Url) -> Result<Self, WebUiError> {
        let invalid = |why: &str| WebUiError::InvalidRedirectUri(format!("{uri}: {why}"));
        if uri.scheme() != "http" {
            return Err(invalid("the scheme must be http"));
        }
        if !uri.username().is_empty() || uri.password().is_some() {
            return Err(invalid("user info is not allowed"));
        }
        if uri.query().is_some() || uri.fragment().is_some() {
            return Err(invalid("a query or fragment is not allowed"));
        }
        let host = match uri.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                LoopbackHost::Localhost
            }
            Some(url::Host::Ipv4(ip)) => LoopbackHost::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => LoopbackHost::Ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) => return Err(WebUiError::NotLoopback(d.to_owned())),
            None => return Err(invalid("no host")),
        };
        if let LoopbackHost::Ip(ip) = host {
            if !ip.is_loopback() {
                return Err(WebUiError::NotLoopback(ip.to_string()));
            }
        }
        Ok(LoopbackRedirect {
            host,
            port: uri.port().unwrap_or(0),
            path: uri.path().to_owned(),
        })
    }

    /// The host.
    pub fn host(&self) -> LoopbackHost {
        self.host
    }

    /// The port (`0`: a free port is picked when binding).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn bind_ip(&self) -> Result<IpAddr, WebUiError> {
        match self.host {
            LoopbackHost::Localhost => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            LoopbackHost::Ip(ip) if ip.is_loopback() => Ok(ip),
            LoopbackHost::Ip(ip) => Err(WebUiError::NotLoopback(ip.to_string())),
        }
    }

    /// The redirect URI once the port is known.
    fn uri(&self, port: u16) -> Result<Url, WebUiError> {
        let invalid = |why: &str| WebUiError::InvalidRedirectUri(format!("{:?}: {why}", self.path));
        if !self.path.starts_with('/') {
            return Err(invalid("the path must start with /"));
        }
        if self.path.contains(['?', '#']) || self.path.chars().any(char::is_control) {
            return Err(invalid(
                "the path must not have a query, fragment or control character",
            ));
        }
        let host = match self.host {
            LoopbackHost::Localhost => "localhost".to_owned(),
            LoopbackHost::Ip(IpAddr::V4(ip)) => ip.to_string(),
            LoopbackHost::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
        };
        Url::parse(&format!("http://{host}:{port}{}", self.path))
            .map_err(|e| invalid(&e.to_string()))
    }
}

/// The pages shown in the browser once the redirect arrived.
///
/// `failure_html` may contain `{error}`, replaced by the HTML-escaped reason (never the code;
/// the text of the provider's `error_description` is escaped, so it cannot inject markup).
/// Pages are sent with `Content-Security-Policy` from
/// [`content_security_policy`](LoopbackPages::content_security_policy) when it is set: the
/// default one allows no script, and only inline styles and `data:`/`https:` images.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackPages {
    /// Shown after a successful redirect.
    pub success_html: String,
    /// Shown after a failed one; `{error}` is replaced by the escaped reason.
    pub failure_html: String,
    /// The `Content-Security-Policy` header sent with both pages, if any.
    pub content_security_policy: Option<String>,
}

/// The `Content-Security-Policy` of the pages unless changed.
pub const DEFAULT_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;\
margin:3rem auto;max-width:36rem;padding:0 1rem;line-height:1.5;color:#1b1b1b;background:#fff}\
@media (prefers-color-scheme:dark){body{color:#eee;background:#1b1b1b}}h1{font-size:1.5rem}";

impl Default for LoopbackPages {
    fn default() -> Self {
        LoopbackPages {
            success_html: format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Sign-in complete</title><style>{STYLE}</style></head>\
<body><main><h1>Sign-in complete</h1>\
<p>You can close this window and return to the application.</p></main></body></html>\n"
            ),
            failure_html: format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Sign-in failed</title><style>{STYLE}</style></head>\
<body><main><h1>Sign-in failed</h1><p role=\"alert\">{{error}}</p>\
<p>You can close this window and return to the application.</p></main></body></html>\n"
            ),
            content_security_policy: Some(DEFAULT_CONTENT_SECURITY_POLICY.to_owned()),
        }
    }
}

impl LoopbackPages {
    /// Custom pages, served with the default content security policy (set
    /// [`content_security_policy`](LoopbackPages::content_security_policy) to change it).
    pub fn new(success_html: impl Into<String>, failure_html: impl Into<String>) -> Self {
        LoopbackPages {
            success_html: success_html.into(),
            failure_html: failure_html.into(),
            ..LoopbackPages::default()
        }
    }

    /// The failure page for `reason`, escaped.
    pub fn render_failure(&self, reason: &str) -> String {
        self.failure_html
            .replace("{error}", &http::escape_html(reason))
    }
}

/// A bound loopback listener waiting for one authorization response.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    local_addr: SocketAddr,
    redirect_uri: Url,
    pages: LoopbackPages,
    connection_timeout: Duration,
}

impl LoopbackListener {
    /// Listen on the loopback address of `redirect`. Refuses non-loopback addresses
    /// ([`WebUiError::NotLoopback`]) and bad paths ([`WebUiError::InvalidRedirectUri`]); a port
    /// in use is [`WebUiError::Io`] with `AddrInUse`. Must be called within a Tokio runtime.
    pub async fn bind(redirect: LoopbackRedirect) -> Result<LoopbackListener, WebUiError> {
        let ip = redirect.bind_ip()?;
        redirect.uri(redirect.port)?; // validate the path before binding
        let listener = TcpListener::bind(SocketAddr::new(ip, redirect.port))
            .await
            .map_err(|e| WebUiError::io(&format!("binding {ip}:{}", redirect.port), &e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| WebUiError::io("reading the bound address", &e))?;
        if !local_addr.ip().is_loopback() {
            return Err(WebUiError::NotLoopback(local_addr.to_string()));
        }
        let redirect_uri = redirect.uri(local_addr.port())?;
        tracing::debug!(%redirect_uri, "loopback redirect listener bound");
        Ok(LoopbackListener {
            listener,
            local_addr,
            redirect_uri,
            pages: LoopbackPages::default(),
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
        })
    }

    /// Serve these pages instead of the default ones.
    pub fn with_pages(mut self, pages: LoopbackPages) -> Self {
        self.pages = pages;
        self
    }

    /// How long one connection may take to send its whole request head (default
    /// [`DEFAULT_CONNECTION_TIMEOUT`]); a slower one is closed without ending the wait.
    pub fn with_connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// The address listened on (always a loopback address).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The redirect URI to send in the authorization request, e.g. `http://localhost:53127/`
    /// (`Url` writes an empty path as `/`).
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Wait up to `timeout` for the redirect with `expected_state` and return the authorization
    /// response ([`WebUiError::TimedOut`] when nothing came, [`WebUiError::StateMismatch`] when
    /// only redirects with another `state` came). Consumes the listener: it is closed when
    /// this returns, or as soon as the future is dropped.
    pub async fn wait(
        self,
        expected_state: &str,
        timeout: Duration,
    ) -> Result<AuthorizationResponse, WebUiError> {
        self.wait_with_cancel(expected_state, timeout, std::future::pending::<()>())
            .await
    }

    /// [`wait`](LoopbackListener::wait), ending with [`WebUiError::Cancelled`] as soon as
    /// `cancel` completes (e.g. a `oneshot::Receiver`, a `CancellationToken::cancelled()`).
    pub async fn wait_with_cancel<C>(
        self,
        expected_state: &str,
        timeout: Duration,
        cancel: C,
    ) -> Result<AuthorizationResponse, WebUiError>
    where
        C: Future,
    {
        let LoopbackListener {
            listener,
            redirect_uri,
            pages,
            connection_timeout,
            ..
        } = self;
        let deadline = Instant::now().checked_add(timeout);
        let foreign_state_page = html_page(
            &pages,
            400,
            "Bad Request",
            &pages.render_failure(&WebUiError::StateMismatch.to_string()),
        );
        let context = serve::Context {
            path: redirect_uri.path().to_owned(),
            expected_state: expected_state.to_owned(),
            foreign_state_page,
            connection_timeout,
        };
        let serve = serve::serve_until_redirect(&listener, context, deadline);
        let redirect = tokio::select! {
            biased;
            _ = cancel => {
                tracing::debug!("loopback redirect wait cancelled");
                return Err(WebUiError::Cancelled);
            }
            redirect = serve => redirect?,
        };
        // One request only: close the listener before anything else.
        drop(listener);
        let result = redirect.result;
        let page = match &result {
            Ok(_) => {
                tracing::debug!("authorization response received");
                html_page(&pages, 200, "OK", &pages.success_html)
            }
            Err(e @ WebUiError::Provider { .. }) => {
                tracing::debug!(error = %e, "the identity provider returned an error");
                html_page(&pages, 200, "OK", &pages.render_failure(&e.to_string()))
            }
            Err(e) => {
                tracing::warn!(error = %e, "refused a redirect to the loopback listener");
                html_page(
                    &pages,
                    400,
                    "Bad Request",
                    &pages.render_failure(&e.to_string()),
                )
            }
        };
        // Answer here (a small page, bounded by the connection timeout), so the browser gets it
        // even if the runtime stops right after; only the lingering close runs on its own.
        let mut stream = redirect.stream;
        if http::write_response(&mut stream, &page, connection_timeout).await {
            tokio::spawn(http::linger(stream));
        }
        result
    }
}

fn html_page(pages: &LoopbackPages, status: u16, reason: &str, html: &str) -> Vec<u8> {
    let csp = pages.content_security_policy.as_deref();
    let extra: Vec<(&str, &str)> = csp
        .map(|c| ("Content-Security-Policy", c))
        .into_iter()
        .collect();
    http::response(status, reason, "text/html; charset=utf-8", html, &extra)
}
