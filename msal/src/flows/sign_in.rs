//! Saving the tokens of a sign-in (authorization code, device code): unlike a refresh, a
//! sign-in creates the account and stores a new refresh token under its own key.

use msal_cache::schema::{AccountEntry, RefreshTokenEntry};
use msal_cache::TokenWrite;
use msal_core::{Account, Authority, ScopeSet, TokenResponse};

use crate::client_core::ClientCore;
use crate::pop::AuthScheme;
use crate::request::merge_claims;
use crate::write_back::{
    cached_target, check_response_for, identity_provider_result, realm_for, token_entries,
    Placement,
};
use crate::{AuthenticationResult, Error};

/// How the user signed in, recorded as the account's `account_source` (MSAL Python's values).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SignInKind {
    AuthorizationCode,
    DeviceCode,
    /// An external refresh token redeemed once (migration from ADAL or another library).
    RefreshToken,
    /// Username and password (ROPC).
    UsernamePassword,
}

impl SignInKind {
    fn account_source(self) -> &'static str {
        match self {
            SignInKind::AuthorizationCode => "authorization_code",
            SignInKind::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            SignInKind::RefreshToken => "refresh_token",
            SignInKind::UsernamePassword => "password",
        }
    }
}

/// What a sign-in asked for.
pub(crate) struct SignIn<'a> {
    pub authority: &'a Authority,
    pub requested: &'a ScopeSet,
    pub kind: SignInKind,
    /// The `nonce` sent with the authorization request; the ID token must echo it.
    pub nonce: Option<&'a str>,
    pub correlation_id: &'a str,
    /// A key-bound scheme (PoP, SSH certificate) the token was asked for; `None` for Bearer.
    pub scheme: Option<&'a AuthScheme>,
}

/// What every sign-in starts from.
pub(crate) struct SignInStart {
    pub correlation_id: String,
    pub requested: ScopeSet,
    pub claims: Option<String>,
    pub authority: Authority,
    pub endpoints: msal_core::Endpoints,
    /// The application's and the request's extra query parameters, merged.
    pub extra_query: crate::extra_query::QueryParams,
}

/// Validate a sign-in's scopes and claims and resolve the endpoints it needs.
pub(crate) async fn start_sign_in(
    core: &ClientCore,
    scopes: &[String],
    claims: Option<&str>,
    correlation_id: Option<String>,
    extra_query: &[(String, String)],
) -> Result<SignInStart, Error> {
    let authority = (*core.authority).clone();
    start_sign_in_at(core, authority, scopes, claims, correlation_id, extra_query).await
}

/// [`start_sign_in`] at the tenant a request named (`.tenant(..)`), if any: the sign-in goes
/// to `https://{host}/{tenant}` and its tokens are cached under that tenant.
pub(crate) async fn start_sign_in_for(
    core: &ClientCore,
    scopes: &[String],
    claims: Option<&str>,
    correlation_id: Option<String>,
    tenant: Option<&str>,
    extra_query: &[(String, String)],
) -> Result<SignInStart, Error> {
    let authority = match tenant.filter(|t| !t.trim().is_empty()) {
        Some(_) => (*crate::flows::app_token::request_authority(core, tenant)?).clone(),
        None => (*core.authority).clone(),
    };
    start_sign_in_at(core, authority, scopes, claims, correlation_id, extra_query).await
}

/// [`start_sign_in`] at another authority than the configured one (a B2C policy, a tenant).
pub(crate) async fn start_sign_in_at(
    core: &ClientCore,
    authority: Authority,
    scopes: &[String],
    claims: Option<&str>,
    correlation_id: Option<String>,
    extra_query: &[(String, String)],
) -> Result<SignInStart, Error> {
    let correlation_id = correlation_id.unwrap_or_else(crate::correlation::new_correlation_id);
    let extra_query = crate::extra_query::merge(&core.extra_query, extra_query)?;
    let requested =
        ScopeSet::parse_request(scopes).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let claims = merge_claims(claims, &core.client_capabilities)?;
    let endpoints = core.endpoints_for(&authority, &correlation_id).await?;
    Ok(SignInStart {
        correlation_id,
        requested,
        claims,
        authority,
        endpoints,
        extra_query,
    })
}

fn protocol(message: impl Into<String>) -> Error {
    Error::Protocol {
        status: Some(200),
        message: message.into(),
    }
}

