//! What a proof-of-possession request names: the HTTP request the token will be sent with.

use std::sync::Arc;

use super::key::PopKey;
use crate::Error;

/// The HTTP request a proof-of-possession token is for (MSAL.NET's
/// `PoPAuthenticationConfiguration`): its method and URL are signed into the token, so it is
/// useless for any other request and without the key.
///
/// Offered on every confidential client request that gets a token for a resource (client
/// credentials, on-behalf-of, authorization code, silent). Not on a public client's: MSAL
/// allows proof of possession there only through a broker (WAM), which keeps the key in the
/// operating system, and msal-rs has no broker.
///
/// ```
/// # fn main() -> Result<(), msal::Error> {
/// let pop = msal::PopRequest::new("GET", "https://resource.example/api/items?x=1")?
///     .nonce("server-nonce-from-www-authenticate");
/// # let _ = pop;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PopRequest {
    pub(crate) method: String,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) nonce: Option<String>,
    pub(crate) key: Option<Arc<dyn PopKey>>,
}

impl PopRequest {
    /// A request with this HTTP method (`GET`, `POST`, ...) to this absolute `http(s)` URL.
    /// The signed `u` is the URL's host (with its port when not the scheme's default) and `p`
    /// its path; the query is not signed.
    pub fn new(method: impl AsRef<str>, url: impl AsRef<str>) -> Result<Self, Error> {
        let method = method.as_ref().trim();
        let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if method.is_empty() || method.len() > 32 || !method.chars().all(is_token) {
            return Err(Error::InvalidArgument(
                "a proof-of-possession request needs an HTTP method such as GET or POST".into(),
            ));
        }
        let bad_url = || {
            Error::InvalidArgument(
                "a proof-of-possession request needs an absolute http or https URL".into(),
            )
        };
        let url = url::Url::parse(url.as_ref().trim()).map_err(|_| bad_url())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad_url());
        }
        let host = url.host_str().ok_or_else(bad_url)?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(PopRequest {
            method: method.to_ascii_uppercase(),
            host,
            path: url.path().to_owned(),
            nonce: None,
            key: None,
        })
    }

    /// A nonce the resource server asked for (signed as `nonce`). Without one, a random nonce
    /// is signed, as MSAL.NET does.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Bind the token to the app's own key instead of the one msal-rs generates and keeps for
    /// the process.
    pub fn key(mut self, key: Arc<dyn PopKey>) -> Self {
        self.key = Some(key);
        self
    }
}

impl std::fmt::Debug for PopRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopRequest")
            .field("method", &self.method)
            .field("host", &self.host)
            .field("path", &self.path)
            .field("nonce", &self.nonce.is_some())
            .field("app_key", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_url_are_checked() {
        let r = PopRequest::new("get", "https://Resource.Example:8443/api/items?x=1").unwrap();
        assert_eq!(
            (&*r.method, &*r.host, &*r.path),
            ("GET", "resource.example:8443", "/api/items")
        );
        let r = PopRequest::new("POST", "https://resource.example:443/").unwrap();
        assert_eq!(&*r.host, "resource.example");
        for (m, u) in [
            ("", "https://r.example/"),
            ("GE T", "https://r.example/"),
            ("GET", "/relative"),
            ("GET", "ftp://r.example/"),
            ("GET", "not a url"),
        ] {
            assert!(
                matches!(PopRequest::new(m, u), Err(Error::InvalidArgument(_))),
                "{m} {u}"
            );
        }
    }
}
