//! What may stand as a tenant in an authority URL. Its own module because the client core, the
//! discovered-issuer check and the request flows all ask it, and the issuer check is below the
//! client core (it would otherwise close an import circle).

/// Whether `tenant` can go into an authority URL: a GUID or a domain name. Anything else (a
/// `/`, `?` or `#` from a tampered cache entry or a caller) would change the URL's path or
/// query.
pub(crate) fn is_valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_valid_tenant;

    #[test]
    fn tenants_are_guids_or_domain_names() {
        for ok in [
            "72f9a1b0-dddd-4eee-9fff-222222222222",
            "contoso.onmicrosoft.com",
            "consumers",
            "9188040d-6c67-4c5b-b112-36a304b66dad",
        ] {
            assert!(is_valid_tenant(ok), "{ok}");
        }
        for bad in [
            "",
            "a/b",
            "t?x=1",
            "t#f",
            "t%2f",
            "t b",
            "ü",
            &"a".repeat(257),
        ] {
            assert!(!is_valid_tenant(bad), "{bad}");
        }
    }
}
