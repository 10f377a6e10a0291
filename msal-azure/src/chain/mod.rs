//! [`ChainedCredential`]: one credential for "works on my laptop and in production".

mod links;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use msal::http::HttpClient;
use msal::{
    ManagedIdentityEnvironment, ManagedIdentityErrorKind, ManagedIdentityId,
    ManagedIdentityRetryPolicy, PublicClientApplication,
};

use crate::token::{credential_error, is_sign_in_required, ChainAttempt, CredentialError};
use links::{Inputs, Link};

/// How long the first IMDS request may take before the managed identity link counts as
/// absent (a laptop has no IMDS, and some networks drop packets to 169.254.169.254 rather than
/// refuse them).
pub const DEFAULT_IMDS_PROBE: Duration = Duration::from_secs(3);

/// No link has answered yet.
const NONE: usize = usize::MAX;

/// An Azure SDK [`TokenCredential`] that tries, in order:
///
/// 1. **environment**: a client secret or certificate, read as azure_identity's
///    `EnvironmentCredential` reads them: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
///    `AZURE_CLIENT_SECRET`, or `AZURE_CLIENT_CERTIFICATE_PATH` (PEM with the key, or
///    `.pfx`/`.p12` with `AZURE_CLIENT_CERTIFICATE_PASSWORD`); `AZURE_AUTHORITY_HOST`.
/// 2. **workload identity** (AKS): `AZURE_FEDERATED_TOKEN_FILE` with `AZURE_CLIENT_ID` and
///    `AZURE_TENANT_ID` ([`WorkloadIdentityCredential`](crate::WorkloadIdentityCredential)).
/// 3. **managed identity**: the source detected from the environment, IMDS when nothing else
///    matches; user-assigned `AZURE_CLIENT_ID` when that is set, as `DefaultAzureCredential`
///    does ([`ManagedIdentityCredential`](crate::ManagedIdentityCredential)). The first IMDS
///    request is bounded by [`DEFAULT_IMDS_PROBE`].
/// 4. **developer account**: the account signed in with the msal CLI (`msal login`), from its
///    token cache (`MSAL_CLIENT_ID`, `MSAL_AUTHORITY`, `MSAL_CACHE` or the CLI's default path;
///    a `.json` cache is plain, an encrypted one needs `MSAL_CACHE_PASSPHRASE` or its key file,
///    a key in the OS keyring is not read), or the app given to
///    [`developer_app`](ChainedCredentialBuilder::developer_app). Never prompts.
///
/// A link that is not configured is skipped; one that is configured but finds nothing there
/// (no managed identity endpoint, no identity assigned, no token file, no signed-in account)
/// passes to the next. A link that is configured and fails otherwise (the secret is rejected,
/// the endpoint keeps failing) stops the chain rather than fall back to another identity.
/// Once a link has got a token, the chain uses only that link. The error names every link
/// tried and what happened there ([`CredentialError::Chain`]).
#[derive(Clone)]
pub struct ChainedCredential {
    links: Arc<[Link]>,
    chosen: Arc<AtomicUsize>,
}

impl ChainedCredential {
    /// The chain configured from the process environment.
    pub fn from_environment() -> Self {
        Self::builder().build()
    }

    /// A builder (default: the process environment).
    pub fn builder() -> ChainedCredentialBuilder {
        ChainedCredentialBuilder {
            vars: None,
            managed_identity: None,
            managed_identity_retry: ManagedIdentityRetryPolicy::default(),
            imds_probe: DEFAULT_IMDS_PROBE,
            http: None,
            developer_app: None,
            cli_cache_dir: None,
        }
    }

    /// The links' names, in order, each with whether it is configured.
    pub fn links(&self) -> Vec<(String, bool)> {
        self.links
            .iter()
            .map(|link| match link {
                Link::Ready { name, .. } | Link::Broken { name, .. } => (name.clone(), true),
                Link::Skipped { name, .. } => (name.clone(), false),
            })
            .collect()
    }

    async fn ask(
        &self,
        index: usize,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
        attempts: &mut Vec<ChainAttempt>,
    ) -> Step {
        let (name, outcome) = match &self.links[index] {
            Link::Skipped { name, reason } => {
                (name, Step::Next(format!("not configured: {reason}")))
            }
            Link::Broken { name, reason } => (name, Step::Stop(reason.clone())),
            Link::Ready {
                name,
                credential,
                probe,
            } => {
                let asked = credential.get_token(scopes, options);
                let result = match probe.filter(|_| self.chosen.load(Ordering::Acquire) == NONE) {
                    Some(bound) => match tokio::time::timeout(bound, asked).await {
                        Ok(result) => result,
                        Err(_) => {
                            let reason = format!("no answer within {} ms", bound.as_millis());
                            attempts.push(ChainAttempt::new(name, reason));
                            return Step::Next(String::new());
                        }
                    },
                    None => asked.await,
                };
                match result {
                    Ok(token) => return Step::Done(token),
                    Err(e) if absent(&e) => (name, Step::Next(e.to_string())),
                    Err(e) => (name, Step::Stop(e.to_string())),
                }
            }
        };
        match &outcome {
            Step::Next(reason) | Step::Stop(reason) => {
                attempts.push(ChainAttempt::new(name, reason.clone()))
            }
            Step::Done(_) => {}
        }
        outcome
    }
}

