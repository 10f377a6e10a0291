//! What a successful acquisition returns.

use std::time::SystemTime;

use msal_core::Account;

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenSource {
    /// The token cache; no network request was made.
    Cache,
    /// The identity provider, over the network.
    IdentityProvider,
}

/// A token and what describes it. `Debug` prints no token.
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthenticationResult {
    /// The access token.
    pub access_token: String,
    /// The token type (`Bearer`).
    pub token_type: String,
    /// When the access token expires.
    pub expires_on: SystemTime,
    /// When msal-rs will refresh it proactively, if the server asked for that.
    pub refresh_on: Option<SystemTime>,
    /// The scopes the token is valid for.
    pub scopes: Vec<String>,
    /// The account the token belongs to.
    pub account: Option<Account>,
    /// The raw ID token, when one is cached or was returned.
    pub id_token: Option<String>,
    /// The tenant the token was issued in.
    pub tenant_id: Option<String>,
    /// Where the token came from.
    pub source: TokenSource,
    /// The correlation id of the request that produced this result.
    pub correlation_id: String,
}

impl std::fmt::Debug for AuthenticationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticationResult")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .field("scopes", &self.scopes)
            .field("account", &self.account)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("tenant_id", &self.tenant_id)
            .field("source", &self.source)
            .field("correlation_id", &self.correlation_id)
            .finish()
    }
}
