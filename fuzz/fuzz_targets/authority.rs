//! Authorities: `Authority::parse`, `Authority::oidc`, `OidcMetadata::parse` + `into_endpoints`.
//!
//! The input up to the first newline is the authority URL (lossy UTF-8), given to both
//! `Authority::parse` and `Authority::oidc`; what follows is a tenant given to `with_tenant`
//! (the facade puts the account's home tenant there, which comes from the server). The whole
//! input is also parsed as an OpenID Connect discovery document.
//!
//! Properties:
//! - nothing panics;
//! - every accepted authority's `known_endpoints` (always there for every kind but OIDC) and
//!   `discovery_url` (always there) are `https`, or `http` to a loopback host, and point at
//!   the authority's own host and port: no tenant, policy or issuer text can move an endpoint to
//!   another host or add a query or fragment;
//! - after `with_tenant(anything)` the endpoints are still `https`/loopback `http` on the same
//!   host and port (the tenant is not validated by `with_tenant`, so a `?` or `#` in it does
//!   reach the endpoint's query or fragment: only the host and scheme are checked there);
//! - `environment` is lowercase and is the host (and port) of the endpoints;
//! - accepted discovery documents give endpoints that are `https` or loopback `http`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msal_core::{Authority, AuthorityKind, OidcMetadata};
use msal_fuzz::{is_https_or_loopback_http, split_at_byte};
use url::Url;

fn host_port(u: &Url) -> String {
    match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_owned(),
    }
}

fn check_endpoint(a: &Authority, what: &str, u: &Url, strict: bool) {
    assert!(is_https_or_loopback_http(u), "{what} of {a:?} is not https/loopback: {u}");
    assert_eq!(
        host_port(u),
        a.environment(),
        "{what} of {a:?} points at another host: {u}"
    );
    if strict {
        assert!(u.query().is_none() && u.fragment().is_none(), "{what} of {a:?}: {u}");
    }
}

fn check_authority(a: &Authority, strict: bool) {
    let env = a.environment();
    assert!(!env.is_empty());
    assert!(!env.bytes().any(|b| b.is_ascii_uppercase()), "{env}");
    let _ = (
        a.kind(),
        a.tenant(),
        a.policy(),
        a.is_multi_tenant(),
        a.is_known_entra_host(),
        a.authority_type(),
        a.to_string(),
        format!("{a:?}"),
    );
    let canonical = a.canonical_url();
    assert!(
        canonical.starts_with("https://") || canonical.starts_with("http://"),
        "{canonical}"
    );

    match a.known_endpoints() {
        Some(e) => {
            assert_ne!(a.kind(), AuthorityKind::Oidc);
            check_endpoint(a, "authorization endpoint", &e.authorization, strict);
            check_endpoint(a, "token endpoint", &e.token, strict);
            if let Some(d) = &e.device_code {
                check_endpoint(a, "device code endpoint", d, strict);
            }
        }
        None => assert_eq!(
            a.kind(),
            AuthorityKind::Oidc,
            "{a:?} was accepted but has no endpoints"
        ),
    }
    match a.discovery_url() {
        Some(u) => check_endpoint(a, "discovery URL", &u, strict),
        None => panic!("{a:?} was accepted but has no discovery URL"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (first, rest) = split_at_byte(data, b'\n');
    let text = String::from_utf8_lossy(first);
    let tenant = String::from_utf8_lossy(rest);

    for parsed in [Authority::parse(&text), Authority::oidc(&text)] {
        match parsed {
            Ok(a) => {
                check_authority(&a, true);
                let other = a.with_tenant(&tenant);
                check_authority(&other, false);
                assert_eq!(other.kind(), a.kind());
                assert_eq!(other.environment(), a.environment());
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    if let Ok(meta) = OidcMetadata::parse(data) {
        let issuer = meta.issuer.clone();
        match meta.into_endpoints() {
            Ok(e) => {
                assert!(is_https_or_loopback_http(&e.token), "{}", e.token);
                assert!(is_https_or_loopback_http(&e.authorization), "{}", e.authorization);
                if let Some(d) = &e.device_code {
                    assert!(is_https_or_loopback_http(d), "{d}");
                }
                assert_eq!(e.issuer, issuer);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
