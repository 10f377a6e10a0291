//! Lookups: access, refresh and ID tokens, app metadata and accounts, each one hash probe into
//! its bucket plus a walk over the few entries there, so that they cost the same with one
//! account or a million. Only sign-out and the account listing walk more (see each).

use std::borrow::Cow;

use arcstr::ArcStr;
use msal_core::authority::canonical_environment;
use msal_core::{Account, ScopeSet, TenantProfile};

use super::buckets::{assertion_hash_of, Bucket};
use super::cache::TokenCache;
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};

/// What to look for in [`TokenCache::find_access_token`].
#[derive(Debug, Clone, Copy)]
pub struct AccessTokenQuery<'a> {
    /// The account (`None` for app-only tokens).
    pub home_account_id: Option<&'a str>,
    /// The authority host (any alias matches).
    pub environment: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// The tenant.
    pub realm: &'a str,
    /// The requested scopes, reserved scopes already removed; must be a subset of the entry's.
    pub scopes: &'a ScopeSet,
    /// Entries expiring after this (Unix seconds) are treated as corrupt and ignored.
    pub max_expires_on: u64,
}

impl TokenCache {
    /// The usable access token for a query: a plain Bearer token of that account, client and
    /// tenant (any environment alias) whose scopes include the requested ones. Of several, the
    /// one expiring last wins. Expiry against "now" is the caller's decision.
    pub fn find_access_token(&self, q: &AccessTokenQuery<'_>) -> Option<&AccessTokenEntry> {
        let b = Bucket::new(&[
            q.home_account_id.unwrap_or(""),
            q.environment,
            q.client_id,
            q.realm,
        ]);
        self.access_tokens
            .bucket(&b, b.hash(&self.hasher))
            .filter(|r| r.entry.expires_on <= q.max_expires_on && r.entry.is_plain_bearer())
            .filter(|r| q.scopes.is_subset_of(&r.scopes))
            .max_by_key(|r| r.entry.expires_on)
            .map(|r| &r.entry)
    }

    /// The usable on-behalf-of access token obtained with the incoming assertion whose hash is
    /// `user_assertion_hash` (`q.home_account_id` is ignored: the assertion identifies the
    /// user). Same rules as [`find_access_token`](Self::find_access_token) otherwise.
    pub fn find_on_behalf_of_access_token(
        &self,
        user_assertion_hash: &str,
        q: &AccessTokenQuery<'_>,
    ) -> Option<&AccessTokenEntry> {
        self.find_on_behalf_of_where(user_assertion_hash, q, |e| e.is_on_behalf_of_bearer())
    }

    /// The access token obtained with the assertion whose hash is `user_assertion_hash` that
    /// matches the query (client, tenant, scopes, plausible expiry) and `kind` (its token type
    /// and binding); of several, the one expiring last.
    pub(super) fn find_on_behalf_of_where(
        &self,
        user_assertion_hash: &str,
        q: &AccessTokenQuery<'_>,
        kind: impl Fn(&AccessTokenEntry) -> bool,
    ) -> Option<&AccessTokenEntry> {
        let b = Bucket::new(&[user_assertion_hash, q.environment, q.client_id, q.realm]);
        self.access_tokens
            .bucket(&b, b.hash(&self.hasher))
            .filter(|r| assertion_hash_of(&r.entry.extra) == Some(user_assertion_hash))
            .filter(|r| r.entry.expires_on <= q.max_expires_on && kind(&r.entry))
            .filter(|r| q.scopes.is_subset_of(&r.scopes))
            .max_by_key(|r| r.entry.expires_on)
            .map(|r| &r.entry)
    }

    /// The on-behalf-of refresh token a client obtained with the incoming assertion whose hash
    /// is `user_assertion_hash`, in an environment (any alias); the newest if several.
    pub fn on_behalf_of_refresh_token(
        &self,
        user_assertion_hash: &str,
        environment: &str,
        client_id: &str,
    ) -> Option<&RefreshTokenEntry> {
        let b = Bucket::new(&[user_assertion_hash, environment]);
        self.refresh_tokens
            .bucket(&b, b.hash(&self.hasher))
            .filter(|e| assertion_hash_of(&e.extra) == Some(user_assertion_hash))
            .filter(|e| e.client_id.eq_ignore_ascii_case(client_id))
            .max_by_key(|e| e.last_modification_time.unwrap_or(0))
    }

