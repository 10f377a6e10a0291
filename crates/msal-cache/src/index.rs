//! The in-memory token cache: entries of the unified schema, indexed for constant-time lookups.
//!
//! Every entry lives in a *bucket* named by the fields a lookup knows up front (home account,
//! canonical environment, client, realm), so a lookup costs one hash probe plus a walk over the
//! handful of entries in its bucket, whether the cache holds one account or a million. The
//! environment in a bucket name is canonical ([`canonical_environment`]): entries written under
//! `login.windows.net` by MSAL.NET and under `login.microsoftonline.com` by MSAL Python share a
//! bucket, so one probe searches every alias.
//!
//! Keys are rebuilt from content on load ([`crate::keys`]), so entries written by other MSAL
//! libraries load whatever their keys look like. Entries that do not parse as their kind are kept
//! verbatim and written back untouched, as are unknown top-level sections: a load/save round trip
//! loses nothing.

use std::collections::HashMap;

use msal_core::authority::canonical_environment;
use msal_core::{Account, ScopeSet};
use serde_json::{Map, Value};

use crate::keys;
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};
use crate::CacheError;

const AT: &str = "AccessToken";
const RT: &str = "RefreshToken";
const IDT: &str = "IdToken";
const ACCOUNT: &str = "Account";
const APP: &str = "AppMetadata";
const SECTIONS: [&str; 5] = [AT, RT, IDT, ACCOUNT, APP];

/// A bucket name: the lowercased lookup fields joined by a separator no field contains.
fn bucket(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push('\u{1f}');
        }
        if i == 1 {
            s.push_str(&canonical_environment(p));
        } else {
            s.push_str(p);
        }
    }
    s.make_ascii_lowercase();
    s
}

/// The extra field naming the incoming assertion an on-behalf-of token was obtained with
/// (MSAL.NET's name for it).
pub const USER_ASSERTION_HASH: &str = "user_assertion_hash";

/// Whose bucket a token goes in: its home account's, or for an on-behalf-of token (which an API
/// looks up by the incoming assertion, not by account) the assertion hash's. The prefix holds a
/// control character no home account id contains, so the two never share a bucket.
fn owner<'a>(home_account_id: &'a str, extra: &Map<String, Value>) -> std::borrow::Cow<'a, str> {
    match extra.get(USER_ASSERTION_HASH) {
        Some(Value::String(hash)) => obo_owner(hash).into(),
        _ => home_account_id.into(),
    }
}

fn obo_owner(hash: &str) -> String {
    format!("obo\u{1e}{hash}")
}

fn assertion_hash_of(extra: &Map<String, Value>) -> Option<&str> {
    extra.get(USER_ASSERTION_HASH).and_then(Value::as_str)
}

/// A section: entries grouped in buckets, each entry with its derived key.
#[derive(Clone)]
struct Section<E> {
    buckets: HashMap<String, Vec<Record<E>>>,
    len: usize,
}

#[derive(Clone)]
struct Record<E> {
    key: String,
    entry: E,
    /// The parsed `target` of access tokens (empty for other kinds), so hits never re-parse it.
    scopes: ScopeSet,
}

impl<E> Default for Section<E> {
    fn default() -> Self {
        Section {
            buckets: HashMap::new(),
            len: 0,
        }
    }
}

