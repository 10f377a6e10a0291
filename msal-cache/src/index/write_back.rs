//! The write-back rules: what a token response writes ([`TokenWrite`], [`TokenCache::apply`]),
//! the purge of expired access tokens that comes with every write, and sign-out
//! ([`TokenCache::remove_account`]).

use msal_core::authority::canonical_environment;
use msal_core::{ScopeSet, Secret};

use arcstr::ArcStr;

use super::buckets::{owner, Bucket, ChainHash};
use super::cache::TokenCache;
use super::donors::Donors;
use super::storage::{AtRecord, Stored};
use crate::keys;
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};

/// Everything one token response writes, as an operation that can be replayed on any state of
/// the cache (the facade applies it to the freshly re-read stored cache so that no other
/// process's entries are lost).
///
/// The time a write happened, which decides which access tokens [`TokenCache::apply`] purges
/// as expired, is the later of [`RedeemedRefreshToken::now`] and the new access token's
/// `cached_at`; a write that carries neither purges nothing.
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

impl TokenWrite {
    /// The time the write carries: when the redeemed refresh token was rotated, or when its
    /// access token was cached (the facade sets both from one clock reading); `None` when it
    /// carries neither. (A new refresh token's `last_modification_time` is not used: MSAL Python
    /// writes it, the others do not, so it says less about the write than these two.)
    fn now(&self) -> Option<u64> {
        let redeemed = self.redeemed_refresh_token.as_ref().map(|r| r.now);
        let cached = self.access_token.as_ref().map(|a| a.cached_at);
        [redeemed, cached]
            .into_iter()
            .flatten()
            .filter(|&t| t > 0)
            .max()
    }
}

/// The refresh token a refresh redeemed, and what to rotate it to. `Debug` hides the new secret
/// (a [`Secret`]).
///
/// What names the stored entry is [`ArcStr`], as in the entry, so that it is taken from the
/// redeemed entry without a copy; what comes from the token response is as the response has it.
#[derive(Clone, Debug)]
pub struct RedeemedRefreshToken {
    /// Its home account.
    pub home_account_id: ArcStr,
    /// Its environment as stored.
    pub environment: ArcStr,
    /// Its client id or family id (what its key is made of).
    pub client_or_family: ArcStr,
    /// The secret that was redeemed: a concurrent rotation by another process is detected by a
    /// mismatch and the newer token is kept.
    pub redeemed_secret_fingerprint: u64,
    /// The rotated secret from the response, if the server sent one.
    pub new_secret: Option<Secret>,
    /// `last_modification_time` to record.
    pub now: u64,
    /// The response's FOCI family, if any.
    pub family_id: Option<String>,
}

/// The field a refresh token entry carries while a single-use redemption of it is in flight
/// (its value: when it started, Unix seconds). The facade writes it under the refresh lock
/// before sending a refresh token that must never be presented twice; a rotation
/// ([`TokenWrite::redeemed_refresh_token`]) removes it. Left behind, it tells the next process
/// that the token's redemption never got an answer. Other MSALs keep it as an unknown field.
pub const REDEMPTION_STARTED: &str = "msal_rs_redemption_started";

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

impl TokenCache {
    /// Apply what one token response writes. Returns false (and changes nothing) when the write
    /// is a refresh whose refresh token is no longer in the cache (the account was removed).
    ///
    /// The rules follow MSAL.NET and MSAL Python: the redeemed refresh token is rotated in
    /// place; access tokens of the same account, client and tenant (any alias) that share a
    /// resource scope with the new one are deleted before the new one is stored (OpenID scopes
    /// such as `openid` or `email` do not count: every token carries them); the ID token,
    /// account and app metadata are upserted.
    ///
    /// Every write also purges the access tokens of this cache that expired before the time the
    /// write carries (see [`TokenWrite`]), of every account and app, so that a cache written to
    /// for a long time does not grow with dead tokens and they are not saved again. Refresh
    /// tokens, ID tokens, accounts and app metadata are kept. Other MSAL libraries never use
    /// an expired access token (MSAL.NET deletes them when it finds them), so nothing they read
    /// is lost.
    pub fn apply(&mut self, w: &TokenWrite) -> bool {
        if let Some(redeemed) = &w.redeemed_refresh_token {
            let key = keys::refresh_token_key(
                &redeemed.home_account_id,
                &redeemed.environment,
                &redeemed.client_or_family,
            );
            let b = Bucket::new(&[&redeemed.home_account_id, &redeemed.environment]);
            let hash = b.hash(&self.hasher);
            let Some(at) = self
                .refresh_tokens
                .chain(hash)
                .find(|(_, r)| b.holds(*r) && r.key() == key)
                .map(|(at, _)| at)
            else {
                return false;
            };
            let Some(rt) = self.refresh_tokens.get_mut(at) else {
                return false;
            };
            // The redemption got its answer: its in-flight mark goes.
            if rt.extra.contains_key(REDEMPTION_STARTED) {
                rt.extra.remove(REDEMPTION_STARTED);
            }
            if let Some(new_secret) = &redeemed.new_secret {
                // If another process rotated this token while we were refreshing, its secret no
                // longer matches the one we redeemed; ours is newer still (the server issued it
                // after), so it wins either way.
                rt.secret = new_secret.into();
                rt.last_modification_time = Some(redeemed.now);
            }
            if rt.family_id.is_none() {
                if let Some(f) = &redeemed.family_id {
                    rt.family_id = Some(f.as_str().into());
                    // A family id changes the key: re-insert under the family key.
                    let entry = rt.clone();
                    self.refresh_tokens
                        .remove_where(hash, |r| b.holds(r) && r.key() == key);
                    self.insert_refresh_token(entry, false);
                }
            }
        }
        if let Some(now) = w.now() {
            self.purge_expired_access_tokens(now);
        }
        // The new entries take the strings the cache already holds (and share them among
        // themselves), so that a cache written to for a long time keeps them once as a loaded
        // one does, rather than a copy per entry.
        let mut donors = self.donors(w);
        if let Some(at) = &w.access_token {
            let mut at = at.clone();
            donors.share_access_token(&mut at);
            // Intersection is judged on resource scopes only: every token carries OpenID's
            // `openid profile email`, and a new Mail.Read token must not evict User.Read.
            let new_scopes = ScopeSet::from_target(&at.target).without_oidc();
            let hid = owner(at.home_account_id.as_deref().unwrap_or(""), &at.extra);
            let b = Bucket::new(&[hid, &at.environment, &at.client_id, &at.realm]);
            let token_type = at.token_type.as_deref().unwrap_or("Bearer");
            self.access_tokens.remove_where(b.hash(&self.hasher), |r| {
                let same_type = r
                    .entry
                    .token_type
                    .as_deref()
                    .unwrap_or("Bearer")
                    .eq_ignore_ascii_case(token_type);
                b.holds(r)
                    && same_type
                    && r.entry.is_plain_bearer()
                    && r.scopes.intersects(&new_scopes)
            });
            self.insert_access_token(at);
        }
        if let Some(rt) = &w.refresh_token {
            let mut rt = rt.clone();
            donors.share_refresh_token(&mut rt);
            self.insert_refresh_token(rt, false);
        }
        if let Some(idt) = &w.id_token {
            let mut idt = idt.clone();
            donors.share_id_token(&mut idt);
            self.insert_id_token(idt);
        }
        if let Some(account) = &w.account {
            let mut account = account.clone();
            donors.share_account(&mut account);
            self.insert_account(account);
        }
        if let Some(meta) = &w.app_metadata {
            let mut meta = meta.clone();
            donors.share_app_metadata(&mut meta);
            self.insert_app_metadata(meta);
        }
        true
    }

