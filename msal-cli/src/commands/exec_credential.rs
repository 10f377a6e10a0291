//! `msal token --exec-credential`: kubectl's `exec` credential plugin protocol.
//!
//! kubectl runs the plugin with `KUBERNETES_EXEC_INFO` (an ExecCredential whose
//! `spec.interactive` says whether its user can answer a prompt) and reads an ExecCredential
//! with `status.token` and `status.expirationTimestamp` (RFC 3339) from its stdout; prompts go
//! to stderr, which kubectl shows. The answer's `apiVersion` is the one kubectl sent, else
//! `client.authentication.k8s.io/v1`.

use msal::AuthenticationResult;
use serde_json::{json, Value};

use crate::error::CliError;
use crate::output::{print_json, rfc3339_utc, unix_seconds};

/// The ExecCredential API version answered when kubectl names none.
const API_VERSION: &str = "client.authentication.k8s.io/v1";
/// The versions whose shape this answer has.
const KNOWN_VERSIONS: [&str; 2] = [API_VERSION, "client.authentication.k8s.io/v1beta1"];

/// What kubectl sent in `KUBERNETES_EXEC_INFO`, if it is valid JSON.
fn exec_info() -> Option<Value> {
    let text = std::env::var("KUBERNETES_EXEC_INFO").ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether a sign-in may be started: not when kubectl says `spec.interactive: false` (its
/// stdin is not a terminal the user can answer on).
pub(crate) fn interactive_allowed() -> bool {
    exec_info()
        .and_then(|info| info.pointer("/spec/interactive").and_then(Value::as_bool))
        .unwrap_or(true)
}

/// The ExecCredential for a token.
pub(crate) fn exec_credential_json(result: &AuthenticationResult, api_version: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "spec": {},
        "status": {
            "token": result.access_token(),
            "expirationTimestamp": rfc3339_utc(unix_seconds(result.expires_on())),
        }
    })
}

/// Print the ExecCredential on stdout.
pub(crate) fn print(result: &AuthenticationResult) -> Result<(), CliError> {
    let asked = exec_info().and_then(|info| {
        info.get("apiVersion")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let version = match asked.as_deref() {
        Some(v) if KNOWN_VERSIONS.contains(&v) => v,
        _ => API_VERSION,
    };
    print_json(&exec_credential_json(result, version))
}
