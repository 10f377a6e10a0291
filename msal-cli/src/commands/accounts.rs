//! `msal accounts`: the signed-in accounts, from the cache.

use crate::cli::{AccountsArgs, GlobalOptions};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::{account_json, account_line, print_stdout};

/// List the accounts this client can get tokens for silently (no network): one per line
/// (username, home account id, environment; tab-separated) or a JSON array.
pub(super) async fn run(global: &GlobalOptions, args: &AccountsArgs) -> Result<(), CliError> {
    let cache = open_cache(global, KeyPolicy::Existing)?;
    let app = build_app(global, &cache)?;
    let accounts = app.accounts().await?;
    if args.json {
        let list: Vec<_> = accounts.iter().map(account_json).collect();
        let text = serde_json::to_string_pretty(&list)
            .map_err(|err| CliError::Other(format!("cannot format the result: {err}")))?;
        return print_stdout(&text);
    }
    if accounts.is_empty() {
        eprintln!("msal: no account is signed in (run `msal login`)");
    }
    for account in &accounts {
        print_stdout(&account_line(account))?;
    }
    Ok(())
}
