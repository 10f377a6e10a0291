//! The arguments of the tool commands: `id-token`, `status`, `completion`, `git-credential`,
//! `ssh-cert` (kept here, not beside their commands, so the command line's definition
//! imports nothing from the commands that read it).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use super::values::parse_scope;

/// `msal id-token`.
#[derive(Debug, Args)]
pub(crate) struct IdTokenArgs {
    /// The account, by username or home account id [default: the profile's, else the only
    /// signed-in account].
    #[arg(long, short, value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// Renew an expired ID token with the refresh token, through a silent request for this
    /// scope (repeatable) [default: renew by signing in again].
    #[arg(long, short, value_name = "SCOPE", value_parser = parse_scope)]
    pub scope: Vec<String>,

    /// Print a JSON object: idToken, expiresOn (local time), expires_on, and the claims that
    /// name the user (iss, sub, tid, preferred_username, name, email; null when absent).
    #[arg(long)]
    pub json: bool,

    /// Never sign in: fail with exit code 3 when no ID token can be had silently.
    #[arg(long)]
    pub no_interaction: bool,

    /// When a sign-in is needed, use a device code instead of a browser.
    #[arg(long)]
    pub device_code: bool,
}

/// `msal status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print a JSON object (clientId, authority, profile, cache, cacheKind, signedIn,
    /// accounts) instead of lines of text.
    #[arg(long)]
    pub json: bool,
}

/// `msal completion`.
#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. Load it with e.g.
    /// `source <(msal completion bash)`, `msal completion zsh > "${fpath[1]}/_msal"` or
    /// `msal completion fish > ~/.config/fish/completions/msal.fish`.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Azure DevOps' resource, the default scope of the helper's tokens.
pub(crate) const AZURE_DEVOPS_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";

/// `msal git-credential`.
#[derive(Debug, Args)]
pub(crate) struct GitCredentialArgs {
    /// git's action (git appends it to the helper's command line).
    #[arg(value_enum)]
    pub action: GitAction,

    /// The scope of the token given as the password (repeatable) [default: Azure DevOps,
    /// 499b84ac-1321-427f-aa17-267ca6975798/.default].
    #[arg(long, short, value_name = "SCOPE", value_parser = parse_scope)]
    pub scope: Vec<String>,

    /// The account, by username or home account id [default: the profile's, else the only
    /// signed-in account].
    #[arg(long, short, value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// Never sign in: answer nothing and fail with exit code 3 when no token can be had
    /// silently (git then asks its other helpers or the user).
    #[arg(long)]
    pub no_interaction: bool,

    /// When a sign-in is needed, use a device code instead of a browser.
    #[arg(long)]
    pub device_code: bool,
}

/// git's credential helper actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GitAction {
    /// Answer a credential.
    Get,
    /// git stores a credential that worked (ignored).
    Store,
    /// git erases a credential that was refused (ignored).
    Erase,
}

/// The scope Entra issues SSH certificates for (Azure's Linux VM sign-in).
const SSH_SCOPE: &str = "https://pas.windows.net/CheckMyAccess/Linux/.default";

/// `msal ssh-cert`.
#[derive(Debug, Args)]
pub(crate) struct SshCertArgs {
    /// The OpenSSH RSA public key to certify, e.g. ~/.ssh/id_rsa.pub.
    #[arg(long, value_name = "PATH")]
    pub public_key: PathBuf,

    /// Where to write the certificate [default: beside the key, named as ssh looks for it:
    /// id_rsa.pub -> id_rsa-cert.pub].
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// The scope the certificate is for (repeatable).
    #[arg(long, short, value_name = "SCOPE", default_value = SSH_SCOPE)]
    pub scope: Vec<String>,

    /// The account, by username or home account id [default: the only signed-in account].
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// The id the certificate is cached under [default: the key's RFC 7638 thumbprint].
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,

    /// Never sign in: fail with exit code 3 when the certificate cannot be had silently.
    #[arg(long)]
    pub no_interaction: bool,

    /// When a sign-in is needed, use a device code instead of a browser.
    #[arg(long)]
    pub device_code: bool,
}
