//! ID tokens: the claims msal-rs reads to build accounts.
//!
//! The signature is not checked here: the token arrived over TLS straight from the token
//! endpoint (OpenID Connect Core §3.1.3.7 allows skipping validation in that case), and it is
//! only used to describe the account. `aud`, `nonce` and expiry checks that the interactive flow
//! needs are done by the caller with the decoded claims.

use serde::Deserialize;

use crate::client_info::decode_base64url;

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `client_id` is among the audiences.
    pub fn contains(&self, client_id: &str) -> bool {
        match self {
            Audience::One(a) => a == client_id,
            Audience::Many(v) => v.iter().any(|a| a == client_id),
        }
    }
}

/// The claims of an ID token that msal-rs uses; others are kept in `extra`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Audience.
    pub aud: Option<Audience>,
    /// Expiry (Unix seconds).
    pub exp: Option<f64>,
    /// Issued at (Unix seconds).
    pub iat: Option<f64>,
    /// Nonce echoed from the authorization request.
    pub nonce: Option<String>,
    /// Entra object id.
    pub oid: Option<String>,
    /// Entra tenant id.
    pub tid: Option<String>,
    /// Entra's sign-in name.
    pub preferred_username: Option<String>,
    /// ADFS user principal name.
    pub upn: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An ID token that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("id_token is malformed: {reason}")]
pub struct IdTokenError {
    /// What is wrong (never the token itself).
    pub reason: &'static str,
}

impl IdTokenClaims {
    /// Decode the payload of a compact JWT (`header.payload.signature`).
    pub fn decode(jwt: &str) -> Result<Self, IdTokenError> {
        let mut parts = jwt.split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdTokenError {
                reason: "not three dot-separated parts",
            });
        };
        let bytes = decode_base64url(payload).ok_or(IdTokenError {
            reason: "payload is not base64url",
        })?;
        serde_json::from_slice(&bytes).map_err(|_| IdTokenError {
            reason: "payload is not a JSON object of the expected claim types",
        })
    }

    /// The account's id in its tenant: `oid`, else `sub`.
    pub fn local_account_id(&self) -> Option<&str> {
        self.oid.as_deref().or(self.sub.as_deref())
    }

    /// The sign-in name: `preferred_username`, else `upn`, else `email`.
    pub fn username(&self) -> Option<&str> {
        self.preferred_username
            .as_deref()
            .or(self.upn.as_deref())
            .or(self.email.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", e(r#"{"alg":"none"}"#), e(payload))
    }

    #[test]
    fn decodes_claims() {
        let c = IdTokenClaims::decode(&jwt(
            r#"{"sub":"s","oid":"o","tid":"t","preferred_username":"a@b","aud":["x","c"],"exp":1.5e9,"custom":1}"#,
        ))
        .unwrap();
        assert_eq!(c.local_account_id(), Some("o"));
        assert_eq!(c.username(), Some("a@b"));
        assert!(c.aud.unwrap().contains("c"));
        assert!(c.extra.contains_key("custom"));
    }

    #[test]
    fn adfs_falls_back_to_sub_and_upn() {
        let c = IdTokenClaims::decode(&jwt(r#"{"sub":"subject","upn":"u@fs"}"#)).unwrap();
        assert_eq!(c.local_account_id(), Some("subject"));
        assert_eq!(c.username(), Some("u@fs"));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "a.!!!.c",
            &jwt("[1]"),
            &jwt(r#"{"sub":5}"#),
        ] {
            assert!(IdTokenClaims::decode(bad).is_err(), "{bad}");
        }
    }
}
