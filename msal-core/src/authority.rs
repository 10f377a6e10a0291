//! Authorities: which identity provider a client talks to, and where its endpoints are.
//!
//! Entra ID (and its sovereign clouds), B2C, CIAM and ADFS authorities have endpoints fixed by
//! templates, so no network call is needed to know them: a cache hit in a brand-new process
//! makes no HTTP request at all. A generic OpenID Connect authority's endpoints come from its
//! discovery document ([`OidcMetadata`]), fetched by the facade only when a request needs one.
//!
//! Only `https` is accepted, except `http` to loopback hosts (`localhost`, `127.0.0.0/8`,
//! `[::1]`), which local test providers use.

use std::fmt;
use std::net::IpAddr;

use url::Url;

/// The kind of authority, which decides the endpoint layout and the cache's `authority_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthorityKind {
    /// Microsoft Entra ID (Azure AD), v2.0 endpoints.
    Aad,
    /// Azure AD B2C: `https://{host}/{tenant}/{policy}`.
    B2c,
    /// Microsoft Entra External ID (CIAM): `https://{tenant}.ciamlogin.com/...`.
    Ciam,
    /// Active Directory Federation Services: `https://{host}/adfs`.
    Adfs,
    /// Any OpenID Connect provider, configured with its issuer URL.
    Oidc,
}

/// Why an authority URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The text is not a URL.
    #[error("authority {authority:?} is not a valid URL: {reason}")]
    InvalidUrl {
        /// The text given.
        authority: String,
        /// The parser's reason.
        reason: String,
    },
    /// The scheme is not https (or http to a loopback host).
    #[error("authority {authority:?} must use https (http is allowed only for loopback hosts)")]
    InsecureScheme {
        /// The text given.
        authority: String,
    },
    /// The URL has parts an authority may not have (query, fragment, credentials).
    #[error("authority {authority:?} may not contain {part}")]
    UnexpectedPart {
        /// The text given.
        authority: String,
        /// What was found.
        part: &'static str,
    },
    /// An Entra/ADFS/B2C authority needs a tenant path segment.
    #[error("authority {authority:?} has no tenant: expected https://host/<tenant>")]
    MissingTenant {
        /// The text given.
        authority: String,
    },
    /// A B2C authority needs a policy segment.
    #[error("B2C authority {authority:?} has no policy: expected https://host/<tenant>/<policy>")]
    MissingPolicy {
        /// The text given.
        authority: String,
    },
    /// The instance discovery metadata the application supplied is unusable (see
    /// [`InstanceDiscoveryMetadata`](crate::InstanceDiscoveryMetadata)).
    #[error("instance discovery metadata is unusable: {reason}")]
    InvalidInstanceMetadata {
        /// What is wrong with it.
        reason: String,
    },
    /// The application restricted its authorities (known authorities or instance discovery
    /// metadata) and this authority's host is not among them.
    #[error("authority host {host:?} is not one of the application's known authorities or instance metadata hosts")]
    UntrustedAuthority {
        /// The host refused.
        host: String,
    },
    /// An endpoint from a discovery document is missing or unusable.
    #[error("OpenID Connect metadata is unusable: {reason}")]
    InvalidMetadata {
        /// What is wrong with it.
        reason: String,
    },
}

/// A parsed, validated authority.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Authority {
    kind: AuthorityKind,
    /// `scheme://host[:port]`, lowercased, no trailing slash.
    origin: String,
    /// `host[:port]`, lowercased: the cache's `environment`.
    environment: String,
    /// Tenant segment (Entra, B2C, CIAM), `adfs` for ADFS, none for OIDC.
    tenant: Option<String>,
    /// B2C policy.
    policy: Option<String>,
    /// For OIDC: the issuer URL without trailing slash.
    issuer: Option<String>,
}

