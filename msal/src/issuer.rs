//! The `iss` check of ID tokens from OpenID Connect authorities (OpenID Connect Core §3.1.3.7
//! step 2): the issuer must be the one the provider's discovery document names, or a provider
//! could pass off ID tokens another provider issued.
//!
//! Entra's multi-tenant discovery documents (`/common`, `/organizations`) name the template
//! `https://login.microsoftonline.com/{tenantid}/v2.0`: `{tenantid}` stands for the token's own
//! `tid` claim. Entra, B2C, CIAM and ADFS authorities have templated endpoints and no discovered
//! issuer, so they are not checked here (their issuers are per tenant and per policy).

/// The placeholder of Entra's multi-tenant issuer template.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether `iss` is the issuer the discovery document named (`expected`). A trailing `/` is
/// ignored on both sides; `{tenantid}` in `expected` must be the token's `tid`.
pub(crate) fn issuer_matches(expected: &str, iss: &str, tid: Option<&str>) -> bool {
    matches_template(expected, iss, |segment| tid == Some(segment))
}

/// Whether a discovery document's issuer names the authority it was fetched for: the same URL,
/// or Entra's template with `{tenantid}` standing for the authority's tenant segment (`common`,
/// `organizations`, a tenant id or domain).
pub(crate) fn issuer_names_authority(issuer: &str, authority: &str) -> bool {
    matches_template(issuer, authority, |_| true)
}

/// `expected` equals `actual`, or `expected` holds `{tenantid}` and `actual` has, in its place,
/// one tenant segment that `tenant_ok` accepts.
fn matches_template(expected: &str, actual: &str, tenant_ok: impl Fn(&str) -> bool) -> bool {
    let expected = expected.trim_end_matches('/');
    let actual = actual.trim_end_matches('/');
    if expected.eq_ignore_ascii_case(actual) {
        return true;
    }
    let Some(at) = find_ignore_case(expected, TENANT_PLACEHOLDER) else {
        return false;
    };
    let (before, after) = (&expected[..at], &expected[at + TENANT_PLACEHOLDER.len()..]);
    if actual.len() <= before.len() + after.len()
        || !actual.is_char_boundary(before.len())
        || !actual.is_char_boundary(actual.len() - after.len())
    {
        return false;
    }
    let segment = &actual[before.len()..actual.len() - after.len()];
    actual[..before.len()].eq_ignore_ascii_case(before)
        && actual[actual.len() - after.len()..].eq_ignore_ascii_case(after)
        && crate::tenant_name::is_valid_tenant(segment)
        && tenant_ok(segment)
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::issuer_matches;

    const TID: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";

    #[test]
    fn exact_issuers_match_and_others_do_not() {
        assert!(issuer_matches(
            "https://idp.example",
            "https://idp.example/",
            None
        ));
        assert!(issuer_matches(
            "https://idp.example/",
            "https://idp.example",
            None
        ));
        assert!(!issuer_matches(
            "https://idp.example",
            "https://evil.example",
            None
        ));
        assert!(!issuer_matches(
            "https://idp.example",
            "https://idp.example/x",
            None
        ));
    }

    #[test]
    fn a_template_document_names_its_multi_tenant_authority() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        for authority in ["common", "organizations", TID, "contoso.onmicrosoft.com"] {
            let url = format!("https://login.microsoftonline.com/{authority}/v2.0");
            assert!(super::issuer_names_authority(template, &url), "{url}");
        }
        for other in [
            "https://login.microsoftonline.com/v2.0",
            "https://login.microsoftonline.com/a/b/v2.0",
            "https://evil.example/common/v2.0",
        ] {
            assert!(!super::issuer_names_authority(template, other), "{other}");
        }
    }

    #[test]
    fn the_tenant_template_takes_the_tokens_own_tid() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let iss = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(issuer_matches(template, &iss, Some(TID)));
        // Another tenant's token, a missing tid, or a tid that is not a tenant: refused.
        assert!(!issuer_matches(
            template,
            &iss,
            Some("00000000-0000-0000-0000-000000000000")
        ));
        assert!(!issuer_matches(template, &iss, None));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com/a/b/v2.0",
            Some("a/b")
        ));
        assert!(!issuer_matches(
            template,
            "https://evil.example/x/v2.0",
            Some("x")
        ));
        assert!(issuer_matches(
            "https://login.microsoftonline.com/{TenantId}/v2.0",
            &iss,
            Some(TID)
        ));
    }
}
