//! The end-to-end harness shared by `e2e_oidc.rs`, `e2e_confidential.rs` and `e2e_pop.rs`: the
//! loopback identity provider (`e2e/provider/provider.mjs`), the headless-Chromium helper
//! (`e2e/provider/browser.mjs`), a request-counting transport and a JWT payload decoder. Needs
//! `scripts/e2e-provider.sh setup`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use msal::http::{HttpClient, HttpError, ReqwestHttpClient};
use msal_tests::process::{output_within, run_ok, Supervised};

/// One browser and one provider at a time: this machine has two cores.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e/provider")
}

/// How long the provider may take to print its READY line (node starting oidc-provider takes
/// about a second on this machine; the bound is for a machine under load).
const PROVIDER_READY_WITHIN: Duration = Duration::from_secs(60);
/// How long one headless-Chromium sign-in may take in all (browser.mjs bounds itself at 30 s).
const BROWSER_WITHIN: Duration = Duration::from_secs(90);

/// A provider process on a free loopback port, killed on drop.
pub(crate) struct Provider {
    child: Supervised,
    pub issuer: String,
}

impl Provider {
    /// Start the provider and wait (bounded) for its READY line. A provider that does not start
    /// is started once more (a start that stalled was seen twice in 40 runs on a machine at load
    /// 10, after oidc-provider's first notice); a second failure fails the test with what both
    /// attempts wrote on stderr.
    pub(crate) fn start(env: &[(&str, &str)]) -> Provider {
        match Provider::try_start(env, PROVIDER_READY_WITHIN) {
            Ok(provider) => provider,
            Err(first) => {
                eprintln!("the end-to-end provider did not start; trying once more:\n{first}");
                Provider::try_start(env, PROVIDER_READY_WITHIN)
                    .unwrap_or_else(|e| panic!("{e}\n(the first attempt: {first})"))
            }
        }
    }

    /// [`Provider::start`] with another bound on the wait for READY, and no second attempt.
    pub(crate) fn start_within(env: &[(&str, &str)], ready_within: Duration) -> Provider {
        Provider::try_start(env, ready_within).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_start(env: &[(&str, &str)], ready_within: Duration) -> Result<Provider, String> {
        let dir = e2e_dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists()
                && PathBuf::from("/usr/bin/chromium").exists(),
            "the end-to-end provider is not installed: run scripts/e2e-provider.sh setup"
        );
        let mut command = Command::new("node");
        command
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .envs(env.iter().copied());
        let mut child = Supervised::spawn(command, "the end-to-end provider (node provider.mjs)");
        let line = child.read_line(ready_within).map_err(|e| e.to_string())?;
        match line.trim().strip_prefix("READY ") {
            Some(issuer) => Ok(Provider {
                issuer: issuer.to_owned(),
                child,
            }),
            None => Err(format!(
                "the provider printed {line:?} instead of READY; its stderr:\n{}",
                child.stderr()
            )),
        }
    }

    /// What the provider wrote on stderr so far (for a test's failure message).
    pub(crate) fn stderr(&self) -> String {
        self.child.stderr()
    }
}

/// A `SystemBrowser` command line that completes the sign-in with browser.mjs.
pub(crate) fn browser_command(extra: &str) -> String {
    format!(
        "node {} %s {extra}",
        e2e_dir().join("browser.mjs").display()
    )
}

/// Complete a sign-in at `authorize_url` in headless Chromium and return the URL the provider
/// redirected the browser to (the app's redirect URI with `code` and `state`), whether or not
/// anything listens there.
pub(crate) fn sign_in_in_browser(authorize_url: &str) -> String {
    let mut command = Command::new("node");
    command
        .arg(e2e_dir().join("browser.mjs"))
        .arg(authorize_url);
    let output = output_within(command, "headless Chromium (browser.mjs)", BROWSER_WITHIN);
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix("DONE ")) {
        Some(redirect) => redirect.trim().to_owned(),
        None => panic!(
            "the browser sign-in failed: {stdout}\n--- its stderr ---\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// Complete a device-code sign-in at `verification_uri` with `user_code` in headless Chromium
/// (bounded); panics with the browser's stderr when it fails.
pub(crate) fn complete_device_code_in_browser(verification_uri: &str, user_code: &str) {
    let mut command = Command::new("node");
    command
        .arg(e2e_dir().join("browser.mjs"))
        .arg(verification_uri)
        .args(["--user-code", user_code]);
    run_ok(
        command,
        "headless Chromium (browser.mjs --user-code)",
        BROWSER_WITHIN,
    );
}

/// The real HTTP transport, counting the requests that reach the provider.
#[derive(Clone, Default)]
pub(crate) struct Counting {
    inner: ReqwestHttpClient,
    requests: Arc<AtomicUsize>,
}

impl Counting {
    pub(crate) fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl HttpClient for Counting {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request).await
    }
}

/// The payload of a JWT (or any compact JWS with a JSON payload), unverified.
pub(crate) fn jwt_claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
