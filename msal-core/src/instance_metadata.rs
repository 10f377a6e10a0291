//! Instance discovery metadata an application supplies itself (MSAL.NET
//! `WithInstanceDiscoveryMetadata`, MSAL Node `cloudDiscoveryMetadata`), and the set of hosts an
//! application trusts (MSAL Node `knownAuthorities`).
//!
//! The JSON is the answer of Entra's instance discovery endpoint
//! (`https://login.microsoftonline.com/common/discovery/instance?api-version=1.1`), so an app
//! can save that answer once and ship it:
//!
//! ```json
//! {
//!   "tenant_discovery_endpoint": "https://login.contoso.example/common/v2.0/.well-known/openid-configuration",
//!   "api-version": "1.1",
//!   "metadata": [
//!     { "preferred_network": "login.contoso.example",
//!       "preferred_cache": "login.contoso.example",
//!       "aliases": ["login.contoso.example", "sts.contoso.example"] }
//!   ]
//! }
//! ```
//!
//! Only `metadata` is required; `tenant_discovery_endpoint` and `api-version` are accepted and
//! ignored (endpoints of Entra authorities follow from their templates).

use std::collections::BTreeSet;

use crate::authority::{Authority, AuthorityError};

/// One cloud of an instance discovery answer: the hosts that are aliases of each other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CloudAliases {
    /// The host requests are sent to.
    pub preferred_network: String,
    /// The host tokens are cached under.
    pub preferred_cache: String,
    /// Every host of this cloud.
    pub aliases: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Wire {
    metadata: Option<Vec<CloudAliases>>,
}

/// Parsed, validated instance discovery metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceDiscoveryMetadata {
    clouds: Vec<CloudAliases>,
}

impl InstanceDiscoveryMetadata {
    /// Parse an instance discovery answer (see the [module docs](self) for its shape). Every
    /// host is lowercased; a host that is not a bare `host[:port]` is refused.
    pub fn parse(json: &str) -> Result<Self, AuthorityError> {
        let invalid = |reason: String| AuthorityError::InvalidInstanceMetadata { reason };
        let wire: Wire = serde_json::from_str(json)
            .map_err(|e| invalid(format!("not an instance discovery answer ({e})")))?;
        let mut clouds = wire
            .metadata
            .ok_or_else(|| invalid("it has no `metadata` array".into()))?;
        if clouds.is_empty() {
            return Err(invalid("its `metadata` array is empty".into()));
        }
        for cloud in &mut clouds {
            if cloud.aliases.is_empty() {
                return Err(invalid(format!(
                    "the entry for {:?} has no aliases",
                    cloud.preferred_network
                )));
            }
            for host in std::iter::once(&mut cloud.preferred_network)
                .chain(std::iter::once(&mut cloud.preferred_cache))
                .chain(cloud.aliases.iter_mut())
            {
                *host = normalise_host(host).ok_or_else(|| {
                    invalid(format!("{host:?} is not a host name (host or host:port)"))
                })?;
            }
        }
        Ok(InstanceDiscoveryMetadata { clouds })
    }

    /// The clouds described.
    pub fn clouds(&self) -> &[CloudAliases] {
        &self.clouds
    }

    /// The cloud `host` belongs to (case-insensitive), if any.
    pub fn cloud_of(&self, host: &str) -> Option<&CloudAliases> {
        self.clouds.iter().find(|c| {
            c.aliases
                .iter()
                .chain([&c.preferred_network, &c.preferred_cache])
                .any(|h| h.eq_ignore_ascii_case(host))
        })
    }

    /// Every host named, lowercased.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.clouds.iter().flat_map(|c| {
            c.aliases
                .iter()
                .chain([&c.preferred_network, &c.preferred_cache])
                .map(String::as_str)
        })
    }
}

