//! Formatting results: JSON (camelCase, like `az`) and text.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use msal::{Account, AuthenticationResult, TokenSource};
use serde_json::{json, Value};

/// `--output`: how `msal token` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// A JSON object (az's fields and more).
    Json,
    /// The JSON object's top-level values on one line, tab-separated (as `az -o tsv`).
    Tsv,
    /// Nothing: sign in or warm the cache only.
    None,
}

/// `--prompt`: the `prompt` of a browser sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PromptArg {
    /// Let the user pick an account.
    SelectAccount,
    /// Ask for credentials even if the user is signed in.
    Login,
    /// Ask for consent again.
    Consent,
    /// Show the sign-up page (Entra External ID).
    Create,
    /// No prompt at all: fails unless signed in and consented.
    None,
}

impl From<PromptArg> for msal::Prompt {
    fn from(p: PromptArg) -> Self {
        match p {
            PromptArg::SelectAccount => msal::Prompt::SelectAccount,
            PromptArg::Login => msal::Prompt::Login,
            PromptArg::Consent => msal::Prompt::Consent,
            PromptArg::Create => msal::Prompt::Create,
            PromptArg::None => msal::Prompt::NoPrompt,
        }
    }
}

/// The local UTC offset, read once at start-up ([`init_local_offset`]).
static LOCAL_OFFSET: OnceLock<time::UtcOffset> = OnceLock::new();

/// Read the local time zone's offset. Called first thing in `main`, while the process has one
/// thread: the `time` crate refuses to read it later (reading the zone races with `setenv`).
pub(crate) fn init_local_offset() {
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

/// `secs` since the Unix epoch in local time, as az prints `expiresOn`:
/// `2024-05-01 14:00:00.000000` (no zone; UTC when the local zone is unknown).
pub(crate) fn az_local_time(secs: u64) -> String {
    let offset = LOCAL_OFFSET.get().copied().unwrap_or(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
    );
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.to_offset(offset).format(&format).ok())
        .unwrap_or_default()
}

/// A string, or null when empty (JSON output never says "" for "unknown").
pub(crate) fn or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

/// Seconds since the Unix epoch (0 before it).
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, in Unix seconds.
pub(crate) fn now_unix() -> u64 {
    unix_seconds(SystemTime::now())
}

/// `secs` since the Unix epoch as RFC 3339 in UTC, e.g. `2024-05-01T12:00:00Z`.
pub(crate) fn rfc3339_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A duration in words: `42 s`, `54 min`, `5 h`, `3 days`.
fn span(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 120 * 60 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// An expiry relative to `now`: `expires in 54 min` or `expired 3 min ago`.
pub(crate) fn relative_expiry(expires_on: u64, now: u64) -> String {
    if expires_on > now {
        format!("expires in {}", span(expires_on - now))
    } else {
        format!("expired {} ago", span(now - expires_on))
    }
}

/// The `source` field of `msal token --json`.
pub(crate) fn source_name(source: TokenSource) -> &'static str {
    match source {
        TokenSource::Cache => "cache",
        _ => "identity_provider",
    }
}

/// An account in `msal token --json`.
fn token_account_json(account: &Account) -> Value {
    json!({
        "username": or_null(&account.username),
        "homeAccountId": or_null(&account.home_account_id),
        "tenantId": or_null(&account.tenant_id),
    })
}

/// `msal token --json`: az's `account get-access-token` fields first, in its order
/// (`accessToken`, `expiresOn` in local time, `expires_on`, `tenant`, `tokenType`; az's
/// `subscription` has no meaning here), then msal's own.
pub(crate) fn token_json(result: &AuthenticationResult) -> Value {
    let expires = unix_seconds(result.expires_on());
    let tenant = result
        .tenant_id()
        .or(result.account().map(|a| a.tenant_id.as_str()))
        .unwrap_or_default();
    json!({
        "accessToken": result.access_token(),
        "expiresOn": az_local_time(expires),
        "expires_on": expires,
        "tenant": or_null(tenant),
        "tokenType": result.token_type(),
        "expiresOnUtc": rfc3339_utc(expires),
        "expiresOnUnix": expires,
        "scopes": result.scopes(),
        "account": result.account().map(token_account_json),
        "source": source_name(result.source()),
        "acquisition": acquisition_name(result.acquisition()),
    })
}

