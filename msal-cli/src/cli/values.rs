//! Checks and conversions of option values (clap `value_parser`s).

/// The scope of a v1-style resource: `<resource>/.default`, exactly as az builds it (a trailing
/// slash is kept: Entra ID reads `https://x//.default` as the resource `https://x/`).
pub(crate) fn resource_scope(resource: &str) -> String {
    format!("{resource}/.default")
}

/// A `--scope` value: one or more scopes separated by spaces. Empty values and commas (a
/// common slip: scopes are space-separated) are usage errors.
pub(crate) fn parse_scope(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(
            "a scope cannot be empty (e.g. --scope https://graph.microsoft.com/.default)".into(),
        );
    }
    if value.contains(',') {
        return Err(
            "scopes are separated by spaces, not commas: repeat --scope or quote them space-separated".into(),
        );
    }
    Ok(value.to_owned())
}

/// A `--resource` value: one URI or app id, with no spaces or commas.
pub(crate) fn parse_resource(value: &str) -> Result<String, String> {
    if value.trim().is_empty() || value.contains([' ', ',', '\t']) {
        return Err("give one resource, e.g. --resource https://management.azure.com/".into());
    }
    Ok(value.to_owned())
}

/// A `--tenant` value: a tenant id or domain (one path segment).
pub(crate) fn parse_tenant(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err("a tenant is an id or a domain, e.g. contoso.onmicrosoft.com".into())
    }
}

/// A `--claims` value: a JSON object.
pub(crate) fn parse_claims(value: &str) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(value.to_owned()),
        _ => Err("claims are a JSON object, e.g. '{\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c1\"}}}'".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_values_are_checked() {
        assert!(parse_scope("").is_err());
        assert!(parse_scope("  ").is_err());
        assert!(parse_scope("a,b").is_err());
        assert_eq!(parse_scope("a b").unwrap(), "a b");
    }

    #[test]
    fn a_resource_becomes_its_default_scope_as_az_makes_it() {
        assert_eq!(
            resource_scope("https://management.core.windows.net/"),
            "https://management.core.windows.net//.default"
        );
        assert_eq!(
            resource_scope("https://managedhsm.azure.com"),
            "https://managedhsm.azure.com/.default"
        );
    }
}
