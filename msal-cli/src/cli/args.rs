//! The arguments of the token commands: `login`, `token`, `accounts`, `logout`,
//! `cache inspect`.

use clap::Args;

use super::values::{parse_claims, parse_resource, parse_scope, resource_scope};
use crate::output::{OutputFormat, PromptArg};

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

/// `msal cache inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Print the summary as JSON (missing values are null; never a secret).
    #[arg(long)]
    pub json: bool,
}