enum Step {
    Done(AccessToken),
    Next(String),
    Stop(String),
}

/// Whether a link's failure means "nothing of this kind here", so the next link is tried.
fn absent(error: &azure_core::Error) -> bool {
    if is_sign_in_required(error) {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        match e.downcast_ref::<msal::Error>() {
            Some(msal::Error::ManagedIdentity(mi)) => {
                return matches!(
                    mi.kind,
                    ManagedIdentityErrorKind::Unreachable
                        | ManagedIdentityErrorKind::IdentityNotFound
                        | ManagedIdentityErrorKind::Configuration
                        | ManagedIdentityErrorKind::UserAssignedNotSupported
                        | ManagedIdentityErrorKind::Transport
                )
            }
            Some(msal::Error::WorkloadIdentity(_)) => return true,
            Some(_) => return false,
            None => source = e.source(),
        }
    }
    false
}

#[async_trait]
impl TokenCredential for ChainedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let mut attempts = Vec::new();
        let chosen = self.chosen.load(Ordering::Acquire);
        let order: Vec<usize> = match chosen {
            NONE => (0..self.links.len()).collect(),
            i => vec![i],
        };
        for index in order {
            match self
                .ask(index, scopes, options.clone(), &mut attempts)
                .await
            {
                Step::Done(token) => {
                    if chosen == NONE {
                        tracing::debug!(link = index, "chained credential: link chosen");
                    }
                    self.chosen.store(index, Ordering::Release);
                    return Ok(token);
                }
                Step::Next(_) => continue,
                Step::Stop(_) => break,
            }
        }
        Err(credential_error(CredentialError::Chain { attempts }))
    }
}

impl std::fmt::Debug for ChainedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainedCredential")
            .field("links", &self.links())
            .finish_non_exhaustive()
    }
}

/// Builder for [`ChainedCredential`]; `build` does no network I/O (it reads the environment,
/// and the developer link checks that the CLI's cache file exists).
pub struct ChainedCredentialBuilder {
    vars: Option<HashMap<String, String>>,
    managed_identity: Option<ManagedIdentityId>,
    managed_identity_retry: ManagedIdentityRetryPolicy,
    imds_probe: Duration,
    http: Option<Arc<dyn HttpClient>>,
    developer_app: Option<PublicClientApplication>,
    cli_cache_dir: Option<PathBuf>,
}

impl ChainedCredentialBuilder {
    /// Read exactly these variables instead of the process environment (tests, and apps that
    /// configure the chain themselves). The managed identity link reads them too (and then
    /// finds no Azure Arc agent).
    pub fn environment_variables<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// The managed identity to use (default: user-assigned `AZURE_CLIENT_ID` when set, else
    /// system-assigned).
    pub fn managed_identity(mut self, id: ManagedIdentityId) -> Self {
        self.managed_identity = Some(id);
        self
    }

    /// How managed identity requests are retried (default
    /// [`ManagedIdentityRetryPolicy::default`]).
    pub fn managed_identity_retry_policy(mut self, retry: ManagedIdentityRetryPolicy) -> Self {
        self.managed_identity_retry = retry;
        self
    }

    /// How long the first IMDS request may take before the link counts as absent (default
    /// [`DEFAULT_IMDS_PROBE`]).
    pub fn imds_probe(mut self, bound: Duration) -> Self {
        self.imds_probe = bound;
        self
    }

    /// The HTTP transport of every link's app (default: msal-rs's).
    pub fn http_client(mut self, client: impl HttpClient + 'static) -> Self {
        self.http = Some(Arc::new(client));
        self
    }

    /// The developer link's app, instead of the msal CLI's configuration (it should read the
    /// cache your tool signs in to).
    pub fn developer_app(mut self, app: PublicClientApplication) -> Self {
        self.developer_app = Some(app);
        self
    }

    /// The user cache folder the msal CLI's default cache path is under (default: the OS's,
    /// e.g. `~/.cache`).
    pub fn cli_cache_folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.cli_cache_dir = Some(folder.into());
        self
    }

    /// Build each link from the environment.
    pub fn build(self) -> ChainedCredential {
        let (vars, managed_identity_environment) = match self.vars {
            Some(vars) => {
                let mi = ManagedIdentityEnvironment::from_vars(
                    vars.iter().map(|(k, v)| (k.clone(), v.clone())),
                );
                (vars, Some(mi))
            }
            None => (
                links::VARIABLES
                    .iter()
                    .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)))
                    .collect(),
                None,
            ),
        };
        let inputs = Inputs {
            vars,
            managed_identity_environment,
            managed_identity: self.managed_identity,
            managed_identity_retry: self.managed_identity_retry,
            imds_probe: self.imds_probe,
            http: self.http,
            developer_app: self.developer_app,
            cli_cache_dir: self.cli_cache_dir,
        };
        let links = vec![
            links::environment(&inputs),
            links::workload_identity(&inputs),
            links::managed_identity(&inputs),
            links::developer(&inputs),
        ];
        ChainedCredential {
            links: links.into(),
            chosen: Arc::new(AtomicUsize::new(NONE)),
        }
    }
}

impl std::fmt::Debug for ChainedCredentialBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainedCredentialBuilder")
            .field("managed_identity", &self.managed_identity)
            .field("imds_probe", &self.imds_probe)
            .finish_non_exhaustive()
    }
}
