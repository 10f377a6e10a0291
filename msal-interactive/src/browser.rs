//! Sign-in in the user's system browser, with the redirect caught by a
//! [`LoopbackListener`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::loopback::{
    LoopbackListener, LoopbackPages, LoopbackRedirect, DEFAULT_CONNECTION_TIMEOUT,
};
use crate::web_ui::{AuthorizationResponse, AuthorizationSession, WebUi, WebUiError};

/// How long [`SystemBrowser`] waits for the redirect unless told otherwise.
pub const DEFAULT_BROWSER_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A user-supplied way to open the authorization URL (an `Err` is reported as
/// [`WebUiError::Unavailable`] with its text).
pub type UrlOpener = Arc<dyn Fn(&Url) -> Result<(), String> + Send + Sync>;

/// Told the authorization URL just before the browser is opened (see
/// [`SystemBrowser::with_url_notice`]).
pub type UrlNotice = Arc<dyn Fn(&Url) + Send + Sync>;

/// Interactive sign-in in the system browser, with a loopback listener for the redirect.
///
/// [`WebUi::start`] binds the listener (so the redirect URI, port included, is known before
/// the authorization URL is built); [`AuthorizationSession::complete`] opens the URL, with, in
/// this order:
///
/// 1. the opener set with [`with_opener`](SystemBrowser::with_opener);
/// 2. the command set with [`with_browser_command`](SystemBrowser::with_browser_command), else
///    the `BROWSER` environment variable: a list of commands separated by `:` (`;` on Windows),
///    tried in order until one starts; in each, `%s` is replaced by the URL (else the URL is
///    added as the last argument), `%c` by `:` and `%%` by `%`; arguments are split on
///    whitespace and no shell is involved. A command that exits with a failure status before
///    the redirect arrives makes the sign-in fail with [`WebUiError::Unavailable`];
/// 3. the platform's default browser (the `webbrowser` crate).
///
/// Failing to open the browser is [`WebUiError::Unavailable`], so that callers can fall back
/// to the device code flow (see also [`browser_available`]). The browser is opened while the
/// listener already waits, so a browser command that only returns when the browser exits (a
/// text browser) does not block the sign-in.
#[derive(Clone)]
pub struct SystemBrowser {
    redirect: LoopbackRedirect,
    timeout: Duration,
    connection_timeout: Duration,
    pages: LoopbackPages,
    opener: Option<UrlOpener>,
    browser_command: Option<String>,
    notice: Option<UrlNotice>,
}

impl fmt::Debug for SystemBrowser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemBrowser")
            .field("redirect", &self.redirect)
            .field("timeout", &self.timeout)
            .field("opener", &self.opener.as_ref().map(|_| "custom"))
            .field("browser_command", &self.browser_command)
            .field("notice", &self.notice.as_ref().map(|_| "set"))
            .finish_non_exhaustive()
    }
}

impl Default for SystemBrowser {
    fn default() -> Self {
        SystemBrowser::new()
    }
}

impl SystemBrowser {
    /// Redirect to `http://localhost` on a free port, time out after
    /// [`DEFAULT_BROWSER_TIMEOUT`], default pages, default browser.
    pub fn new() -> Self {
        SystemBrowser {
            redirect: LoopbackRedirect::default(),
            timeout: DEFAULT_BROWSER_TIMEOUT,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            pages: LoopbackPages::default(),
            opener: None,
            browser_command: None,
            notice: None,
        }
    }

    /// Listen on this loopback redirect (a fixed port, `127.0.0.1`, a path, ...).
    pub fn with_redirect(mut self, redirect: LoopbackRedirect) -> Self {
        self.redirect = redirect;
        self
    }

    /// Wait this long for the redirect.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Give each connection to the listener this long to send its request.
    pub fn with_connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Show these pages after the redirect.
    pub fn with_pages(mut self, pages: LoopbackPages) -> Self {
        self.pages = pages;
        self
    }

    /// Open the authorization URL with `opener` instead of a browser (a custom launcher, a
    /// test). It should return quickly; the listener is already bound when it is called.
    pub fn with_opener(mut self, opener: UrlOpener) -> Self {
        self.opener = Some(opener);
        self
    }

