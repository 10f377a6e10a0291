//! Where entries live: one slab per kind ([`Section`]), chained per bucket hash.
//!
//! Chosen for caches of a million entries: each kind's entries sit in one vector, and a bucket
//! is a chain through it whose head is found by a 32-bit hash of the bucket name
//! ([`super::buckets`]). Nothing is stored for the index but that hash per bucket and a link per
//! entry: bucket names and cache keys are never kept as strings (keys are rebuilt when saving),
//! and parsed scope sets are shared between the access tokens of the same `target`
//! ([`AtRecord`]). Chains can hold another bucket's entries when two hashes collide, so every
//! walk checks each entry's own fields ([`super::buckets::Bucket::holds`]).

use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use msal_core::ScopeSet;
use serde_json::Value;

use super::buckets::{assertion_hash_of, owner, Bucket, BucketFields, BucketHasher, ChainHash};
use crate::keys;
use crate::prehashed::Prehashed;
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};

/// What a section stores: an entry that knows its bucket and its cache key.
pub(super) trait Stored: Clone + BucketFields {
    /// The cache key written for it (rebuilt on every save, never stored).
    fn key(&self) -> String;
}

/// An access token with its parsed `target`, shared with every token of the same target.
#[derive(Clone)]
pub(super) struct AtRecord {
    pub(super) entry: AccessTokenEntry,
    pub(super) scopes: Arc<ScopeSet>,
}

impl BucketFields for AtRecord {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        let e = &self.entry;
        let hid = owner(e.home_account_id.as_deref().unwrap_or(""), &e.extra);
        ([hid, &e.environment, &e.client_id, &e.realm], 4)
    }
}

impl Stored for AtRecord {
    fn key(&self) -> String {
        let e = &self.entry;
        let mut key = keys::access_token_key(
            e.home_account_id.as_deref().unwrap_or(""),
            &e.environment,
            &e.client_id,
            &e.realm,
            &self.scopes.to_target(),
        );
        if !e.is_plain_bearer() {
            // Key-bound, PoP and extended-key tokens coexist with the Bearer token for the same
            // scopes (MSAL.NET keys them apart too): tell them apart by what binds them.
            key.push_str(&non_bearer_key_suffix(e));
        }
        key
    }
}

impl BucketFields for RefreshTokenEntry {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        (
            [
                owner(&self.home_account_id, &self.extra),
                &self.environment,
                "",
                "",
            ],
            2,
        )
    }
}

impl Stored for RefreshTokenEntry {
    fn key(&self) -> String {
        let client_or_family = match self.family_id.as_deref() {
            Some(f) if !f.is_empty() => f,
            _ => &self.client_id,
        };
        let mut key =
            keys::refresh_token_key(&self.home_account_id, &self.environment, client_or_family);
        if let Some(hash) = assertion_hash_of(&self.extra) {
            // One on-behalf-of refresh token per incoming assertion, beside the user's own.
            key.push('-');
            key.push_str(&hash.to_ascii_lowercase());
        }
        key
    }
}

impl BucketFields for IdTokenEntry {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        (
            [
                &self.home_account_id,
                &self.environment,
                &self.client_id,
                &self.realm,
            ],
            4,
        )
    }
}

impl Stored for IdTokenEntry {
    fn key(&self) -> String {
        keys::id_token_key(
            &self.home_account_id,
            &self.environment,
            &self.client_id,
            &self.realm,
        )
    }
}

impl BucketFields for AccountEntry {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        ([&self.home_account_id, "", "", ""], 1)
    }
}

impl Stored for AccountEntry {
    fn key(&self) -> String {
        keys::account_key(&self.home_account_id, &self.environment, &self.realm)
    }
}

impl BucketFields for AppMetadataEntry {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        (["", &self.environment, &self.client_id, ""], 3)
    }
}

impl Stored for AppMetadataEntry {
    fn key(&self) -> String {
        keys::app_metadata_key(&self.environment, &self.client_id)
    }
}

pub(super) const NIL: u32 = u32::MAX;

#[derive(Clone)]
pub(super) struct Slot<T> {
    /// The next slot of the same chain, or [`NIL`].
    pub(super) next: u32,
    /// `None` while the slot is free.
    pub(super) item: Option<T>,
}

/// One kind's entries: a slab of slots, chained per bucket hash in insertion order.
#[derive(Clone)]
pub(super) struct Section<T> {
    pub(super) slots: Vec<Slot<T>>,
    free: Vec<u32>,
    pub(super) heads: HashMap<ChainHash, u32, BuildHasherDefault<Prehashed>>,
    pub(super) len: usize,
}

