//! What the user sees on stderr while msal waits: the facade's [`Event`]s (a request, a retry, a
//! failure, a nearly-expired token served) turned into a spinner, a device-code countdown and
//! warnings.
//!
//! Only when stderr is a terminal is anything animated: a spinner while a request is out
//! ("requesting a token from login.example.com…", "retrying in 1s (attempt 2 of 2)…") and
//! the device code's remaining time. Otherwise (a pipe, a file, a test) there is no spinner
//! output at all, and retries are plain lines with `--verbose` only. Warnings (a stale token
//! served) are plain lines either way. The last request that got no answer is kept, so the
//! error can name its step and URL ([`explain`]).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use msal::events::{Event, RequestStep};

/// The process's progress state (a command line runs one command).
static STATE: Mutex<State> = Mutex::new(State {
    terminal: false,
    verbose: false,
    bar: None,
    waiting_for_user: false,
    failed: None,
});

struct State {
    /// Whether stderr is a terminal (decided once, by [`init`]).
    terminal: bool,
    /// `--verbose`: retries are told as plain lines when stderr is not a terminal.
    verbose: bool,
    /// The spinner or countdown on screen, if any.
    bar: Option<ProgressBar>,
    /// The device code is shown: the countdown stays up through the polls.
    waiting_for_user: bool,
    /// The last request that got no answer: its step, URL and the transport's message.
    failed: Option<(RequestStep, String, String)>,
}

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Decide once whether stderr is a terminal.
pub(crate) fn init(verbose: bool) {
    let mut state = state();
    state.terminal = std::io::stderr().is_terminal();
    state.verbose = verbose;
}

/// The facade's observer (`on_event`): never prints a token (events carry none).
pub(crate) fn observe(event: &Event) {
    let mut state = state();
    match event {
        Event::Requesting { step, url } if state.terminal && !state.waiting_for_user => {
            let message = requesting(*step, url);
            spinner(&mut state).set_message(message);
        }
        Event::Retrying {
            step,
            url,
            attempt,
            attempts,
            delay,
            ..
        } => {
            let retrying = format!(
                "retrying in {}s (attempt {attempt} of {attempts})…",
                delay.as_secs_f32().ceil()
            );
            if state.terminal && !state.waiting_for_user {
                let message = format!("{} did not answer; {retrying}", host(url));
                spinner(&mut state).set_message(message);
            } else if state.verbose {
                print_line(&state, &format!("msal: {step} to {url} failed; {retrying}"));
            }
        }
        Event::RequestFailed { step, url, error } => {
            state.failed = Some((*step, url.clone(), error.clone()));
        }
        Event::StaleTokenServed {
            expires_on,
            refresh_still_running,
            ..
        } => {
            let why = if *refresh_still_running {
                "the identity provider has not answered yet"
            } else {
                "the identity provider is unreachable"
            };
            let line = format!(
                "msal: warning: {why}; using a token that expires in {}",
                remaining(*expires_on)
            );
            print_line(&state, &line);
        }
        _ => {}
    }
}

/// What the spinner says while `step` goes to `url`.
fn requesting(step: RequestStep, url: &str) -> String {
    let host = host(url);
    match step {
        RequestStep::Token => format!("requesting a token from {host}…"),
        RequestStep::DeviceCode => format!("asking {host} for a device code…"),
        RequestStep::Discovery => format!("reading the provider's configuration from {host}…"),
        _ => format!("contacting {host}…"),
    }
}

/// The host (and port) of a URL.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// The spinner on screen, started if need be (stderr is a terminal).
fn spinner(state: &mut State) -> &ProgressBar {
    state.bar.get_or_insert_with(|| {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    })
}

/// A line on stderr, above the spinner when there is one.
fn print_line(state: &State, line: &str) {
    match &state.bar {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

/// The browser is about to be opened at `url`: say where to go should it not come up (a plain
/// line, terminal or not; the URL holds no secret, only the request's state and PKCE
/// challenge).
pub(crate) fn browser_url(url: &str) {
    print_line(&state(), &format!("If no browser opens, go to: {url}"));
}

/// The device code is on screen: on a terminal, count its remaining time down until the
/// sign-in ends ([`clear`]).
pub(crate) fn device_code_countdown(expires_in: Duration) {
    let mut state = state();
    state.waiting_for_user = true;
    if !state.terminal {
        return;
    }
    if let Some(bar) = state.bar.take() {
        bar.finish_and_clear();
    }
    let deadline = Instant::now() + expires_in;
    let style = ProgressStyle::with_template("{spinner} {msg} (the code expires in {remaining})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "remaining",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                let _ = write!(w, "{}:{:02}", left / 60, left % 60);
            },
        );
    let bar = ProgressBar::new_spinner()
        .with_style(style)
        .with_message("waiting for you to sign in…");
    bar.enable_steady_tick(Duration::from_millis(200));
    state.bar = Some(bar);
}

/// Take the spinner or countdown off the screen (before a result, an error, or a line of
/// output that should stay).
pub(crate) fn clear() {
    let mut state = state();
    state.waiting_for_user = false;
    if let Some(bar) = state.bar.take() {
        bar.finish_and_clear();
    }
}

/// The failure of `err` told with its step and URL, when it is a request that got no answer
/// (e.g. "token request to http://127.0.0.1:8400/token: connection refused").
pub(crate) fn explain(err: &msal::Error) -> Option<String> {
    if !matches!(err, msal::Error::Http(_)) {
        return None;
    }
    let state = state();
    let (step, url, error) = state.failed.as_ref()?;
    Some(format!("{step} to {url}: {}", short_reason(error)))
}

/// The transport's innermost reason ("Connection refused (os error 111)" at the end of
/// reqwest's chain becomes "connection refused").
fn short_reason(error: &str) -> String {
    let last = error.rsplit(": ").next().unwrap_or(error).trim();
    let last = match last.find(" (os error") {
        Some(at) => &last[..at],
        None => last,
    };
    let mut chars = last.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => last.to_owned(),
    }
}

/// "3 min", "45 s": how long until `expires_on`.
fn remaining(expires_on: SystemTime) -> String {
    let secs = expires_on
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_secs();
    if secs >= 60 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_innermost_cause() {
        assert_eq!(
            short_reason("could not connect to the server: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(
            short_reason("the request timed out"),
            "the request timed out"
        );
        assert_eq!(short_reason("TLS: X509 bad"), "X509 bad");
    }

    #[test]
    fn the_spinner_names_the_host() {
        assert_eq!(
            requesting(
                RequestStep::Token,
                "https://login.example.com/t/oauth2/v2.0/token"
            ),
            "requesting a token from login.example.com…"
        );
    }

    #[test]
    fn remaining_time_in_minutes_or_seconds() {
        let now = SystemTime::now();
        assert_eq!(remaining(now + Duration::from_secs(190)), "3 min");
        assert!(remaining(now + Duration::from_secs(30)).ends_with(" s"));
        assert_eq!(remaining(now - Duration::from_secs(5)), "0 s");
    }
}
