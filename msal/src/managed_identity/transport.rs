//! Sending a managed identity token request: retries with backoff within a bound, Azure Arc's
//! challenge, and every answer classified into a token or an error that names the source and
//! what to check.

use std::time::{Duration, Instant, SystemTime};

use super::source::ManagedIdentitySource;
use msal_core::managed_identity::{
    arc_challenge_path, describe_error, parse_success, ManagedIdentityToken,
};
use msal_core::Clock;
use msal_http::{HttpClient, HttpError};

use super::arc_key::read_key_file;
use super::error::{ManagedIdentityError, ManagedIdentityErrorKind as Kind};
use super::request::{build, TokenRequest};
use super::retry::ManagedIdentityRetryPolicy;
use crate::http::pause::sleep_on;

/// Whether `status` is worth another attempt at `source`.
fn retryable(source: ManagedIdentitySource, status: u16) -> bool {
    match status {
        408 | 429 | 500..=599 => true,
        // IMDS answers 404 and 410 while it updates (the VM docs say to retry them); Service
        // Fabric's docs say never to retry 404.
        404 | 410 => source == ManagedIdentitySource::Imds,
        _ => false,
    }
}

/// What to check when `source` cannot be reached.
fn where_to_look(source: ManagedIdentitySource) -> &'static str {
    match source {
        ManagedIdentitySource::Imds => "check that this runs on an Azure VM, scale set, AKS node or container instance with a managed identity enabled (or set AZURE_POD_IDENTITY_AUTHORITY_HOST)",
        ManagedIdentitySource::AppService => "check that managed identity is enabled for this App Service, Functions or Container Apps app (IDENTITY_ENDPOINT)",
        ManagedIdentitySource::MachineLearning => "check that managed identity is enabled for this Azure Machine Learning compute (MSI_ENDPOINT)",
        ManagedIdentitySource::ServiceFabric => "check that this Service Fabric application has a managed identity (IDENTITY_ENDPOINT)",
        ManagedIdentitySource::AzureArc => "check that the Azure Arc agent (himds) is running",
        ManagedIdentitySource::CloudShell => "check that this runs in Azure Cloud Shell (MSI_ENDPOINT)",
    }
}

/// Everything [`obtain`] needs besides the request.
pub(crate) struct Transport<'a> {
    pub http: &'a dyn HttpClient,
    pub retry: &'a ManagedIdentityRetryPolicy,
    /// Now, in Unix seconds (the app's clock).
    pub now: &'a (dyn Fn() -> u64 + Send + Sync),
    /// The app's clock, which times the pauses between retries.
    pub clock: &'a dyn Clock,
}

/// Obtain a token from the request's source.
pub(crate) async fn obtain(
    transport: &Transport<'_>,
    req: &TokenRequest<'_>,
) -> Result<ManagedIdentityToken, ManagedIdentityError> {
    let source = req.config.source;
    if req.id.is_user_assigned() {
        match source {
            ManagedIdentitySource::AzureArc | ManagedIdentitySource::CloudShell => {
                return Err(ManagedIdentityError::new(
                    source,
                    Kind::UserAssignedNotSupported,
                    None,
                    format!("{source} serves only the system-assigned identity: build the app with ManagedIdentityId::SystemAssigned"),
                ));
            }
            ManagedIdentitySource::ServiceFabric => {
                tracing::debug!(correlation_id = %req.correlation_id, "Service Fabric: the user-assigned id is ignored (the identity is configured in the cluster)");
            }
            _ => {}
        }
    }
    let mut response = send(transport, req, None).await?;
    if source == ManagedIdentitySource::AzureArc {
        response = answer_arc_challenge(transport, req, response).await?;
    }
    classify(transport, req, &response)
}

/// Arc's second leg: read the key file the challenge names and ask again with it.
async fn answer_arc_challenge(
    transport: &Transport<'_>,
    req: &TokenRequest<'_>,
    first: Answer,
) -> Result<Answer, ManagedIdentityError> {
    let source = req.config.source;
    if (200..300).contains(&first.status) {
        return Err(ManagedIdentityError::new(
            source,
            Kind::BadResponse,
            Some(first.status),
            format!("{} answered a request without credentials with a success, where the Arc agent sends a challenge: whatever listens there is not the Arc agent; {}", req.config.endpoint.origin().ascii_serialization(), where_to_look(source)),
        ));
    }
    if first.status != 401 {
        return Err(classify(transport, req, &first).err().unwrap_or_else(|| {
            ManagedIdentityError::new(
                source,
                Kind::Rejected,
                Some(first.status),
                "unexpected answer",
            )
        }));
    }
    let path = first
        .www_authenticate
        .as_deref()
        .and_then(arc_challenge_path)
        .ok_or_else(|| {
            ManagedIdentityError::new(
                source,
                Kind::ArcChallenge,
                Some(401),
                "the Arc agent's 401 has no `WWW-Authenticate: Basic realm=<key file>` challenge",
            )
        })?;
    let folder = req.config.arc_token_folder.as_deref();
    let key = read_key_file(folder, path).map_err(|message| {
        ManagedIdentityError::new(source, Kind::ArcChallenge, Some(401), message)
    })?;
    send(transport, req, Some(key.expose_secret())).await
}

