//! `msal status`: who is signed in, to what, and where the tokens are kept (no network).

use serde_json::json;

use crate::cli::{GlobalOptions, StatusArgs};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::{account_json, display_name, or_null, print_json, print_stdout};

/// Print the status; exit code 1 when nobody is signed in (after printing it), so that
/// `msal status >/dev/null || msal login` works.
pub(crate) async fn run(global: &GlobalOptions, args: &StatusArgs) -> Result<(), CliError> {
    let cache = open_cache(global, KeyPolicy::Existing)?;
    let app = build_app(global, &cache)?;
    let accounts = app.accounts().await?;
    let authority = app.authority().canonical_url();
    if args.json {
        print_json(&json!({
            "clientId": app.client_id(),
            "authority": authority,
            "profile": or_null(global.profile.as_deref().unwrap_or_default()),
            "cache": cache.path.display().to_string(),
            "cacheKind": cache.kind.to_string(),
            "signedIn": !accounts.is_empty(),
            "accounts": accounts.iter().map(account_json).collect::<Vec<_>>(),
        }))?;
    } else {
        let mut lines = vec![
            format!("client:    {}", app.client_id()),
            format!("authority: {authority}"),
        ];
        if let Some(profile) = &global.profile {
            lines.push(format!("profile:   {profile}"));
        }
        lines.push(format!(
            "cache:     {} ({})",
            cache.path.display(),
            cache.kind
        ));
        if accounts.is_empty() {
            lines.push("signed in: nobody".into());
        }
        for account in &accounts {
            lines.push(format!(
                "signed in: {} (home account id {})",
                display_name(account),
                account.home_account_id
            ));
        }
        print_stdout(&lines.join("\n"))?;
    }
    if accounts.is_empty() {
        return Err(CliError::Other(
            "nobody is signed in (run `msal login`)".into(),
        ));
    }
    Ok(())
}
