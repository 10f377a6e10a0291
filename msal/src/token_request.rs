//! Redeeming a refresh token at the token endpoint, with MSAL.NET's throttling rules.
//!
//! Before sending: a request identical to one the server asked us to back off from (429/5xx,
//! `Retry-After`) fails fast with [`Error::Throttled`]; one identical to a request that got an
//! "interaction required" answer within the last 120 s with the same refresh token gets that
//! answer again, so a loop of silent calls cannot hammer the server. The HTTP layer retries once
//! on 5xx without `Retry-After` and on timeouts.

use msal_core::token_response::{parse_token_response, TokenResponseError};
use msal_core::TokenResponse;

use crate::client_core::{ClientCore, Throttled};
use crate::error::{ServiceError, UiRequiredError, UiRequiredReason};
use crate::http::exchange as http_endpoints;
use crate::http::throttle::{MAX_RETRY_AFTER, UI_REQUIRED_BLOCK};
use crate::scrub::Scrubber;
use crate::Error;

/// A token request with its throttling keys.
pub(crate) struct ThrottledRequest<'a> {
    pub token_endpoint: &'a url::Url,
    pub form: &'a [(&'a str, &'a str)],
    pub correlation_id: &'a str,
    pub anchor_mailbox: Option<&'a str>,
    /// Identical requests (client, authority, scopes, whose token) fail fast while the server
    /// has asked us to back off.
    pub strict_key: String,
    /// Requests that would present the same grant (e.g. the same refresh token) get a recent
    /// "interaction required" answer again instead of asking the server.
    pub ui_key: Option<String>,
    /// The grant must never be sent twice (a rotating refresh token at a provider that may
    /// revoke its family on reuse): no retry, whatever the retry policy.
    pub single_use: bool,
    /// Extra query parameters for the token endpoint's URL (already merged and validated).
    pub extra_query: &'a [(String, String)],
}

/// Send a token request under MSAL.NET's throttling rules (see the module documentation).
pub(crate) async fn send_throttled(
    core: &ClientCore,
    request: ThrottledRequest<'_>,
) -> Result<TokenResponse, Error> {
    let now = core.now();
    match core.throttle.check(&request.strict_key, now) {
        Some((until, Throttled::Status(status))) => {
            tracing::debug!(correlation_id = %request.correlation_id, "request throttled locally");
            return Err(Error::Throttled { until, status });
        }
        Some((_, Throttled::TimedOut)) => {
            tracing::debug!(correlation_id = %request.correlation_id, "an identical request timed out a moment ago; failing fast");
            return Err(Error::Http(msal_http::HttpError::Timeout));
        }
        _ => {}
    }
    if let Some(ui_key) = &request.ui_key {
        if let Some((_, Throttled::UiRequired(err))) = core.throttle.check(ui_key, now) {
            tracing::debug!(correlation_id = %request.correlation_id, "interaction-required answer replayed from the throttle cache");
            return Err(*err);
        }
    }
    let retry = if request.single_use {
        crate::http::RetryPolicy::none()
    } else {
        core.retry.clone()
    };
    let answer = match post_token_request_with_retry(
        core,
        request.token_endpoint,
        request.form,
        request.correlation_id,
        request.anchor_mailbox,
        request.extra_query,
        &retry,
    )
    .await
    {
        Ok(answer) => answer,
        Err(e) => {
            // A provider that does not answer would otherwise hold every identical call for
            // the whole timeout, call after call: identical requests fail fast for a while
            // (a caller with a still-valid token is served that token meanwhile).
            if matches!(e, Error::Http(msal_http::HttpError::Timeout)) {
                core.throttle.block(
                    request.strict_key,
                    core.now(),
                    core.status_block,
                    Throttled::TimedOut,
                );
            }
            return Err(e);
        }
    };

    // Only failures throttle: a success that happens to carry Retry-After blocks nothing.
    let status = answer.status;
    let backoff = match answer.retry_after {
        _ if (200..300).contains(&status) => None,
        Some(ra) if status >= 400 => Some(ra.min(MAX_RETRY_AFTER)),
        None if status == 429 || status >= 500 => Some(core.status_block),
        _ => None,
    };
    if let Some(block) = backoff {
        core.throttle.block(
            request.strict_key,
            core.now(),
            block,
            Throttled::Status(status),
        );
    }
    let outcome = answer.outcome;
    if let (Err(err), Some(ui_key)) = (&outcome, request.ui_key) {
        if err.is_ui_required() {
            core.throttle.block(
                ui_key,
                core.now(),
                UI_REQUIRED_BLOCK,
                Throttled::UiRequired(Box::new(err.clone())),
            );
        }
    }
    outcome
}

/// What the token endpoint answered.
pub(crate) struct TokenAnswer {
    pub status: u16,
    pub retry_after: Option<std::time::Duration>,
    /// The tokens, or the classified error ("interaction required", service, protocol).
    pub outcome: Result<TokenResponse, Error>,
}