    /// Tell `notice` the authorization URL just before the browser is opened, e.g. to print
    /// `If no browser opens, go to: <url>` for a user whose browser does not come up (a
    /// remote session, a browser on another screen). Off by default: the library itself never
    /// prints the URL. The URL carries the request's `state` and PKCE challenge (never the
    /// verifier, never a token); it is only useful to the user signing in now.
    pub fn with_url_notice(mut self, notice: impl Fn(&Url) + Send + Sync + 'static) -> Self {
        self.notice = Some(Arc::new(notice));
        self
    }

    /// Open the authorization URL with this command line instead of `BROWSER` (same syntax).
    pub fn with_browser_command(mut self, command: impl Into<String>) -> Self {
        self.browser_command = Some(command.into());
        self
    }

    /// The configured loopback redirect (the port may be 0 until [`WebUi::start`] binds it).
    pub fn redirect(&self) -> &LoopbackRedirect {
        &self.redirect
    }

    /// How long the sign-in may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[async_trait::async_trait]
impl WebUi for SystemBrowser {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
        let listener = LoopbackListener::bind(self.redirect.clone())
            .await?
            .with_pages(self.pages.clone())
            .with_connection_timeout(self.connection_timeout);
        let redirect_uri = listener.redirect_uri().clone();
        Ok(Box::new(SystemBrowserSession {
            listener,
            redirect_uri,
            browser: self.clone(),
        }))
    }
}

/// A bound listener waiting for [`AuthorizationSession::complete`].
struct SystemBrowserSession {
    listener: LoopbackListener,
    redirect_uri: Url,
    browser: SystemBrowser,
}

type OpenFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

#[async_trait::async_trait]
impl AuthorizationSession for SystemBrowserSession {
    fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    async fn complete(
        self: Box<Self>,
        authorize_url: &Url,
        expected_state: &str,
    ) -> Result<AuthorizationResponse, WebUiError> {
        let SystemBrowserSession {
            listener, browser, ..
        } = *self;
        if let Some(notice) = &browser.notice {
            notice(authorize_url);
        }
        let open: OpenFuture = if let Some(opener) = &browser.opener {
            opener(authorize_url).map_err(WebUiError::Unavailable)?;
            Box::pin(async { Ok(()) })
        } else if let Some(command) = browser.browser_command.clone().or_else(|| {
            std::env::var("BROWSER")
                .ok()
                .filter(|b| !b.trim().is_empty())
        }) {
            open_with_commands(&command, authorize_url.as_str())?
        } else {
            let url = authorize_url.to_string();
            Box::pin(async move {
                match tokio::task::spawn_blocking(move || webbrowser::open(&url)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("could not open a browser: {e}")),
                    Err(e) => Err(format!("could not open a browser: {e}")),
                }
            })
        };
        tracing::debug!("opened the authorization URL, waiting for the redirect");
        let wait = listener.wait(expected_state, browser.timeout);
        tokio::pin!(wait);
        tokio::select! {
            biased;
            result = &mut wait => return result,
            opened = open => {
                if let Err(e) = opened {
                    return Err(WebUiError::Unavailable(e));
                }
            }
        }
        wait.await
    }
}

/// Start the first command of `list` that can be started, and return a future of its exit.
fn open_with_commands(list: &str, url: &str) -> Result<OpenFuture, WebUiError> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    let mut failures = Vec::new();
    for entry in list.split(separator).filter(|e| !e.trim().is_empty()) {
        let argv = command_line(entry, url);
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        // The command's output goes to our stderr, never our stdout: stdout belongs to the
        // application (a command-line tool prints its token there). A terminal still shows it.
        match tokio::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::from(std::io::stderr()))
            .spawn()
        {
            Ok(mut child) => {
                let program = program.clone();
                tracing::debug!(%program, "started the browser command");
                return Ok(Box::pin(async move {
                    match child.wait().await {
                        Ok(status) if status.success() => Ok(()),
                        Ok(status) => {
                            Err(format!("the browser command `{program}` failed ({status})"))
                        }
                        Err(e) => Err(format!("the browser command `{program}` failed: {e}")),
                    }
                }));
            }
            Err(e) => failures.push(format!("`{program}`: {e}")),
        }
    }
    Err(WebUiError::Unavailable(if failures.is_empty() {
        "the browser command is empty".into()
    } else {
        format!(
            "no browser command could be started ({})",
            failures.join("; ")
        )
    }))
}

