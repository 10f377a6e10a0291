//! Endpoint resolution: from the authority alone when its kind fixes them, else from the
//! OpenID Connect discovery document, fetched once (on the first request that needs the
//! network, never on a cache hit) and kept for the life of the application object.
//!
//! Entra authorities on a host msal-rs does not know (not one of the public or sovereign
//! clouds' hosts) are validated once with Microsoft's instance discovery endpoint, unless the
//! app turned that off with `instance_discovery(false)` (private clouds, tests): a typo'd or
//! hostile host is refused before any refresh token is sent to it. Unknown hosts form their own
//! alias group in the cache.
//!
//! An app that restricts its authorities (`known_authorities`, `instance_discovery_metadata`:
//! private clouds, offline hosts) vouches for its hosts itself: instance discovery is never
//! asked, and an authority on any other host is refused before a request is sent to it.

use crate::events::{Events, RequestStep};
use crate::http::exchange as http_endpoints;
use crate::http::{HttpClient, RetryPolicy};
use msal_core::{Authority, AuthorityError, AuthorityKind, Endpoints, OidcMetadata, TrustedHosts};
use tokio::sync::OnceCell;

use crate::Error;

/// Where Microsoft's instance discovery lives (the same for every cloud, as in MSAL.NET).
const INSTANCE_DISCOVERY: &str = "https://login.microsoftonline.com/common/discovery/instance";

pub(crate) struct EndpointResolver {
    discovered: OnceCell<Endpoints>,
    validated: OnceCell<()>,
    instance_discovery: bool,
    /// The only hosts authorities may be on, when the app restricted them.
    trusted: Option<TrustedHosts>,
}

impl EndpointResolver {
    /// `preset`: the endpoints of an OpenID Connect authority the app supplied itself
    /// (`authority_metadata`), so its discovery document is never fetched.
    pub(crate) fn new(
        instance_discovery: bool,
        trusted: Option<TrustedHosts>,
        preset: Option<Endpoints>,
    ) -> Self {
        EndpointResolver {
            discovered: OnceCell::new_with(preset),
            validated: OnceCell::new(),
            instance_discovery,
            trusted,
        }
    }

    /// Refuse an authority outside the app's trusted hosts (when it has any).
    pub(crate) fn check_trusted(&self, authority: &Authority) -> Result<(), AuthorityError> {
        match &self.trusted {
            Some(trusted) => trusted.check(authority),
            None => Ok(()),
        }
    }

    /// The issuer of the discovered OpenID Connect document, once it was fetched.
    pub(crate) fn discovered_issuer(&self) -> Option<&str> {
        self.discovered.get().and_then(|e| e.issuer.as_deref())
    }

    pub(crate) async fn resolve(
        &self,
        authority: &Authority,
        http: &dyn HttpClient,
        retry: &RetryPolicy,
        clock: &dyn msal_core::Clock,
        correlation_id: &str,
        events: &Events,
    ) -> Result<Endpoints, Error> {
        self.check_trusted(authority)?;
        if self.instance_discovery
            && self.trusted.is_none()
            && matches!(authority.kind(), AuthorityKind::Aad)
            && !authority.is_known_entra_host()
        {
            self.validated
                .get_or_try_init(|| {
                    validate_instance(authority, http, retry, clock, correlation_id, events)
                })
                .await?;
        }
        if let Some(known) = authority.known_endpoints() {
            return Ok(known);
        }
        self.discovered
            .get_or_try_init(|| discover(authority, http, retry, clock, correlation_id, events))
            .await
            .cloned()
    }
}

async fn discover(
    authority: &Authority,
    http: &dyn HttpClient,
    retry: &RetryPolicy,
    clock: &dyn msal_core::Clock,
    correlation_id: &str,
    events: &Events,
) -> Result<Endpoints, Error> {
    let url = authority.discovery_url().ok_or_else(|| {
        Error::Authority(AuthorityError::InvalidMetadata {
            reason: "no discovery URL for this authority".into(),
        })
    })?;
    let request = http_endpoints::get(&url, correlation_id)?;
    let response =
        http_endpoints::execute(http, request, retry, clock, RequestStep::Discovery, events)
            .await?;
    if !response.status.is_success() {
        return Err(Error::Authority(AuthorityError::InvalidMetadata {
            reason: format!(
                "discovery document request to {} returned HTTP {}",
                without_query(&url),
                response.status.as_u16()
            ),
        }));
    }
    let metadata = OidcMetadata::parse(&response.body)?;
    checked_endpoints(authority, metadata)
}

/// `url` as messages show it: without query, fragment or user info.
fn without_query(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// The endpoints of a discovery document (fetched, or supplied by the app) for `authority`.
pub(crate) fn checked_endpoints(
    authority: &Authority,
    metadata: OidcMetadata,
) -> Result<Endpoints, Error> {
    if authority.kind() == AuthorityKind::Oidc {
        // OpenID Connect Discovery §4.3: the issuer must be the URL we asked about, or a
        // provider could pass off another provider's endpoints as its own. Entra's
        // multi-tenant documents name the template `https://{host}/{tenantid}/v2.0`.
        let issuer = metadata
            .issuer
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/');
        if !crate::issuer::issuer_names_authority(issuer, &authority.canonical_url()) {
            return Err(Error::Authority(AuthorityError::InvalidMetadata {
                reason: format!(
                    "issuer {issuer:?} does not match the authority {}",
                    authority.canonical_url()
                ),
            }));
        }
    }
    Ok(metadata.into_endpoints()?)
}

/// Ask instance discovery whether an unknown host is an Entra instance.
async fn validate_instance(
    authority: &Authority,
    http: &dyn HttpClient,
    retry: &RetryPolicy,
    clock: &dyn msal_core::Clock,
    correlation_id: &str,
    events: &Events,
) -> Result<(), Error> {
    let authorize = authority
        .known_endpoints()
        .map(|e| e.authorization.to_string())
        .unwrap_or_default();
    let mut url =
        url::Url::parse(INSTANCE_DISCOVERY).map_err(|e| Error::Internal(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("api-version", "1.1")
        .append_pair("authorization_endpoint", &authorize);
    let request = http_endpoints::get(&url, correlation_id)?;
    let step = RequestStep::InstanceDiscovery;
    let response = http_endpoints::execute(http, request, retry, clock, step, events).await?;
    let body: serde_json::Value =
        serde_json::from_slice(&response.body).map_err(|_| Error::Protocol {
            status: Some(response.status.as_u16()),
            message: "instance discovery answered with something that is not JSON".into(),
        })?;
    if body.get("error").and_then(|e| e.as_str()) == Some("invalid_instance") {
        return Err(Error::Authority(AuthorityError::InvalidMetadata {
            reason: format!(
                "{} is not a known Microsoft Entra instance (instance discovery: invalid_instance); \
                 turn instance discovery off only if you trust this host",
                authority.environment()
            ),
        }));
    }
    if !response.status.is_success() || body.get("tenant_discovery_endpoint").is_none() {
        return Err(Error::Authority(AuthorityError::InvalidMetadata {
            reason: format!(
                "instance discovery for {} failed with HTTP {}",
                authority.environment(),
                response.status.as_u16()
            ),
        }));
    }
    tracing::debug!(
        host = authority.environment(),
        "instance discovery validated the authority host"
    );
    Ok(())
}