impl<E> Section<E> {
    fn get(&self, bucket: &str) -> &[Record<E>] {
        self.buckets.get(bucket).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Insert or replace by key; returns the replaced entry.
    fn upsert(&mut self, bucket: String, record: Record<E>) -> Option<E> {
        let records = self.buckets.entry(bucket).or_default();
        if let Some(existing) = records.iter_mut().find(|r| r.key == record.key) {
            return Some(std::mem::replace(existing, record).entry);
        }
        records.push(record);
        self.len += 1;
        None
    }

    fn retain_in(&mut self, bucket: &str, mut keep: impl FnMut(&Record<E>) -> bool) -> usize {
        let Some(records) = self.buckets.get_mut(bucket) else {
            return 0;
        };
        let before = records.len();
        records.retain(|r| keep(r));
        let removed = before - records.len();
        if records.is_empty() {
            self.buckets.remove(bucket);
        }
        self.len -= removed;
        removed
    }

    fn retain_all(&mut self, mut keep: impl FnMut(&Record<E>) -> bool) -> usize {
        let buckets: Vec<String> = self.buckets.keys().cloned().collect();
        buckets.iter().map(|b| self.retain_in(b, &mut keep)).sum()
    }
}

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

/// Everything one token response writes, as an operation that can be replayed on any state of
/// the cache (the facade applies it to the freshly re-read stored cache so that no other
/// process's entries are lost).
#[derive(Debug, Clone, Default)]
pub struct TokenWrite {
    /// When set, the write is a refresh that redeemed this refresh token: if the entry is gone
    /// (the account was removed meanwhile), nothing is written, so a sign-out is never undone.
    pub redeemed_refresh_token: Option<RedeemedRefreshToken>,
    /// The new access token.
    pub access_token: Option<AccessTokenEntry>,
    /// A new refresh token to store under its own key (sign-in flows); refreshes rotate
    /// [`TokenWrite::redeemed_refresh_token`] instead.
    pub refresh_token: Option<RefreshTokenEntry>,
    /// The new ID token.
    pub id_token: Option<IdTokenEntry>,
    /// The account (sign-in flows only; refreshes never create accounts).
    pub account: Option<AccountEntry>,
    /// The app metadata (always written: it records FOCI membership, or its absence).
    pub app_metadata: Option<AppMetadataEntry>,
}

/// The refresh token a refresh redeemed, and what to rotate it to. `Debug` hides the new secret.
#[derive(Clone)]
pub struct RedeemedRefreshToken {
    /// Its home account.
    pub home_account_id: String,
    /// Its environment as stored.
    pub environment: String,
    /// Its client id or family id (what its key is made of).
    pub client_or_family: String,
    /// The secret that was redeemed: a concurrent rotation by another process is detected by a
    /// mismatch and the newer token is kept.
    pub redeemed_secret_fingerprint: u64,
    /// The rotated secret from the response, if the server sent one.
    pub new_secret: Option<String>,
    /// `last_modification_time` to record.
    pub now: u64,
    /// The response's FOCI family, if any.
    pub family_id: Option<String>,
}

impl std::fmt::Debug for RedeemedRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedeemedRefreshToken")
            .field("home_account_id", &self.home_account_id)
            .field("environment", &self.environment)
            .field("client_or_family", &self.client_or_family)
            .field(
                "new_secret",
                &self.new_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("now", &self.now)
            .field("family_id", &self.family_id)
            .finish_non_exhaustive()
    }
}

/// Which account to remove in [`TokenCache::remove_account`], and for which app.
#[derive(Debug, Clone, Copy)]
pub struct AccountRemoval<'a> {
    /// The account.
    pub home_account_id: &'a str,
    /// Its environment (any alias matches).
    pub environment: &'a str,
    /// The app removing it.
    pub client_id: &'a str,
}

/// A fingerprint of a secret for comparisons that must not keep the secret itself around.
pub fn secret_fingerprint(secret: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    secret.hash(&mut h);
    h.finish()
}