    /// Remove the access tokens that expired before `now` (Unix seconds); returns how many.
    ///
    /// The usual case, nothing expired, is one pass over the access-token slab without hashing:
    /// the chains are only walked for the buckets that hold an expired token.
    fn purge_expired_access_tokens(&mut self, now: u64) -> usize {
        let expired = |r: &AtRecord| r.entry.expires_on < now;
        let mut chains: Vec<ChainHash> = self
            .access_tokens
            .iter()
            .filter(|r| expired(r))
            .map(|r| Bucket::of(r).hash(&self.hasher))
            .collect();
        chains.sort_unstable();
        chains.dedup();
        chains
            .into_iter()
            .map(|hash| self.access_tokens.remove_where(hash, expired))
            .sum()
    }

    /// The strings of the entries a write's entries will sit beside: the account entries of its
    /// account and the access tokens of its new access token's bucket (two hash probes).
    fn donors(&self, w: &TokenWrite) -> Donors {
        let mut donors = Donors::default();
        let hid = [
            w.account.as_ref().map(|a| &a.home_account_id),
            w.access_token
                .as_ref()
                .and_then(|a| a.home_account_id.as_ref()),
            w.refresh_token.as_ref().map(|r| &r.home_account_id),
            w.id_token.as_ref().map(|i| &i.home_account_id),
        ]
        .into_iter()
        .flatten()
        .find(|h| !h.is_empty());
        if let Some(hid) = hid {
            let b = Bucket::new(&[hid]);
            for e in self.accounts.bucket(&b, b.hash(&self.hasher)) {
                donors.offer_all([&e.home_account_id, &e.environment, &e.realm]);
            }
        }
        if let Some(at) = &w.access_token {
            let hid = owner(at.home_account_id.as_deref().unwrap_or(""), &at.extra);
            let b = Bucket::new(&[hid, &at.environment, &at.client_id, &at.realm]);
            let first = self.access_tokens.bucket(&b, b.hash(&self.hasher)).next();
            if let Some(r) = first {
                let e = &r.entry;
                donors.offer_all([&e.environment, &e.client_id, &e.realm, &e.target]);
                donors.offer_all(e.home_account_id.iter().chain(&e.token_type));
            }
        }
        donors
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

        let rts = Bucket::new(&[r.home_account_id, r.environment]);
        let rt_hash = rts.hash(&self.hasher);
        let mut removed = self.refresh_tokens.remove_where(rt_hash, |e| {
            let own = e.client_id.eq_ignore_ascii_case(&client);
            let family_rt = e.is_family() && family.is_some() && e.family_id == family;
            rts.holds(e) && (own || family_rt)
        });
        // Access and ID tokens are bucketed by tenant too, and an account's tenants are not
        // indexed: these two are a scan (sign-out is rare; lookups are what must not scan).
        removed += self.access_tokens.retain_all(|rec| {
            let e = &rec.entry;
            !(same_account(e.home_account_id.as_deref().unwrap_or(""), &e.environment)
                && e.client_id.eq_ignore_ascii_case(&client))
        });
        removed += self.id_tokens.retain_all(|e| {
            !(same_account(&e.home_account_id, &e.environment)
                && e.client_id.eq_ignore_ascii_case(&client))
        });
        if self.refresh_tokens.bucket(&rts, rt_hash).next().is_none() {
            let accounts = Bucket::new(&[r.home_account_id]);
            removed += self
                .accounts
                .remove_where(accounts.hash(&self.hasher), |e| {
                    accounts.holds(e) && canonical_environment(&e.environment) == canonical
                });
        }
        removed > 0
    }
}
