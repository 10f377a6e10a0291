//! The device code flow (RFC 8628): for devices without a browser, or a session without a
//! display (SSH, containers). The user signs in on another device; this one polls.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use crate::http::exchange as http_endpoints;
use futures::future::BoxFuture;
use msal_interactive::{DeviceAuthorizationResponse, DeviceCodeInfo, WebUiError};

use crate::client_core::ClientCore;
use crate::flows::sign_in::{save_sign_in, start_sign_in_for, SignIn, SignInKind, SignInStart};
use crate::token_request::{classify, post_token_request};
use crate::{AuthenticationResult, Error};

/// RFC 8628 §3.5: after `slow_down`, poll this much less often, for good.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Bounds on what the server may ask for (Entra's codes live 15 minutes and poll every 5 s): a
/// hostile or broken answer must neither overflow the clock arithmetic nor park the caller.
const MAX_CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
const MAX_INTERVAL: Duration = Duration::from_secs(600);

/// What the app does with the code: show it to the user (print it, put it in a dialog, ...).
pub type DeviceCodeCallback = Arc<dyn Fn(&DeviceCodeInfo) + Send + Sync>;

/// A device code sign-in; set options, then `.await` it. Dropping the future stops polling.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenWithDeviceCode {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) scopes: Vec<String>,
    pub(crate) callback: DeviceCodeCallback,
    pub(crate) claims: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) extra_query: crate::extra_query::QueryParams,
    pub(crate) tenant: Option<String>,
    /// A key-bound scheme (SSH certificate); `None` for Bearer.
    pub(crate) scheme: Option<crate::pop::SchemeRequest>,
}

crate::extra_query::extra_query_setter!(AcquireTokenWithDeviceCode, extra_query);
crate::pop::ssh_setter!(
    AcquireTokenWithDeviceCode,
    "app: msal::PublicClientApplication",
    "app\n    .acquire_token_with_device_code(\n        [\"https://pas.windows.net/CheckMyAccess/Linux/.default\"],\n        |code| eprintln!(\"enter {} at {}\", code.user_code, code.verification_uri),\n    )",
    scheme
);

impl AcquireTokenWithDeviceCode {
    /// A claims request (JSON) to send with the sign-in.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// The correlation id sent as `client-request-id` (default: a new UUID).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sign in at this tenant (a tenant id or domain name) instead of the configured
    /// authority's; the tokens are cached under that tenant (see
    /// [`AcquireTokenInteractive::tenant`](crate::AcquireTokenInteractive::tenant)).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
}

impl IntoFuture for AcquireTokenWithDeviceCode {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self))
    }
}

impl std::fmt::Debug for AcquireTokenWithDeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenWithDeviceCode")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

async fn run(request: AcquireTokenWithDeviceCode) -> Result<AuthenticationResult, Error> {
    let core = request.core;
    let scheme = crate::pop::resolve(request.scheme)?;
    let SignInStart {
        correlation_id,
        requested,
        claims,
        authority,
        endpoints,
        extra_query,
    } = start_sign_in_for(
        &core,
        &request.scopes,
        request.claims.as_deref(),
        request.correlation_id,
        request.tenant.as_deref(),
        &request.extra_query,
    )
    .await?;
    let device_endpoint = endpoints.device_code.as_ref().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "the identity provider at {} has no device authorization endpoint",
            authority.canonical_url()
        ))
    })?;

    let scope = requested.to_request_string();
    let mut form = vec![
        ("client_id", core.client_id.as_str()),
        ("scope", scope.as_str()),
    ];
    if let Some(claims) = &claims {
        form.push(("claims", claims));
    }
    let device_endpoint = crate::extra_query::apply(device_endpoint, &extra_query)?;
    let http_request = http_endpoints::form_post(&device_endpoint, &form, &correlation_id, &[])?;
    let response = http_endpoints::execute(
        core.http.as_ref(),
        http_request,
        &core.retry,
        core.clock.as_ref(),
        crate::events::RequestStep::DeviceCode,
        &core.events,
    )
    .await?;
    let status = response.status.as_u16();
    if !response.status.is_success() {
        // An OAuth error body (e.g. invalid_client, invalid_scope) or something unusable.
        return Err(
            match msal_core::parse_token_response(status, &response.body) {
                Err(msal_core::TokenResponseError::OAuth { status, error }) => {
                    classify(status, *error, &correlation_id)
                }
                _ => Error::Protocol {
                    status: Some(status),
                    message: "the device authorization request failed".into(),
                },
            },
        );
    }
    let (device_code, info) = DeviceAuthorizationResponse::parse(&response.body)
        .map_err(|e| Error::Protocol {
            status: Some(status),
            message: e.to_string(),
        })?
        .into_secret_parts();
    tracing::debug!(%correlation_id, "device code issued; waiting for the user");
    (request.callback)(&info);

    // The pauses go through the app's clock (`ClientCore::sleep`): Tokio's timer unless the
    // clock takes them over (a `ManualClock::with_auto_advance` moves its time instead). So the
    // code's lifetime is counted on both: the runtime's elapsed time and the clock's, whichever
    // is further (the code expires at the provider in wall-clock time anyway).
    let lifetime = info.expires_in.min(MAX_CODE_LIFETIME);
    let started = tokio::time::Instant::now();
    let started_on_clock = core.now();
    let mut interval = info.interval.clamp(Duration::from_secs(1), MAX_INTERVAL);
    let mut form = vec![
        ("client_id", core.client_id.as_str()),
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code.expose_secret()),
        ("client_info", "1"),
    ];
    // The scheme goes with the token request (as MSAL Python's `data`), not the device
    // authorization request.
    let scheme_fields = crate::pop::form_fields(scheme.as_ref());
    form.extend(scheme_fields.iter().map(|(k, v)| (*k, v.as_str())));
    loop {
        let on_clock = core
            .now()
            .duration_since(started_on_clock)
            .unwrap_or(Duration::ZERO);
        let elapsed = started.elapsed().max(on_clock);
        if elapsed
            .checked_add(interval)
            .is_none_or(|next| next > lifetime)
        {
            return Err(Error::Interaction(WebUiError::TimedOut));
        }
        core.sleep(interval).await;
        let answer = post_token_request(
            &core,
            &endpoints.token,
            &form,
            &correlation_id,
            None,
            &extra_query,
        )
        .await?;
        let err = match answer.outcome {
            Ok(tokens) => {
                let sign_in = SignIn {
                    authority: &authority,
                    requested: &requested,
                    kind: SignInKind::DeviceCode,
                    nonce: None,
                    correlation_id: &correlation_id,
                    scheme: scheme.as_ref(),
                };
                return save_sign_in(&core, sign_in, tokens).await;
            }
            Err(err) => err,
        };
        let code = err.oauth_error().map(|o| o.error.as_str()).unwrap_or("");
        match code {
            "authorization_pending" => continue,
            "slow_down" => {
                interval = (interval + SLOW_DOWN_STEP).min(MAX_INTERVAL);
                continue;
            }
            "expired_token" | "code_expired" => {
                return Err(Error::Interaction(WebUiError::TimedOut))
            }
            "access_denied" | "authorization_declined" => {
                let description = err.oauth_error().and_then(|o| o.error_description.clone());
                return Err(Error::Interaction(WebUiError::Provider {
                    error: "access_denied".into(),
                    description,
                }));
            }
            _ => return Err(err),
        }
    }
}