    /// Every refresh token of an account in an environment (any alias), newest first.
    pub fn refresh_tokens(
        &self,
        home_account_id: &str,
        environment: &str,
    ) -> Vec<&RefreshTokenEntry> {
        let b = Bucket::new(&[home_account_id, environment]);
        let mut v: Vec<&RefreshTokenEntry> = self
            .refresh_tokens
            .bucket(&b, b.hash(&self.hasher))
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.last_modification_time.unwrap_or(0)));
        v
    }

    /// The app metadata of a client in an environment (any alias).
    pub fn app_metadata(&self, environment: &str, client_id: &str) -> Option<&AppMetadataEntry> {
        let b = Bucket::new(&["", environment, client_id]);
        prefer_environment(
            self.app_metadata.bucket(&b, b.hash(&self.hasher)),
            environment,
            |e| &e.environment,
        )
    }

    /// The ID token of an account for a client and tenant (any environment alias).
    pub fn id_token(
        &self,
        home_account_id: &str,
        environment: &str,
        client_id: &str,
        realm: &str,
    ) -> Option<&IdTokenEntry> {
        let b = Bucket::new(&[home_account_id, environment, client_id, realm]);
        prefer_environment(
            self.id_tokens.bucket(&b, b.hash(&self.hasher)),
            environment,
            |e| &e.environment,
        )
    }

    /// Whether an app may use a refresh token: its own (family or not), or another app's family
    /// token when this app is a member of that family or has no app metadata yet (an unknown
    /// app tries the family, as MSAL Python does).
    pub fn is_refresh_token_usable(
        &self,
        rt: &RefreshTokenEntry,
        environment: &str,
        client_id: &str,
    ) -> bool {
        if rt.client_id.eq_ignore_ascii_case(client_id) {
            return true;
        }
        rt.is_family()
            && match self.app_metadata(environment, client_id) {
                None => true,
                Some(m) => m.family_id.is_some() && m.family_id == rt.family_id,
            }
    }

    /// The accounts an app can get tokens for silently: account entries in the environment's
    /// alias group whose home account holds a refresh token the app may use. One account per
    /// home account; of its tenant profiles, the home tenant's is preferred.
    ///
    /// One pass over the account entries with a hash probe per account for its refresh tokens.
    pub fn accounts(&self, environment: &str, client_id: &str) -> Vec<Account> {
        let canonical = canonical_environment(environment);
        let in_cloud = |env: &str| {
            env.eq_ignore_ascii_case(environment) || canonical_environment(env) == canonical
        };
        let mut out = Vec::new();
        // The best profile per home account of one chain; a chain holds one home account
        // unless two hashes collide. Reused across chains.
        let mut best: Vec<&AccountEntry> = Vec::new();
        for &head in self.accounts.heads.values() {
            best.clear();
            let mut cur = head;
            while let Some(slot) = self.accounts.slots.get(cur as usize) {
                cur = slot.next;
                let Some(e) = &slot.item else { continue };
                if !in_cloud(&e.environment) {
                    continue;
                }
                let is_home = is_home_profile(e);
                match best
                    .iter_mut()
                    .find(|b| b.home_account_id.eq_ignore_ascii_case(&e.home_account_id))
                {
                    None => best.push(e),
                    Some(b) if is_home => *b = e,
                    Some(_) => {}
                }
            }
            for e in &best {
                // `e.environment` is in the asked cloud, so its canonical form is the asked one:
                // no second walk of the alias table per account.
                let rts = Bucket::with_canonical(
                    &[&e.home_account_id, &e.environment],
                    Cow::Borrowed(&canonical),
                );
                let has_rt = self
                    .refresh_tokens
                    .bucket(&rts, rts.hash(&self.hasher))
                    .any(|rt| self.is_refresh_token_usable(rt, environment, client_id));
                if has_rt {
                    let profiles = self.tenant_profiles(&e.home_account_id, environment, client_id);
                    out.push(to_account(e).with_tenant_profiles(profiles));
                }
            }
        }
        // One account per home account, so no two are equal and an unstable sort is as
        // deterministic as a stable one.
        out.sort_unstable_by(|a, b| {
            a.username
                .cmp(&b.username)
                .then(a.home_account_id.cmp(&b.home_account_id))
        });
        out
    }

    /// The account entry of a home account in an environment (any alias), home tenant first.
    /// One hash probe.
    pub fn account(&self, home_account_id: &str, environment: &str) -> Option<Account> {
        let canonical = canonical_environment(environment);
        let b = Bucket::new(&[home_account_id]);
        let mut matching = self
            .accounts
            .bucket(&b, b.hash(&self.hasher))
            .filter(|e| canonical_environment(&e.environment) == canonical);
        let first = matching.next()?;
        let home = std::iter::once(first)
            .chain(matching)
            .find(|e| is_home_profile(e));
        Some(to_account(home.unwrap_or(first)))
    }
}