/// `host` or `host:port`, lowercased, or `None` for anything with a scheme, path, query,
/// credentials or characters a host cannot hold. A URL such as `https://host/tenant` is also
/// accepted and reduced to its `host[:port]`, as MSAL Node's `knownAuthorities` takes either.
pub fn normalise_host(text: &str) -> Option<String> {
    let text = text.trim();
    let host = match text.split_once("://") {
        Some(_) => {
            let url = url::Url::parse(text).ok()?;
            if !url.username().is_empty() || url.password().is_some() {
                return None;
            }
            let host = url.host_str()?;
            match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            }
        }
        None => text.to_owned(),
    };
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'));
    ok.then(|| host.to_ascii_lowercase())
}

/// The hosts an application accepts authorities on, when it restricts them: its known
/// authorities and every host of its instance discovery metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedHosts {
    hosts: BTreeSet<String>,
}

impl TrustedHosts {
    /// Trust exactly these hosts (`host[:port]` or URLs; see [`normalise_host`]).
    pub fn new<I, S>(hosts: I) -> Result<Self, AuthorityError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut me = TrustedHosts::default();
        for host in hosts {
            let host = host.as_ref();
            let normal =
                normalise_host(host).ok_or_else(|| AuthorityError::InvalidInstanceMetadata {
                    reason: format!("known authority {host:?} is not a host name or URL"),
                })?;
            me.hosts.insert(normal);
        }
        Ok(me)
    }

    /// Also trust every host of `metadata`.
    pub fn extend_with(&mut self, metadata: &InstanceDiscoveryMetadata) {
        self.hosts.extend(metadata.hosts().map(str::to_owned));
    }

    /// Whether `host` (`host[:port]`, any case) is trusted.
    pub fn contains(&self, host: &str) -> bool {
        self.hosts.contains(&host.to_ascii_lowercase())
    }

    /// Refuse `authority` unless its host is trusted.
    pub fn check(&self, authority: &Authority) -> Result<(), AuthorityError> {
        if self.contains(authority.environment()) {
            return Ok(());
        }
        Err(AuthorityError::UntrustedAuthority {
            host: authority.environment().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{
        "tenant_discovery_endpoint": "https://login.contoso.example/common/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [
            {"preferred_network": "Login.Contoso.Example", "preferred_cache": "login.contoso.example",
             "aliases": ["login.contoso.example", "sts.contoso.example"]}
        ]
    }"#;

    #[test]
    fn parses_the_instance_discovery_answer() {
        let m = InstanceDiscoveryMetadata::parse(ANSWER).unwrap();
        let cloud = m.cloud_of("STS.contoso.example").unwrap();
        assert_eq!(cloud.preferred_network, "login.contoso.example");
        assert!(m.cloud_of("login.microsoftonline.com").is_none());
        assert_eq!(m.hosts().filter(|h| h.starts_with("sts.")).count(), 1);
    }

    #[test]
    fn refuses_what_is_not_metadata() {
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"metadata": []}"#,
            r#"{"metadata": [{"preferred_network": "a", "preferred_cache": "a", "aliases": []}]}"#,
            r#"{"metadata": [{"preferred_network": "a/b", "preferred_cache": "a", "aliases": ["a"]}]}"#,
            r#"{"metadata": [{"preferred_cache": "a", "aliases": ["a"]}]}"#,
        ] {
            let err = InstanceDiscoveryMetadata::parse(bad).unwrap_err();
            assert!(
                matches!(err, AuthorityError::InvalidInstanceMetadata { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn trusted_hosts_take_hosts_or_urls() {
        let t =
            TrustedHosts::new(["Login.Contoso.Example", "https://b2c.example:8443/tfp/x"]).unwrap();
        assert!(t.contains("login.contoso.example"));
        assert!(t.contains("b2c.example:8443"));
        let outside = Authority::parse("https://evil.example/common").unwrap();
        assert_eq!(
            t.check(&outside),
            Err(AuthorityError::UntrustedAuthority {
                host: "evil.example".into()
            })
        );
        assert!(TrustedHosts::new(["a b"]).is_err());
        assert!(TrustedHosts::new(["https://u:p@h.example"]).is_err());
    }
}
