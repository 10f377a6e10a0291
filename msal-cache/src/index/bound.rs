//! Lookups of key-bound access tokens: proof-of-possession (`pop`) and SSH certificates
//! (`ssh-cert`). They live in the same buckets as Bearer tokens but are matched by token type
//! and key id, so a Bearer lookup ([`TokenCache::find_access_token`], which takes plain Bearer
//! entries only) never sees them and this one never sees a Bearer token.
//!
//! Kept apart from `query` so that the Bearer hit path is not touched: its cost is what the
//! silent benchmark measures.

use super::buckets::Bucket;
use super::cache::TokenCache;
use super::query::AccessTokenQuery;
use crate::schema::AccessTokenEntry;

/// What binds a token to a key, for [`TokenCache::find_bound_access_token`].
#[derive(Debug, Clone, Copy)]
pub struct KeyBinding<'a> {
    /// The token type (`pop`, `ssh-cert`); compared ignoring ASCII case.
    pub token_type: &'a str,
    /// The key id: MSAL Python's `key_id` or MSAL.NET's `kid` field; compared ignoring ASCII
    /// case, as MSAL.NET does.
    pub key_id: &'a str,
}

impl TokenCache {
    /// The usable key-bound access token for a query: of that account, client and tenant (any
    /// environment alias), of the binding's token type and key id, whose scopes include the
    /// requested ones. Of several, the one expiring last wins. Entries with .NET's extra key
    /// components (`ext`) or an on-behalf-of assertion hash are never matched.
    pub fn find_bound_access_token(
        &self,
        q: &AccessTokenQuery<'_>,
        binding: &KeyBinding<'_>,
    ) -> Option<&AccessTokenEntry> {
        let b = Bucket::new(&[
            q.home_account_id.unwrap_or(""),
            q.environment,
            q.client_id,
            q.realm,
        ]);
        self.access_tokens
            .bucket(&b, b.hash(&self.hasher))
            .filter(|r| r.entry.expires_on <= q.max_expires_on)
            .filter(|r| r.entry.is_bound_to(binding.token_type, binding.key_id))
            .filter(|r| q.scopes.is_subset_of(&r.scopes))
            .max_by_key(|r| r.entry.expires_on)
            .map(|r| &r.entry)
    }

    /// The usable key-bound on-behalf-of access token obtained with the incoming assertion
    /// whose hash is `user_assertion_hash` (`q.home_account_id` is ignored: the assertion
    /// identifies the user), of the binding's token type and key id. Same rules as
    /// [`find_bound_access_token`](Self::find_bound_access_token) otherwise.
    pub fn find_on_behalf_of_bound_access_token(
        &self,
        user_assertion_hash: &str,
        q: &AccessTokenQuery<'_>,
        binding: &KeyBinding<'_>,
    ) -> Option<&AccessTokenEntry> {
        self.find_on_behalf_of_where(user_assertion_hash, q, |e| {
            e.is_key_bound(binding.token_type, binding.key_id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msal_core::ScopeSet;

    // MSAL Python's shape: `key_id`, `token_type` always written, app tokens with a null account.
    const DOC: &str = r#"{"AccessToken": {
        "b": {"credential_type": "AccessToken", "secret": "bearer", "home_account_id": null,
              "environment": "login.microsoftonline.com", "client_id": "c", "realm": "t",
              "target": "https://r/.default", "token_type": "Bearer", "expires_on": "5000"},
        "s": {"credential_type": "AccessToken", "secret": "cert", "home_account_id": null,
              "environment": "login.microsoftonline.com", "client_id": "c", "realm": "t",
              "target": "https://r/.default", "token_type": "ssh-cert", "key_id": "K1",
              "expires_on": "6000"},
        "p": {"credential_type": "AccessToken", "secret": "pop", "home_account_id": null,
              "environment": "login.windows.net", "client_id": "c", "realm": "t",
              "target": "https://r/.default", "token_type": "pop", "kid": "thumb",
              "expires_on": "7000"}}}"#;

    fn query(scopes: &ScopeSet) -> AccessTokenQuery<'_> {
        AccessTokenQuery {
            home_account_id: None,
            environment: "login.microsoftonline.com",
            client_id: "c",
            realm: "t",
            scopes,
            max_expires_on: u64::MAX,
        }
    }

    #[test]
    fn bound_and_bearer_lookups_never_cross() {
        let cache = TokenCache::from_json(DOC.as_bytes()).unwrap();
        assert_eq!(cache.counts().0, 3, "the three entries have distinct keys");
        let scopes = ScopeSet::from_target("https://r/.default");
        let q = query(&scopes);
        assert_eq!(
            cache.find_access_token(&q).unwrap().secret.expose_secret(),
            "bearer"
        );
        let ssh = |kid| KeyBinding {
            token_type: "SSH-Cert",
            key_id: kid,
        };
        let hit = cache.find_bound_access_token(&q, &ssh("k1")).unwrap();
        assert_eq!(hit.secret.expose_secret(), "cert");
        assert!(cache.find_bound_access_token(&q, &ssh("other")).is_none());
        let pop = KeyBinding {
            token_type: "pop",
            key_id: "thumb",
        };
        // MSAL.NET's `kid`, under another alias of the host.
        assert_eq!(
            cache
                .find_bound_access_token(&q, &pop)
                .unwrap()
                .secret
                .expose_secret(),
            "pop"
        );
        let bearer = KeyBinding {
            token_type: "Bearer",
            key_id: "K1",
        };
        assert!(cache.find_bound_access_token(&q, &bearer).is_none());
    }

    #[test]
    fn on_behalf_of_bound_tokens_are_found_by_assertion_and_key_only() {
        const OBO: &str = r#"{"AccessToken": {
            "b": {"credential_type": "AccessToken", "secret": "obo-bearer", "home_account_id": "u.t",
                  "environment": "login.microsoftonline.com", "client_id": "c", "realm": "t",
                  "target": "https://r/.default", "token_type": "Bearer", "expires_on": "5000",
                  "user_assertion_hash": "H1"},
            "p": {"credential_type": "AccessToken", "secret": "obo-pop", "home_account_id": "u.t",
                  "environment": "login.microsoftonline.com", "client_id": "c", "realm": "t",
                  "target": "https://r/.default", "token_type": "pop", "key_id": "thumb",
                  "expires_on": "6000", "user_assertion_hash": "H1"}}}"#;
        let cache = TokenCache::from_json(OBO.as_bytes()).unwrap();
        let scopes = ScopeSet::from_target("https://r/.default");
        let q = query(&scopes);
        let pop = KeyBinding {
            token_type: "pop",
            key_id: "thumb",
        };
        let hit = cache.find_on_behalf_of_bound_access_token("H1", &q, &pop);
        assert_eq!(hit.unwrap().secret.expose_secret(), "obo-pop");
        assert!(cache
            .find_on_behalf_of_bound_access_token("H2", &q, &pop)
            .is_none());
        let other_key = KeyBinding {
            token_type: "pop",
            key_id: "other",
        };
        assert!(cache
            .find_on_behalf_of_bound_access_token("H1", &q, &other_key)
            .is_none());
        // The Bearer lookup sees the Bearer entry only; the non-OBO bound lookup neither.
        let bearer = cache.find_on_behalf_of_access_token("H1", &q).unwrap();
        assert_eq!(bearer.secret.expose_secret(), "obo-bearer");
        assert!(cache.find_bound_access_token(&q, &pop).is_none());
    }
}
