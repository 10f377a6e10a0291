//! Signing users in to a web app: the authorization code flow with PKCE, `state` and `nonce`.
//!
//! Two requests of the web app, with the user's browser in between:
//!
//! 1. [`ConfidentialClientApplication::authorization_request`] builds an
//!    [`AuthorizationCodeFlow`]: the URL to redirect the browser to, and the secrets the
//!    callback needs (`state`, `nonce`, the PKCE verifier). Keep it in the user's session (it
//!    is `serde`-serializable; the PKCE verifier is a secret, so the session must be
//!    server-side or encrypted).
//! 2. On the redirect back, [`ConfidentialClientApplication::acquire_token_by_auth_code_flow`]
//!    checks the response's `state` (in constant time), then redeems the code with the PKCE
//!    verifier and the app's credential, checks the ID token's `nonce` and audience, and caches
//!    the tokens in the user's partition. Later requests use
//!    [`acquire_token_silent`](crate::ConfidentialClientApplication::acquire_token_silent) with the
//!    account.
//!
//! [`ConfidentialClientApplication::acquire_token_by_authorization_code`] is the lower-level
//! redemption for apps that handle the redirect themselves.
//!
//! [`ConfidentialClientApplication::authorization_request`]: crate::ConfidentialClientApplication::authorization_request
//! [`ConfidentialClientApplication::acquire_token_by_auth_code_flow`]: crate::ConfidentialClientApplication::acquire_token_by_auth_code_flow
//! [`ConfidentialClientApplication::acquire_token_by_authorization_code`]: crate::ConfidentialClientApplication::acquire_token_by_authorization_code

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_core::pkce::{random_urlsafe, Pkce};
use msal_core::{ScopeSet, Secret};
use msal_interactive::AuthorizationResponse;
use serde::{Deserialize, Serialize};

use crate::client_core::ClientCore;
use crate::flows::interactive::{authorize_url, AuthorizeParams};
use crate::flows::sign_in::{
    save_sign_in, start_sign_in, start_sign_in_at, SignIn, SignInKind, SignInStart,
};
use crate::token_request::post_token_request;
use crate::{AuthenticationResult, Error, Prompt};

/// Builds an [`AuthorizationCodeFlow`]; set options, then `.await` it (it may fetch the
/// provider's OpenID configuration once).
#[must_use = "a request does nothing until it is awaited"]
pub struct AuthorizationRequestBuilder {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) scopes: Vec<String>,
    pub(crate) redirect_uri: String,
    pub(crate) prompt: Option<Prompt>,
    pub(crate) login_hint: Option<String>,
    pub(crate) domain_hint: Option<String>,
    pub(crate) claims: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) policy: Option<String>,
    pub(crate) extra_query: crate::extra_query::QueryParams,
}

crate::extra_query::extra_query_setter!(AuthorizationRequestBuilder, extra_query);

impl AuthorizationRequestBuilder {
    /// Sign in with this B2C policy (user flow), e.g. `B2C_1_password_reset`, instead of the
    /// configured authority's; the flow remembers it, so the code is redeemed at the same
    /// policy. Anything but a B2C authority, or a name other than letters, digits, `_` and
    /// `-`, fails with [`Error::InvalidArgument`].
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }

    /// The `prompt` to send (default: none, the provider decides).
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Pre-fill the user name on the sign-in page.
    pub fn login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.login_hint = Some(login_hint.into());
        self
    }

    /// Skip home realm discovery (`domain_hint`, e.g. `contoso.com`).
    pub fn domain_hint(mut self, domain_hint: impl Into<String>) -> Self {
        self.domain_hint = Some(domain_hint.into());
        self
    }

    /// A claims request (JSON), e.g. from a claims challenge.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// The correlation id (default: a new UUID), kept for the redemption too.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }
}

impl IntoFuture for AuthorizationRequestBuilder {
    type Output = Result<AuthorizationCodeFlow, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let redirect_uri = url::Url::parse(&self.redirect_uri).map_err(|e| {
                Error::InvalidArgument(format!("the redirect URI is not a URL: {e}"))
            })?;
            let SignInStart {
                correlation_id,
                requested,
                claims,
                endpoints,
                extra_query,
                ..
            } = start_at_policy(
                &self.core,
                self.policy.as_deref(),
                &self.scopes,
                self.claims.as_deref(),
                self.correlation_id,
                &self.extra_query,
            )
            .await?;
            let pkce = Pkce::new();
            let state = random_urlsafe(32);
            let nonce = random_urlsafe(32);
            let url = authorize_url(
                &self.core,
                &endpoints.authorization,
                &AuthorizeParams {
                    redirect_uri: redirect_uri.as_str(),
                    scope: &requested.to_request_string(),
                    state: &state,
                    nonce: &nonce,
                    pkce: &pkce,
                    prompt: self.prompt,
                    login_hint: self.login_hint.as_deref(),
                    domain_hint: self.domain_hint.as_deref(),
                    claims: claims.as_deref(),
                    correlation_id: &correlation_id,
                },
            );
            let url = crate::extra_query::apply(&url, &extra_query)?;
            Ok(AuthorizationCodeFlow {
                authorization_url: url.to_string(),
                redirect_uri: redirect_uri.to_string(),
                scopes: requested.to_vec(),
                state: Secret::new(state),
                nonce: Secret::new(nonce),
                pkce_verifier: Secret::new(pkce.verifier()),
                claims,
                correlation_id,
                policy: self.policy,
            })
        })
    }
}

