//! [`ConfidentialClientCredential`] (the app itself: client credentials) and
//! [`OnBehalfOfCredential`] (a web API calling another one as its caller's user).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::policies::Policy;
use msal::{AuthenticationResult, ConfidentialClientApplication, Secret};

use crate::challenge::{ClaimsChallengePolicy, PendingClaims};
use crate::context::RequestSettings;
use crate::token::{access_token, check_scopes, msal_error};

/// An Azure SDK [`TokenCredential`] for the app itself (the OAuth 2.0 client credentials
/// grant), through a [`ConfidentialClientApplication`] with a client secret, a certificate or
/// a client assertion. Tokens come from msal-rs's app token cache while valid for more than 5
/// minutes.
///
/// A [`Tenant`](crate::Tenant) in the request context gets the token in that tenant (the app
/// must be multi-tenant and consented there); a [`Claims`](crate::Claims) skips the cache and
/// sends the claims. Cheap to clone; `Debug` shows no secret.
#[derive(Clone)]
pub struct ConfidentialClientCredential {
    app: ConfidentialClientApplication,
    expiry_margin: Duration,
    pending: Arc<PendingClaims>,
}

impl ConfidentialClientCredential {
    /// A credential for `app`.
    pub fn new(app: ConfidentialClientApplication) -> Self {
        ConfidentialClientCredential {
            app,
            expiry_margin: msal::DEFAULT_EXPIRY_BUFFER,
            pending: Arc::default(),
        }
    }

    /// How long before its real expiry the Azure SDK is told a token expires (default
    /// [`msal::DEFAULT_EXPIRY_BUFFER`]; see the crate docs on expiry).
    pub fn with_expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// The app.
    pub fn app(&self) -> &ConfidentialClientApplication {
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
        let settings = RequestSettings::from_options(options);
        let pending = self.pending.take();
        let mut request = self.app.acquire_token_for_client(scopes);
        if let Some(tenant) = settings.tenant {
            request = request.tenant(tenant);
        }
        if let Some(claims) = settings.claims.or(pending) {
            request = request.claims(claims);
        }
        request.await.map_err(msal_error)
    }
}

#[async_trait]
impl TokenCredential for ConfidentialClientCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let result = self.acquire(scopes, options.as_ref()).await?;
        Ok(access_token(result, self.expiry_margin))
    }
}

impl std::fmt::Debug for ConfidentialClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfidentialClientCredential")
            .field("app", &self.app)
            .field("expiry_margin", &self.expiry_margin)
            .finish_non_exhaustive()
    }
}

/// An Azure SDK [`TokenCredential`] for a web API acting as the user who called it: the
/// on-behalf-of flow, exchanging the access token the API received (the *user assertion*) for
/// tokens to downstream resources.
///
/// Make one per incoming request, from the API's one shared
/// [`ConfidentialClientApplication`] (cloning it is cheap) and the caller's token. msal-rs
/// caches the downstream tokens under a hash of the assertion, so later requests carrying the
/// same assertion are cache hits. When the downstream tenant requires something of the user
/// (conditional access), the error is msal-rs's "interaction required" (see
/// [`is_sign_in_required`](crate::is_sign_in_required)), whose claims the API passes back to
/// its client in a `WWW-Authenticate` challenge. `Debug` shows neither the assertion nor any
/// secret.
#[derive(Clone)]
pub struct OnBehalfOfCredential {
    app: ConfidentialClientApplication,
    user_assertion: Arc<Secret>,
    expiry_margin: Duration,
    pending: Arc<PendingClaims>,
}

impl OnBehalfOfCredential {
    /// A credential acting for the user whose access token `user_assertion` is.
    pub fn new(app: ConfidentialClientApplication, user_assertion: impl Into<String>) -> Self {
        OnBehalfOfCredential {
            app,
            user_assertion: Arc::new(Secret::new(user_assertion)),
            expiry_margin: msal::DEFAULT_EXPIRY_BUFFER,
            pending: Arc::default(),
        }
    }

    /// How long before its real expiry the Azure SDK is told a token expires (default
    /// [`msal::DEFAULT_EXPIRY_BUFFER`]; see the crate docs on expiry).
    pub fn with_expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
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
        let settings = RequestSettings::from_options(options);
        let pending = self.pending.take();
        let mut request = self
            .app
            .acquire_token_on_behalf_of(self.user_assertion.expose_secret(), scopes);
        if let Some(tenant) = settings.tenant {
            request = request.tenant(tenant);
        }
        if let Some(claims) = settings.claims.or(pending) {
            request = request.claims(claims);
        }
        request.await.map_err(msal_error)
    }
}

#[async_trait]
impl TokenCredential for OnBehalfOfCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let result = self.acquire(scopes, options.as_ref()).await?;
        Ok(access_token(result, self.expiry_margin))
    }
}

// Hand-written to leave out the pending claims challenge; the assertion redacts itself.
impl std::fmt::Debug for OnBehalfOfCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnBehalfOfCredential")
            .field("app", &self.app)
            .field("user_assertion", &self.user_assertion)
            .field("expiry_margin", &self.expiry_margin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_the_assertion_nor_the_client_secret() {
        let app = ConfidentialClientApplication::builder("client-id")
            .authority("https://login.microsoftonline.com/tenant-id")
            .client_secret("client-secret-value")
            .build()
            .unwrap();
        let credential = OnBehalfOfCredential::new(app, "incoming-user-assertion");
        let shown = format!("{credential:?}");
        assert!(!shown.contains("incoming-user-assertion"), "{shown}");
        assert!(!shown.contains("client-secret-value"), "{shown}");
        assert!(shown.contains("Secret([redacted])"), "{shown}");
    }
}
