//! `msal login`: sign in and cache the account's tokens.

use crate::cli::{GlobalOptions, LoginArgs};
use crate::commands::{report_signed_in, sign_in, SignIn};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;

/// The scopes of a sign-in with no `--scope`: OpenID Connect only.
pub(super) const DEFAULT_LOGIN_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// Sign in; "Signed in as ..." on stderr, nothing on stdout.
pub(super) async fn run(global: &GlobalOptions, args: &LoginArgs) -> Result<(), CliError> {
    let cache = open_cache(global, KeyPolicy::Create)?;
    let app = build_app(global, &cache)?;
    let scopes: Vec<String> = if args.scope.is_empty() {
        DEFAULT_LOGIN_SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        args.scope.clone()
    };
    // Read the cache before any interaction: one that cannot be read (damaged, another key
    // or passphrase) fails here, before a browser or a device code asks anything of the user.
    app.accounts().await?;
    let result = sign_in(
        &app,
        global,
        &cache,
        SignIn {
            scopes: &scopes,
            device_code: args.device_code,
            login_hint: args.login_hint.as_deref(),
            claims: args.claims.as_deref(),
            prompt: args.prompt.map(Into::into),
            ssh_certificate: None,
        },
    )
    .await?;
    report_signed_in(&result);
    Ok(())
}
