//! The command line: options, subcommands and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::completion::CompletionArgs;
use crate::commands::git_credential::GitCredentialArgs;
use crate::commands::id_token::IdTokenArgs;
use crate::commands::status::StatusArgs;
use crate::output::{OutputFormat, PromptArg};

/// Sign in to Microsoft Entra ID (or any OpenID Connect provider) and get access tokens.
///
/// Silent-first: tokens come from the token cache when they can, then from the cached refresh
/// token, and only then from a sign-in (system browser, or a device code where no browser can
/// be shown). Results go to stdout, progress and prompts to stderr.
///
/// Exit codes: 0 success, 1 error (`status`: nobody is signed in), 2 usage, 3 interaction
/// required but not allowed (token --no-interaction; the message names the command to run).
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
--plaintext-cache keeps MSAL's unified JSON instead, shared with MSAL Python, .NET and Node."
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
    /// signed-in account (silent: run `msal login` first).
    SshCert(crate::commands::ssh_cert::SshCertArgs),
}

/// `msal login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// A scope to consent to now (repeatable, or space-separated) [default: the OpenID Connect
    /// scopes only: openid profile offline_access].
    #[arg(long, short, value_name = "SCOPE", value_parser = parse_scope)]
    pub scope: Vec<String>,

    /// Sign in with a device code (enter a code on another device) instead of a browser.
    #[arg(long)]
    pub device_code: bool,

    /// Pre-fill the sign-in name.
    #[arg(long, value_name = "USERNAME")]
    pub login_hint: Option<String>,

    /// A claims challenge (JSON) to send, e.g. from a resource's `WWW-Authenticate` header.
    #[arg(long, value_name = "JSON", value_parser = parse_claims)]
    pub claims: Option<String>,

    /// The browser sign-in's `prompt`.
    #[arg(long, value_enum, value_name = "PROMPT")]
    pub prompt: Option<PromptArg>,
}

/// `msal token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// A scope the token is for (repeatable, or space-separated), e.g.
    /// https://graph.microsoft.com/.default.
    #[arg(
        long,
        short,
        required_unless_present = "resource",
        value_name = "SCOPE",
        value_parser = parse_scope
    )]
    pub scope: Vec<String>,

    /// A v1-style resource instead of scopes, as az's --resource: asks for the scope
    /// `<RESOURCE>/.default` (so https://management.core.windows.net/ gives
    /// https://management.core.windows.net//.default, as az does).
    #[arg(long, value_name = "RESOURCE", conflicts_with = "scope", value_parser = parse_resource)]
    pub resource: Option<String>,

    /// The account, by username or home account id [default: the only signed-in account].
    #[arg(long, short, value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// Print a JSON object instead of the token alone: az's fields (accessToken, expiresOn in
    /// local time, expires_on, tenant, tokenType) and expiresOnUnix, scopes, account, source.
    /// Same as --output json.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,

    /// The output format: the token alone [default], json (as --json), tsv (the JSON's
    /// top-level values, tab-separated, as az -o tsv) or none (sign in or warm the cache only).
    #[arg(long, short, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// Print a Kubernetes ExecCredential (client.authentication.k8s.io/v1) for kubectl's
    /// `exec` credential plugin; honours KUBERNETES_EXEC_INFO's `interactive: false`.
    #[arg(long, conflicts_with_all = ["json", "output"])]
    pub exec_credential: bool,

    /// A claims challenge (JSON) to send, e.g. from a resource's `WWW-Authenticate` header
    /// (skips the cached access token).
    #[arg(long, value_name = "JSON", value_parser = parse_claims)]
    pub claims: Option<String>,

    /// The browser sign-in's `prompt`, when a sign-in is needed.
    #[arg(long, value_enum, value_name = "PROMPT")]
    pub prompt: Option<PromptArg>,

    /// Skip the cached access token and redeem the refresh token.
    #[arg(long)]
    pub force_refresh: bool,

    /// Never sign in: fail with exit code 3 when no token can be had silently.
    #[arg(long)]
    pub no_interaction: bool,

    /// When a sign-in is needed, use a device code instead of a browser.
    #[arg(long)]
    pub device_code: bool,

    /// A token for the Azure resource this runs on, as its managed identity (no sign-in; kept
    /// in memory only): system-assigned, or user-assigned by --client-id (also MSAL_CLIENT_ID),
    /// --object-id or --resource-id. The source (IMDS, App Service, Azure Arc, ...) is detected
    /// from the environment. One scope: the resource's, e.g.
    /// https://management.azure.com/.default.
    #[arg(long, conflicts_with_all = ["workload_identity", "account", "device_code", "no_interaction"])]
    pub managed_identity: bool,

    /// With --managed-identity: a user-assigned identity by object (principal) id.
    #[arg(
        long,
        value_name = "ID",
        requires = "managed_identity",
        conflicts_with = "resource_id"
    )]
    pub object_id: Option<String>,

    /// With --managed-identity: a user-assigned identity by ARM resource id.
    #[arg(long, value_name = "ID", requires = "managed_identity")]
    pub resource_id: Option<String>,

    /// An app token by workload identity federation (AKS): AZURE_CLIENT_ID, AZURE_TENANT_ID,
    /// AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST, as the Azure Workload Identity
    /// webhook sets them (no sign-in; kept in memory only).
    #[arg(long, conflicts_with_all = ["account", "device_code", "no_interaction"])]
    pub workload_identity: bool,
}