/// POST a grant to the token endpoint (one retry on 5xx/timeout) and classify the answer.
/// Transport failures are the outer error; everything the server said is in the answer. A
/// confidential client's credential (secret or signed assertion) is added here, for every
/// grant. `extra_query` goes on the endpoint's URL (see [`crate::extra_query`]).
pub(crate) async fn post_token_request(
    core: &ClientCore,
    token_endpoint: &url::Url,
    form: &[(&str, &str)],
    correlation_id: &str,
    anchor_mailbox: Option<&str>,
    extra_query: &[(String, String)],
) -> Result<TokenAnswer, Error> {
    post_token_request_with_retry(
        core,
        token_endpoint,
        form,
        correlation_id,
        anchor_mailbox,
        extra_query,
        &core.retry,
    )
    .await
}

/// [`post_token_request`] with another retry policy.
async fn post_token_request_with_retry(
    core: &ClientCore,
    token_endpoint: &url::Url,
    form: &[(&str, &str)],
    correlation_id: &str,
    anchor_mailbox: Option<&str>,
    extra_query: &[(String, String)],
    retry: &crate::http::RetryPolicy,
) -> Result<TokenAnswer, Error> {
    let extra: Vec<(&str, &str)> = anchor_mailbox
        .iter()
        .map(|a| ("x-anchormailbox", *a))
        .collect();
    let credential_fields = match core.credential() {
        Some(credential) => {
            credential
                .form_fields(
                    &core.client_id,
                    token_endpoint.as_str(),
                    core.authority.kind(),
                    core.now_secs(),
                )
                .await?
        }
        None => Vec::new(),
    };
    let mut form = form.to_vec();
    form.extend(
        credential_fields
            .iter()
            .map(|(k, v)| (*k, v.expose_secret())),
    );
    // The credential (a client assertion's audience) names the endpoint itself; the extra
    // query parameters only go on the URL the request is sent to.
    let url = crate::extra_query::apply(token_endpoint, extra_query)?;
    let request = http_endpoints::form_post(&url, &form, correlation_id, &extra)?;
    let response = http_endpoints::execute(
        core.http.as_ref(),
        request,
        retry,
        core.clock.as_ref(),
        crate::events::RequestStep::Token,
        &core.events,
    )
    .await?;
    let status = response.status.as_u16();
    let outcome = match parse_token_response(status, &response.body) {
        Ok(tokens) => Ok(tokens),
        // The answer may echo the request: it is read again with the request's secrets
        // replaced before any of its text goes into an error.
        Err(_) => {
            let scrubber = Scrubber::for_form(&form);
            Err(answer_error(
                status,
                response.retry_after,
                &scrubber.scrub_body(&response.body),
                correlation_id,
                &scrubber,
            ))
        }
    };
    Ok(TokenAnswer {
        status,
        retry_after: response.retry_after,
        outcome,
    })
}

/// The error for a token endpoint answer that is not a usable token, from its `body` with the
/// request's secrets already replaced.
fn answer_error(
    status: u16,
    retry_after: Option<std::time::Duration>,
    body: &[u8],
    correlation_id: &str,
    scrubber: &Scrubber,
) -> Error {
    match parse_token_response(status, body) {
        Err(TokenResponseError::OAuth { status, mut error }) => {
            scrubber.scrub_oauth(&mut error);
            classify(status, *error, correlation_id)
        }
        Err(TokenResponseError::Protocol { message, .. }) if unavailable(status, body) => {
            Error::ServiceUnavailable {
                status,
                retry_after,
                detail: message,
            }
        }
        Err(e) => Error::Protocol {
            status: Some(status),
            message: e.to_string(),
        },
        // Only replacing a secret turned the answer into a token response: refuse it.
        Ok(_) => Error::Protocol {
            status: Some(status),
            message: "the answer quotes a secret of the request".into(),
        },
    }
}

/// Whether an answer without an OAuth error body comes from something that is not working
/// right now rather than from a broken identity provider: a 5xx, 408 or 429, or a 2xx whose
/// body is not JSON at all (empty, an HTML page from a proxy or captive portal). A 2xx that is
/// JSON, even truncated, is a protocol error.
fn unavailable(status: u16, body: &[u8]) -> bool {
    let looks_like_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    status >= 500
        || status == 429
        || status == 408
        || ((200..300).contains(&status) && !looks_like_json)
}

/// Turn an OAuth error body into "interaction required" or a service error.
pub(crate) fn classify(status: u16, oauth: msal_core::OAuthError, correlation_id: &str) -> Error {
    let correlation_id = Some(
        oauth
            .correlation_id
            .clone()
            .unwrap_or_else(|| correlation_id.to_owned()),
    );
    if oauth.is_interaction_required() {
        Error::UiRequired(Box::new(UiRequiredError {
            reason: UiRequiredReason::ServerRequested,
            classification: oauth.classification(),
            claims: oauth.claims.clone(),
            oauth: Some(oauth),
            correlation_id,
        }))
    } else {
        Error::Service(Box::new(ServiceError {
            status,
            oauth,
            correlation_id,
        }))
    }
}

/// Entra's routing hint `Oid:{uid}@{utid}` (CCS), from a `{uid}.{utid}` home account id.
pub(crate) fn anchor_mailbox(home_account_id: &str) -> Option<String> {
    let (uid, utid) = home_account_id.split_once('.')?;
    (!uid.is_empty() && !utid.is_empty()).then(|| format!("Oid:{uid}@{utid}"))
}
