//! [`SharedSecret`]: a token that many readers share without copying it, with the same
//! redaction as [`Secret`].
//!
//! # Why a second type
//!
//! The token cache hands the same access token to every caller that hits it, thousands of
//! times a second, and [`Secret`] owns its bytes, so sharing one would mean a
//! copy per hit or an `Arc<Secret>` (two pointer hops on the hit path, and an allocation per
//! entry at load). `SharedSecret` is an [`ArcStr`]: one allocation, a thin pointer, a clone is a
//! reference count. The hit benchmark (`msal-bench`, the callgrind method in BENCHMARKS.md)
//! shows no difference from the bare `ArcStr` it replaced.
//!
//! What it gives up: the bytes are not wiped on drop. They are immutable and shared, so no
//! single holder may wipe them; the cache's tokens live as long as the cache anyway. Secrets
//! that have one owner (codes, verifiers, client secrets, the token response on its way into
//! the cache) are [`Secret`]s and are wiped.
//!
//! Like [`Secret`]: `Debug` prints `SharedSecret([redacted])`, there is no
//! `Display`, equality is constant-time, and serde reads and writes the plain string (the
//! unified cache format stores tokens as plain strings).

use std::fmt;

use arcstr::ArcStr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

use crate::Secret;

/// A shared, immutable secret string (a cached access, refresh or ID token): cheap to clone,
/// redacted in `Debug`, no `Display`, compared in constant time.
///
/// ```
/// use msal_core::SharedSecret;
///
/// let token = SharedSecret::from("eyJ0eXAi.c2VjcmV0");
/// let copy = token.clone(); // a reference count, not a copy of the bytes
/// assert_eq!(format!("{copy:?}"), "SharedSecret([redacted])");
/// assert_eq!(copy.expose_secret(), "eyJ0eXAi.c2VjcmV0");
/// ```
#[derive(Clone, Default)]
pub struct SharedSecret(ArcStr);

impl SharedSecret {
    /// Hold `value` as a shared secret.
    pub fn new(value: impl Into<ArcStr>) -> Self {
        SharedSecret(value.into())
    }

    /// The secret itself, to send it where it belongs. Never log or format it.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Its length in bytes (for sizing buffers; not secret in the unified cache format, which
    /// stores it in clear).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether two handles share one allocation (a cheap identity test, not a comparison).
    pub fn ptr_eq(&self, other: &SharedSecret) -> bool {
        ArcStr::ptr_eq(&self.0, &other.0)
    }
}

impl From<&str> for SharedSecret {
    fn from(value: &str) -> Self {
        SharedSecret(ArcStr::from(value))
    }
}

impl From<String> for SharedSecret {
    fn from(value: String) -> Self {
        SharedSecret(ArcStr::from(value))
    }
}

impl From<ArcStr> for SharedSecret {
    fn from(value: ArcStr) -> Self {
        SharedSecret(value)
    }
}

impl From<&Secret> for SharedSecret {
    /// Copies the bytes into a shared allocation; the [`Secret`] keeps wiping its own copy.
    fn from(value: &Secret) -> Self {
        SharedSecret::from(value.expose_secret())
    }
}

impl From<Secret> for SharedSecret {
    /// Copies the bytes into a shared allocation; `value` is wiped as it is dropped here.
    fn from(value: Secret) -> Self {
        SharedSecret::from(&value)
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

impl PartialEq for SharedSecret {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || self == other.expose_secret()
    }
}

impl Eq for SharedSecret {}

impl PartialEq<str> for SharedSecret {
    /// Constant-time in the content (the length may still differ early).
    fn eq(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl PartialEq<&str> for SharedSecret {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl PartialEq<String> for SharedSecret {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

impl Serialize for SharedSecret {
    /// As the plain string: the holder decides where its serialized form may go.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl<'de> Deserialize<'de> for SharedSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SharedSecret::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2VjcmV0";

    #[test]
    fn debug_is_redacted_alone_and_inside_a_derived_debug() {
        #[derive(Debug)]
        #[allow(dead_code)] // read only through Debug
        struct Entry {
            realm: &'static str,
            secret: SharedSecret,
            id_token: Option<SharedSecret>,
        }
        let entry = Entry {
            realm: "contoso",
            secret: SharedSecret::from(VALUE),
            id_token: Some(SharedSecret::from(VALUE.to_owned())),
        };
        assert_eq!(format!("{:?}", entry.secret), "SharedSecret([redacted])");
        for shown in [format!("{entry:?}"), format!("{entry:#?}")] {
            assert!(shown.contains("contoso"), "{shown}");
            assert!(
                !shown.contains("eyJ") && !shown.contains("c2VjcmV0"),
                "{shown}"
            );
            assert_eq!(shown.matches("SharedSecret([redacted])").count(), 2);
        }
    }

    #[test]
    fn clones_share_one_allocation_and_compare_by_content() {
        let a = SharedSecret::from(VALUE);
        let b = a.clone();
        assert!(a.ptr_eq(&b));
        let c = SharedSecret::from(Secret::new(VALUE));
        assert!(!a.ptr_eq(&c));
        assert_eq!(a, c);
        assert!(a == VALUE);
        assert!(a != "other");
        assert_eq!(a.len(), VALUE.len());
        assert!(SharedSecret::default().is_empty());
    }

    #[test]
    fn serializes_as_the_plain_string() {
        let secret = SharedSecret::from(VALUE);
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, format!("\"{VALUE}\""));
        let back: SharedSecret = serde_json::from_str(&json).unwrap();
        assert_eq!(back, secret);
    }
}
