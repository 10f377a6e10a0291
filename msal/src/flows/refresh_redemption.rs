//! Presenting a cached refresh token: the token request of a silent refresh, and the rules for
//! providers whose refresh tokens are single-use (never presented twice, not even to retry a
//! request that got no answer). Split from `user_silent` (the flow) so that each file holds
//! one job.

use msal_cache::schema::RefreshTokenEntry;
use msal_cache::{TokenWrite, REDEMPTION_STARTED};
use msal_core::{Authority, Endpoints, TokenResponse};

use crate::client_core::ClientCore;
use crate::error::UiRequiredReason;
use crate::flows::silent_params::SilentParams;
use crate::http::throttle::{secret_fingerprint, throttle_key};
use crate::pop::AuthScheme;
use crate::token_request::{anchor_mailbox, send_throttled, ThrottledRequest};
use crate::Error;

/// Whether the provider's refresh tokens must be treated as single-use: never presented twice,
/// not even to retry a request that got no answer.
///
/// Microsoft Entra ID (and B2C, External ID, ADFS) does not revoke a refresh token when it
/// issues the next one, so a redemption that timed out may be retried and its token used
/// again. Other OpenID Connect providers may rotate refresh tokens with reuse detection
/// (Auth0, Okta and others revoke the whole token family when a used refresh token comes
/// back), so for them a redemption whose answer never arrived leaves the token's state
/// unknown: it is not sent again, and the user signs in again instead.
pub(crate) fn single_use_refresh_tokens(authority: &Authority) -> bool {
    matches!(authority.kind(), msal_core::AuthorityKind::Oidc)
}

/// Before a single-use refresh token is sent: refuse one whose earlier redemption never got
/// an answer (a timeout, or its process ended mid-request), and record this one's start in the
/// cache (under the refresh lock), so that if this process ends before the answer arrives, the
/// next one knows.
pub(crate) async fn begin_single_use_redemption(
    core: &ClientCore,
    params: &SilentParams,
    rt: &RefreshTokenEntry,
) -> Result<(), Error> {
    if rt.extra.contains_key(REDEMPTION_STARTED) {
        tracing::warn!(correlation_id = %params.correlation_id, "an earlier redemption of this refresh token got no answer; it is not sent again");
        return Err(Error::ui_required(
            UiRequiredReason::RefreshOutcomeUnknown,
            Some(&params.correlation_id),
        ));
    }
    let mut marked = rt.clone();
    marked
        .extra
        .insert(REDEMPTION_STARTED.into(), core.now_secs().into());
    let write = TokenWrite {
        refresh_token: Some(marked),
        ..TokenWrite::default()
    };
    core.cache
        .write(params.cache_partition(), |c| c.apply(&write))
        .await?;
    Ok(())
}

/// After a single-use refresh token was sent: an answer (success, or any answer of the
/// server) settles its state; a success's write-back clears the mark. No answer (a timeout,
/// a connection lost after sending, a gateway's 502/504) leaves the mark, so the token is never
/// sent again; any other failure removes it.
pub(crate) async fn end_single_use_redemption(
    core: &ClientCore,
    params: &SilentParams,
    rt: &RefreshTokenEntry,
    redeemed: &Result<TokenResponse, Error>,
) -> Result<(), Error> {
    let answered = match redeemed {
        Ok(_) => return Ok(()),
        Err(Error::Http(e)) => matches!(e, msal_http::HttpError::Connect { .. }),
        Err(Error::Service(s)) => !matches!(s.status, 502 | 504),
        Err(Error::Protocol { status, .. }) => !matches!(status, None | Some(502 | 504)),
        // Answered (an OAuth error, "interaction required"), or never sent (throttled locally).
        Err(_) => true,
    };
    if !answered {
        return Ok(());
    }
    let write = TokenWrite {
        refresh_token: Some(rt.clone()),
        ..TokenWrite::default()
    };
    core.cache
        .write(params.cache_partition(), |c| c.apply(&write))
        .await?;
    Ok(())
}

/// Redeem `rt` for the scopes of `params`.
pub(crate) async fn redeem_refresh_token(
    core: &ClientCore,
    endpoints: &Endpoints,
    params: &SilentParams,
    rt: &RefreshTokenEntry,
    single_use: bool,
) -> Result<TokenResponse, Error> {
    let scope = params.requested.to_request_string();
    let authority = params.authority(core).canonical_url();
    let mut form: Vec<(&str, &str)> = vec![
        ("client_id", &core.client_id),
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.secret.expose_secret()),
        ("scope", &scope),
        ("client_info", "1"),
    ];
    if let Some(claims) = &params.claims {
        form.push(("claims", claims));
    }
    // A key-bound request (PoP, SSH) asks for its token type on the refresh too; the refresh
    // token itself stays an ordinary one.
    let scheme_fields = crate::pop::form_fields(params.scheme.as_ref());
    form.extend(scheme_fields.iter().map(|(k, v)| (*k, v.as_str())));
    let anchor = anchor_mailbox(&params.account.home_account_id);
    // A key-bound request never shares a throttling state with a Bearer one or another key's
    // (the client credentials and on-behalf-of requests keep them apart the same way).
    let scheme_part = params.scheme.as_ref().map(AuthScheme::key_part);
    let key = |last: &str| {
        let mut parts = vec![core.client_id.as_str(), &authority, &scope];
        parts.extend(scheme_part.as_deref());
        parts.push(last);
        throttle_key(&parts)
    };
    let request = ThrottledRequest {
        token_endpoint: &endpoints.token,
        form: &form,
        correlation_id: &params.correlation_id,
        anchor_mailbox: anchor.as_deref(),
        strict_key: key(&params.account.home_account_id),
        ui_key: Some(key(&secret_fingerprint(rt.secret.expose_secret()))),
        single_use,
        extra_query: &params.extra_query,
    };
    send_throttled(core, request).await
}