/// [`start_sign_in`] at the configured authority, or at another B2C policy of it.
async fn start_at_policy(
    core: &ClientCore,
    policy: Option<&str>,
    scopes: &[String],
    claims: Option<&str>,
    correlation_id: Option<String>,
    extra_query: &[(String, String)],
) -> Result<SignInStart, Error> {
    match policy {
        Some(policy) => {
            let authority = (*core.policy_authority(policy)?).clone();
            start_sign_in_at(core, authority, scopes, claims, correlation_id, extra_query).await
        }
        None => start_sign_in(core, scopes, claims, correlation_id, extra_query).await,
    }
}

impl std::fmt::Debug for AuthorizationRequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequestBuilder")
            .field("scopes", &self.scopes)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// A web app sign-in in progress: where to send the browser, and what the callback needs.
/// Keep it in the user's (server-side or encrypted) session between the two requests.
#[derive(Clone, Serialize, Deserialize)]
pub struct AuthorizationCodeFlow {
    authorization_url: String,
    redirect_uri: String,
    scopes: Vec<String>,
    // `Secret` (de)serializes as the plain string: the serialized form is unchanged.
    state: Secret,
    nonce: Secret,
    pkce_verifier: Secret,
    claims: Option<String>,
    correlation_id: String,
    /// The B2C policy signed in with, when not the configured one (absent from flows
    /// serialized without one, so their form is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
}

impl AuthorizationCodeFlow {
    /// Redirect the user's browser here.
    pub fn authorization_url(&self) -> &str {
        &self.authorization_url
    }

    /// The redirect URI the provider sends the browser back to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The `state` sent; the response must carry it back.
    pub fn state(&self) -> &str {
        self.state.expose_secret()
    }

    /// The `nonce` sent; the ID token must carry it back.
    pub fn nonce(&self) -> &str {
        self.nonce.expose_secret()
    }

    /// The PKCE verifier (secret) for redeeming the code.
    pub fn pkce_verifier(&self) -> &str {
        self.pkce_verifier.expose_secret()
    }

    /// The scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The correlation id of the sign-in.
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// Check the redirect's query string (`code=...&state=...`, or `error=...`) and return
    /// the authorization code. The `state` is compared in constant time, and checked before
    /// anything else: a response with another state is a forgery (login CSRF), not the
    /// provider's answer.
    pub fn validate_response(&self, query: &str) -> Result<String, Error> {
        self.validated_code(query)
            .map(|code| code.expose_secret().to_owned())
    }

    /// [`validate_response`](Self::validate_response), keeping the code a [`Secret`].
    pub(crate) fn validated_code(&self, query: &str) -> Result<Secret, Error> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let response =
            AuthorizationResponse::from_redirect_query(query, self.state.expose_secret())?;
        Ok(response.code)
    }
}

// Hand-written because `authorization_url` carries `state` and `nonce` in its query.
impl std::fmt::Debug for AuthorizationCodeFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationCodeFlow")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("correlation_id", &self.correlation_id)
            .finish_non_exhaustive()
    }
}

/// Redeem an authorization code; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenByAuthorizationCode {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) code: Secret,
    pub(crate) scopes: Vec<String>,
    pub(crate) pkce_verifier: Option<Secret>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) claims: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) policy: Option<String>,
    pub(crate) extra_query: crate::extra_query::QueryParams,
    /// A key-bound scheme (PoP, SSH certificate); `None` for Bearer.
    pub(crate) scheme: Option<crate::pop::SchemeRequest>,
}

crate::extra_query::extra_query_setter!(AcquireTokenByAuthorizationCode, extra_query);
crate::pop::scheme_setters!(
    AcquireTokenByAuthorizationCode,
    "app: msal::ConfidentialClientApplication, code: String",
    "app\n    .acquire_token_by_authorization_code(code, [\"https://resource.example/items.read\"], None)\n    .redirect_uri(\"https://app.example/callback\")",
    "app\n    .acquire_token_by_authorization_code(code, [\"https://pas.windows.net/CheckMyAccess/Linux/.default\"], None)\n    .redirect_uri(\"https://app.example/callback\")",
    scheme
);

impl AcquireTokenByAuthorizationCode {
    /// Redeem the code at this B2C policy (user flow) instead of the configured authority's:
    /// the policy the authorization request was made with.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }

