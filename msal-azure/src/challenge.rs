//! Claims challenges (continuous access evaluation, CAE).
//!
//! A resource that supports CAE answers a request whose token was revoked (or is missing a
//! claim) with `401` and
//! `WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64 JSON>"`. The
//! client must then get a new token with those claims (never from the cache) and retry once.
//!
//! azure_core 1.x's `BearerTokenAuthorizationPolicy` drops its cached token on any 401 and,
//! only when the client gave it an [`OnChallenge`] callback, calls it and retries the request
//! once. It does not read `claims` itself. Two pieces here close that gap:
//!
//! - [`ClaimsChallengeHandler`], an [`OnChallenge`] for pipelines you build: it decodes the
//!   claims and authorizes the retry with them (via [`Claims`] in the token request's context).
//! - [`ClaimsChallengePolicy`], a per-try policy for Azure SDK clients that bring their own
//!   `OnChallenge` which does not pass claims (Key Vault's, for one): put it in the client's
//!   `ClientOptions::per_try_policies`. It sits between the client's bearer-token policy and
//!   the transport, sees the 401 first, and hands its claims to the credential, whose next
//!   token request (the one the bearer-token policy makes for the retry) sends them.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use azure_core::credentials::TokenRequestOptions;
use azure_core::http::headers::{Headers, WWW_AUTHENTICATE};
use azure_core::http::policies::auth::{Authorizer, OnChallenge};
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientMethodOptions, Context, Request, StatusCode};
use base64::Engine;

use crate::Claims;

/// The decoded claims of a CAE challenge: a `WWW-Authenticate` value with
/// `error="insufficient_claims"` and a `claims` parameter holding base64 (standard or URL-safe,
/// padded or not) of a JSON object. `None` for any other challenge.
pub fn claims_from_challenge(www_authenticate: &str) -> Option<String> {
    let params = auth_params(www_authenticate);
    let value = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if !value("error").is_some_and(|e| e.eq_ignore_ascii_case("insufficient_claims")) {
        return None;
    }
    let encoded = value("claims")?.trim();
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let bytes = engines.iter().find_map(|e| e.decode(encoded).ok())?;
    let json = String::from_utf8(bytes).ok()?;
    let parsed: serde_json::Value = serde_json::from_str(&json).ok()?;
    parsed.is_object().then_some(json)
}

/// The `name=value` / `name="quoted value"` parameters of a challenge header, in order; scheme
/// names and token68 values are skipped.
fn auth_params(header: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // A token: a scheme, or a parameter name when `=` follows.
        let start = i;
        while i < chars.len() && !matches!(chars[i], ',' | ' ' | '\t' | '=') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && matches!(chars[j], ' ' | '\t') {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' && !name.is_empty() {
            j += 1;
            while j < chars.len() && matches!(chars[j], ' ' | '\t') {
                j += 1;
            }
            let mut value = String::new();
            if j < chars.len() && chars[j] == '"' {
                j += 1;
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '\\' && j + 1 < chars.len() {
                        j += 1;
                    }
                    value.push(chars[j]);
                    j += 1;
                }
                j += 1; // the closing quote
            } else {
                while j < chars.len() && !matches!(chars[j], ',' | ' ' | '\t') {
                    value.push(chars[j]);
                    j += 1;
                }
            }
            params.push((name, value));
            i = j;
        } else {
            i = i.max(start + 1);
        }
        while i < chars.len() && matches!(chars[i], ',' | ' ' | '\t' | '=') {
            i += 1;
        }
    }
    params
}

/// Claims seen in a challenge, waiting for the credential's next token request.
#[derive(Debug, Default)]
pub(crate) struct PendingClaims(Mutex<Option<String>>);

impl PendingClaims {
    pub(crate) fn put(&self, claims: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(claims);
    }

    pub(crate) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// An [`OnChallenge`] for a `BearerTokenAuthorizationPolicy` you build: on a 401 with a CAE
/// claims challenge it authorizes the retry with a new token requested with those claims
/// (through [`Claims`] in the context). Any other challenge is answered with a token requested
/// as usual.
///
/// ```
/// # use std::sync::Arc;
/// # use azure_core::credentials::TokenCredential;
/// use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
/// use msal_azure::ClaimsChallengeHandler;
/// # fn policy(credential: Arc<dyn TokenCredential>) -> BearerTokenAuthorizationPolicy {
/// let scopes = ["https://vault.azure.net/.default"];
/// BearerTokenAuthorizationPolicy::new(credential, scopes)
///     .with_on_challenge(Arc::new(ClaimsChallengeHandler::new(scopes)))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClaimsChallengeHandler {
    scopes: Vec<String>,
}