/// The endpoints a client calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Authorization endpoint (interactive sign-in).
    pub authorization: Url,
    /// Token endpoint.
    pub token: Url,
    /// Device authorization endpoint, when the provider has one.
    pub device_code: Option<Url>,
    /// The issuer, when known.
    pub issuer: Option<String>,
}

/// The fields of an OpenID Connect discovery document msal-rs uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OidcMetadata {
    /// `issuer`.
    pub issuer: Option<String>,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    pub token_endpoint: Option<String>,
    /// `device_authorization_endpoint`.
    pub device_authorization_endpoint: Option<String>,
}

impl OidcMetadata {
    /// Parse a discovery document.
    pub fn parse(body: &[u8]) -> Result<Self, AuthorityError> {
        serde_json::from_slice(body).map_err(|e| AuthorityError::InvalidMetadata {
            reason: format!("not a JSON discovery document ({e})"),
        })
    }

    /// Validate the endpoints (same scheme rules as authorities) and turn them into [`Endpoints`].
    pub fn into_endpoints(self) -> Result<Endpoints, AuthorityError> {
        let parse = |name: &'static str, v: Option<String>| -> Result<Url, AuthorityError> {
            let v = v.ok_or_else(|| AuthorityError::InvalidMetadata {
                reason: format!("{name} is missing"),
            })?;
            let url = Url::parse(&v).map_err(|e| AuthorityError::InvalidMetadata {
                reason: format!("{name} is not a URL ({e})"),
            })?;
            if !is_secure(&url) {
                return Err(AuthorityError::InvalidMetadata {
                    reason: format!("{name} must use https (http only for loopback)"),
                });
            }
            Ok(url)
        };
        let token = parse("token_endpoint", self.token_endpoint)?;
        let authorization = parse("authorization_endpoint", self.authorization_endpoint)?;
        let device_code = match self.device_authorization_endpoint {
            Some(v) => Some(parse("device_authorization_endpoint", Some(v))?),
            None => None,
        };
        Ok(Endpoints {
            authorization,
            token,
            device_code,
            issuer: self.issuer,
        })
    }
}

/// Whether a host is a loopback address or `localhost`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        url::Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

fn is_secure(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => url.host().as_ref().is_some_and(is_loopback_host),
        _ => false,
    }
}

const B2C_HOST_SUFFIXES: [&str; 4] = [
    ".b2clogin.com",
    ".b2clogin.cn",
    ".b2clogin.us",
    ".b2clogin.de",
];

/// Groups of Entra hosts that are aliases of one cloud; the first of each group is the host
/// requests go to. Lookups in the cache search every alias of the configured host.
pub const ENTRA_ALIAS_GROUPS: &[&[&str]] = &[
    &[
        "login.microsoftonline.com",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    ],
    &["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
    &["login.microsoftonline.us", "login.usgovcloudapi.net"],
    &["login.microsoftonline.de"],
    &["login-us.microsoftonline.com"],
    &[
        "login.windows-ppe.net",
        "sts.windows-ppe.net",
        "login.microsoft-ppe.com",
    ],
    &["login.sovcloud-identity.fr"],
    &["login.sovcloud-identity.de"],
    &["login.sovcloud-identity.sg"],
];

/// The alias group of an Entra host (case-insensitive), or `None` for any other host.
pub fn entra_aliases(host: &str) -> Option<&'static [&'static str]> {
    ENTRA_ALIAS_GROUPS
        .iter()
        .copied()
        .find(|group| group.iter().any(|h| h.eq_ignore_ascii_case(host)))
}

/// The canonical spelling of an environment: the first host of its alias group for Entra hosts,
/// else the host itself lowercased. Two environments are aliases exactly when their canonical
/// forms are equal, which lets the cache index entries by cloud rather than by spelling.
pub fn canonical_environment(environment: &str) -> std::borrow::Cow<'_, str> {
    if let Some(group) = entra_aliases(environment) {
        return std::borrow::Cow::Borrowed(group[0]);
    }
    if environment.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(environment.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(environment)
    }
}

