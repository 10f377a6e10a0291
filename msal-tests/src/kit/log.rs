//! The fake's request log and the assertions on it.

use std::collections::HashMap;
use std::fmt;

/// A token request's grant (its `grant_type`), or another endpoint's requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// `authorization_code` (interactive sign-in, web app sign-in).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (a daemon's own token).
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (on-behalf-of).
    OnBehalfOf,
    /// `urn:ietf:params:oauth:grant-type:device_code` (device code polling).
    DeviceCode,
    /// A managed identity token request (IMDS or App Service shape).
    ManagedIdentity,
    /// Any other `grant_type`.
    Other(String),
}

impl Grant {
    pub(crate) fn parse(grant_type: &str) -> Self {
        match grant_type {
            "authorization_code" => Grant::AuthorizationCode,
            "refresh_token" => Grant::RefreshToken,
            "client_credentials" => Grant::ClientCredentials,
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => Grant::OnBehalfOf,
            "urn:ietf:params:oauth:grant-type:device_code" => Grant::DeviceCode,
            other => Grant::Other(other.to_owned()),
        }
    }
}

/// Which endpoint a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `.../oauth2/v2.0/token`.
    Token,
    /// `.../oauth2/v2.0/authorize`.
    Authorize,
    /// `.../oauth2/v2.0/devicecode`.
    DeviceCode,
    /// `/common/discovery/instance`.
    InstanceDiscovery,
    /// `.../v2.0/.well-known/openid-configuration`.
    OpenIdConfiguration,
    /// A managed identity endpoint: IMDS's `/metadata/identity/oauth2/token` or App
    /// Service's `/msi/token`.
    ManagedIdentity,
    /// Anything else (answered 404).
    Unknown,
}

/// Form fields whose values are secrets: kept for [`LoggedRequest::param`], never printed.
const SECRET_FIELDS: &[&str] = &[
    "refresh_token",
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "assertion",
    "device_code",
];

/// One request the fake received.
#[derive(Clone)]
pub struct LoggedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path (the tenant is its first segment).
    pub path: String,
    /// The endpoint it reached.
    pub endpoint: Endpoint,
    /// The grant of a token request.
    pub grant: Option<Grant>,
    /// The HTTP status the fake answered.
    pub status: u16,
    params: HashMap<String, String>,
}

impl LoggedRequest {
    pub(crate) fn new(
        method: String,
        path: String,
        endpoint: Endpoint,
        params: HashMap<String, String>,
    ) -> Self {
        let grant = match endpoint {
            Endpoint::Token => params.get("grant_type").map(|g| Grant::parse(g)),
            Endpoint::ManagedIdentity => Some(Grant::ManagedIdentity),
            _ => None,
        };
        LoggedRequest {
            method,
            path,
            endpoint,
            grant,
            status: 0,
            params,
        }
    }

    /// Whether it asked for a token: the token endpoint or a managed identity endpoint.
    pub fn is_token_request(&self) -> bool {
        matches!(self.endpoint, Endpoint::Token | Endpoint::ManagedIdentity)
    }

    /// A form field (or, for `GET`, a query parameter), e.g. `scope`, `claims`, `client_id`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The tenant segment of the path (`common`, a tenant id or a domain).
    pub fn tenant(&self) -> &str {
        self.path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
    }

    fn summary(&self) -> String {
        let what = match &self.grant {
            Some(g) => format!("{g:?}"),
            None => format!("{:?}", self.endpoint),
        };
        format!("{} {} [{what}] -> {}", self.method, self.path, self.status)
    }
}

impl fmt::Debug for LoggedRequest {
    /// Secret fields (refresh tokens, codes, verifiers, client secrets, assertions) redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| {
                let shown = if SECRET_FIELDS.contains(&k.as_str()) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        params.sort_unstable();
        f.debug_struct("LoggedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("grant", &self.grant)
            .field("status", &self.status)
            .field("params", &params)
            .finish()
    }
}

/// A short, secret-free list of requests for assertion messages.
pub(crate) fn describe(requests: &[&LoggedRequest]) -> String {
    if requests.is_empty() {
        return "none".into();
    }
    requests
        .iter()
        .map(|r| format!("\n  {}", r.summary()))
        .collect()
}