impl ClaimsChallengeHandler {
    /// A handler that authorizes retries for `scopes` (the same the policy was built with).
    pub fn new<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        ClaimsChallengeHandler {
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }
}

#[async_trait]
impl OnChallenge for ClaimsChallengeHandler {
    async fn on_challenge(
        &self,
        context: &Context,
        request: &mut Request,
        authorizer: &dyn Authorizer,
        headers: &Headers,
    ) -> azure_core::Result<()> {
        let mut context = context.to_owned();
        match headers
            .get_optional_str(&WWW_AUTHENTICATE)
            .and_then(claims_from_challenge)
        {
            Some(claims) => {
                tracing::debug!("claims challenge: requesting a new token with its claims");
                context.insert(Claims::new(claims));
            }
            None => tracing::debug!("401 without a claims challenge: requesting a new token"),
        }
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let options = TokenRequestOptions {
            method_options: ClientMethodOptions { context },
        };
        authorizer.authorize(request, &scopes, options).await
    }
}

/// A per-try pipeline policy that passes CAE claims challenges to a credential of this crate,
/// for Azure SDK clients whose own challenge handling does not (see the [crate
/// docs](crate#continuous-access-evaluation-claims-challenges)). Get one from the credential (e.g.
/// [`PublicClientCredential::claims_challenge_policy`](crate::PublicClientCredential::claims_challenge_policy))
/// and add it to the client's `ClientOptions::per_try_policies`.
///
/// The claims are kept for the credential's next token request, whatever its scopes: a client
/// that gets a challenge asks for its new token right away.
#[derive(Debug, Clone)]
pub struct ClaimsChallengePolicy {
    pending: Arc<PendingClaims>,
}

impl ClaimsChallengePolicy {
    pub(crate) fn new(pending: Arc<PendingClaims>) -> Self {
        ClaimsChallengePolicy { pending }
    }
}

#[async_trait]
impl Policy for ClaimsChallengePolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if response.status() == StatusCode::Unauthorized {
            if let Some(claims) = response
                .headers()
                .get_optional_str(&WWW_AUTHENTICATE)
                .and_then(claims_from_challenge)
            {
                tracing::debug!(
                    "claims challenge seen: the credential's next token request sends its claims"
                );
                self.pending.put(claims);
            }
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn decodes_an_entra_cae_challenge() {
        let header = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{}""#,
            b64(CLAIMS)
        );
        assert_eq!(claims_from_challenge(&header).as_deref(), Some(CLAIMS));
    }

    #[test]
    fn accepts_url_safe_unpadded_base64_and_any_parameter_order() {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CLAIMS);
        let header = format!(r#"Bearer claims="{encoded}",error="INSUFFICIENT_CLAIMS""#);
        assert_eq!(claims_from_challenge(&header).as_deref(), Some(CLAIMS));
    }

    #[test]
    fn ignores_challenges_that_are_not_cae() {
        let claims = b64(CLAIMS);
        for header in [
            r#"Bearer authorization="https://login.microsoftonline.com/t", scope="https://vault.azure.net/.default""#.to_owned(),
            format!(r#"Bearer error="invalid_token", claims="{claims}""#),
            r#"Bearer error="insufficient_claims""#.to_owned(),
            r#"Bearer error="insufficient_claims", claims="not base64!""#.to_owned(),
            format!(r#"Bearer error="insufficient_claims", claims="{}""#, b64("[1,2]")),
            String::new(),
        ] {
            assert_eq!(claims_from_challenge(&header), None, "{header}");
        }
    }

    #[test]
    fn parses_quoted_escapes_and_several_schemes() {
        let params = auth_params(r#"PoP nonce="a\"b", Bearer realm=x, error="e""#);
        assert_eq!(
            params,
            vec![
                ("nonce".to_owned(), "a\"b".to_owned()),
                ("realm".to_owned(), "x".to_owned()),
                ("error".to_owned(), "e".to_owned()),
            ]
        );
    }

    #[test]
    fn pending_claims_are_taken_once() {
        let pending = PendingClaims::default();
        pending.put("{}".into());
        assert_eq!(pending.take().as_deref(), Some("{}"));
        assert_eq!(pending.take(), None);
    }
}
