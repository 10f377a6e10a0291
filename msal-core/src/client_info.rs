//! `client_info`: Entra's base64url JSON `{"uid": ..., "utid": ...}` naming the home account.

use base64::Engine;

/// Decoded `client_info`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct ClientInfo {
    /// The user's object id in the home tenant.
    #[serde(default)]
    pub uid: Option<String>,
    /// The home tenant id.
    #[serde(default)]
    pub utid: Option<String>,
}

/// `client_info` that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client_info is malformed: {reason}")]
pub struct ClientInfoError {
    /// What is wrong (never the value itself).
    pub reason: &'static str,
}

impl ClientInfo {
    /// Decode base64url (padded or not) JSON.
    pub fn decode(raw: &str) -> Result<Self, ClientInfoError> {
        let bytes = decode_base64url(raw).ok_or(ClientInfoError {
            reason: "not base64url",
        })?;
        serde_json::from_slice(&bytes).map_err(|_| ClientInfoError {
            reason: "not a JSON object with string uid/utid",
        })
    }

    /// `"{uid}.{utid}"` when both are present and non-empty.
    pub fn home_account_id(&self) -> Option<String> {
        match (self.uid.as_deref(), self.utid.as_deref()) {
            (Some(uid), Some(utid)) if !uid.is_empty() && !utid.is_empty() => {
                Some(format!("{uid}.{utid}"))
            }
            _ => None,
        }
    }
}

/// Decode base64url with or without padding (Entra omits it; some servers add it).
pub(crate) fn decode_base64url(raw: &str) -> Option<Vec<u8>> {
    let trimmed = raw.trim().trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(s: &str, pad: bool) -> String {
        if pad {
            base64::engine::general_purpose::URL_SAFE.encode(s)
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        }
    }

    #[test]
    fn decodes_with_and_without_padding() {
        for pad in [true, false] {
            let ci = ClientInfo::decode(&encode(r#"{"uid":"u1","utid":"t1"}"#, pad)).unwrap();
            assert_eq!(ci.home_account_id().as_deref(), Some("u1.t1"));
        }
    }

    #[test]
    fn missing_parts_give_no_home_account_id() {
        let ci = ClientInfo::decode(&encode(r#"{"uid":"u1"}"#, false)).unwrap();
        assert_eq!(ci.home_account_id(), None);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(ClientInfo::decode("!!!").is_err());
        assert!(ClientInfo::decode(&encode("[1,2]", false)).is_err());
        assert!(ClientInfo::decode(&encode(r#"{"uid":5}"#, false)).is_err());
        assert!(ClientInfo::decode("").is_err());
    }
}
