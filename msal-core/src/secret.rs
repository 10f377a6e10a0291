//! [`Secret`]: the one type every token, code, verifier, assertion, key and client secret is
//! held in, so that redaction comes from the type and not from each holder's `Debug` impl.
//!
//! # Design
//!
//! - It owns a `String` (not generic over the storage): every secret the library holds
//!   outside the cache is owned by exactly one request, flow or credential, and is short.
//!   Where sharing is wanted (a client secret used by every request) the holder puts the
//!   `Secret` in an `Arc`.
//! - The bytes are wiped (with [`zeroize`]) when it is dropped.
//! - `Debug` prints `Secret([redacted])`: never the content, never its length. There is no
//!   `Display`, so `{}` does not compile; reading it takes an explicit
//!   [`expose_secret`](Secret::expose_secret).
//! - Equality is constant-time (with [`subtle`]), so comparing a received `state` or code
//!   does not leak how much of it matched.
//! - Serde (de)serializes it as the plain string: [`AuthorizationCodeFlow`] keeps a verifier
//!   in the user's session, and its serialized form is the same as before this type existed.
//!
//! # Where tokens go
//!
//! Tokens arrive in a [`TokenResponse`](crate::TokenResponse) as `Secret`s (wiped once the
//! response is dropped) and are cached as [`SharedSecret`](crate::SharedSecret)s: the cache
//! hands one token to many callers, and a `SharedSecret` is shared by reference count instead
//! of copied. See its module for that trade.
//!
//! [`AuthorizationCodeFlow`]: https://docs.rs/msal/latest/msal/struct.AuthorizationCodeFlow.html

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret string (token, code, verifier, assertion, key, client secret): wiped on drop,
/// redacted in `Debug`, no `Display`, compared in constant time.
///
/// ```
/// use msal_core::Secret;
///
/// let secret = Secret::new("p@ssw0rd");
/// assert_eq!(format!("{secret:?}"), "Secret([redacted])");
/// assert_eq!(secret.expose_secret(), "p@ssw0rd");
/// ```
///
/// `Clone` copies the bytes into a new allocation; each copy is wiped on its own drop, so a
/// clone never outlives its wiping, but it does mean the secret is in memory twice until one
/// is dropped. Share one through an `Arc<Secret>` where that matters.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Hold `value` as a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret itself, to send it where it belongs. Never log or format it.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self == other.expose_secret()
    }
}

impl Eq for Secret {}

impl PartialEq<str> for Secret {
    /// Constant-time in the content (the length may still differ early).
    fn eq(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl PartialEq<&str> for Secret {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl Serialize for Secret {
    /// As the plain string: the holder decides where its serialized form may go.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2VjcmV0";

    #[test]
    fn debug_shows_neither_content_nor_length() {
        let secret = Secret::new(VALUE);
        let shown = format!("{secret:?}");
        assert_eq!(shown, "Secret([redacted])");
        assert_eq!(format!("{secret:#?}"), "Secret([redacted])");
        assert!(!shown.contains(&VALUE.len().to_string()));
        assert_eq!(format!("{:?}", Secret::new("")), shown);
    }

    #[test]
    fn debug_is_redacted_inside_a_derived_debug() {
        #[derive(Debug)]
        #[allow(dead_code)] // read only through Debug
        struct Holder {
            name: &'static str,
            secret: Secret,
            optional: Option<Secret>,
            many: Vec<Secret>,
        }
        let holder = Holder {
            name: "visible",
            secret: Secret::new(VALUE),
            optional: Some(Secret::from(VALUE)),
            many: vec![Secret::from(VALUE.to_owned())],
        };
        for shown in [format!("{holder:?}"), format!("{holder:#?}")] {
            assert!(shown.contains("visible"), "{shown}");
            assert!(!shown.contains("eyJ"), "{shown}");
            assert!(!shown.contains("c2VjcmV0"), "{shown}");
            assert_eq!(shown.matches("Secret([redacted])").count(), 3, "{shown}");
        }
    }

    #[test]
    fn reads_compares_and_clones() {
        let secret = Secret::new(VALUE);
        assert_eq!(secret.expose_secret(), VALUE);
        assert!(secret == VALUE);
        assert!(secret != "other");
        assert!(secret != VALUE[..5]);
        assert_eq!(secret.clone(), secret);
        assert!(!secret.is_empty());
        assert!(Secret::default().is_empty());
    }

    #[test]
    fn serializes_as_the_plain_string() {
        let secret = Secret::new(VALUE);
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, format!("\"{VALUE}\""));
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back, secret);
    }
}
