//! `--tenant`: the authority for a tenant.
//!
//! Until the facade's per-request `.tenant(..)` covers the silent, interactive and device-code
//! requests, the tenant goes into the application's authority here, in this one function: the
//! switch to the request option is a change of [`authority_for_tenant`]'s caller only.

use crate::error::CliError;

/// `authority` with its tenant replaced by `tenant`: the first path segment
/// (`https://login.microsoftonline.com/organizations` → `.../contoso.onmicrosoft.com`), the
/// second after B2C's `tfp`; any policy path after it is kept. ADFS has no tenants.
pub(crate) fn authority_for_tenant(authority: &str, tenant: &str) -> Result<String, CliError> {
    let bad =
        |why: &str| CliError::Usage(format!("--tenant cannot be used with {authority}: {why}"));
    let (scheme, rest) = authority
        .split_once("://")
        .ok_or_else(|| bad("not an https URL"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let mut parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    // parts[0] is the host; the tenant is the next segment (after `tfp` for B2C).
    let at = match parts.get(1) {
        Some(s) if s.eq_ignore_ascii_case("adfs") => return Err(bad("ADFS has no tenants")),
        Some(s) if s.eq_ignore_ascii_case("tfp") => 2,
        _ => 1,
    };
    if parts.first().is_none_or(|h| h.is_empty()) {
        return Err(bad("no host"));
    }
    if at < parts.len() {
        parts[at] = tenant;
    } else {
        parts.push(tenant);
    }
    Ok(format!("{scheme}://{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_replaces_the_authority_s_tenant() {
        let t = |a: &str| authority_for_tenant(a, "contoso.com").map_err(|e| e.to_string());
        assert_eq!(
            t("https://login.microsoftonline.com/organizations").unwrap(),
            "https://login.microsoftonline.com/contoso.com"
        );
        assert_eq!(
            t("https://login.microsoftonline.com/common/").unwrap(),
            "https://login.microsoftonline.com/contoso.com"
        );
        assert_eq!(
            t("https://login.microsoftonline.com").unwrap(),
            "https://login.microsoftonline.com/contoso.com"
        );
        assert_eq!(
            t("https://x.b2clogin.com/tfp/x.onmicrosoft.com/B2C_1_signin").unwrap(),
            "https://x.b2clogin.com/tfp/contoso.com/B2C_1_signin"
        );
        assert!(t("https://adfs.contoso.com/adfs")
            .unwrap_err()
            .contains("ADFS"));
        assert!(t("login.microsoftonline.com").is_err());
    }
}
