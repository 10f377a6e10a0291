//! Turning a token response into cache entries and a result: shared by refreshes and sign-ins.

use std::sync::Arc;

use msal_cache::schema::{AccessTokenEntry, AppMetadataEntry, IdTokenEntry};
use msal_core::clock::from_unix_seconds;
use msal_core::{
    Account, Authority, ClientInfo, IdTokenClaims, ScopeSet, SharedSecret, TokenResponse,
};

use crate::client_core::ClientCore;
use crate::result::TokenData;
use crate::{AuthenticationResult, Error, TokenSource};
use msal_cache::ArcStr;

/// What a response says about who it is for, once checked.
pub(crate) struct Checked {
    /// The ID token's claims, when there is one.
    pub claims: Option<IdTokenClaims>,
    /// `{uid}.{utid}` from `client_info`, when Entra sent it.
    pub client_info_home_account_id: Option<String>,
}

/// Check a token response: a token of the type asked for (the key-bound scheme's, `None`:
/// Bearer), a decodable `client_info` and ID token.
pub(crate) fn check_response_for(
    tokens: &TokenResponse,
    scheme: Option<&crate::pop::AuthScheme>,
) -> Result<Checked, Error> {
    check_token_type(tokens, scheme)?;
    let protocol = |message: String| Error::Protocol {
        status: Some(200),
        message,
    };
    let client_info_home_account_id = match &tokens.client_info {
        Some(raw) => ClientInfo::decode(raw)
            .map_err(|e| protocol(e.to_string()))?
            .home_account_id(),
        None => None,
    };
    let claims = tokens
        .id_token
        .as_ref()
        .map(|id_token| IdTokenClaims::decode(id_token.expose_secret()))
        .transpose()
        .map_err(|e| protocol(e.to_string()))?;
    Ok(Checked {
        claims,
        client_info_home_account_id,
    })
}

/// The realm tokens are cached under: for Entra's `common`/`organizations`, the tenant that
/// issued them (`tid`), else the authority's tenant (none for generic OIDC providers).
pub(crate) fn realm_for(
    core: &ClientCore,
    authority: &Authority,
    claims: Option<&IdTokenClaims>,
) -> String {
    if core.authority.is_multi_tenant() {
        if let Some(tid) = claims.and_then(|c| c.tid.as_deref()) {
            return tid.to_ascii_lowercase();
        }
    }
    authority.tenant().unwrap_or("").to_owned()
}

/// The scopes a new access token is cached for: the response's `scope` (else what was asked),
/// plus any requested `.../.default`. Entra answers a `/.default` request with the resource's
/// actual scopes; without remembering the `/.default` itself every later call for it would miss.
pub(crate) fn cached_target(tokens: &TokenResponse, requested: &ScopeSet) -> ScopeSet {
    let mut target = match tokens.scope.as_deref() {
        Some(s) => ScopeSet::from_target(s),
        None => requested.clone(),
    };
    for s in requested.iter().filter(|s| s.ends_with("/.default")) {
        target.insert(s);
    }
    target
}

/// Where a response's tokens go in the cache.
pub(crate) struct Placement<'a> {
    pub home_account_id: &'a str,
    pub environment: &'a str,
    pub realm: &'a str,
}

/// The access token, ID token and app metadata entries a response writes.
pub(crate) fn token_entries(
    core: &ClientCore,
    place: &Placement<'_>,
    tokens: &TokenResponse,
    target: &ScopeSet,
    now: u64,
) -> (AccessTokenEntry, Option<IdTokenEntry>, AppMetadataEntry) {
    let access_token = AccessTokenEntry {
        credential_type: "AccessToken".into(),
        secret: (&tokens.access_token).into(),
        home_account_id: Some(place.home_account_id.into()),
        environment: place.environment.into(),
        client_id: core.client_id.as_str().into(),
        realm: place.realm.into(),
        target: target.to_target().into(),
        cached_at: now,
        expires_on: now.saturating_add(tokens.expires_in),
        extended_expires_on: now.saturating_add(tokens.ext_expires_in),
        refresh_on: tokens.refresh_in.map(|r| now.saturating_add(r)),
        token_type: Some(tokens.token_type.as_str().into()),
        extra: Default::default(),
    };
    let id_token = tokens.id_token.as_ref().map(|secret| IdTokenEntry {
        credential_type: "IdToken".into(),
        secret: secret.into(),
        home_account_id: place.home_account_id.into(),
        environment: place.environment.into(),
        realm: place.realm.into(),
        client_id: core.client_id.as_str().into(),
        extra: Default::default(),
    });
    let app_metadata = AppMetadataEntry {
        client_id: core.client_id.as_str().into(),
        environment: place.environment.into(),
        family_id: tokens.foci.as_deref().map(Into::into),
        extra: Default::default(),
    };
    (access_token, id_token, app_metadata)
}

/// The result of a token response that was just cached.
pub(crate) fn identity_provider_result(
    tokens: TokenResponse,
    access_token: &AccessTokenEntry,
    target: &ScopeSet,
    account: Account,
    correlation_id: &str,
) -> AuthenticationResult {
    AuthenticationResult::new(
        Arc::new(TokenData {
            // The cache entry's strings: the response's token is not copied again.
            access_token: access_token.secret.clone(),
            token_type: access_token
                .token_type
                .clone()
                .unwrap_or_else(|| ArcStr::from(tokens.token_type.as_str())),
            expires_on: from_unix_seconds(access_token.expires_on),
            refresh_on: access_token.refresh_on.map(from_unix_seconds),
            scopes: target.to_vec(),
            account: Some(account),
            id_token: tokens.id_token.as_ref().map(SharedSecret::from),
            tenant_id: Some(access_token.realm.clone()).filter(|r| !r.is_empty()),
        }),
        TokenSource::IdentityProvider,
        correlation_id.to_owned(),
    )
}

/// The access token entry of a response.
pub(crate) fn access_token_entry(
    core: &ClientCore,
    home_account_id: Option<String>,
    environment: &str,
    realm: &str,
    tokens: &TokenResponse,
    target: &ScopeSet,
    now: u64,
) -> AccessTokenEntry {
    AccessTokenEntry {
        credential_type: "AccessToken".into(),
        secret: (&tokens.access_token).into(),
        home_account_id: home_account_id.map(Into::into),
        environment: environment.into(),
        client_id: core.client_id.as_str().into(),
        realm: realm.into(),
        target: target.to_target().into(),
        cached_at: now,
        expires_on: now.saturating_add(tokens.expires_in),
        extended_expires_on: now.saturating_add(tokens.ext_expires_in),
        refresh_on: tokens.refresh_in.map(|r| now.saturating_add(r)),
        token_type: Some(tokens.token_type.as_str().into()),
        extra: Default::default(),
    }
}

/// A token of the type the request asked for (its key-bound scheme's, else Bearer), or a
/// protocol error: an answer of another type is refused, as MSAL.NET's `token_type_mismatch`.
pub(crate) fn check_token_type(
    tokens: &TokenResponse,
    scheme: Option<&crate::pop::AuthScheme>,
) -> Result<(), Error> {
    let expected = crate::pop::expected_token_type(scheme);
    if tokens.token_type.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::Protocol {
            status: Some(200),
            message: format!(
                "expected a {expected} token, got token_type {:?}",
                tokens.token_type
            ),
        })
    }
}