/// Split one browser command on whitespace and expand `%s`, `%c` and `%%` in one pass (so the
/// URL itself is never scanned for field codes); append the URL if no `%s` was present.
fn command_line(entry: &str, url: &str) -> Vec<String> {
    let mut has_url = false;
    let mut argv: Vec<String> = entry
        .split_whitespace()
        .map(|arg| {
            let mut out = String::with_capacity(arg.len());
            let mut chars = arg.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('s') => {
                        out.push_str(url);
                        has_url = true;
                    }
                    Some('c') => out.push(':'),
                    Some('%') => out.push('%'),
                    Some(other) => {
                        out.push('%');
                        out.push(other);
                    }
                    None => out.push('%'),
                }
            }
            out
        })
        .collect();
    if !has_url && !argv.is_empty() {
        argv.push(url.to_owned());
    }
    argv
}

/// Whether a system browser can probably be shown, from the environment alone (nothing is
/// started). The facade uses it to go straight to the device code flow on headless machines.
///
/// The heuristic:
/// - `BROWSER` set (not blank): yes, the user said how;
/// - inside WSL (`WSL_DISTRO_NAME` or `WSL_INTEROP` set): yes, the Windows browser is used;
/// - a display (`DISPLAY` or `WAYLAND_DISPLAY`) set: yes;
/// - on Linux and other Unix systems except macOS, no display: no;
/// - in an SSH session (`SSH_CONNECTION` or `SSH_TTY`) without a display: no, a browser would
///   open on the remote machine's screen, if any;
/// - otherwise (macOS, Windows, local session): yes.
pub fn browser_available() -> bool {
    available(
        &|name| std::env::var_os(name).is_some_and(|v| !v.to_string_lossy().trim().is_empty()),
        cfg!(all(unix, not(target_os = "macos"))),
    )
}

fn available(is_set: &dyn Fn(&str) -> bool, needs_display: bool) -> bool {
    if is_set("BROWSER") || is_set("WSL_DISTRO_NAME") || is_set("WSL_INTEROP") {
        return true;
    }
    if is_set("DISPLAY") || is_set("WAYLAND_DISPLAY") {
        return true;
    }
    if needs_display {
        return false;
    }
    !(is_set("SSH_CONNECTION") || is_set("SSH_TTY"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |name| vars.contains(&name)
    }

    #[test]
    fn availability_heuristic() {
        // Linux-like: a display is needed unless BROWSER or WSL says otherwise.
        assert!(!available(&env(&[]), true));
        assert!(!available(&env(&["SSH_CONNECTION"]), true));
        assert!(available(&env(&["DISPLAY"]), true));
        assert!(available(&env(&["WAYLAND_DISPLAY", "SSH_TTY"]), true));
        assert!(available(&env(&["BROWSER"]), true));
        assert!(available(&env(&["BROWSER", "SSH_CONNECTION"]), true));
        assert!(available(&env(&["WSL_DISTRO_NAME"]), true));
        // macOS / Windows: yes unless over SSH without a display.
        assert!(available(&env(&[]), false));
        assert!(!available(&env(&["SSH_CONNECTION"]), false));
        assert!(!available(&env(&["SSH_TTY"]), false));
        assert!(available(&env(&["SSH_TTY", "DISPLAY"]), false));
    }

    #[test]
    fn browser_command_lines() {
        let url = "http://x/?a=1&b=%s";
        assert_eq!(command_line("firefox", url), vec!["firefox", url]);
        assert_eq!(
            command_line("  open  -a   Safari ", url),
            vec!["open", "-a", "Safari", url]
        );
        assert_eq!(
            command_line("b --url=%s%% %c", url),
            vec!["b".to_owned(), format!("--url={url}%"), ":".to_owned()]
        );
        assert_eq!(command_line("b %x %", url), vec!["b", "%x", "%", url]);
        assert!(command_line("   ", url).is_empty());
    }
}
