//! Interactive sign-in: authorization code with PKCE (S256), `state` and `nonce`, through a
//! [`WebUi`] (by default the system browser with a loopback redirect listener).
//!
//! The `state` (checked by the UI in constant time) stops forged redirects; PKCE stops a stolen
//! code from being redeemed; the `nonce` in the ID token stops an injected ID token. All three
//! are fresh 256-bit random values per sign-in.

use std::future::IntoFuture;
use std::sync::Arc;

use futures::future::BoxFuture;
use msal_core::pkce::{random_urlsafe, Pkce};
use msal_core::ScopeSet;
use msal_interactive::WebUi;

use crate::client_core::ClientCore;
use crate::flows::device_code::DeviceCodeCallback;
use crate::flows::sign_in::{
    save_sign_in, start_sign_in_at, start_sign_in_for, SignIn, SignInKind, SignInStart,
};
use crate::token_request::post_token_request;
use crate::{AuthenticationResult, Error};

/// A public client's sign-in UI: what only `PublicClientApplication` has, and only its
/// sign-in requests read.
pub(crate) struct SignInUi {
    /// The UI for interactive sign-in.
    pub web_ui: Arc<dyn WebUi>,
    /// Whether `web_ui` was chosen by the app (then headless detection does not apply).
    pub custom_web_ui: bool,
    /// Lets `acquire_token` sign in with a device code where no browser can be opened.
    pub device_code_fallback: Option<DeviceCodeCallback>,
    /// Concurrent `acquire_token` calls needing interaction for the same account share one
    /// prompt.
    pub prompts: Arc<crate::single_flight::SingleFlight<String, AuthenticationResult>>,
}

/// The `prompt` parameter of an interactive sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// Let the user pick an account (the default).
    SelectAccount,
    /// Ask for credentials even if the user is signed in.
    Login,
    /// Ask for consent even if it was given.
    Consent,
    /// Show the sign-up page (Entra External ID).
    Create,
    /// No prompt at all: fails unless the user is signed in and consented.
    NoPrompt,
}

impl Prompt {
    fn as_str(self) -> &'static str {
        match self {
            Prompt::SelectAccount => "select_account",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::Create => "create",
            Prompt::NoPrompt => "none",
        }
    }
}

/// An interactive sign-in; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenInteractive {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) ui: Arc<SignInUi>,
    pub(crate) options: InteractiveOptions,
}

/// The options of an interactive sign-in.
#[derive(Debug, Clone, Default)]
pub(crate) struct InteractiveOptions {
    pub scopes: Vec<String>,
    pub extra_scopes_to_consent: Vec<String>,
    pub prompt: Option<Prompt>,
    pub login_hint: Option<String>,
    pub domain_hint: Option<String>,
    pub claims: Option<String>,
    pub correlation_id: Option<String>,
    /// A B2C policy (user flow) instead of the configured one.
    pub policy: Option<String>,
    pub extra_query: crate::extra_query::QueryParams,
    /// The tenant to sign in at, instead of the configured authority's.
    pub tenant: Option<String>,
    /// A key-bound scheme (SSH certificate); `None` for Bearer.
    pub scheme: Option<crate::pop::SchemeRequest>,
}

crate::extra_query::extra_query_setter!(AcquireTokenInteractive, options.extra_query);
crate::pop::ssh_setter!(
    AcquireTokenInteractive,
    "app: msal::PublicClientApplication",
    "app.acquire_token_interactive([\"https://pas.windows.net/CheckMyAccess/Linux/.default\"])",
    options.scheme
);

impl AcquireTokenInteractive {
    /// Sign in with this B2C policy (user flow), e.g. `B2C_1_signup` or
    /// `B2C_1_edit_profile`, instead of the configured authority's (MSAL.NET
    /// `WithB2CAuthority`). Anything but a B2C authority, or a name other than letters,
    /// digits, `_` and `-`, fails with [`Error::InvalidArgument`].
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.options.policy = Some(policy.into());
        self
    }

    /// The `prompt` to send (default: `select_account`).
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.options.prompt = Some(prompt);
        self
    }

    /// Pre-fill the sign-in name.
    pub fn login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.options.login_hint = Some(login_hint.into());
        self
    }

    /// Skip home realm discovery (`consumers`, `organizations`, or a federated domain).
    pub fn domain_hint(mut self, domain_hint: impl Into<String>) -> Self {
        self.options.domain_hint = Some(domain_hint.into());
        self
    }

    /// More scopes (of other resources) for the user to consent to now, so later silent calls
    /// for them need no prompt. The token returned is for the main scopes only.
    pub fn extra_scopes_to_consent<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.options.extra_scopes_to_consent =
            scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self
    }

    /// A claims challenge (JSON), e.g. from [`Error::claims`].
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.options.claims = Some(claims.into());
        self
    }

    /// The correlation id sent as `client-request-id` (default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.options.correlation_id = Some(id.into());
        self
    }

    /// Sign in at this tenant (a tenant id or domain name) instead of the configured
    /// authority's: a guest signs in to the tenant that invited them. The tokens are cached
    /// under that tenant; a later `acquire_token_silent(..).tenant(same)` finds them. Entra ID
    /// and CIAM authorities only.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.options.tenant = Some(tenant.into());
        self
    }
}

