//! What requests share before they reach a flow: the options every confidential request
//! builder takes, the rule for when a cached token may be served, and claims merging.

use crate::Error;

/// Whether a cached token may be served: no force_refresh, no claims challenge (an empty or
/// blank claims string is no challenge).
pub(crate) fn may_use_cache(force_refresh: bool, claims: Option<&str>) -> bool {
    !force_refresh && claims.is_none_or(|c| c.trim().is_empty())
}

/// Options every confidential request takes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestOptions {
    pub tenant: Option<String>,
    pub claims: Option<String>,
    pub force_refresh: bool,
    pub correlation_id: Option<String>,
    /// A key-bound scheme (PoP, SSH certificate), on the builders that take one.
    pub auth_scheme: Option<crate::pop::SchemeRequest>,
    /// This request's extra query parameters (see [`crate::extra_query`]).
    pub extra_query: crate::extra_query::QueryParams,
}

impl RequestOptions {
    /// Whether a cached token may be served: no force_refresh, no claims challenge.
    pub(crate) fn may_use_cache(&self) -> bool {
        may_use_cache(self.force_refresh, self.claims.as_deref())
    }
}

/// The options every confidential request builder takes, on a builder with an `options:
/// RequestOptions` field.
macro_rules! request_options {
    ($builder:ty) => {
        impl $builder {
            /// Ask this tenant instead of the configured authority's (a multi-tenant app serving
            /// its customers' tenants). Tokens are cached per tenant.
            pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
                self.options.tenant = Some(tenant.into());
                self
            }

            /// A claims challenge (JSON) from a resource's `WWW-Authenticate` header: skips the
            /// cache and is sent with the request.
            pub fn claims(mut self, claims: impl Into<String>) -> Self {
                self.options.claims = Some(claims.into());
                self
            }

            /// Skip the cached token and ask the identity provider (default false).
            pub fn force_refresh(mut self, force: bool) -> Self {
                self.options.force_refresh = force;
                self
            }

            /// The correlation id sent as `client-request-id` (default: a new UUID).
            pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
                self.options.correlation_id = Some(id.into());
                self
            }

            /// Extra query parameters for this request's URLs, merged over the application's
            /// (see [`extra_query_parameters`](crate::ConfidentialClientApplicationBuilder::extra_query_parameters)).
            /// Naming a protocol parameter fails the request with
            /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) before anything is sent.
            pub fn extra_query_parameters<I, K, V>(mut self, params: I) -> Self
            where
                I: IntoIterator<Item = (K, V)>,
                K: Into<String>,
                V: Into<String>,
            {
                self.options.extra_query = crate::extra_query::collect(params);
                self
            }
        }
    };
}
pub(crate) use request_options;

/// Merge a claims request with client capabilities (`xms_cc`), as every MSAL does.
/// Capabilities alone do not bypass the cache.
pub(crate) fn merge_claims(
    claims: Option<&str>,
    capabilities: &[String],
) -> Result<Option<String>, Error> {
    let claims = claims.filter(|c| !c.trim().is_empty());
    if claims.is_none() && capabilities.is_empty() {
        return Ok(None);
    }
    let bad = || Error::InvalidArgument("claims must be a JSON object".into());
    let mut value: serde_json::Value = match claims {
        Some(c) => serde_json::from_str(c).map_err(|_| bad())?,
        None => serde_json::json!({}),
    };
    let object = value.as_object_mut().ok_or_else(bad)?;
    if !capabilities.is_empty() {
        let access_token = object
            .entry("access_token")
            .or_insert_with(|| serde_json::json!({}));
        let access_token = access_token.as_object_mut().ok_or_else(bad)?;
        access_token.insert(
            "xms_cc".into(),
            serde_json::json!({ "values": capabilities }),
        );
    }
    Ok(Some(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_claims_challenge_or_force_refresh_skips_the_cache() {
        assert!(may_use_cache(false, None));
        assert!(may_use_cache(false, Some("  ")));
        assert!(!may_use_cache(true, None));
        assert!(!may_use_cache(false, Some("{}")));
    }

    #[test]
    fn capabilities_merge_into_the_access_token_claims() {
        let merged = merge_claims(Some(r#"{"id_token":{"x":1}}"#), &["cp1".into()])
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(v["access_token"]["xms_cc"]["values"][0], "cp1");
        assert_eq!(v["id_token"]["x"], 1);
        assert_eq!(merge_claims(None, &[]).unwrap(), None);
        assert!(merge_claims(Some("[1]"), &[]).is_err());
    }
}