/// Time since `started` (real) or `started_on_clock` (the app's clock), whichever is further.
fn elapsed(started: Instant, started_on_clock: SystemTime, clock: &dyn Clock) -> Duration {
    let on_clock = clock
        .now()
        .duration_since(started_on_clock)
        .unwrap_or(Duration::ZERO);
    started.elapsed().max(on_clock)
}

/// What the tests and the classification need of an answer.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

/// Send with retries (see [`ManagedIdentityRetryPolicy`]). Transport failures that are final
/// become errors here; any answer is returned.
async fn send(
    transport: &Transport<'_>,
    req: &TokenRequest<'_>,
    arc_key: Option<&str>,
) -> Result<Answer, ManagedIdentityError> {
    let source = req.config.source;
    let started = Instant::now();
    // The pauses go through the app's clock, so the time budget counts the clock's time too
    // (whichever is further): an auto-advancing test clock spends it without real waiting.
    let started_on_clock = transport.clock.now();
    // Waiting needs a Tokio runtime; without one there are no retries.
    let can_wait = tokio::runtime::Handle::try_current().is_ok();
    let mut retries = 0;
    loop {
        let outcome = transport.http.send(build(req, arc_key)?).await;
        let (again, retry_after) = match &outcome {
            Ok(r) => (retryable(source, r.status().as_u16()), retry_after(r)),
            Err(e) => (e.is_timeout(), None),
        };
        if again && can_wait {
            if let Some(delay) = transport.retry.delay(
                retries,
                elapsed(started, started_on_clock, transport.clock),
                retry_after,
            ) {
                tracing::debug!(correlation_id = %req.correlation_id, retry = retries + 1, ?delay, "{source} asked to try again");
                sleep_on(transport.clock, delay).await;
                retries += 1;
                continue;
            }
        }
        return match outcome {
            Ok(r) => Ok(Answer {
                status: r.status().as_u16(),
                retry_after,
                www_authenticate: r
                    .headers()
                    .get(http::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body: r.into_body(),
            }),
            Err(e) => Err(transport_error(req, e, retries)),
        };
    }
}

/// `Retry-After` in seconds, when the answer has one (an HTTP date is left to the backoff).
fn retry_after(response: &http::Response<Vec<u8>>) -> Option<Duration> {
    response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn transport_error(req: &TokenRequest<'_>, e: HttpError, retries: u32) -> ManagedIdentityError {
    let source = req.config.source;
    let endpoint = req.config.endpoint.origin().ascii_serialization();
    match e {
        HttpError::Connect { .. } => ManagedIdentityError::new(
            source,
            Kind::Unreachable,
            None,
            format!(
                "no managed identity endpoint reachable at {endpoint} ({e}); {}",
                where_to_look(source)
            ),
        ),
        HttpError::Timeout => ManagedIdentityError::new(
            source,
            Kind::Unavailable,
            None,
            format!(
                "{endpoint} did not answer in time (after {retries} retries); {}",
                where_to_look(source)
            ),
        ),
        other => ManagedIdentityError::new(
            source,
            Kind::Transport,
            None,
            format!("the request to {endpoint} was not sent or failed: {other}"),
        ),
    }
}

/// A token, or the error an answer means.
fn classify(
    transport: &Transport<'_>,
    req: &TokenRequest<'_>,
    answer: &Answer,
) -> Result<ManagedIdentityToken, ManagedIdentityError> {
    let source = req.config.source;
    let status = answer.status;
    if (200..300).contains(&status) {
        return parse_success(&answer.body, (transport.now)()).map_err(|bad| {
            ManagedIdentityError::new(
                source,
                Kind::BadResponse,
                Some(status),
                format!("{source} answered without a usable token: {bad}; is {} really the {source} endpoint?", req.config.endpoint.origin().ascii_serialization()),
            )
        });
    }
    let said = describe_error(&answer.body);
    let (kind, message) = match status {
        400 if source == ManagedIdentitySource::Imds => (
            Kind::IdentityNotFound,
            format!("IMDS does not know the identity ({said}): check that {} is assigned to this resource", describe_id(req)),
        ),
        401 | 403 => (
            Kind::Rejected,
            format!("{source} refused the request ({said}): check the identity header or secret the environment provides"),
        ),
        s if retryable(source, s) => (
            Kind::Unavailable,
            format!("{source} is unavailable ({said}); it kept answering so until the retries ran out: try again later"),
        ),
        _ => (Kind::Rejected, format!("{source} refused the request: {said}")),
    };
    let mut error = ManagedIdentityError::new(source, kind, Some(status), message);
    error.retry_after = answer.retry_after;
    Err(error)
}

fn describe_id(req: &TokenRequest<'_>) -> String {
    use msal_core::ManagedIdentityId::*;
    match req.id {
        UserAssignedClientId(id) => format!("the user-assigned identity with client id {id}"),
        UserAssignedResourceId(id) => format!("the user-assigned identity {id}"),
        UserAssignedObjectId(id) => format!("the user-assigned identity with object id {id}"),
        _ => "a system-assigned identity".to_owned(),
    }
}
