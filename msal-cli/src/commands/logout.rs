//! `msal logout`: remove an account's tokens for this client.

use crate::cli::{GlobalOptions, LogoutArgs};
use crate::commands::{find_account, names};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::display_name;

/// Sign out the account given, every account (`--all`), or the only one signed in. Signing out
/// when nobody is signed in succeeds; an unknown `--account` is an error.
pub(super) async fn run(global: &GlobalOptions, args: &LogoutArgs) -> Result<(), CliError> {
    let cache = open_cache(global, KeyPolicy::Existing)?;
    let app = build_app(global, &cache)?;
    let accounts = app.accounts().await?;
    let chosen = match &args.account {
        Some(wanted) => match find_account(&accounts, wanted) {
            Some(account) => vec![account.clone()],
            None => {
                return Err(CliError::Other(format!(
                    "{wanted} is not signed in{}",
                    if accounts.is_empty() {
                        String::new()
                    } else {
                        format!(" (signed in: {})", names(&accounts))
                    }
                )))
            }
        },
        None if args.all || accounts.len() <= 1 => accounts,
        None => {
            return Err(CliError::Other(format!(
                "several accounts are signed in ({}): choose one with --account, or --all",
                names(&accounts)
            )))
        }
    };
    if chosen.is_empty() {
        eprintln!("msal: no account is signed in");
    }
    for account in &chosen {
        app.remove_account(account).await?;
        eprintln!("Signed out {}", display_name(account));
    }
    Ok(())
}
