//! Endpoint resolution: from the authority alone when its kind fixes them, else from the
//! OpenID Connect discovery document, fetched once (on the first request that needs the
//! network, never on a cache hit) and kept for the life of the application object.

use msal_core::{Authority, AuthorityError, AuthorityKind, Endpoints, OidcMetadata};
use msal_http::{endpoints as http_endpoints, HttpClient, RetryPolicy};
use tokio::sync::OnceCell;

use crate::Error;

pub(crate) struct EndpointResolver {
    discovered: OnceCell<Endpoints>,
}

impl EndpointResolver {
    pub(crate) fn new() -> Self {
        EndpointResolver {
            discovered: OnceCell::new(),
        }
    }

    pub(crate) async fn resolve(
        &self,
        authority: &Authority,
        http: &dyn HttpClient,
        retry: &RetryPolicy,
        now: std::time::SystemTime,
        correlation_id: &str,
    ) -> Result<Endpoints, Error> {
        if let Some(known) = authority.known_endpoints() {
            return Ok(known);
        }
        self.discovered
            .get_or_try_init(|| discover(authority, http, retry, now, correlation_id))
            .await
            .cloned()
    }
}

async fn discover(
    authority: &Authority,
    http: &dyn HttpClient,
    retry: &RetryPolicy,
    now: std::time::SystemTime,
    correlation_id: &str,
) -> Result<Endpoints, Error> {
    let url = authority.discovery_url().ok_or_else(|| {
        Error::Authority(AuthorityError::InvalidMetadata {
            reason: "no discovery URL for this authority".into(),
        })
    })?;
    let request = http_endpoints::get(&url, correlation_id)?;
    let response = http_endpoints::execute(http, request, retry, now).await?;
    if !response.status.is_success() {
        return Err(Error::Authority(AuthorityError::InvalidMetadata {
            reason: format!(
                "discovery document request returned HTTP {}",
                response.status.as_u16()
            ),
        }));
    }
    let metadata = OidcMetadata::parse(&response.body)?;
    if authority.kind() == AuthorityKind::Oidc {
        // OpenID Connect Discovery §4.3: the issuer must be the URL we asked about, or a
        // provider could pass off another provider's endpoints as its own.
        let issuer = metadata
            .issuer
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/');
        if !issuer.eq_ignore_ascii_case(&authority.canonical_url()) {
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
