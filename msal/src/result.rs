//! What a successful acquisition returns.

use std::sync::Arc;
use std::time::SystemTime;

use msal_cache::ArcStr;
use msal_core::{Account, SharedSecret};

use crate::UtcTime;

/// Where a token came from: the cache (no network) or the identity provider. To tell a refresh
/// from a sign-in, see [`Acquisition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenSource {
    /// The token cache; no network request was made.
    Cache,
    /// The identity provider, over the network.
    IdentityProvider,
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenSource::Cache => "the token cache",
            TokenSource::IdentityProvider => "the identity provider",
        })
    }
}

/// How a token was obtained: finer than [`TokenSource`], it tells a silent refresh from a
/// sign-in. [`AuthenticationResult::acquisition`] returns it.
///
/// `Display` prints it in words ("the token cache", "a refresh", "a sign-in", "a token
/// request"), for messages such as `token from a refresh, expires 2026-12-06T07:15:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Acquisition {
    /// Served from the token cache; no network request was made ([`TokenSource::Cache`]).
    Cache,
    /// A cached refresh token was redeemed for a new access token: no user was involved.
    Refresh,
    /// The user signed in: through the browser, a device code, or an authorization code.
    SignIn,
    /// Any other request to the identity provider: the app's own token (client credentials,
    /// managed identity, workload identity) or an on-behalf-of exchange.
    TokenRequest,
}

impl std::fmt::Display for Acquisition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Acquisition::Cache => "the token cache",
            Acquisition::Refresh => "a refresh",
            Acquisition::SignIn => "a sign-in",
            Acquisition::TokenRequest => "a token request",
        })
    }
}

/// A token and what describes it. `Debug` prints no token.
///
/// Cheap to clone: the token, the ID token, the scopes and the account are shared (one
/// reference count) between the clones, and between the results of calls the cache served
/// from the same entry. That is what keeps a cache hit at a hash probe and a reference count:
/// copying a 1.6 KB access token and a 1 KB ID token per call cost more than the lookup.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthenticationResult {
    token: Arc<TokenData>,
    pub(crate) source: TokenSource,
    /// Set by the flows that know it (refresh, sign-in); otherwise derived from `source`.
    acquisition: Option<Acquisition>,
    correlation_id: String,
}

/// What the results served from one cache entry (or one response) share. The token strings
/// are the cache's own ([`SharedSecret`]s): building this copies no token, and `Debug` shows
/// neither token.
#[derive(Debug)]
pub(crate) struct TokenData {
    pub(crate) access_token: SharedSecret,
    pub(crate) token_type: ArcStr,
    pub(crate) expires_on: SystemTime,
    pub(crate) refresh_on: Option<SystemTime>,
    pub(crate) scopes: Vec<String>,
    pub(crate) account: Option<Account>,
    pub(crate) id_token: Option<SharedSecret>,
    pub(crate) tenant_id: Option<ArcStr>,
}

impl AuthenticationResult {
    pub(crate) fn new(token: Arc<TokenData>, source: TokenSource, correlation_id: String) -> Self {
        AuthenticationResult {
            token,
            source,
            acquisition: None,
            correlation_id,
        }
    }

    /// The same result, saying how it was obtained.
    pub(crate) fn acquired_by(mut self, acquisition: Acquisition) -> Self {
        self.acquisition = Some(acquisition);
        self
    }

    /// The same result (source, acquisition, correlation id) around other token data: a
    /// proof-of-possession result's signed request.
    pub(crate) fn with_token(mut self, token: Arc<TokenData>) -> Self {
        self.token = token;
        self
    }

    /// What this result shares with others served from the same entry.
    pub(crate) fn token_data(&self) -> &Arc<TokenData> {
        &self.token
    }

    /// The access token: what goes after `Bearer ` in an `Authorization` header.
    pub fn access_token(&self) -> &str {
        self.token.access_token.expose_secret()
    }

    /// The token type (`Bearer`).
    pub fn token_type(&self) -> &str {
        &self.token.token_type
    }

    /// When the access token expires.
    pub fn expires_on(&self) -> SystemTime {
        self.token.expires_on
    }

    /// When the access token expires, as a time that prints itself in RFC 3339, UTC
    /// (`2026-12-06T07:15:00Z`).
    pub fn expires_on_utc(&self) -> UtcTime {
        UtcTime::from(self.token.expires_on)
    }

    /// When msal-rs will refresh it proactively, if the server asked for that (`refresh_in`).
    pub fn refresh_on(&self) -> Option<SystemTime> {
        self.token.refresh_on
    }

    /// The scopes the token is valid for: those the server granted, which may be more than
    /// were asked for.
    pub fn scopes(&self) -> &[String] {
        &self.token.scopes
    }

    /// The account the token belongs to (`None` for app tokens: client credentials).
    pub fn account(&self) -> Option<&Account> {
        self.token.account.as_ref()
    }

    /// The raw ID token, when one is cached or was returned.
    pub fn id_token(&self) -> Option<&str> {
        self.token
            .id_token
            .as_ref()
            .map(SharedSecret::expose_secret)
    }

    /// The tenant the token was issued in.
    pub fn tenant_id(&self) -> Option<&str> {
        self.token.tenant_id.as_deref()
    }

    /// Where the token came from: the cache or the identity provider. A refresh and a sign-in
    /// are both [`TokenSource::IdentityProvider`]; [`acquisition`](Self::acquisition) tells
    /// them apart.
    pub fn source(&self) -> TokenSource {
        self.source
    }

    /// How the token was obtained: from the cache, by a refresh, by a sign-in, or by another
    /// token request.
    pub fn acquisition(&self) -> Acquisition {
        match (self.source, self.acquisition) {
            (TokenSource::Cache, _) => Acquisition::Cache,
            (_, Some(acquisition)) => acquisition,
            (_, None) => Acquisition::TokenRequest,
        }
    }

    /// The correlation id of the request that produced this result (sent as
    /// `client-request-id`).
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }
}