/// The in-memory token cache. Cheap lookups, lossless round trip to the unified JSON schema.
#[derive(Clone, Default)]
pub struct TokenCache {
    access_tokens: Section<AccessTokenEntry>,
    refresh_tokens: Section<RefreshTokenEntry>,
    id_tokens: Section<IdTokenEntry>,
    accounts: Section<AccountEntry>,
    app_metadata: Section<AppMetadataEntry>,
    /// Entries that did not parse as their kind: section name, original key, original value.
    unparsed: Vec<(&'static str, String, Value)>,
    /// Top-level sections msal-rs does not know.
    unknown_sections: Map<String, Value>,
}

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

fn record<E>(key: String, entry: E) -> Record<E> {
    Record {
        key,
        entry,
        scopes: ScopeSet::default(),
    }
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse a serialized cache (either dialect). Data that is not a JSON object, or whose
    /// sections are not objects, is [`CacheError::Corrupt`]; single entries that do not parse
    /// are kept aside verbatim and written back unchanged.
    pub fn from_json(bytes: &[u8]) -> Result<Self, CacheError> {
        let mut cache = TokenCache::new();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(cache);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            CacheError::corrupt(
                None,
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        let Value::Object(top) = value else {
            return Err(CacheError::corrupt(
                None,
                "the top level is not a JSON object",
            ));
        };
        for (name, section) in top {
            let Some(known) = SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(&name)) else {
                cache.unknown_sections.insert(name, section);
                continue;
            };
            let Value::Object(entries) = section else {
                return Err(CacheError::corrupt(
                    None,
                    format!("section {name:?} is not a JSON object"),
                ));
            };
            for (key, value) in entries {
                if !cache.load_entry(known, &value) {
                    cache.unparsed.push((known, key, value));
                }
            }
        }
        Ok(cache)
    }

    fn load_entry(&mut self, section: &str, value: &Value) -> bool {
        fn parse<E: serde::de::DeserializeOwned>(v: &Value) -> Option<E> {
            E::deserialize(v).ok()
        }
        match section {
            AT => parse(value).map(|e| self.insert_access_token(e)).is_some(),
            RT => parse(value)
                .map(|e| self.insert_refresh_token(e, true))
                .is_some(),
            IDT => parse(value).map(|e| self.insert_id_token(e)).is_some(),
            ACCOUNT => parse(value).map(|e| self.insert_account(e)).is_some(),
            APP => parse(value).map(|e| self.insert_app_metadata(e)).is_some(),
            _ => false,
        }
    }

    /// Serialize in MSAL Python's dialect (4-space indented JSON, keys sorted for stable diffs).
    pub fn to_json(&self) -> Vec<u8> {
        let mut top = Map::new();
        // Keys join fields with `-`, which fields may contain too ("a-b" + "c" and "a" + "b-c"),
        // and an entry kept verbatim keeps its original key, which a rebuilt key may equal.
        // Keys are only ever written (readers rebuild or scan), so a taken key gets a suffix
        // instead of overwriting an entry. Records are ordered by (key, bucket), so the suffixes,
        // and with them the output, are the same on every save.
        fn unique(taken: &Map<String, Value>, key: &str) -> String {
            if !taken.contains_key(key) {
                return key.to_owned();
            }
            (2..)
                .map(|n| format!("{key}#{n}"))
                .find(|k| !taken.contains_key(k))
                .expect("an unused suffix exists")
        }
        fn section<E: serde::Serialize>(s: &Section<E>) -> Map<String, Value> {
            let mut records: Vec<(&String, &Record<E>)> = s
                .buckets
                .iter()
                .flat_map(|(bucket, records)| records.iter().map(move |r| (bucket, r)))
                .collect();
            records.sort_unstable_by(|a, b| (&a.1.key, a.0).cmp(&(&b.1.key, b.0)));
            let mut out = Map::new();
            for (_, r) in records {
                let v = serde_json::to_value(&r.entry).unwrap_or(Value::Null);
                let key = unique(&out, &r.key);
                out.insert(key, v);
            }
            out
        }
        top.insert(AT.into(), Value::Object(section(&self.access_tokens)));
        top.insert(ACCOUNT.into(), Value::Object(section(&self.accounts)));
        top.insert(IDT.into(), Value::Object(section(&self.id_tokens)));
        top.insert(RT.into(), Value::Object(section(&self.refresh_tokens)));
        top.insert(APP.into(), Value::Object(section(&self.app_metadata)));
        for (name, key, value) in &self.unparsed {
            if let Some(Value::Object(s)) = top.get_mut(*name) {
                let key = unique(s, key);
                s.insert(key, value.clone());
            }
        }
        for (name, value) in &self.unknown_sections {
            top.insert(name.clone(), value.clone());
        }
        let mut out = Vec::with_capacity(256 * (self.access_tokens.len + 1));
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        // Serializing a Map of Values into a Vec cannot fail.
        let _ = serde::Serialize::serialize(&Value::Object(top), &mut ser);
        out
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

    // ---- inserts -------------------------------------------------------------------------

    /// Insert an access token, replacing one with the same key; keeps the later-expiring of two
    /// entries whose keys collide (the same token written by two libraries).
    pub fn insert_access_token(&mut self, entry: AccessTokenEntry) {
        let scopes = ScopeSet::from_target(&entry.target);
        let hid = entry.home_account_id.as_deref().unwrap_or("");
        let mut key = keys::access_token_key(
            hid,
            &entry.environment,
            &entry.client_id,
            &entry.realm,
            &scopes.to_target(),
        );
        if !entry.is_plain_bearer() {
            // Key-bound, PoP and extended-key tokens coexist with the Bearer token for the same
            // scopes (MSAL.NET keys them apart too): tell them apart by what binds them.
            key.push_str(&non_bearer_key_suffix(&entry));
        }
        let b = bucket(&[
            &owner(hid, &entry.extra),
            &entry.environment,
            &entry.client_id,
            &entry.realm,
        ]);
        if let Some(existing) = self.access_tokens.get(&b).iter().find(|r| r.key == key) {
            if existing.entry.expires_on > entry.expires_on {
                return;
            }
        }
        self.access_tokens.upsert(b, Record { key, entry, scopes });
    }

    /// Insert a refresh token. With `keep_newest`, a key collision keeps the entry modified last.
    fn insert_refresh_token(&mut self, entry: RefreshTokenEntry, keep_newest: bool) {
        let owner = entry
            .family_id
            .clone()
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| entry.client_id.clone());
        let mut key = keys::refresh_token_key(&entry.home_account_id, &entry.environment, &owner);
        if let Some(hash) = assertion_hash_of(&entry.extra) {
            // One on-behalf-of refresh token per incoming assertion, beside the user's own.
            key.push('-');
            key.push_str(&hash.to_ascii_lowercase());
        }
        let b = bucket(&[
            &self::owner(&entry.home_account_id, &entry.extra),
            &entry.environment,
        ]);
        if keep_newest {
            if let Some(existing) = self.refresh_tokens.get(&b).iter().find(|r| r.key == key) {
                if existing.entry.last_modification_time > entry.last_modification_time {
                    return;
                }
            }
        }
        self.refresh_tokens.upsert(b, record(key, entry));
    }

    fn insert_id_token(&mut self, entry: IdTokenEntry) {
        let key = keys::id_token_key(
            &entry.home_account_id,
            &entry.environment,
            &entry.client_id,
            &entry.realm,
        );
        let b = bucket(&[
            &entry.home_account_id,
            &entry.environment,
            &entry.client_id,
            &entry.realm,
        ]);
        self.id_tokens.upsert(b, record(key, entry));
    }

    fn insert_account(&mut self, entry: AccountEntry) {
        let key = keys::account_key(&entry.home_account_id, &entry.environment, &entry.realm);
        let b = bucket(&[&entry.home_account_id]);
        self.accounts.upsert(b, record(key, entry));
    }

    fn insert_app_metadata(&mut self, entry: AppMetadataEntry) {
        let key = keys::app_metadata_key(&entry.environment, &entry.client_id);
        let b = bucket(&["", &entry.environment, &entry.client_id]);
        self.app_metadata.upsert(b, record(key, entry));
    }

    // ---- lookups -------------------------------------------------------------------------

    /// The usable access token for a query: a plain Bearer token of that account, client and
    /// tenant (any environment alias) whose scopes include the requested ones. Of several, the
    /// one expiring last wins. Expiry against "now" is the caller's decision.
    pub fn find_access_token(&self, q: &AccessTokenQuery<'_>) -> Option<&AccessTokenEntry> {
        let b = bucket(&[
            q.home_account_id.unwrap_or(""),
            q.environment,
            q.client_id,
            q.realm,
        ]);
        self.access_tokens
            .get(&b)
            .iter()
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
        let b = bucket(&[
            &obo_owner(user_assertion_hash),
            q.environment,
            q.client_id,
            q.realm,
        ]);
        self.access_tokens
            .get(&b)
            .iter()
            .filter(|r| assertion_hash_of(&r.entry.extra) == Some(user_assertion_hash))
            .filter(|r| r.entry.expires_on <= q.max_expires_on && r.entry.is_on_behalf_of_bearer())
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
        let b = bucket(&[&obo_owner(user_assertion_hash), environment]);
        self.refresh_tokens
            .get(&b)
            .iter()
            .map(|r| &r.entry)
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
        let b = bucket(&[home_account_id, environment]);
        let mut v: Vec<&RefreshTokenEntry> = self
            .refresh_tokens
            .get(&b)
            .iter()
            .map(|r| &r.entry)
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.last_modification_time.unwrap_or(0)));
        v
    }

    /// The app metadata of a client in an environment (any alias).
    pub fn app_metadata(&self, environment: &str, client_id: &str) -> Option<&AppMetadataEntry> {
        let b = bucket(&["", environment, client_id]);
        prefer_environment(self.app_metadata.get(&b), environment, |e| &e.environment)
    }

    /// The ID token of an account for a client and tenant (any environment alias).
    pub fn id_token(
        &self,
        home_account_id: &str,
        environment: &str,
        client_id: &str,
        realm: &str,
    ) -> Option<&IdTokenEntry> {
        let b = bucket(&[home_account_id, environment, client_id, realm]);
        prefer_environment(self.id_tokens.get(&b), environment, |e| &e.environment)
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
    pub fn accounts(&self, environment: &str, client_id: &str) -> Vec<Account> {
        let canonical = canonical_environment(environment);
        let mut out = Vec::new();
        for records in self.accounts.buckets.values() {
            let mut best: Option<&AccountEntry> = None;
            for r in records {
                let e = &r.entry;
                if canonical_environment(&e.environment) != canonical {
                    continue;
                }
                let home_tenant = e.home_account_id.rsplit_once('.').map(|(_, t)| t);
                let is_home = home_tenant.is_some_and(|t| t.eq_ignore_ascii_case(&e.realm));
                if best.is_none() || is_home {
                    best = Some(e);
                }
            }
            let Some(e) = best else { continue };
            let has_rt = self
                .refresh_tokens(&e.home_account_id, &e.environment)
                .into_iter()
                .any(|rt| self.is_refresh_token_usable(rt, environment, client_id));
            if has_rt {
                out.push(to_account(e));
            }
        }
        out.sort_by(|a, b| {
            a.username
                .cmp(&b.username)
                .then(a.home_account_id.cmp(&b.home_account_id))
        });
        out
    }

    /// The account entry of a home account in an environment (any alias), home tenant first.
    pub fn account(&self, home_account_id: &str, environment: &str) -> Option<Account> {
        let canonical = canonical_environment(environment);
        let b = bucket(&[home_account_id]);
        let records = self.accounts.get(&b);
        let mut matching = records
            .iter()
            .filter(|r| canonical_environment(&r.entry.environment) == canonical);
        let first = matching.clone().next()?;
        let home = matching.find(|r| {
            r.entry
                .home_account_id
                .rsplit_once('.')
                .is_some_and(|(_, t)| t.eq_ignore_ascii_case(&r.entry.realm))
        });
        Some(to_account(&home.unwrap_or(first).entry))
    }

    // ---- writes --------------------------------------------------------------------------

    /// Apply what one token response writes. Returns false (and changes nothing) when the write
    /// is a refresh whose refresh token is no longer in the cache (the account was removed).
    ///
    /// The rules follow MSAL.NET and MSAL Python: the redeemed refresh token is rotated in
    /// place; access tokens of the same account, client and tenant (any alias) that share a
    /// resource scope with the new one are deleted before the new one is stored (OpenID scopes
    /// such as `openid` or `email` do not count: every token carries them); the ID token,
    /// account and app metadata are upserted.
    pub fn apply(&mut self, w: &TokenWrite) -> bool {
        if let Some(redeemed) = &w.redeemed_refresh_token {
            let key = keys::refresh_token_key(
                &redeemed.home_account_id,
                &redeemed.environment,
                &redeemed.client_or_family,
            );
            let b = bucket(&[&redeemed.home_account_id, &redeemed.environment]);
            let Some(records) = self.refresh_tokens.buckets.get_mut(&b) else {
                return false;
            };
            let Some(rt) = records.iter_mut().find(|r| r.key == key) else {
                return false;
            };
            if let Some(new_secret) = &redeemed.new_secret {
                // If another process rotated this token while we were refreshing, its secret no
                // longer matches the one we redeemed; ours is newer still (the server issued it
                // after), so it wins either way.
                rt.entry.secret = new_secret.clone();
                rt.entry.last_modification_time = Some(redeemed.now);
            }
            if rt.entry.family_id.is_none() {
                if let Some(f) = &redeemed.family_id {
                    rt.entry.family_id = Some(f.clone());
                    // A family id changes the key: re-insert under the family key.
                    let entry = rt.entry.clone();
                    self.refresh_tokens.retain_in(&b, |r| r.key != key);
                    self.insert_refresh_token(entry, false);
                }
            }
        }
        if let Some(at) = &w.access_token {
            // Intersection is judged on resource scopes only: every token carries OpenID's
            // `openid profile email`, and a new Mail.Read token must not evict User.Read.
            let new_scopes = ScopeSet::from_target(&at.target).without_oidc();
            let hid = at.home_account_id.as_deref().unwrap_or("");
            let b = bucket(&[
                &owner(hid, &at.extra),
                &at.environment,
                &at.client_id,
                &at.realm,
            ]);
            let token_type = at.token_type.clone();
            self.access_tokens.retain_in(&b, |r| {
                let same_type = r
                    .entry
                    .token_type
                    .as_deref()
                    .unwrap_or("Bearer")
                    .eq_ignore_ascii_case(token_type.as_deref().unwrap_or("Bearer"));
                !(same_type && r.entry.is_plain_bearer() && r.scopes.intersects(&new_scopes))
            });
            self.insert_access_token(at.clone());
        }
        if let Some(rt) = &w.refresh_token {
            self.insert_refresh_token(rt.clone(), false);
        }
        if let Some(idt) = &w.id_token {
            self.insert_id_token(idt.clone());
        }
        if let Some(account) = &w.account {
            self.insert_account(account.clone());
        }
        if let Some(meta) = &w.app_metadata {
            self.insert_app_metadata(meta.clone());
        }
        true
    }

    /// Remove an account for an app. Returns whether anything was removed.
    ///
    /// Removed: the app's own refresh token and, when the app is a FOCI family member, the
    /// family refresh tokens (family apps share them, so sign-out in one signs out all); the
    /// app's access and ID tokens for the account; and the account entries once no refresh token
    /// of any app remains for it (another app sharing the cache keeps its sign-in). All aliases
    /// of the environment are covered.
    pub fn remove_account(&mut self, r: &AccountRemoval<'_>) -> bool {
        let canonical = canonical_environment(r.environment).into_owned();
        let family = self
            .app_metadata(r.environment, r.client_id)
            .and_then(|m| m.family_id.clone());
        let hid = r.home_account_id.to_ascii_lowercase();
        let client = r.client_id.to_ascii_lowercase();
        let same_account = |h: &str, env: &str| {
            h.eq_ignore_ascii_case(&hid) && canonical_environment(env) == canonical
        };

        let rt_bucket = bucket(&[r.home_account_id, r.environment]);
        let mut removed = self.refresh_tokens.retain_in(&rt_bucket, |rec| {
            let e = &rec.entry;
            let own = e.client_id.eq_ignore_ascii_case(&client);
            let family_rt = e.is_family() && family.is_some() && e.family_id == family;
            !(own || family_rt)
        });
        removed += self.access_tokens.retain_all(|rec| {
            let e = &rec.entry;
            !(same_account(e.home_account_id.as_deref().unwrap_or(""), &e.environment)
                && e.client_id.eq_ignore_ascii_case(&client))
        });
        removed += self.id_tokens.retain_all(|rec| {
            let e = &rec.entry;
            !(same_account(&e.home_account_id, &e.environment)
                && e.client_id.eq_ignore_ascii_case(&client))
        });
        if self.refresh_tokens.get(&rt_bucket).is_empty() {
            let account_bucket = bucket(&[r.home_account_id]);
            removed += self.accounts.retain_in(&account_bucket, |rec| {
                canonical_environment(&rec.entry.environment) != canonical
            });
        }
        removed > 0
    }
}