/// Check a sign-in's tokens and write them to the cache: account, ID token, access token,
/// refresh token and app metadata, in one write. A key-bound sign-in's result is finished by
/// its scheme (a fresh SHR for PoP).
pub(crate) async fn save_sign_in(
    core: &ClientCore,
    sign_in: SignIn<'_>,
    tokens: TokenResponse,
) -> Result<AuthenticationResult, Error> {
    let checked = check_response_for(&tokens, sign_in.scheme)?;
    let claims = checked.claims.as_ref();
    if let Some(claims) = claims {
        // OpenID Connect Core §3.1.3.7: the ID token must be for this client and, when a nonce
        // was sent, carry it (a replayed or injected ID token does not).
        if let Some(aud) = &claims.aud {
            if !aud.contains(&core.client_id) {
                return Err(protocol("the ID token was issued to another client (aud)"));
            }
        }
        // §3.1.3.7 step 2: an OpenID Connect provider's ID token must name the issuer its
        // discovery document does (Entra, B2C, CIAM and ADFS have no discovered issuer).
        if let Some(expected) = core.endpoints.discovered_issuer() {
            let found = claims.iss.as_deref().unwrap_or_default();
            if !crate::issuer::issuer_matches(expected, found, claims.tid.as_deref()) {
                return Err(Error::IssuerMismatch {
                    expected: expected.to_owned(),
                    found: found.to_owned(),
                });
            }
        }
        if let Some(nonce) = sign_in.nonce {
            if claims.nonce.as_deref() != Some(nonce) {
                return Err(protocol(
                    "the ID token's nonce does not match the sign-in request",
                ));
            }
        }
    } else if sign_in.nonce.is_some() && sign_in.requested.contains("openid") {
        return Err(protocol("the sign-in response has no ID token"));
    }
    let home_account_id = checked
        .client_info_home_account_id
        .clone()
        .or_else(|| claims.and_then(|c| c.sub.clone()))
        .ok_or_else(|| {
            protocol("the sign-in response identifies no account (no client_info, no ID token)")
        })?;

    let now = core.now_secs();
    let environment = sign_in.authority.environment().to_owned();
    // A sign-in at a tenant the request named caches under that tenant as given (MSAL.NET's
    // rule, as for silent requests); otherwise `common`/`organizations` become the user's tid.
    let named_tenant = sign_in.authority.tenant() != core.authority.tenant()
        && !sign_in.authority.is_multi_tenant();
    let realm = if named_tenant {
        sign_in.authority.tenant().unwrap_or("").to_owned()
    } else {
        realm_for(core, sign_in.authority, claims)
    };
    let target = cached_target(&tokens, sign_in.requested);
    let place = Placement {
        home_account_id: &home_account_id,
        environment: &environment,
        realm: &realm,
    };
    let (mut access_token, id_token, app_metadata) =
        token_entries(core, &place, &tokens, &target, now);
    if let Some(scheme) = sign_in.scheme {
        // Cached per key id, apart from Bearer tokens: a later silent request with the same
        // scheme and key is a cache hit, a Bearer one never sees it.
        scheme.bind_entry(&mut access_token);
    }
    let refresh_token = tokens
        .refresh_token
        .as_ref()
        .map(|secret| RefreshTokenEntry {
            credential_type: "RefreshToken".into(),
            secret: secret.into(),
            home_account_id: home_account_id.as_str().into(),
            environment: environment.as_str().into(),
            client_id: core.client_id.as_str().into(),
            target: Some(target.to_target().into()),
            last_modification_time: Some(now),
            family_id: tokens.foci.as_deref().map(Into::into),
            extra: Default::default(),
        });
    let account_entry = AccountEntry {
        home_account_id: home_account_id.as_str().into(),
        environment: environment.as_str().into(),
        realm: realm.as_str().into(),
        local_account_id: claims
            .and_then(|c| c.local_account_id())
            .unwrap_or(&home_account_id)
            .into(),
        username: claims.and_then(|c| c.username()).unwrap_or("").into(),
        authority_type: sign_in.authority.authority_type().into(),
        account_source: Some(sign_in.kind.account_source().into()),
        name: claims.and_then(|c| c.name.as_deref()).map(Into::into),
        extra: Default::default(),
    };
    let write = TokenWrite {
        redeemed_refresh_token: None,
        access_token: Some(access_token.clone()),
        refresh_token,
        id_token,
        account: Some(account_entry.clone()),
        app_metadata: Some(app_metadata),
    };
    let profiles = core
        .cache
        .write(core.user_partition(&home_account_id), |c| {
            c.apply(&write);
            c.tenant_profiles(&home_account_id, &environment, &core.client_id)
        })
        .await?;
    tracing::debug!(correlation_id = %sign_in.correlation_id, kind = ?sign_in.kind, "signed in; tokens cached");
    let mut account = Account::new(home_account_id, environment, &*account_entry.username);
    account.local_account_id = account_entry.local_account_id.to_string();
    account.tenant_id = realm;
    account.name = account_entry.name.as_deref().map(str::to_owned);
    let account = account.with_tenant_profiles(profiles);
    let result = identity_provider_result(
        tokens,
        &access_token,
        &target,
        account,
        sign_in.correlation_id,
    )
    .acquired_by(crate::Acquisition::SignIn);
    crate::pop::finish(sign_in.scheme, result, now)
}