impl IntoFuture for AcquireTokenInteractive {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            sign_in_interactively(&self.core, self.ui.web_ui.as_ref(), self.options).await
        })
    }
}

impl std::fmt::Debug for AcquireTokenInteractive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenInteractive")
            .field("scopes", &self.options.scopes)
            .field("prompt", &self.options.prompt)
            .finish_non_exhaustive()
    }
}

/// The authorization code flow, start to finish.
/// What goes into an authorization request URL.
pub(crate) struct AuthorizeParams<'a> {
    pub redirect_uri: &'a str,
    /// The scopes to consent to, reserved ones included.
    pub scope: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce: &'a Pkce,
    pub prompt: Option<Prompt>,
    pub login_hint: Option<&'a str>,
    pub domain_hint: Option<&'a str>,
    pub claims: Option<&'a str>,
    pub correlation_id: &'a str,
}

/// The authorization request URL (code flow with PKCE S256, `state`, `nonce`).
pub(crate) fn authorize_url(
    core: &ClientCore,
    endpoint: &url::Url,
    p: &AuthorizeParams<'_>,
) -> url::Url {
    let mut url = endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", &core.client_id)
            .append_pair("response_type", "code")
            .append_pair("response_mode", "query")
            .append_pair("redirect_uri", p.redirect_uri)
            .append_pair("scope", p.scope)
            .append_pair("state", p.state)
            .append_pair("nonce", p.nonce)
            .append_pair("code_challenge", p.pkce.challenge())
            .append_pair("code_challenge_method", p.pkce.method())
            .append_pair("client_info", "1");
        if let Some(prompt) = p.prompt {
            query.append_pair("prompt", prompt.as_str());
        }
        query.append_pair("client-request-id", p.correlation_id);
        if let Some(hint) = p.login_hint {
            query.append_pair("login_hint", hint);
        }
        if let Some(hint) = p.domain_hint {
            query.append_pair("domain_hint", hint);
        }
        if let Some(claims) = p.claims {
            query.append_pair("claims", claims);
        }
    }
    url
}

pub(crate) async fn sign_in_interactively(
    core: &ClientCore,
    web_ui: &dyn WebUi,
    options: InteractiveOptions,
) -> Result<AuthenticationResult, Error> {
    let scheme = crate::pop::resolve(options.scheme)?;
    let SignInStart {
        correlation_id,
        requested,
        claims,
        authority,
        endpoints,
        extra_query,
    } = match options.policy.as_deref() {
        Some(policy) => {
            let authority = core.policy_authority(policy)?;
            start_sign_in_at(
                core,
                (*authority).clone(),
                &options.scopes,
                options.claims.as_deref(),
                options.correlation_id,
                &options.extra_query,
            )
            .await?
        }
        None => {
            start_sign_in_for(
                core,
                &options.scopes,
                options.claims.as_deref(),
                options.correlation_id,
                options.tenant.as_deref(),
                &options.extra_query,
            )
            .await?
        }
    };
    let extra = ScopeSet::parse_request(&options.extra_scopes_to_consent)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let consent = requested.union(&extra);

    let session = web_ui.start().await?;
    let redirect_uri = session.redirect_uri().to_string();
    let pkce = Pkce::new();
    let state = random_urlsafe(32);
    let nonce = random_urlsafe(32);
    let authorize_url = authorize_url(
        core,
        &endpoints.authorization,
        &AuthorizeParams {
            redirect_uri: &redirect_uri,
            scope: &consent.to_request_string(),
            state: &state,
            nonce: &nonce,
            pkce: &pkce,
            prompt: Some(options.prompt.unwrap_or(Prompt::SelectAccount)),
            login_hint: options.login_hint.as_deref(),
            domain_hint: options.domain_hint.as_deref(),
            claims: claims.as_deref(),
            correlation_id: &correlation_id,
        },
    );
    let authorize_url = crate::extra_query::apply(&authorize_url, &extra_query)?;
    tracing::debug!(%correlation_id, redirect_uri = %redirect_uri, "interactive sign-in started");
    let response = session.complete(&authorize_url, &state).await?;

    let scope = requested.to_request_string();
    let mut form = vec![
        ("client_id", core.client_id.as_str()),
        ("grant_type", "authorization_code"),
        ("code", response.code.expose_secret()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", pkce.verifier()),
        ("scope", scope.as_str()),
        ("client_info", "1"),
    ];
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
        nonce: Some(&nonce),
        correlation_id: &correlation_id,
        scheme: scheme.as_ref(),
    };
    save_sign_in(core, sign_in, tokens).await
}