/// The top-level scalar values of a JSON object on one tab-separated line, as `az -o tsv`
/// prints them (null as an empty field; nested values left out).
pub(crate) fn tsv_line(value: &Value) -> String {
    value
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(|v| match v {
            Value::Null => Some(String::new()),
            Value::String(s) => Some(s.replace(['\t', '\n'], " ")),
            Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
            Value::Array(_) | Value::Object(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\t")
}

/// The `acquisition` field of `msal token --json`: tells a refresh from a sign-in.
pub(crate) fn acquisition_name(acquisition: msal::Acquisition) -> &'static str {
    match acquisition {
        msal::Acquisition::Cache => "cache",
        msal::Acquisition::Refresh => "refresh",
        msal::Acquisition::SignIn => "sign_in",
        _ => "token_request",
    }
}

/// An account in `msal accounts --json`.
pub(crate) fn account_json(account: &Account) -> Value {
    json!({
        "username": or_null(&account.username),
        "homeAccountId": or_null(&account.home_account_id),
        "environment": or_null(&account.environment),
        "tenantId": or_null(&account.tenant_id),
    })
}

/// An account in `msal accounts`: username, home account id, environment, tab-separated.
pub(crate) fn account_line(account: &Account) -> String {
    format!(
        "{}\t{}\t{}",
        display_name(account),
        account.home_account_id,
        account.environment
    )
}

/// The username, or the home account id when the provider sent no username.
pub(crate) fn display_name(account: &Account) -> &str {
    if account.username.is_empty() {
        &account.home_account_id
    } else {
        &account.username
    }
}

/// Write `text` and a newline to stdout (an error, e.g. a closed pipe, is reported, not a panic).
pub(crate) fn print_stdout(text: &str) -> Result<(), crate::error::CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|err| crate::error::CliError::Other(format!("cannot write to stdout: {err}")))
}

/// Where the token came from, on stderr.
pub(crate) fn report_source(result: &AuthenticationResult) {
    let from = match result.source() {
        TokenSource::Cache => "the token cache".to_owned(),
        _ => format!("the identity provider ({})", result.acquisition()),
    };
    let expiry = relative_expiry(unix_seconds(result.expires_on()), now_unix());
    match &result.account() {
        Some(account) => eprintln!(
            "msal: token for {} from {from} ({expiry})",
            display_name(account)
        ),
        None => eprintln!("msal: token from {from} ({expiry})"),
    }
}

/// Print a token result: the access token alone, or its JSON.
pub(crate) fn print_result(
    result: &AuthenticationResult,
    json: bool,
) -> Result<(), crate::error::CliError> {
    if json {
        print_json(&token_json(result))
    } else {
        print_stdout(result.access_token())
    }
}

/// Print a token result in an `--output` format (`None`: the access token alone).
pub(crate) fn print_result_as(
    result: &AuthenticationResult,
    format: Option<OutputFormat>,
) -> Result<(), crate::error::CliError> {
    match format {
        None => print_result(result, false),
        Some(OutputFormat::Json) => print_result(result, true),
        Some(OutputFormat::Tsv) => print_stdout(&tsv_line(&token_json(result))),
        Some(OutputFormat::None) => Ok(()),
    }
}

/// Print a JSON value, pretty, on stdout.
pub(crate) fn print_json(value: &Value) -> Result<(), crate::error::CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| crate::error::CliError::Other(format!("cannot format the result: {err}")))?;
    print_stdout(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn az_times_have_az_shape() {
        // Before init_local_offset, or where the zone is unknown: UTC.
        assert_eq!(az_local_time(1_700_000_000).len(), 26);
        assert!(az_local_time(1_700_000_000).ends_with(":13:20.000000"));
    }

    #[test]
    fn tsv_takes_top_level_values_in_order() {
        let v = json!({"a": "x\ty", "n": 3, "z": null, "nested": {"b": 1}, "t": "end"});
        assert_eq!(tsv_line(&v), "x y\t3\t\tend");
    }

    #[test]
    fn empty_strings_become_null() {
        assert_eq!(or_null(""), Value::Null);
        assert_eq!(or_null("a"), json!("a"));
    }

    #[test]
    fn relative_expiries() {
        assert_eq!(
            relative_expiry(1000 + 54 * 60 + 5, 1000),
            "expires in 54 min"
        );
        assert_eq!(relative_expiry(1000, 1000 + 180), "expired 3 min ago");
        assert_eq!(relative_expiry(1030, 1000), "expires in 30 s");
        assert_eq!(relative_expiry(1000 + 5 * 3600, 1000), "expires in 5 h");
        assert_eq!(
            relative_expiry(1000, 1000 + 3 * 86_400),
            "expired 3 days ago"
        );
    }
}
