//! The end-to-end harness shared by `e2e_oidc.rs` and `e2e_confidential.rs`: the loopback
//! identity provider (`e2e/provider/provider.mjs`) and the headless-Chromium helper
//! (`e2e/provider/browser.mjs`). Needs `scripts/e2e-provider.sh setup`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// One browser and one provider at a time: this machine has two cores.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e/provider")
}

/// A provider process on a free loopback port, stopped on drop.
pub struct Provider {
    child: Child,
    pub issuer: String,
}

impl Provider {
    pub fn start(env: &[(&str, &str)]) -> Provider {
        let dir = e2e_dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists()
                && PathBuf::from("/usr/bin/chromium").exists(),
            "the end-to-end provider is not installed: run scripts/e2e-provider.sh setup"
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let issuer = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .to_owned();
        Provider { child, issuer }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `SystemBrowser` command line that completes the sign-in with browser.mjs.
pub fn browser_command(extra: &str) -> String {
    format!(
        "node {} %s {extra}",
        e2e_dir().join("browser.mjs").display()
    )
}

/// Complete a sign-in at `authorize_url` in headless Chromium and return the URL the provider
/// redirected the browser to (the app's redirect URI with `code` and `state`), whether or not
/// anything listens there.
pub fn sign_in_in_browser(authorize_url: &str) -> String {
    let output = Command::new("node")
        .arg(e2e_dir().join("browser.mjs"))
        .arg(authorize_url)
        .stderr(Stdio::inherit())
        .output()
        .expect("node runs browser.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("DONE "))
        .unwrap_or_else(|| panic!("the browser sign-in failed: {stdout}"))
        .trim()
        .to_owned()
}