/// The record whose environment is spelled exactly as asked, else the first of the alias bucket.
fn prefer_environment<'a, E>(
    records: &'a [Record<E>],
    environment: &str,
    env_of: impl Fn(&E) -> &str,
) -> Option<&'a E> {
    records
        .iter()
        .find(|r| env_of(&r.entry).eq_ignore_ascii_case(environment))
        .or_else(|| records.first())
        .map(|r| &r.entry)
}

/// What tells a non-Bearer access token's key apart: its kind, type, key id and extra key
/// components (each empty when absent).
fn non_bearer_key_suffix(entry: &AccessTokenEntry) -> String {
    let field = |name: &str| match entry.extra.get(name) {
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    format!(
        "-{}-{}-{}{}-{}-{}",
        entry.credential_type.to_ascii_lowercase(),
        entry
            .token_type
            .as_deref()
            .unwrap_or("bearer")
            .to_ascii_lowercase(),
        field("key_id"),
        field("kid"),
        field("ext"),
        field("user_assertion_hash"),
    )
}

fn to_account(e: &AccountEntry) -> Account {
    let mut a = Account::new(
        e.home_account_id.clone(),
        e.environment.clone(),
        e.username.clone(),
    );
    a.local_account_id = e.local_account_id.clone();
    a.tenant_id = e.realm.clone();
    a.name = e.name.clone();
    a
}