impl Authority {
    /// Parse an Entra ID, B2C, CIAM or ADFS authority such as
    /// `https://login.microsoftonline.com/common`.
    ///
    /// The kind is recognised as MSAL does: a first path segment `adfs` is ADFS; a `*.b2clogin.*`
    /// host, a `tfp/` prefix or a second segment starting with `b2c_` is B2C; a
    /// `*.ciamlogin.com` host is CIAM; anything else is Entra ID.
    pub fn parse(authority: &str) -> Result<Self, AuthorityError> {
        let url = parse_url(authority)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|seg| !seg.is_empty()).collect())
            .unwrap_or_default();
        let mut me = Authority::base(&url, AuthorityKind::Aad);
        let missing_tenant = || AuthorityError::MissingTenant {
            authority: authority.to_owned(),
        };

        if segments
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("adfs"))
        {
            me.kind = AuthorityKind::Adfs;
            me.tenant = Some("adfs".to_owned());
            return Ok(me);
        }
        let b2c_host = B2C_HOST_SUFFIXES.iter().any(|s| host.ends_with(s));
        let tfp = segments
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("tfp"));
        let b2c_policy = segments
            .get(1)
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("b2c_"));
        if b2c_host || tfp || b2c_policy {
            let rest = if tfp { &segments[1..] } else { &segments[..] };
            let tenant = rest.first().ok_or_else(missing_tenant)?;
            let policy = rest.get(1).ok_or_else(|| AuthorityError::MissingPolicy {
                authority: authority.to_owned(),
            })?;
            me.kind = AuthorityKind::B2c;
            me.tenant = Some(tenant.to_ascii_lowercase());
            me.policy = Some(policy.to_ascii_lowercase());
            return Ok(me);
        }
        if host.ends_with(".ciamlogin.com") {
            me.kind = AuthorityKind::Ciam;
            let tenant = match segments.first() {
                Some(t) => t.to_ascii_lowercase(),
                None => format!(
                    "{}.onmicrosoft.com",
                    host.trim_end_matches(".ciamlogin.com")
                ),
            };
            me.tenant = Some(tenant);
            return Ok(me);
        }
        let tenant = segments.first().ok_or_else(missing_tenant)?;
        me.tenant = Some(tenant.to_ascii_lowercase());
        Ok(me)
    }

    /// A generic OpenID Connect authority: `issuer` is the URL whose
    /// `/.well-known/openid-configuration` describes the provider.
    pub fn oidc(issuer: &str) -> Result<Self, AuthorityError> {
        let url = parse_url(issuer)?;
        let mut me = Authority::base(&url, AuthorityKind::Oidc);
        me.issuer = Some(url.as_str().trim_end_matches('/').to_owned());
        Ok(me)
    }

    fn base(url: &Url, kind: AuthorityKind) -> Self {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let environment = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Authority {
            kind,
            origin: format!("{}://{}", url.scheme(), environment),
            environment,
            tenant: None,
            policy: None,
            issuer: None,
        }
    }

    /// The kind of authority.
    pub fn kind(&self) -> AuthorityKind {
        self.kind
    }

    /// The host (with a port when one was given), lowercased: the `environment` of cache entries.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The tenant path segment (`common`, a GUID, a domain, `adfs`...), none for OIDC.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The B2C policy, for B2C authorities.
    pub fn policy(&self) -> Option<&str> {
        self.policy.as_deref()
    }

    /// Whether the tenant is one of Entra's multi-tenant aliases `common` or `organizations`,
    /// which msal-rs replaces with the account's home tenant for cache lookups and refreshes.
    pub fn is_multi_tenant(&self) -> bool {
        matches!(self.kind, AuthorityKind::Aad)
            && matches!(self.tenant.as_deref(), Some("common" | "organizations"))
    }

    /// Whether the host is a known Entra host (no instance discovery is ever needed for it).
    pub fn is_known_entra_host(&self) -> bool {
        entra_aliases(&self.environment).is_some()
    }

    /// The same authority with another tenant (Entra and CIAM only; others are returned as-is).
    pub fn with_tenant(&self, tenant: &str) -> Authority {
        match self.kind {
            AuthorityKind::Aad | AuthorityKind::Ciam => Authority {
                tenant: Some(tenant.to_ascii_lowercase()),
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// The same B2C authority with another policy (user flow), lowercased like the one parsed;
    /// `None` for other kinds of authority, which have no policy.
    pub fn with_policy(&self, policy: &str) -> Option<Authority> {
        match self.kind {
            AuthorityKind::B2c => Some(Authority {
                policy: Some(policy.to_ascii_lowercase()),
                ..self.clone()
            }),
            _ => None,
        }
    }

    /// The authority as a canonical URL string (`https://host/tenant[/policy]`, lowercased).
    pub fn canonical_url(&self) -> String {
        if let Some(issuer) = &self.issuer {
            return issuer.clone();
        }
        let mut s = self.origin.clone();
        for part in [&self.tenant, &self.policy].into_iter().flatten() {
            s.push('/');
            s.push_str(part);
        }
        s
    }

    /// The cache's `authority_type` for accounts signed in here.
    pub fn authority_type(&self) -> &'static str {
        match self.kind {
            AuthorityKind::Adfs => "ADFS",
            _ => "MSSTS",
        }
    }

    /// The endpoints, when they follow from the authority alone (every kind but OIDC).
    pub fn known_endpoints(&self) -> Option<Endpoints> {
        let base = match self.kind {
            AuthorityKind::Oidc => return None,
            AuthorityKind::Adfs => format!("{}/adfs/oauth2", self.origin),
            AuthorityKind::B2c => format!(
                "{}/{}/{}/oauth2/v2.0",
                self.origin,
                self.tenant.as_deref().unwrap_or_default(),
                self.policy.as_deref().unwrap_or_default()
            ),
            AuthorityKind::Aad | AuthorityKind::Ciam => format!(
                "{}/{}/oauth2/v2.0",
                self.origin,
                self.tenant.as_deref().unwrap_or_default()
            ),
        };
        let url = |suffix: &str| Url::parse(&format!("{base}/{suffix}")).ok();
        Some(Endpoints {
            authorization: url("authorize")?,
            token: url("token")?,
            device_code: url("devicecode"),
            issuer: None,
        })
    }

    /// Where the OpenID Connect discovery document lives.
    pub fn discovery_url(&self) -> Option<Url> {
        let s = match self.kind {
            AuthorityKind::Oidc => format!(
                "{}/.well-known/openid-configuration",
                self.issuer.as_deref().unwrap_or_default()
            ),
            AuthorityKind::Adfs => format!("{}/adfs/.well-known/openid-configuration", self.origin),
            _ => format!(
                "{}/v2.0/.well-known/openid-configuration",
                self.canonical_url()
            ),
        };
        Url::parse(&s).ok()
    }
}

fn parse_url(authority: &str) -> Result<Url, AuthorityError> {
    let url = Url::parse(authority.trim()).map_err(|e| AuthorityError::InvalidUrl {
        authority: authority.to_owned(),
        reason: e.to_string(),
    })?;
    if !is_secure(&url) {
        return Err(AuthorityError::InsecureScheme {
            authority: authority.to_owned(),
        });
    }
    let unexpected = |part| AuthorityError::UnexpectedPart {
        authority: authority.to_owned(),
        part,
    };
    if url.query().is_some() {
        return Err(unexpected("a query string"));
    }
    if url.fragment().is_some() {
        return Err(unexpected("a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(unexpected("credentials"));
    }
    Ok(url)
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("kind", &self.kind)
            .field("url", &self.canonical_url())
            .finish()
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical_url())
    }
}

#[cfg(test)]
#[path = "authority_tests.rs"]
mod tests;
