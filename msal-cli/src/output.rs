//! Formatting results: JSON (camelCase, like `az`) and text.

use std::time::{SystemTime, UNIX_EPOCH};

use msal::{Account, AuthenticationResult, TokenSource};
use serde_json::{json, Value};

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
        "username": account.username,
        "homeAccountId": account.home_account_id,
        "tenantId": account.tenant_id,
    })
}

/// `msal token --json`.
pub(crate) fn token_json(result: &AuthenticationResult) -> Value {
    let expires = unix_seconds(result.expires_on());
    json!({
        "accessToken": result.access_token(),
        "expiresOn": rfc3339_utc(expires),
        "expiresOnUnix": expires,
        "tokenType": result.token_type(),
        "scopes": result.scopes(),
        "account": result.account().map(token_account_json),
        "source": source_name(result.source()),
        "acquisition": acquisition_name(result.acquisition()),
    })
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
        "username": account.username,
        "homeAccountId": account.home_account_id,
        "environment": account.environment,
        "tenantId": account.tenant_id,
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

pub(crate) fn print_result(
    result: &AuthenticationResult,
    json: bool,
) -> Result<(), crate::error::CliError> {
    if json {
        let text = serde_json::to_string_pretty(&token_json(result)).map_err(|err| {
            crate::error::CliError::Other(format!("cannot format the result: {err}"))
        })?;
        print_stdout(&text)
    } else {
        print_stdout(result.access_token())
    }
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
