//! The command line: options, subcommands and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod args;
mod tool_args;
mod values;

pub(crate) use args::{AccountsArgs, InspectArgs, LoginArgs, LogoutArgs, TokenArgs};
pub(crate) use tool_args::{
    CompletionArgs, GitAction, GitCredentialArgs, IdTokenArgs, SshCertArgs, StatusArgs,
    AZURE_DEVOPS_SCOPE,
};
use values::parse_tenant;

/// Sign in to Microsoft Entra ID (or any OpenID Connect provider) and get access tokens.
///
/// Silent-first: tokens come from the token cache when they can, then from the cached refresh
/// token, and only then from a sign-in (system browser, or a device code where no browser can
/// be shown). Results go to stdout, progress and prompts to stderr.
///
/// Exit codes: 0 success, 1 error (`status`: nobody is signed in), 2 usage, 3 interaction
/// required but not allowed (token --no-interaction; the message names the command to run),
/// 130 sign-in cancelled (Ctrl-C).
#[derive(Debug, Parser)]
#[command(
    name = "msal",
    version,
    propagate_version = true,
    after_long_help = "\
The token cache is encrypted by default. Its key: MSAL_CACHE_PASSPHRASE (Argon2id; on Linux the
derived key is kept in the session keyring for MSAL_CACHE_KEY_TIMEOUT seconds, default 600, 0 for
never) if set, else
the key file {cache}.key if it exists, else the OS keyring (when built with the `keyring`
feature), else a new random key file {cache}.key (mode 0600). A key file makes a copied or
backed-up cache file useless on its own; it does not protect against the same OS user.
--plaintext-cache keeps MSAL's unified JSON instead, shared with MSAL Python, .NET and Node.
A cache or key file other users may read or write gets a warning naming the chmod that fixes it
(--strict-permissions refuses it); one owned by another user is refused.

On a terminal, stderr shows a spinner while the identity provider is asked (and retried) and
the device code's remaining time; elsewhere only plain lines: errors naming the request and its
URL, the URL of a browser sign-in, and a warning when a nearly expired token is used because the
identity provider is unreachable."
)]
pub(crate) struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command (each also read from an environment variable).
#[derive(Debug, Args)]
pub(crate) struct GlobalOptions {
    /// The application (client) id registered with the identity provider [required by every
    /// command but `cache inspect`].
    #[arg(long, env = "MSAL_CLIENT_ID", global = true, value_name = "ID")]
    pub client_id: Option<String>,

    /// An Entra ID authority (https://login.microsoftonline.com/<tenant>, B2C, CIAM, ADFS)
    /// [default: https://login.microsoftonline.com/organizations].
    #[arg(long, env = "MSAL_AUTHORITY", global = true, value_name = "URL")]
    pub authority: Option<String>,

    /// Any OpenID Connect provider, by issuer URL (endpoints from its discovery document).
    #[arg(
        long,
        env = "MSAL_OIDC_AUTHORITY",
        global = true,
        value_name = "ISSUER",
        conflicts_with = "authority"
    )]
    pub oidc_authority: Option<String>,

    /// The token cache file [default: {user cache dir}/msal-rs/msal_token_cache.bin, or
    /// msal_token_cache.json with --plaintext-cache].
    #[arg(long, env = "MSAL_CACHE", global = true, value_name = "PATH")]
    pub cache: Option<PathBuf>,

    /// Keep the cache as plain unified-schema JSON (mode 0600) instead of encrypting it, e.g.
    /// to share it with MSAL Python, .NET or Node.
    #[arg(long, global = true)]
    pub plaintext_cache: bool,

    /// Never keep the encrypted cache's key in the OS keyring (builds with the `keyring`
    /// feature): use MSAL_CACHE_PASSPHRASE or a key file. Nor the key derived from
    /// MSAL_CACHE_PASSPHRASE in the session keyring: derive it on every run.
    #[arg(
        long,
        env = "MSAL_NO_KEYRING",
        global = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_keyring: bool,

    /// Refuse (exit 1) a token cache or key file that other users may read or write, instead
    /// of warning about it (Unix). A file owned by another user is always refused.
    #[arg(
        long,
        env = "MSAL_STRICT_PERMISSIONS",
        global = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub strict_permissions: bool,

    /// Never open a browser: sign in with a device code.
    #[arg(long, global = true)]
    pub no_browser: bool,

    /// Sign in to (and get tokens from) this tenant, by id or domain: replaces the tenant of
    /// the Entra ID authority (--authority, or the default's `organizations`).
    #[arg(long, env = "MSAL_TENANT", global = true, value_name = "TENANT", value_parser = parse_tenant)]
    pub tenant: Option<String>,

    /// Take defaults from this profile of the config file (see --config) [default: the file's
    /// `default_profile`, if any]. Command-line options win over the profile, the profile over
    /// environment variables.
    #[arg(long, env = "MSAL_PROFILE", global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// The config file with named profiles [default: {user config dir}/msal-rs/config.toml].
    #[arg(long, env = "MSAL_CONFIG", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The default account of the chosen profile (set from the config file, not an option).
    #[arg(skip)]
    pub default_account: Option<String>,

    /// Debug logs of the msal crates on stderr (no tokens, no personal data), and where the
    /// cache key and each token come from.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sign in (system browser, or a device code) and cache the account's tokens.
    Login(LoginArgs),
    /// Print an access token for the given scopes: from the cache, else refreshed, else after a
    /// sign-in.
    Token(TokenArgs),
    /// List the accounts signed in to this client (from the cache; no network).
    Accounts(AccountsArgs),
    /// Sign an account out: remove its tokens for this client from the cache.
    Logout(LogoutArgs),
    /// Look into the token cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print the ID token of the signed-in account (cached, else refreshed or signed in
    /// again), e.g. `msal id-token --account alice@contoso.com`.
    IdToken(IdTokenArgs),
    /// Who is signed in, to which client and authority, and where the cache is; exits 1 when
    /// nobody is signed in (no network), e.g. `msal status || msal login`.
    Status(StatusArgs),
    /// Print a shell completion script, e.g. `msal completion bash > ~/.local/share/bash-completion/completions/msal`.
    Completion(CompletionArgs),
    /// Act as a git credential helper (`get`, `store`, `erase` on git's stdin/stdout): the
    /// password is an access token, e.g. for Azure DevOps:
    /// `git config --global credential.https://dev.azure.com.helper "!msal git-credential"`.
    GitCredential(GitCredentialArgs),
    /// Write an OpenSSH certificate for a public key, signed by the identity provider for the
    /// signed-in account: from the cache, else through the refresh token, else after a sign-in
    /// that asks for the certificate (unless --no-interaction).
    SshCert(SshCertArgs),
}

/// `msal cache ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// Summarize the cache: its kind, entry counts, and per account its realms, access tokens
    /// (scopes and expiry) and whether a refresh token is held. Never prints a token or key.
    /// Needs no client id.
    Inspect(InspectArgs),
    /// Start over with an empty cache: move the cache file aside to {cache}.corrupt-{UTC time}
    /// (never deleted; the new path is printed), e.g. when it can no longer be read or
    /// decrypted. Needs no client id, key or passphrase; the key file is kept.
    Reset,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
