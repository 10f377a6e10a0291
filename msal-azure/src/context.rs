//! Per-request settings carried in the request's [`Context`].
//!
//! azure_core 1.x's [`TokenRequestOptions`] has no tenant or claims field: the only thing it
//! carries is a [`Context`], a type map that Azure SDK clients pass from each method call's
//! `ClientMethodOptions` down to the credential. These types are what this crate's credentials
//! look for in it.

use azure_core::credentials::TokenRequestOptions;
use azure_core::http::{ClientMethodOptions, Context};

/// The tenant to get a token in, for this request only (a tenant id or a domain name).
///
/// Put it in the context of a token request, or of an Azure SDK method call (its
/// `method_options.context`): the SDK hands that context to the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(String);

impl Tenant {
    /// A tenant id (`72f9a1b0-...`) or domain (`contoso.onmicrosoft.com`).
    pub fn new(tenant: impl Into<String>) -> Self {
        Tenant(tenant.into())
    }

    /// The tenant as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A claims request (JSON) to send with this token request, e.g. the decoded `claims` of a
/// continuous access evaluation (CAE) challenge. A request with claims never gets a cached
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims(String);

impl Claims {
    /// Claims as JSON, already decoded (not the base64 of a `WWW-Authenticate` header: see
    /// [`claims_from_challenge`](crate::claims_from_challenge) for that).
    pub fn new(json: impl Into<String>) -> Self {
        Claims(json.into())
    }

    /// The claims JSON.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// [`TokenRequestOptions`] carrying a tenant and claims, for calling
/// [`get_token`](azure_core::credentials::TokenCredential::get_token) yourself.
pub fn token_request_options(
    tenant: Option<&str>,
    claims: Option<&str>,
) -> TokenRequestOptions<'static> {
    let mut context = Context::new();
    if let Some(tenant) = tenant {
        context.insert(Tenant::new(tenant));
    }
    if let Some(claims) = claims {
        context.insert(Claims::new(claims));
    }
    TokenRequestOptions {
        method_options: ClientMethodOptions { context },
    }
}

/// What a credential reads from the options of one request.
pub(crate) struct RequestSettings {
    pub tenant: Option<String>,
    pub claims: Option<String>,
}

impl RequestSettings {
    pub(crate) fn from_options(options: Option<&TokenRequestOptions<'_>>) -> Self {
        let context = options.map(|o| &o.method_options.context);
        RequestSettings {
            tenant: context
                .and_then(|c| c.value::<Tenant>())
                .map(|t| t.as_str().trim().to_owned())
                .filter(|t| !t.is_empty()),
            claims: context
                .and_then(|c| c.value::<Claims>())
                .map(|c| c.as_str().to_owned())
                .filter(|c| !c.trim().is_empty()),
        }
    }
}
