//! `msal token`: an access token, silent-first.

use msal::{AuthenticationResult, Prompt};

use crate::cli::{GlobalOptions, TokenArgs};
use crate::commands::consent::{login_command, needs_sign_in};
use crate::commands::exec_credential;
use crate::commands::token_output::print_token;
use crate::commands::{choose_account, report_signed_in, sign_in, SignIn};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::{display_name, report_source};

/// Print a token for the scopes: the cached one, else a refreshed one, else one from a sign-in
/// (unless `--no-interaction`, which fails with exit code 3 instead).
pub(super) async fn run(global: &GlobalOptions, args: &TokenArgs) -> Result<(), CliError> {
    if args.managed_identity {
        return super::identity::managed_identity(global, args).await;
    }
    if args.workload_identity {
        return super::identity::workload_identity(global, args).await;
    }
    // kubectl says whether its user can answer a prompt.
    let no_interaction =
        args.no_interaction || (args.exec_credential && !exec_credential::interactive_allowed());
    let scopes = args.scopes();
    let want = Want {
        scopes: &scopes,
        account: args.account.as_deref(),
        no_interaction,
        device_code: args.device_code,
        force_refresh: args.force_refresh,
        claims: args.claims.as_deref(),
        prompt: args.prompt.map(Into::into),
    };
    let result = acquire(global, &want).await?;
    print_token(&result, args)
}

/// What a command wants a user token for.
#[derive(Default)]
pub(super) struct Want<'a> {
    /// The scopes.
    pub scopes: &'a [String],
    /// The account named on the command line [default: the profile's, else the only one].
    pub account: Option<&'a str>,
    /// Fail with exit code 3 rather than sign in.
    pub no_interaction: bool,
    /// Sign in with a device code.
    pub device_code: bool,
    /// Skip the cached access token.
    pub force_refresh: bool,
    /// A claims challenge to send.
    pub claims: Option<&'a str>,
    /// The browser sign-in's `prompt`.
    pub prompt: Option<Prompt>,
}

/// A user token: the cached one, else a refreshed one, else one from a sign-in (offered also
/// when the refresh token cannot cover the scopes: a scope that needs consent), unless
/// `no_interaction`, which fails with exit code 3 and the `msal login` command to run.
pub(super) async fn acquire(
    global: &GlobalOptions,
    want: &Want<'_>,
) -> Result<AuthenticationResult, CliError> {
    // Without interaction no token can be written unless a key exists already: create none.
    let policy = if want.no_interaction {
        KeyPolicy::Existing
    } else {
        KeyPolicy::Create
    };
    let cache = open_cache(global, policy)?;
    let app = build_app(global, &cache)?;
    let wanted = want.account.or(global.default_account.as_deref());
    let account = choose_account(&app, wanted).await?;

    let mut claims = want.claims.map(str::to_owned);
    let why = match &account {
        Some(account) => {
            let mut silent = app
                .acquire_token_silent(want.scopes, account)
                .force_refresh(want.force_refresh);
            if let Some(claims) = want.claims {
                silent = silent.claims(claims);
            }
            let silent = silent.await;
            crate::progress::clear();
            match silent {
                Ok(result) => {
                    if global.verbose {
                        report_source(&result);
                    }
                    return Ok(result);
                }
                Err(err) if needs_sign_in(&err) => {
                    if let Some(challenge) = err.claims() {
                        claims = Some(challenge.to_owned());
                    }
                    format!("{} needs to sign in again ({err})", display_name(account))
                }
                Err(err) => return Err(err.into()),
            }
        }
        None => match wanted {
            Some(wanted) => format!("{wanted} is not signed in"),
            None => "no account is signed in".to_owned(),
        },
    };
    let login_hint = match &account {
        Some(account) if !account.username.is_empty() => Some(account.username.as_str()),
        Some(_) => None,
        None => wanted,
    };
    if want.no_interaction {
        let command = login_command(global, want.scopes, want.device_code, login_hint);
        return Err(CliError::InteractionRequired(format!(
            "{why}; interaction is required but not allowed here (--no-interaction): run \
             `{command}`"
        )));
    }
    eprintln!("msal: {why}");
    let result = sign_in(
        &app,
        global,
        &cache,
        SignIn {
            scopes: want.scopes,
            device_code: want.device_code,
            login_hint,
            claims: claims.as_deref(),
            prompt: want.prompt,
            ssh_certificate: None,
        },
    )
    .await?;
    report_signed_in(&result);
    report_source(&result);
    Ok(result)
}
