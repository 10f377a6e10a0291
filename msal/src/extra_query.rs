//! Extra query parameters (MSAL.NET's `WithExtraQueryParameters`): name-value pairs an app adds
//! to the identity provider's URLs, e.g. `dc=ESTS-PUB-WUS2` to pin a data center, or a slice
//! for testing.
//!
//! Where they go, as in MSAL.NET: the query string of the authorization URL (interactive
//! sign-in, a web app's authorization request), of the token endpoint (every grant) and of the
//! device authorization endpoint. Never into the form body.
//!
//! # Choices
//! - Request-level parameters merge over the application's: same name (compared
//!   case-insensitively), the request's value wins.
//! - A parameter that names a protocol parameter ([`PROTOCOL_PARAMETERS`]: `client_id`,
//!   `grant_type`, `scope`, `code`, `redirect_uri`, ...) or one the endpoint's URL already
//!   carries (a B2C policy's `p`) is refused with [`Error::InvalidArgument`], when the
//!   application is built or the request is awaited, before anything is sent. A silently
//!   dropped parameter would leave the caller believing it was sent; an overriding one could
//!   change which client, user or grant a request is for.
//! - They are not part of the cache key: a cached token is served whatever extra parameters a
//!   request carries (MSAL.NET's default), and concurrent refreshes of the same token share one
//!   request.

use crate::Error;

/// The parameters MSAL sends itself, which an extra query parameter may never name (compared
/// case-insensitively).
pub(crate) const PROTOCOL_PARAMETERS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "client_info",
    "grant_type",
    "scope",
    "code",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "redirect_uri",
    "response_type",
    "response_mode",
    "refresh_token",
    "assertion",
    "requested_token_use",
    "username",
    "password",
    "device_code",
    "state",
    "nonce",
    "prompt",
    "login_hint",
    "domain_hint",
    "claims",
    "x-client-sku",
    "x-client-ver",
    "x-client-os",
    "x-client-cpu",
    "client-request-id",
    "return-client-request-id",
];

/// Extra query parameters, in the order given.
pub(crate) type QueryParams = Vec<(String, String)>;

/// Collect name-value pairs given by the caller.
pub(crate) fn collect<I, K, V>(params: I) -> QueryParams
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    params
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// Refuse an empty name or a protocol parameter's (see the [module notes](self)).
pub(crate) fn validate(params: &[(String, String)]) -> Result<(), Error> {
    for (name, _) in params {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidArgument(
                "an extra query parameter has an empty name".into(),
            ));
        }
        if PROTOCOL_PARAMETERS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(trimmed))
        {
            return Err(Error::InvalidArgument(format!(
                "the extra query parameter {trimmed:?} would override a protocol parameter msal sends itself"
            )));
        }
    }
    Ok(())
}

/// The application's parameters with the request's merged over them (same name: the request's
/// value), both validated.
pub(crate) fn merge(
    app: &[(String, String)],
    request: &[(String, String)],
) -> Result<QueryParams, Error> {
    validate(app)?;
    validate(request)?;
    let mut merged: QueryParams = app
        .iter()
        .filter(|(name, _)| !request.iter().any(|(r, _)| r.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    merged.extend(request.iter().cloned());
    Ok(merged)
}

/// `url` with `params` appended to its query. A name the URL's query already has is refused:
/// the endpoint's own parameters (a B2C policy) are protocol too.
pub(crate) fn apply(url: &url::Url, params: &[(String, String)]) -> Result<url::Url, Error> {
    if params.is_empty() {
        return Ok(url.clone());
    }
    if let Some((name, _)) = params.iter().find(|(name, _)| {
        url.query_pairs()
            .any(|(existing, _)| existing.eq_ignore_ascii_case(name))
    }) {
        return Err(Error::InvalidArgument(format!(
            "the extra query parameter {name:?} is already part of the endpoint's URL"
        )));
    }
    let mut url = url.clone();
    url.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(url)
}

/// `extra_query_parameters` on a request builder whose parameters live at `self.<field path>`.
macro_rules! extra_query_setter {
    ($builder:ty, $($field:ident).+) => {
        impl $builder {
            /// Extra query parameters for this request's URLs (authorization, token and device
            /// authorization endpoints), merged over the application's; see
            /// [`extra_query_parameters`](crate::PublicClientApplicationBuilder::extra_query_parameters).
            /// Naming a protocol parameter fails the request with
            /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) before anything is sent.
            pub fn extra_query_parameters<I, K, V>(mut self, params: I) -> Self
            where
                I: IntoIterator<Item = (K, V)>,
                K: Into<String>,
                V: Into<String>,
            {
                self.$($field).+ = $crate::extra_query::collect(params);
                self
            }
        }
    };
}
pub(crate) use extra_query_setter;

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> QueryParams {
        collect(p.iter().copied())
    }

    #[test]
    fn request_parameters_merge_over_the_apps() {
        let merged = merge(
            &pairs(&[("dc", "ESTS-PUB-WUS2"), ("slice", "testslice")]),
            &pairs(&[("DC", "ESTS-PUB-EUS"), ("x", "1")]),
        )
        .unwrap();
        assert_eq!(
            merged,
            pairs(&[("slice", "testslice"), ("DC", "ESTS-PUB-EUS"), ("x", "1")])
        );
    }

    #[test]
    fn protocol_parameters_and_empty_names_are_refused() {
        for name in ["client_id", "Grant_Type", " scope ", "redirect_uri", ""] {
            let err = merge(&[], &pairs(&[(name, "x")])).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{name:?}: {err}");
        }
        assert!(merge(&pairs(&[("code", "x")]), &[]).is_err());
    }

    #[test]
    fn parameters_are_appended_to_the_query_and_never_replace_the_urls_own() {
        let url =
            url::Url::parse("https://login.example/t/oauth2/v2.0/token?p=b2c_1_signin").unwrap();
        let with = apply(&url, &pairs(&[("dc", "ESTS PUB")])).unwrap();
        assert_eq!(
            with.as_str(),
            "https://login.example/t/oauth2/v2.0/token?p=b2c_1_signin&dc=ESTS+PUB"
        );
        assert!(apply(&url, &pairs(&[("P", "other")])).is_err());
        assert_eq!(apply(&url, &[]).unwrap(), url);
    }
}