impl TokenCache {
    /// [`account`](Self::account) with its tenant profiles for `client_id` (see
    /// [`tenant_profiles`](Self::tenant_profiles)).
    pub fn account_for_client(
        &self,
        home_account_id: &str,
        environment: &str,
        client_id: &str,
    ) -> Option<Account> {
        let account = self.account(home_account_id, environment)?;
        let profiles = self.tenant_profiles(home_account_id, environment, client_id);
        Some(account.with_tenant_profiles(profiles))
    }

    /// The tenant profiles of a home account in an environment (any alias): one per account
    /// entry (realm), home tenant first, then by tenant, each with the app's ID token for that
    /// tenant when the cache holds one. One hash probe for the account entries and one per
    /// profile for its ID token.
    pub fn tenant_profiles(
        &self,
        home_account_id: &str,
        environment: &str,
        client_id: &str,
    ) -> Vec<TenantProfile> {
        let canonical = canonical_environment(environment);
        let home_tenant = home_account_id.rsplit_once('.').map(|(_, t)| t);
        let b = Bucket::new(&[home_account_id]);
        let mut entries: Vec<&AccountEntry> = self
            .accounts
            .bucket(&b, b.hash(&self.hasher))
            .filter(|e| canonical_environment(&e.environment) == canonical)
            .collect();
        entries.sort_by(|a, b| {
            is_home_profile(b)
                .cmp(&is_home_profile(a))
                .then_with(|| a.realm.cmp(&b.realm))
        });
        // The same realm under two aliases of the host is one tenant.
        entries.dedup_by(|a, b| a.realm.eq_ignore_ascii_case(&b.realm));
        entries
            .into_iter()
            .map(|e| {
                let profile =
                    TenantProfile::new(e.realm.as_str(), e.local_account_id.as_str(), home_tenant);
                match self.id_token(home_account_id, environment, client_id, &e.realm) {
                    Some(t) => profile.with_id_token(t.secret.expose_secret()),
                    None => profile,
                }
            })
            .collect()
    }

    /// Whether the cache holds an account entry for this home account and tenant (any alias of
    /// the environment).
    pub fn has_account_entry(&self, home_account_id: &str, environment: &str, realm: &str) -> bool {
        let canonical = canonical_environment(environment);
        let b = Bucket::new(&[home_account_id]);
        let found = self.accounts.bucket(&b, b.hash(&self.hasher)).any(|e| {
            e.realm.eq_ignore_ascii_case(realm)
                && canonical_environment(&e.environment) == canonical
        });
        found
    }
}

pub(super) fn is_home_profile(e: &AccountEntry) -> bool {
    e.home_account_id
        .rsplit_once('.')
        .is_some_and(|(_, t)| t.eq_ignore_ascii_case(&e.realm))
}

/// The entry whose environment is spelled exactly as asked, else the first of the alias bucket.
fn prefer_environment<'a, E: 'a>(
    entries: impl Iterator<Item = &'a E>,
    environment: &str,
    env_of: impl Fn(&E) -> &str,
) -> Option<&'a E> {
    let mut first = None;
    for e in entries {
        if env_of(e).eq_ignore_ascii_case(environment) {
            return Some(e);
        }
        first = first.or(Some(e));
    }
    first
}

fn to_account(e: &AccountEntry) -> Account {
    let mut a = Account::new(
        e.home_account_id.as_str(),
        e.environment.as_str(),
        e.username.as_str(),
    );
    a.local_account_id = e.local_account_id.to_string();
    a.tenant_id = e.realm.to_string();
    a.name = e.name.as_ref().map(ArcStr::to_string);
    a
}