impl<T> Default for Section<T> {
    fn default() -> Self {
        Section {
            slots: Vec::new(),
            free: Vec::new(),
            heads: HashMap::default(),
            len: 0,
        }
    }
}

impl<T: Stored> Section<T> {
    /// The slots of the chain of `hash`, which holds the bucket's entries and, rarely, those of
    /// another bucket whose hash collides: callers check [`Bucket::holds`].
    pub(super) fn chain(&self, hash: ChainHash) -> impl Iterator<Item = (u32, &T)> + '_ {
        let mut cur = self.heads.get(&hash).copied().unwrap_or(NIL);
        std::iter::from_fn(move || {
            while cur != NIL {
                let slot = self.slots.get(cur as usize)?;
                let at = cur;
                cur = slot.next;
                if let Some(item) = &slot.item {
                    return Some((at, item));
                }
            }
            None
        })
    }

    /// The entries of a bucket, in insertion order.
    pub(super) fn bucket<'s, 'b, 'n>(
        &'s self,
        b: &'b Bucket<'n>,
        hash: ChainHash,
    ) -> impl Iterator<Item = &'s T> + use<'s, 'b, 'n, T> {
        self.chain(hash)
            .map(|(_, item)| item)
            .filter(move |item| b.holds(*item))
    }

    pub(super) fn get_mut(&mut self, at: u32) -> Option<&mut T> {
        self.slots.get_mut(at as usize)?.item.as_mut()
    }

    /// Append to the end of the chain of `hash`.
    pub(super) fn push(&mut self, hash: ChainHash, item: T) {
        let slot = Slot {
            next: NIL,
            item: Some(item),
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at as usize] = slot;
                at
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        match self.heads.entry(hash) {
            MapEntry::Vacant(v) => {
                v.insert(at);
            }
            MapEntry::Occupied(o) => {
                let mut cur = *o.get();
                while self.slots[cur as usize].next != NIL {
                    cur = self.slots[cur as usize].next;
                }
                self.slots[cur as usize].next = at;
            }
        }
        self.len += 1;
    }

    /// Remove the entries of the chain of `hash` that `remove` picks; returns how many.
    pub(super) fn remove_where(
        &mut self,
        hash: ChainHash,
        mut remove: impl FnMut(&T) -> bool,
    ) -> usize {
        let Some(&head) = self.heads.get(&hash) else {
            return 0;
        };
        let (mut prev, mut cur, mut new_head, mut removed) = (NIL, head, head, 0);
        while cur != NIL {
            let slot = &mut self.slots[cur as usize];
            let next = slot.next;
            if slot.item.as_ref().is_some_and(&mut remove) {
                slot.item = None;
                slot.next = NIL;
                self.free.push(cur);
                removed += 1;
                if prev == NIL {
                    new_head = next;
                } else {
                    self.slots[prev as usize].next = next;
                }
            } else {
                prev = cur;
            }
            cur = next;
        }
        if new_head == NIL {
            self.heads.remove(&hash);
        } else if new_head != head {
            self.heads.insert(hash, new_head);
        }
        self.len -= removed;
        removed
    }

    pub(super) fn retain_all(&mut self, mut keep: impl FnMut(&T) -> bool) -> usize {
        let hashes: Vec<ChainHash> = self.heads.keys().copied().collect();
        hashes
            .into_iter()
            .map(|h| self.remove_where(h, |item| !keep(item)))
            .sum()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().filter_map(|s| s.item.as_ref())
    }

    /// Insert or replace the entry with the same key in the same bucket. `keep_existing` decides
    /// a collision in favour of the stored entry. A replaced entry keeps its place in the chain.
    pub(super) fn upsert(
        &mut self,
        state: &BucketHasher,
        item: T,
        keep_existing: impl Fn(&T, &T) -> bool,
    ) {
        let b = Bucket::of(&item);
        let hash = b.hash(state);
        let mut found = None;
        if self.heads.contains_key(&hash) {
            let key = item.key();
            found = self
                .chain(hash)
                .find(|(_, r)| b.holds(*r) && r.key() == key)
                .map(|(at, _)| at);
        }
        match found.and_then(|at| self.get_mut(at)) {
            Some(existing) => {
                if !keep_existing(existing, &item) {
                    *existing = item;
                }
            }
            None => self.push(hash, item),
        }
    }

    /// Give back the slack the slab's doubling left after a bulk load.
    pub(super) fn shrink(&mut self) {
        self.slots.shrink_to_fit();
    }
}

/// What tells a non-Bearer access token's key apart: its kind, type, key id and extra key
/// components (each empty when absent).
pub(super) fn non_bearer_key_suffix(entry: &AccessTokenEntry) -> String {
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