    /// The redirect URI of the authorization request (the token endpoint checks they are the
    /// same). Required when the authorization request had one, which is always the case with
    /// Entra ID.
    pub fn redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// The `nonce` of the authorization request: the ID token must carry it.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// A claims request (JSON).
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// The correlation id sent as `client-request-id` (default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }
}

impl IntoFuture for AcquireTokenByAuthorizationCode {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(redeem(self))
    }
}

// Hand-written to leave out the client's internals (`core`); the code redacts itself.
impl std::fmt::Debug for AcquireTokenByAuthorizationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenByAuthorizationCode")
            .field("code", &self.code)
            .field("scopes", &self.scopes)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AcquireTokenByAuthorizationCode {
    pub(crate) fn from_flow(
        core: Arc<ClientCore>,
        flow: &AuthorizationCodeFlow,
        code: Secret,
    ) -> Self {
        AcquireTokenByAuthorizationCode {
            core,
            code,
            scopes: flow.scopes.clone(),
            pkce_verifier: Some(flow.pkce_verifier.clone()),
            redirect_uri: Some(flow.redirect_uri.clone()),
            nonce: Some(flow.nonce.expose_secret().to_owned()),
            claims: flow.claims.clone(),
            correlation_id: Some(flow.correlation_id.clone()),
            policy: flow.policy.clone(),
            extra_query: Vec::new(),
            scheme: None,
        }
    }
}

async fn redeem(request: AcquireTokenByAuthorizationCode) -> Result<AuthenticationResult, Error> {
    let core = &request.core;
    let scheme = crate::pop::resolve(request.scheme.clone())?;
    if request.code.expose_secret().trim().is_empty() {
        return Err(Error::InvalidArgument(
            "the authorization code is empty".into(),
        ));
    }
    let SignInStart {
        correlation_id,
        requested,
        claims,
        authority,
        endpoints,
        extra_query,
    } = start_at_policy(
        core,
        request.policy.as_deref(),
        &request.scopes,
        request.claims.as_deref(),
        request.correlation_id.clone(),
        &request.extra_query,
    )
    .await?;
    let scope = ScopeSet::to_request_string(&requested);
    let mut form: Vec<(&str, &str)> = vec![
        ("client_id", &core.client_id),
        ("grant_type", "authorization_code"),
        ("code", request.code.expose_secret()),
        ("scope", &scope),
        ("client_info", "1"),
    ];
    if let Some(uri) = &request.redirect_uri {
        form.push(("redirect_uri", uri));
    }
    if let Some(verifier) = &request.pkce_verifier {
        form.push(("code_verifier", verifier.expose_secret()));
    }
    if let Some(claims) = &claims {
        form.push(("claims", claims));
    }
    let scheme_fields = crate::pop::form_fields(scheme.as_ref());
    form.extend(scheme_fields.iter().map(|(k, v)| (*k, v.as_str())));
    let answer = post_token_request(
        core,
        &endpoints.token,
        &form,
        &correlation_id,
        None,
        &extra_query,
    )
    .await?;
    let tokens = answer.outcome?;
    let sign_in = SignIn {
        authority: &authority,
        requested: &requested,
        kind: SignInKind::AuthorizationCode,
        nonce: request.nonce.as_deref(),
        correlation_id: &correlation_id,
        scheme: scheme.as_ref(),
    };
    save_sign_in(core, sign_in, tokens).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> AuthorizationCodeFlow {
        AuthorizationCodeFlow {
            authorization_url: "https://login.example/authorize?state=st-1".into(),
            redirect_uri: "https://app.example/cb".into(),
            scopes: vec!["User.Read".into()],
            state: Secret::new("st-1"),
            nonce: Secret::new("no-1"),
            pkce_verifier: Secret::new("ver-1"),
            claims: None,
            correlation_id: "c-1".into(),
            policy: None,
        }
    }

    /// Web apps keep the flow in their sessions: the secrets are plain strings in it, exactly
    /// as when they were `Zeroizing<String>`, so sessions written before still read.
    #[test]
    fn serialized_form_is_unchanged() {
        let expected = serde_json::json!({
            "authorization_url": "https://login.example/authorize?state=st-1",
            "redirect_uri": "https://app.example/cb",
            "scopes": ["User.Read"],
            "state": "st-1",
            "nonce": "no-1",
            "pkce_verifier": "ver-1",
            "claims": null,
            "correlation_id": "c-1",
        });
        assert_eq!(serde_json::to_value(flow()).unwrap(), expected);
        let back: AuthorizationCodeFlow = serde_json::from_value(expected).unwrap();
        assert_eq!(
            (back.state(), back.nonce(), back.pkce_verifier()),
            ("st-1", "no-1", "ver-1")
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!("{:?}", flow());
        for secret in ["st-1", "no-1", "ver-1"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
