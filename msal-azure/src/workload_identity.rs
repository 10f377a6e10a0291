//! [`WorkloadIdentityCredential`]: workload identity federation on Kubernetes (AKS).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::policies::Policy;
use msal::{AuthenticationResult, ConfidentialClientApplication, WorkloadIdentityEnvironment};

use crate::ConfidentialClientCredential;

/// An Azure SDK [`TokenCredential`] for workload identity federation: app tokens for
/// `AZURE_CLIENT_ID` in `AZURE_TENANT_ID`, the client assertion read from
/// `AZURE_FEDERATED_TOKEN_FILE` (see [`msal::workload_identity`]). Behaves as
/// [`ConfidentialClientCredential`] otherwise (tenant and claims in the request context, the
/// app token cache). Cheap to clone.
#[derive(Clone)]
pub struct WorkloadIdentityCredential {
    inner: ConfidentialClientCredential,
}

impl WorkloadIdentityCredential {
    /// A credential for an app built with
    /// [`ConfidentialClientApplication::workload_identity`].
    pub fn new(app: ConfidentialClientApplication) -> Self {
        WorkloadIdentityCredential {
            inner: ConfidentialClientCredential::new(app),
        }
    }

    /// A credential configured from `environment` (usually
    /// [`WorkloadIdentityEnvironment::from_process`]), with the default cache and transport.
    /// Fails with [`msal::Error::WorkloadIdentity`] when a variable is missing. No I/O.
    pub fn from_environment(environment: WorkloadIdentityEnvironment) -> Result<Self, msal::Error> {
        Ok(Self::new(
            ConfidentialClientApplication::workload_identity(environment)?.build()?,
        ))
    }

    /// How long before its real expiry the Azure SDK is told a token expires (default
    /// [`msal::DEFAULT_EXPIRY_BUFFER`]; see the crate docs on expiry).
    pub fn with_expiry_margin(self, margin: Duration) -> Self {
        WorkloadIdentityCredential {
            inner: self.inner.with_expiry_margin(margin),
        }
    }

    /// The app.
    pub fn app(&self) -> &ConfidentialClientApplication {
        self.inner.app()
    }

    /// A per-try policy that hands CAE claims challenges seen by an Azure SDK client to this
    /// credential.
    pub fn claims_challenge_policy(&self) -> Arc<dyn Policy> {
        self.inner.claims_challenge_policy()
    }

    /// Get a token as [`get_token`](TokenCredential::get_token) does, with msal-rs's full
    /// result.
    pub async fn acquire(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AuthenticationResult> {
        self.inner.acquire(scopes, options).await
    }
}

#[async_trait]
impl TokenCredential for WorkloadIdentityCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.inner.get_token(scopes, options).await
    }
}

impl std::fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadIdentityCredential")
            .field("app", self.inner.app())
            .finish_non_exhaustive()
    }
}
