//! The [`TokenCache`] type: its slabs, its string-sharing tables and its inserts. What it does
//! is in the sibling modules, one job each: lookups in `query`, loading in `load`, saving in
//! `save`, the write-back rules in `write_back`.

use std::collections::HashMap;
use std::sync::Arc;

use msal_core::ScopeSet;
use serde_json::{Map, Value};

use super::buckets::BucketHasher;
use super::storage::{AtRecord, Section};
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};

/// The section names of the unified schema, as written.
pub(super) const AT: &str = "AccessToken";
pub(super) const RT: &str = "RefreshToken";
pub(super) const IDT: &str = "IdToken";
pub(super) const ACCOUNT: &str = "Account";
pub(super) const APP: &str = "AppMetadata";
pub(super) const SECTIONS: [&str; 5] = [AT, RT, IDT, ACCOUNT, APP];

/// The in-memory token cache. Cheap lookups, lossless round trip to the unified JSON schema.
#[derive(Clone, Default)]
pub struct TokenCache {
    /// Keys of the bucket hashes (per cache, random).
    pub(super) hasher: BucketHasher,
    pub(super) access_tokens: Section<AtRecord>,
    pub(super) refresh_tokens: Section<RefreshTokenEntry>,
    pub(super) id_tokens: Section<IdTokenEntry>,
    pub(super) accounts: Section<AccountEntry>,
    pub(super) app_metadata: Section<AppMetadataEntry>,
    /// Parsed `target`s, shared by the access tokens that have the same one.
    pub(super) scope_sets: HashMap<Box<str>, Arc<ScopeSet>>,
    /// Entries that did not parse as their kind: section name, original key, original value.
    pub(super) unparsed: Vec<(&'static str, String, Value)>,
    /// Top-level sections msal-rs does not know.
    pub(super) unknown_sections: Map<String, Value>,
}

/// How many distinct `target`s are shared at most; past that (never seen in practice) new ones
/// are parsed per token, so that a cache of odd targets cannot grow the table without bound.
const MAX_SHARED_TARGETS: usize = 4_096;

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("access_tokens", &self.access_tokens.len)
            .field("refresh_tokens", &self.refresh_tokens.len)
            .field("id_tokens", &self.id_tokens.len)
            .field("accounts", &self.accounts.len)
            .field("app_metadata", &self.app_metadata.len)
            .field("unparsed", &self.unparsed.len())
            .finish()
    }
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries of each kind: (access, refresh, id, account, app metadata).
    pub fn counts(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.access_tokens.len,
            self.refresh_tokens.len,
            self.id_tokens.len,
            self.accounts.len,
            self.app_metadata.len,
        )
    }

    /// Whether the cache holds no entry at all.
    pub fn is_empty(&self) -> bool {
        self.counts() == (0, 0, 0, 0, 0) && self.unparsed.is_empty()
    }

    fn shared_scopes(&mut self, target: &str) -> Arc<ScopeSet> {
        if let Some(s) = self.scope_sets.get(target) {
            return Arc::clone(s);
        }
        let s = Arc::new(ScopeSet::from_target(target));
        if self.scope_sets.len() < MAX_SHARED_TARGETS {
            self.scope_sets.insert(target.into(), Arc::clone(&s));
        }
        s
    }

    /// Insert an access token, replacing one with the same key; keeps the later-expiring of two
    /// entries whose keys collide (the same token written by two libraries).
    pub fn insert_access_token(&mut self, entry: AccessTokenEntry) {
        let scopes = self.shared_scopes(&entry.target);
        self.access_tokens
            .upsert(&self.hasher, AtRecord { entry, scopes }, |old, new| {
                old.entry.expires_on > new.entry.expires_on
            });
    }

    /// Insert a refresh token. With `keep_newest`, a key collision keeps the entry modified last.
    pub(super) fn insert_refresh_token(&mut self, entry: RefreshTokenEntry, keep_newest: bool) {
        self.refresh_tokens.upsert(&self.hasher, entry, |old, new| {
            keep_newest && old.last_modification_time > new.last_modification_time
        });
    }

    pub(super) fn insert_id_token(&mut self, entry: IdTokenEntry) {
        self.id_tokens.upsert(&self.hasher, entry, |_, _| false);
    }

    pub(super) fn insert_account(&mut self, entry: AccountEntry) {
        self.accounts.upsert(&self.hasher, entry, |_, _| false);
    }

    pub(super) fn insert_app_metadata(&mut self, entry: AppMetadataEntry) {
        self.app_metadata.upsert(&self.hasher, entry, |_, _| false);
    }

    /// Give back the slack the slabs' doubling left after a bulk load.
    pub(super) fn shrink(&mut self) {
        self.access_tokens.shrink();
        self.refresh_tokens.shrink();
        self.id_tokens.shrink();
        self.accounts.shrink();
        self.app_metadata.shrink();
    }
}
