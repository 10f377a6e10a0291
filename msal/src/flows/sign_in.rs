//! Saving the tokens of a sign-in (authorization code, device code): unlike a refresh, a
//! sign-in creates the account and stores a new refresh token under its own key.

use msal_cache::schema::{AccountEntry, RefreshTokenEntry};
use msal_cache::TokenWrite;
use msal_core::{Account, Authority, ScopeSet, TokenResponse};

use crate::client_core::ClientCore;
use crate::request::merge_claims;
use crate::write_back::{
    cached_target, check_response, identity_provider_result, realm_for, token_entries, Placement,
};
use crate::{AuthenticationResult, Error};

/// How the user signed in, recorded as the account's `account_source` (MSAL Python's values).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SignInKind {
    AuthorizationCode,
    DeviceCode,
}

impl SignInKind {
    fn account_source(self) -> &'static str {
        match self {
            SignInKind::AuthorizationCode => "authorization_code",
            SignInKind::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
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
}

/// What every sign-in starts from.
pub(crate) struct SignInStart {
    pub correlation_id: String,
    pub requested: ScopeSet,
    pub claims: Option<String>,
    pub authority: Authority,
    pub endpoints: msal_core::Endpoints,
}

/// Validate a sign-in's scopes and claims and resolve the endpoints it needs.
pub(crate) async fn start_sign_in(
    core: &ClientCore,
    scopes: &[String],
    claims: Option<&str>,
    correlation_id: Option<String>,
) -> Result<SignInStart, Error> {
    let correlation_id = correlation_id.unwrap_or_else(crate::correlation::new_correlation_id);
    let requested =
        ScopeSet::parse_request(scopes).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let claims = merge_claims(claims, &core.client_capabilities)?;
    let authority = (*core.authority).clone();
    let endpoints = core.endpoints_for(&authority, &correlation_id).await?;
    Ok(SignInStart {
        correlation_id,
        requested,
        claims,
        authority,
        endpoints,
    })
}

fn protocol(message: impl Into<String>) -> Error {
    Error::Protocol {
        status: Some(200),
        message: message.into(),
    }
}

/// Check a sign-in's tokens and write them to the cache: account, ID token, access token,
/// refresh token and app metadata, in one write.
pub(crate) async fn save_sign_in(
    core: &ClientCore,
    sign_in: SignIn<'_>,
    tokens: TokenResponse,
) -> Result<AuthenticationResult, Error> {
    let checked = check_response(&tokens)?;
    let claims = checked.claims.as_ref();
    if let Some(claims) = claims {
        // OpenID Connect Core §3.1.3.7: the ID token must be for this client and, when a nonce
        // was sent, carry it (a replayed or injected ID token does not).
        if let Some(aud) = &claims.aud {
            if !aud.contains(&core.client_id) {
                return Err(protocol("the ID token was issued to another client (aud)"));
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
    let realm = realm_for(core, sign_in.authority, claims);
    let target = cached_target(&tokens, sign_in.requested);
    let place = Placement {
        home_account_id: &home_account_id,
        environment: &environment,
        realm: &realm,
    };
    let (access_token, id_token, app_metadata) = token_entries(core, &place, &tokens, &target, now);
    let refresh_token = tokens
        .refresh_token
        .as_ref()
        .map(|secret| RefreshTokenEntry {
            credential_type: "RefreshToken".into(),
            secret: secret.as_str().into(),
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
    core.cache
        .write(core.user_partition(&home_account_id), |c| c.apply(&write))
        .await?;
    tracing::debug!(correlation_id = %sign_in.correlation_id, kind = ?sign_in.kind, "signed in; tokens cached");
    let mut account = Account::new(home_account_id, environment, &*account_entry.username);
    account.local_account_id = account_entry.local_account_id.to_string();
    account.tenant_id = realm;
    account.name = account_entry.name.as_deref().map(str::to_owned);
    Ok(identity_provider_result(
        tokens,
        &access_token,
        &target,
        account,
        sign_in.correlation_id,
    )
    .acquired_by(crate::Acquisition::SignIn))
}
