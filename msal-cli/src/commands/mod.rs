//! The subcommands, and what they share: picking an account and signing in.

mod accounts;
mod completion;
mod consent;
mod exec_credential;
mod git_credential;
mod id_token;
mod identity;
mod inspect;
mod login;
mod logout;
mod reset;
mod ssh_cert;
mod status;
mod token;
mod token_output;

use msal::{
    Account, AuthenticationResult, DeviceCodeInfo, Prompt, PublicClientApplication,
    SshCertificateRequest, WebUiError,
};

use crate::cli::{CacheCommand, Cli, Command, GlobalOptions};
use crate::config::{CacheKind, KeySource, OpenedCache};
use crate::error::CliError;
use crate::output::display_name;

/// Run a parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<(), CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Login(args) => login::run(global, args).await,
        Command::Token(args) => token::run(global, args).await,
        Command::Accounts(args) => accounts::run(global, args).await,
        Command::Logout(args) => logout::run(global, args).await,
        Command::Cache(CacheCommand::Inspect(args)) => inspect::run(global, args).await,
        Command::Cache(CacheCommand::Reset) => reset::run(global).await,
        Command::IdToken(args) => id_token::run(global, args).await,
        Command::Status(args) => status::run(global, args).await,
        Command::Completion(args) => completion::run(args),
        Command::GitCredential(args) => git_credential::run(global, args).await,
        Command::SshCert(args) => ssh_cert::run(global, args).await,
    }
}

/// The cached account `wanted` names, by username or home account id (case-insensitive).
pub(crate) fn find_account<'a>(accounts: &'a [Account], wanted: &str) -> Option<&'a Account> {
    accounts
        .iter()
        .find(|a| a.home_account_id.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            accounts
                .iter()
                .find(|a| !a.username.is_empty() && a.username.eq_ignore_ascii_case(wanted))
        })
}

/// The account to use: the one named (by `--account` or the profile), else the only one.
pub(crate) async fn choose_account(
    app: &PublicClientApplication,
    wanted: Option<&str>,
) -> Result<Option<Account>, CliError> {
    let accounts = app.accounts().await?;
    match wanted {
        Some(wanted) => Ok(find_account(&accounts, wanted).cloned()),
        None if accounts.len() > 1 => Err(CliError::Other(format!(
            "several accounts are signed in ({}): choose one with --account",
            names(&accounts)
        ))),
        None => Ok(accounts.into_iter().next()),
    }
}

/// The names of some accounts, for messages.
pub(crate) fn names(accounts: &[Account]) -> String {
    accounts
        .iter()
        .map(display_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How to sign in.
#[derive(Default)]
pub(crate) struct SignIn<'a> {
    /// The scopes to sign in for.
    pub scopes: &'a [String],
    /// Use a device code even if a browser could be shown.
    pub device_code: bool,
    /// Pre-fill the sign-in name (browser only).
    pub login_hint: Option<&'a str>,
    /// A claims challenge from a failed silent attempt.
    pub claims: Option<&'a str>,
    /// The browser sign-in's `prompt` (`--prompt`).
    pub prompt: Option<Prompt>,
    /// Ask the sign-in for an SSH certificate for this key instead of an access token.
    pub ssh_certificate: Option<SshCertificateRequest>,
}

/// Sign in: the system browser when one can be shown, else (or when opening it fails) the
/// device code flow, its code shown on stderr. Ctrl-C ends it with [`CliError::Cancelled`]
/// (exit code 130), leaving no key file this run made for a cache it never wrote.
pub(crate) async fn sign_in(
    app: &PublicClientApplication,
    global: &GlobalOptions,
    cache: &OpenedCache,
    how: SignIn<'_>,
) -> Result<AuthenticationResult, CliError> {
    let outcome = tokio::select! {
        outcome = interact(app, global, how) => outcome,
        Ok(()) = tokio::signal::ctrl_c() => Err(CliError::Cancelled),
    };
    crate::progress::clear();
    if matches!(outcome, Err(CliError::Cancelled)) {
        forget_new_key(cache);
    }
    outcome
}

/// After a cancelled sign-in: the key file this run created, when no cache was written with
/// it (so nothing can need it).
fn forget_new_key(cache: &OpenedCache) {
    if let CacheKind::Encrypted(KeySource::KeyFile {
        path,
        created: true,
    }) = &cache.kind
    {
        if !cache.path.exists() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The sign-in itself (see [`sign_in`]).
async fn interact(
    app: &PublicClientApplication,
    global: &GlobalOptions,
    how: SignIn<'_>,
) -> Result<AuthenticationResult, CliError> {
    let browser = !(how.device_code || global.no_browser) && msal_interactive::browser_available();
    if browser {
        eprintln!("msal: opening the browser to sign in...");
        let mut request = app.acquire_token_interactive(how.scopes);
        if let Some(hint) = how.login_hint {
            request = request.login_hint(hint);
        }
        if let Some(claims) = how.claims {
            request = request.claims(claims);
        }
        if let Some(prompt) = how.prompt {
            request = request.prompt(prompt);
        }
        if let Some(ssh) = &how.ssh_certificate {
            request = request.ssh_certificate(ssh.clone());
        }
        match request.await {
            Err(msal::Error::Interaction(WebUiError::Unavailable(reason))) => {
                eprintln!("msal: the browser could not be opened ({reason}); using a device code");
            }
            other => return Ok(other?),
        }
    } else if global.verbose {
        eprintln!("msal: signing in with a device code");
    }
    let mut request = app.acquire_token_with_device_code(how.scopes, show_device_code);
    if let Some(claims) = how.claims {
        request = request.claims(claims);
    }
    if let Some(ssh) = how.ssh_certificate {
        request = request.ssh_certificate(ssh);
    }
    Ok(request.await?)
}

/// The device code prompt, on stderr.
fn show_device_code(info: &DeviceCodeInfo) {
    match &info.message {
        Some(message) if message.contains(&info.user_code) => eprintln!("{message}"),
        _ => eprintln!(
            "To sign in, open {} in a browser and enter the code {}",
            info.verification_uri, info.user_code
        ),
    }
    if let Some(complete) = &info.verification_uri_complete {
        eprintln!("(or open {complete})");
    }
    crate::progress::device_code_countdown(info.expires_in);
}

/// The "signed in" line on stderr.
pub(crate) fn report_signed_in(result: &AuthenticationResult) {
    match &result.account() {
        Some(account) => eprintln!("Signed in as {}", display_name(account)),
        None => eprintln!("Signed in"),
    }
}
