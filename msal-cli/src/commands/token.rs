//! `msal token`: an access token, silent-first.

use crate::cli::{GlobalOptions, TokenArgs};
use crate::commands::{find_account, names, report_signed_in, sign_in, SignIn};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::{display_name, print_result, report_source};

/// Print a token for the scopes: the cached one, else a refreshed one, else one from a sign-in
/// (unless `--no-interaction`, which fails with exit code 3 instead).
pub(super) async fn run(global: &GlobalOptions, args: &TokenArgs) -> Result<(), CliError> {
    if args.managed_identity {
        return super::identity::managed_identity(global, args).await;
    }
    if args.workload_identity {
        return super::identity::workload_identity(global, args).await;
    }
    // Without interaction no token can be written unless a key exists already: create none.
    let policy = if args.no_interaction {
        KeyPolicy::Existing
    } else {
        KeyPolicy::Create
    };
    let cache = open_cache(global, policy)?;
    let app = build_app(global, &cache)?;
    let accounts = app.accounts().await?;
    let account = match &args.account {
        Some(wanted) => find_account(&accounts, wanted).cloned(),
        None if accounts.len() > 1 => {
            return Err(CliError::Other(format!(
                "several accounts are signed in ({}): choose one with --account",
                names(&accounts)
            )))
        }
        None => accounts.into_iter().next(),
    };

    let mut claims = None;
    let why = match &account {
        Some(account) => {
            let silent = app
                .acquire_token_silent(&args.scope, account)
                .force_refresh(args.force_refresh)
                .await;
            match silent {
                Ok(result) => {
                    if global.verbose {
                        report_source(&result);
                    }
                    return print_result(&result, args.json);
                }
                Err(err) if err.is_ui_required() => {
                    claims = err.claims().map(str::to_owned);
                    format!("{} needs to sign in again ({err})", display_name(account))
                }
                Err(err) => return Err(err.into()),
            }
        }
        None => match &args.account {
            Some(wanted) => format!("{wanted} is not signed in"),
            None => "no account is signed in".to_owned(),
        },
    };
    if args.no_interaction {
        return Err(CliError::InteractionRequired(format!(
            "{why}; interaction is required but --no-interaction was given (run `msal login`)"
        )));
    }
    eprintln!("msal: {why}");
    let login_hint = match &account {
        Some(account) if !account.username.is_empty() => Some(account.username.as_str()),
        Some(_) => None,
        None => args.account.as_deref(),
    };
    let result = sign_in(
        &app,
        global,
        SignIn {
            scopes: &args.scope,
            device_code: args.device_code,
            login_hint,
            claims: claims.as_deref(),
        },
    )
    .await?;
    report_signed_in(&result);
    report_source(&result);
    print_result(&result, args.json)
}
