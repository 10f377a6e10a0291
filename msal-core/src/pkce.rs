//! PKCE (RFC 7636), always S256, and random `state`/`nonce` values.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::Secret;

/// A PKCE verifier and its S256 challenge. `Debug` shows the challenge, not the verifier.
#[derive(Clone, Debug)]
pub struct Pkce {
    verifier: Secret,
    challenge: String,
}

impl Pkce {
    /// A fresh verifier of 32 random bytes (43 base64url characters) from the OS generator.
    pub fn new() -> Self {
        let verifier = random_urlsafe(32);
        let challenge = s256(&verifier);
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }

    /// The verifier, sent with the code redemption.
    pub fn verifier(&self) -> &str {
        self.verifier.expose_secret()
    }

    /// The challenge, sent with the authorization request.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// Always `S256`: msal-rs never sends `plain`.
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// `BASE64URL(SHA256(verifier))`.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `len` random bytes from the OS generator, base64url without padding (for `state`, `nonce`).
pub fn random_urlsafe(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_fresh_and_well_formed() {
        let (a, b) = (Pkce::new(), Pkce::new());
        assert_ne!(a.verifier(), b.verifier());
        assert_eq!(a.verifier().len(), 43);
        assert_eq!(a.challenge(), s256(a.verifier()));
        assert!(!format!("{a:?}").contains(a.verifier()));
    }
}