impl TokenArgs {
    /// The scopes asked for: `--scope`s, or `<resource>/.default` for `--resource`.
    pub(crate) fn scopes(&self) -> Vec<String> {
        match &self.resource {
            Some(resource) => vec![resource_scope(resource)],
            None => self.scope.clone(),
        }
    }
}

/// The scope of a v1-style resource: `<resource>/.default`, exactly as az builds it (a trailing
/// slash is kept: Entra ID reads `https://x//.default` as the resource `https://x/`).
pub(crate) fn resource_scope(resource: &str) -> String {
    format!("{resource}/.default")
}

/// A `--scope` value: one or more scopes separated by spaces. Empty values and commas (a
/// common slip: scopes are space-separated) are usage errors.
pub(crate) fn parse_scope(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(
            "a scope cannot be empty (e.g. --scope https://graph.microsoft.com/.default)".into(),
        );
    }
    if value.contains(',') {
        return Err(
            "scopes are separated by spaces, not commas: repeat --scope or quote them space-separated".into(),
        );
    }
    Ok(value.to_owned())
}

/// A `--resource` value: one URI or app id, with no spaces or commas.
fn parse_resource(value: &str) -> Result<String, String> {
    if value.trim().is_empty() || value.contains([' ', ',', '\t']) {
        return Err("give one resource, e.g. --resource https://management.azure.com/".into());
    }
    Ok(value.to_owned())
}

/// A `--tenant` value: a tenant id or domain (one path segment).
fn parse_tenant(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err("a tenant is an id or a domain, e.g. contoso.onmicrosoft.com".into())
    }
}

/// A `--claims` value: a JSON object.
fn parse_claims(value: &str) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(value.to_owned()),
        _ => Err("claims are a JSON object, e.g. '{\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c1\"}}}'".into()),
    }
}

/// `msal accounts`.
#[derive(Debug, Args)]
pub(crate) struct AccountsArgs {
    /// Print a JSON array instead of one account per line (username, home account id,
    /// environment, tab-separated); missing values are null.
    #[arg(long)]
    pub json: bool,
}

/// `msal logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The account to sign out, by username or home account id [default: the only signed-in
    /// account].
    #[arg(long, short, value_name = "ACCOUNT", conflicts_with = "all")]
    pub account: Option<String>,

    /// Sign every account out.
    #[arg(long)]
    pub all: bool,
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

/// `msal cache inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Print the summary as JSON (missing values are null; never a secret).
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scope_values_are_checked() {
        assert!(parse_scope("").is_err());
        assert!(parse_scope("  ").is_err());
        assert!(parse_scope("a,b").is_err());
        assert_eq!(parse_scope("a b").unwrap(), "a b");
    }

    #[test]
    fn a_resource_becomes_its_default_scope_as_az_makes_it() {
        assert_eq!(
            resource_scope("https://management.core.windows.net/"),
            "https://management.core.windows.net//.default"
        );
        assert_eq!(
            resource_scope("https://managedhsm.azure.com"),
            "https://managedhsm.azure.com/.default"
        );
    }
}
