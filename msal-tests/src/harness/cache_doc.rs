//! Unified-schema cache documents to seed a cache with, and readers of stored ones.

use serde_json::{json, Value};

use super::{hid, id_token, CLIENT_ID, ENV, T0, USERNAME, UTID};

/// A unified-schema cache document under construction (MSAL Python's dialect by default).
#[derive(Clone, Debug)]
pub struct CacheDoc(pub Value);

impl Default for CacheDoc {
    fn default() -> Self {
        CacheDoc(
            json!({"AccessToken": {}, "RefreshToken": {}, "IdToken": {}, "Account": {}, "AppMetadata": {}}),
        )
    }
}

impl CacheDoc {
    /// An empty document (every section present, none with entries).
    pub fn new() -> Self {
        Self::default()
    }

    fn put(&mut self, section: &str, key: String, value: Value) {
        self.0[section][key] = value;
    }

    /// The document's bytes, as a store holds them.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("JSON serializes")
    }

    /// The signed-in user's account, ID token and refresh token for `client_id`.
    pub fn signed_in(self, client_id: &str, refresh_token: &str) -> Self {
        self.account(&hid(), ENV, UTID, USERNAME)
            .refresh_token(&hid(), ENV, client_id, refresh_token, None)
            .id_token(&hid(), ENV, client_id, UTID)
    }

    /// The signed-in user of [`CLIENT_ID`] with `refresh_token` and one access token for
    /// `target` in the home tenant, expiring at `expires_on` (the most common seed).
    pub fn signed_in_with(
        refresh_token: &str,
        target: &str,
        access_token: &str,
        expires_on: u64,
    ) -> Self {
        Self::signed_in_with_refresh_on(refresh_token, target, access_token, expires_on, None)
    }

    /// [`CacheDoc::signed_in_with`], the access token refreshable from `refresh_on`.
    pub fn signed_in_with_refresh_on(
        refresh_token: &str,
        target: &str,
        access_token: &str,
        expires_on: u64,
        refresh_on: Option<u64>,
    ) -> Self {
        CacheDoc::new()
            .signed_in(CLIENT_ID, refresh_token)
            .access_token_at(
                &hid(),
                ENV,
                CLIENT_ID,
                UTID,
                target,
                access_token,
                expires_on,
                refresh_on,
            )
    }

    /// An account entry.
    pub fn account(mut self, hid: &str, env: &str, realm: &str, username: &str) -> Self {
        let local = hid.split('.').next().unwrap_or(hid);
        self.put(
            "Account",
            format!("{hid}-{env}-{realm}"),
            json!({
                "home_account_id": hid, "environment": env, "realm": realm,
                "local_account_id": local, "username": username, "authority_type": "MSSTS",
            }),
        );
        self
    }

    /// A refresh token entry (a family refresh token when `family` is given).
    pub fn refresh_token(
        mut self,
        hid: &str,
        env: &str,
        client_id: &str,
        secret: &str,
        family: Option<&str>,
    ) -> Self {
        let mut v = json!({
            "credential_type": "RefreshToken", "secret": secret, "home_account_id": hid,
            "environment": env, "client_id": client_id,
        });
        if let Some(f) = family {
            v["family_id"] = json!(f);
        }
        let owner = family.unwrap_or(client_id);
        self.put(
            "RefreshToken",
            format!("{hid}-{env}-refreshtoken-{owner}--"),
            v,
        );
        self
    }

    /// An ID token entry (the signed-in user's [`id_token`]).
    pub fn id_token(mut self, hid: &str, env: &str, client_id: &str, realm: &str) -> Self {
        self.put(
            "IdToken",
            format!("{hid}-{env}-idtoken-{client_id}-{realm}-"),
            json!({
                "credential_type": "IdToken", "secret": id_token(), "home_account_id": hid,
                "environment": env, "realm": realm, "client_id": client_id,
            }),
        );
        self
    }

    /// An access token for the signed-in user expiring at `expires_on` (Unix seconds).
    pub fn access_token(
        self,
        client_id: &str,
        realm: &str,
        target: &str,
        secret: &str,
        expires_on: u64,
    ) -> Self {
        self.access_token_at(
            &hid(),
            ENV,
            client_id,
            realm,
            target,
            secret,
            expires_on,
            None,
        )
    }

    /// An access token entry for any account, cached at [`T0`].
    #[allow(clippy::too_many_arguments)]
    pub fn access_token_at(
        mut self,
        hid: &str,
        env: &str,
        client_id: &str,
        realm: &str,
        target: &str,
        secret: &str,
        expires_on: u64,
        refresh_on: Option<u64>,
    ) -> Self {
        let mut v = json!({
            "credential_type": "AccessToken", "secret": secret, "home_account_id": hid,
            "environment": env, "client_id": client_id, "realm": realm, "target": target,
            "token_type": "Bearer", "cached_at": T0.to_string(), "expires_on": expires_on.to_string(),
            "extended_expires_on": expires_on.to_string(),
        });
        if let Some(r) = refresh_on {
            v["refresh_on"] = json!(r.to_string());
        }
        self.put(
            "AccessToken",
            format!(
                "{hid}-{env}-accesstoken-{client_id}-{realm}-{}",
                target.to_lowercase()
            ),
            v,
        );
        self
    }

    /// An app metadata entry (a family member when `family` is given).
    pub fn app_metadata(mut self, env: &str, client_id: &str, family: Option<&str>) -> Self {
        let mut v = json!({"client_id": client_id, "environment": env});
        if let Some(f) = family {
            v["family_id"] = json!(f);
        }
        self.put("AppMetadata", format!("appmetadata-{env}-{client_id}"), v);
        self
    }
}

/// The entries of a section (`"AccessToken"`, `"Account"`, ...) of a stored cache document
/// (none when the section is absent).
pub fn entries(doc: &Value, section: &str) -> Vec<Value> {
    doc[section]
        .as_object()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default()
}

/// The secrets of every entry of a section (`"AccessToken"`, `"RefreshToken"`, ...) in a
/// stored cache document.
pub fn secrets(doc: &Value, section: &str) -> Vec<String> {
    entries(doc, section)
        .iter()
        .map(|v| v["secret"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The access tokens' secrets in a stored cache document.
pub fn access_token_secrets(doc: &Value) -> Vec<String> {
    secrets(doc, "AccessToken")
}

/// The refresh tokens' secrets in a stored cache document.
pub fn refresh_token_secrets(doc: &Value) -> Vec<String> {
    secrets(doc, "RefreshToken")
}
