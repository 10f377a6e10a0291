//! [`ManagedIdentityCredential`]: the Azure resource's own identity (VM, App Service,
//! Functions, Container Apps, Arc, Service Fabric, Azure ML, Cloud Shell), no secret at all.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::policies::Policy;
use msal::{AuthenticationResult, ManagedIdentityApplication, ManagedIdentityId};

use crate::challenge::{ClaimsChallengePolicy, PendingClaims};
use crate::context::RequestSettings;
use crate::token::{access_token, check_scopes, credential_error, msal_error, CredentialError};

/// An Azure SDK [`TokenCredential`] for a managed identity, over a
/// [`ManagedIdentityApplication`] and its token cache (see [`msal::managed_identity`] for the
/// sources, how each is detected, and their limits).
///
/// Azure SDK clients ask for one scope, `{resource}/.default`: it is sent as the resource. A
/// request for several scopes fails ([`CredentialError::OneResourceOnly`]): a managed identity
/// token is for one resource. A [`Claims`](crate::Claims) in the request context (a CAE
/// challenge) skips the cache; a [`Tenant`](crate::Tenant) is ignored, since the identity
/// lives in the resource's own tenant. Cheap to clone.
#[derive(Clone)]
pub struct ManagedIdentityCredential {
    app: ManagedIdentityApplication,
    expiry_margin: Duration,
    pending: Arc<PendingClaims>,
}

impl ManagedIdentityCredential {
    /// A credential for `app`.
    pub fn new(app: ManagedIdentityApplication) -> Self {
        ManagedIdentityCredential {
            app,
            expiry_margin: msal::DEFAULT_EXPIRY_BUFFER,
            pending: Arc::default(),
        }
    }

    /// A credential for `id`, the source detected from the process environment (no I/O).
    pub fn from_environment(id: ManagedIdentityId) -> Result<Self, msal::Error> {
        Ok(Self::new(ManagedIdentityApplication::builder(id).build()?))
    }

    /// How long before its real expiry the Azure SDK is told a token expires (default
    /// [`msal::DEFAULT_EXPIRY_BUFFER`]; see the crate docs on expiry).
    pub fn with_expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// The app.
    pub fn app(&self) -> &ManagedIdentityApplication {
        &self.app
    }

    /// A per-try policy that hands CAE claims challenges seen by an Azure SDK client to this
    /// credential (see [`ClaimsChallengePolicy`]).
    pub fn claims_challenge_policy(&self) -> Arc<dyn Policy> {
        Arc::new(ClaimsChallengePolicy::new(Arc::clone(&self.pending)))
    }

    /// Get a token as [`get_token`](TokenCredential::get_token) does, with msal-rs's full
    /// result.
    pub async fn acquire(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AuthenticationResult> {
        check_scopes(scopes)?;
        let scopes: Vec<&str> = scopes
            .iter()
            .filter(|s| !s.trim().is_empty())
            .copied()
            .collect();
        let [scope] = scopes.as_slice() else {
            return Err(credential_error(CredentialError::OneResourceOnly {
                requested: scopes.len(),
            }));
        };
        let settings = RequestSettings::from_options(options);
        let pending = self.pending.take();
        let mut request = self.app.acquire_token_for_managed_identity(*scope);
        if let Some(claims) = settings.claims.or(pending) {
            request = request.claims(claims);
        }
        request.await.map_err(msal_error)
    }
}

#[async_trait]
impl TokenCredential for ManagedIdentityCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let result = self.acquire(scopes, options.as_ref()).await?;
        Ok(access_token(result, self.expiry_margin))
    }
}

impl std::fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentityCredential")
            .field("app", &self.app)
            .field("expiry_margin", &self.expiry_margin)
            .finish_non_exhaustive()
    }
}
