//! Workload identity federation on Kubernetes (AKS): a confidential client whose credential is
//! the service account token the cluster projects into the pod, exchanged at Entra ID for an
//! app token, with no secret in the pod.
//!
//! The [Azure Workload Identity](https://azure.github.io/azure-workload-identity/) webhook sets
//! four variables in pods whose service account is annotated with an app's client id:
//!
//! | Variable | Meaning |
//! |---|---|
//! | `AZURE_CLIENT_ID` | the app (or user-assigned managed identity) the federated credential belongs to |
//! | `AZURE_TENANT_ID` | its tenant |
//! | `AZURE_FEDERATED_TOKEN_FILE` | the projected service account token, sent as the client assertion |
//! | `AZURE_AUTHORITY_HOST` | the cloud's login host (default `https://login.microsoftonline.com`) |
//!
//! ```no_run
//! # async fn run() -> Result<(), msal::Error> {
//! use msal::{ConfidentialClientApplication, WorkloadIdentityEnvironment};
//!
//! let app = ConfidentialClientApplication::workload_identity(WorkloadIdentityEnvironment::from_process())?
//!     .build()?;
//! let token = app.acquire_token_for_client(["https://management.azure.com/.default"]).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The token file is read when a token request goes to the network (app tokens are served
//! from the cache first, as always), and read again when it changed (the kubelet rotates it),
//! at least every five minutes, and never used past its `exp`. A missing, empty, oversized or
//! expired file is a [`WorkloadIdentityError`]. The host named by `AZURE_AUTHORITY_HOST` is
//! trusted as the platform configured it (no instance discovery), as azure_identity does.

pub(crate) mod error;
pub(crate) mod token_file;

pub use error::WorkloadIdentityError;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use token_file::FederatedTokenFile;

use crate::credential::ClientCredential;
use crate::{ConfidentialClientApplication, ConfidentialClientApplicationBuilder, Error};

/// The login host used when `AZURE_AUTHORITY_HOST` is not set.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// The variables workload identity reads.
const VARIABLES: &[&str] = &[
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
];

/// Where workload identity reads its configuration: the process environment, or a map the
/// caller gives (tests, and apps that configure it themselves). `Debug` prints the names of
/// the variables set, not their values.
#[derive(Clone, Default)]
pub struct WorkloadIdentityEnvironment {
    vars: HashMap<String, String>,
}

impl WorkloadIdentityEnvironment {
    /// `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE` and
    /// `AZURE_AUTHORITY_HOST` from the process environment.
    pub fn from_process() -> Self {
        WorkloadIdentityEnvironment {
            vars: VARIABLES
                .iter()
                .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)))
                .collect(),
        }
    }

    /// Exactly these variables.
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        WorkloadIdentityEnvironment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value, trimmed; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Whether the three variables workload identity needs are all set.
    pub fn is_configured(&self) -> bool {
        [
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
        ]
        .iter()
        .all(|name| self.var(name).is_some())
    }

    fn required(&self, name: &'static str) -> Result<&str, WorkloadIdentityError> {
        self.var(name)
            .ok_or(WorkloadIdentityError::MissingVariable(name))
    }
}

impl std::fmt::Debug for WorkloadIdentityEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("WorkloadIdentityEnvironment")
            .field("variables_set", &names)
            .finish()
    }
}

impl ConfidentialClientApplication {
    /// A builder for workload identity federation (see [the module notes](crate::workload_identity)):
    /// client id, authority (`{AZURE_AUTHORITY_HOST}/{AZURE_TENANT_ID}`) and an assertion read
    /// from `AZURE_FEDERATED_TOKEN_FILE`, all from `environment`. Set the cache, transport and
    /// the rest on the builder as usual. No I/O: the file is read by token requests.
    pub fn workload_identity(
        environment: WorkloadIdentityEnvironment,
    ) -> Result<ConfidentialClientApplicationBuilder, Error> {
        let client_id = environment.required("AZURE_CLIENT_ID")?;
        let tenant = environment.required("AZURE_TENANT_ID")?;
        let file = environment.required("AZURE_FEDERATED_TOKEN_FILE")?;
        let host = environment.var("AZURE_AUTHORITY_HOST");
        let authority = format!(
            "{}/{tenant}",
            host.unwrap_or(DEFAULT_AUTHORITY_HOST).trim_end_matches('/')
        );
        let mut builder = ConfidentialClientApplication::builder(client_id).authority(&authority);
        builder.credential = Some(ClientCredential::FederatedTokenFile(Arc::new(
            FederatedTokenFile::new(PathBuf::from(file)),
        )));
        if host.is_some() {
            // The platform named the cloud's login host: trusted as configured.
            builder = builder.instance_discovery(false);
        }
        Ok(builder)
    }
}

impl From<WorkloadIdentityError> for Error {
    fn from(e: WorkloadIdentityError) -> Self {
        Error::WorkloadIdentity(e)
    }
}
