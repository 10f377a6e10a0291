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
//!
//! Layout, chosen for caches of a million entries: each kind's entries sit in one vector (a
//! slab), and a bucket is a chain through it whose head is found by a 32-bit hash of the bucket
//! name. Nothing is stored for the index but that hash per bucket and a link per entry: bucket
//! names and cache keys are never kept as strings (keys are rebuilt when saving), and parsed
//! scope sets are shared between the access tokens of the same `target`. Hashes are keyed per
//! cache (foldhash with a random seed, so crafted entries cannot pile into one chain) and can
//! still collide, so every walk checks each entry's own fields against the bucket before using
//! it. The entries' strings are shared [`ArcStr`]s: a load stores each repeated value once (see
//! `crate::intern`).

use std::borrow::Cow;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use msal_core::authority::canonical_environment;
use msal_core::{Account, ScopeSet};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
#[cfg(test)]
use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{Map, Value};

use arcstr::ArcStr;

use crate::intern::{constant, Interner, SharedStrings};
use crate::keys;
use crate::schema::{
    fields_to_value, AccessTokenEntry, AccountEntry, AppMetadataEntry, EntrySeed, FieldSink,
    Fields, FromFields, IdTokenEntry, Key, RawEntry, RefreshTokenEntry,
};
use crate::CacheError;

const AT: &str = "AccessToken";
const RT: &str = "RefreshToken";
const IDT: &str = "IdToken";
const ACCOUNT: &str = "Account";
const APP: &str = "AppMetadata";
const SECTIONS: [&str; 5] = [AT, RT, IDT, ACCOUNT, APP];

/// The separator of bucket-name fields in hashes and in the save order's tie-break.
const SEP: u8 = 0x1f;

/// The extra field naming the incoming assertion an on-behalf-of token was obtained with
/// (MSAL.NET's name for it).
pub const USER_ASSERTION_HASH: &str = "user_assertion_hash";

fn assertion_hash_of(extra: &Map<String, Value>) -> Option<&str> {
    if extra.is_empty() {
        return None;
    }
    extra.get(USER_ASSERTION_HASH).and_then(Value::as_str)
}

/// Whose bucket a token goes in: its home account's, or for an on-behalf-of token (which an API
/// looks up by the incoming assertion, not by account) the assertion hash's. Lookups check the
/// entries' own fields, so an account id that happened to equal a hash would share a bucket
/// but never a token.
fn owner<'a>(home_account_id: &'a str, extra: &'a Map<String, Value>) -> &'a str {
    assertion_hash_of(extra).unwrap_or(home_account_id)
}

/// A bucket name: the lookup fields, compared ignoring ASCII case, the environment (second
/// field) by its canonical form.
struct Bucket<'a> {
    parts: [&'a str; 4],
    len: usize,
    canonical: Cow<'a, str>,
}

impl<'a> Bucket<'a> {
    fn new(parts: &[&'a str]) -> Self {
        let mut p = [""; 4];
        p[..parts.len()].copy_from_slice(parts);
        let canonical = match parts.get(1) {
            Some(env) => canonical_environment(env),
            None => Cow::Borrowed(""),
        };
        Bucket {
            parts: p,
            len: parts.len(),
            canonical,
        }
    }

    /// A bucket whose environment's canonical form the caller already knows.
    fn with_canonical(parts: &[&'a str], canonical: Cow<'a, str>) -> Self {
        let mut p = [""; 4];
        p[..parts.len()].copy_from_slice(parts);
        Bucket {
            parts: p,
            len: parts.len(),
            canonical,
        }
    }

    fn of<T: Stored>(item: &'a T) -> Self {
        let (parts, len) = item.bucket_fields();
        Bucket::new(&parts[..len])
    }

    fn part(&self, i: usize) -> &str {
        if i == 1 {
            &self.canonical
        } else {
            self.parts[i]
        }
    }

    fn hash(&self, state: &BucketHasher) -> ChainHash {
        // Eight bytes at a time, lowercased in a register: no copy, no allocation, and a few
        // hundred instructions for a typical 170-byte name (a byte loop took 1,500).
        let mut h = state.build_hasher();
        for i in 0..self.len {
            let part = self.part(i).as_bytes();
            let mut words = part.chunks_exact(8);
            for w in &mut words {
                let mut word = [0u8; 8];
                word.copy_from_slice(w);
                h.write_u64(ascii_lower8(u64::from_le_bytes(word)));
            }
            let rest = words.remainder();
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            h.write_u64(ascii_lower8(u64::from_le_bytes(word)));
            // The length ends the part, so that zero padding and field boundaries are unambiguous.
            h.write_usize(part.len());
        }
        // The low half of a well-mixed hash (see `ChainHash`).
        h.finish() as ChainHash
    }

    /// Whether an entry with these bucket fields belongs to this bucket (hashes can collide).
    fn holds<T: Stored>(&self, item: &T) -> bool {
        let (fields, len) = item.bucket_fields();
        len == self.len
            && (0..self.len).all(|i| {
                if i == 1 {
                    same(fields[1], self.parts[1])
                        || canonical_environment(fields[1]) == self.canonical
                } else {
                    same(fields[i], self.parts[i])
                }
            })
    }

    /// The bucket name as one string, only to order saves deterministically.
    fn name(&self) -> Vec<u8> {
        let mut s = Vec::new();
        for i in 0..self.len {
            if i > 0 {
                s.push(SEP);
            }
            s.extend(self.part(i).bytes().map(|b| b.to_ascii_lowercase()));
        }
        s
    }
}

/// The keyed hash of bucket names: foldhash (already in the tree under serde_json), several
/// times faster than std's SipHash on these 100-200 byte names, which made hashing most of a
/// lookup. Its per-instance random seed keeps chains unpredictable; chains are verified anyway,
/// so a collision costs a comparison, never a wrong entry.
type BucketHasher = foldhash::quality::RandomState;

/// The eight bytes of `w` with ASCII `A`-`Z` lowercased (SWAR); other bytes, UTF-8 included,
/// are left as they are, as `make_ascii_lowercase` does.
fn ascii_lower8(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = w & LOW7;
    // The high bit of each byte says whether its low 7 bits are >= 'A' (0x41), resp. > 'Z'
    // (0x5a); no byte can carry into the next (at most 0x7f + 0x3f).
    let at_least_a = low.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
    let past_z = low.wrapping_add(0x2525_2525_2525_2525);
    let upper = at_least_a & !past_z & !w & HIGH;
    w | (upper >> 2)
}

/// Equal ignoring ASCII case. (Trying `==` first was slower: on these short strings the call to
/// libc's memcmp cost more than the whole case-insensitive compare.)
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// What names a chain: 32 bits of the bucket name's keyed hash.
///
/// 32 bits rather than 64 halve the chain-head maps (a slot of `(u32, u32)` is 8 bytes, of
/// `(u64, u32)` 16), which at 100,000 accounts is 40 bytes per account. The cost is more chains
/// that two buckets share by chance (about n^2 / 2^33 pairs: a hundred among a million buckets,
/// unpredictable since the hash is keyed), each costing a comparison on the walks that meet it;
/// walks check every entry's fields anyway.
type ChainHash = u32;

/// The hashes the tables here are keyed by are already uniform, so they are used as they are:
/// a chain hash spread over 64 bits, a 64-bit one (the tables of a load's shared strings,
/// `crate::intern`) unchanged.
#[derive(Default, Clone, Copy)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32`/`write_u64` are used (the keys are those); this keeps the trait's
        // contract anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        // The map takes its bucket from the low bits and a tag from the top seven: multiplying
        // by an odd constant keeps the low bits as uniform as they were and fills the top ones.
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What a section stores, and what the index and the save need to know about it.
trait Stored: Clone {
    /// The bucket fields (up to four; the second is the environment) and how many there are.
    fn bucket_fields(&self) -> ([&str; 4], usize);
    /// The cache key written for it (rebuilt on every save, never stored).
    fn key(&self) -> String;
    /// How the entry is written.
    fn item(&self) -> Item<'_>;
    /// Bytes of secret, to size the save buffer.
    fn secret_len(&self) -> usize {
        0
    }
}

/// An access token with its parsed `target`, shared with every token of the same target.
#[derive(Clone)]
struct AtRecord {
    entry: AccessTokenEntry,
    scopes: Arc<ScopeSet>,
}

impl Stored for AtRecord {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        let e = &self.entry;
        let hid = owner(e.home_account_id.as_deref().unwrap_or(""), &e.extra);
        ([hid, &e.environment, &e.client_id, &e.realm], 4)
    }
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
    fn item(&self) -> Item<'_> {
        Item::At(&self.entry)
    }
    fn secret_len(&self) -> usize {
        self.entry.secret.len()
    }
}

impl Stored for RefreshTokenEntry {
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
    fn item(&self) -> Item<'_> {
        Item::Rt(self)
    }
    fn secret_len(&self) -> usize {
        self.secret.len()
    }
}

impl Stored for IdTokenEntry {
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
    fn key(&self) -> String {
        keys::id_token_key(
            &self.home_account_id,
            &self.environment,
            &self.client_id,
            &self.realm,
        )
    }
    fn item(&self) -> Item<'_> {
        Item::Idt(self)
    }
    fn secret_len(&self) -> usize {
        self.secret.len()
    }
}

impl Stored for AccountEntry {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        ([&self.home_account_id, "", "", ""], 1)
    }
    fn key(&self) -> String {
        keys::account_key(&self.home_account_id, &self.environment, &self.realm)
    }
    fn item(&self) -> Item<'_> {
        Item::Account(self)
    }
}

impl Stored for AppMetadataEntry {
    fn bucket_fields(&self) -> ([&str; 4], usize) {
        (["", &self.environment, &self.client_id, ""], 3)
    }
    fn key(&self) -> String {
        keys::app_metadata_key(&self.environment, &self.client_id)
    }
    fn item(&self) -> Item<'_> {
        Item::App(self)
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone)]
struct Slot<T> {
    /// The next slot of the same chain, or [`NIL`].
    next: u32,
    /// `None` while the slot is free.
    item: Option<T>,
}

/// One kind's entries: a slab of slots, chained per bucket hash in insertion order.
#[derive(Clone)]
struct Section<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    heads: HashMap<ChainHash, u32, BuildHasherDefault<Prehashed>>,
    len: usize,
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
    fn chain(&self, hash: ChainHash) -> impl Iterator<Item = (u32, &T)> + '_ {
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
    fn bucket<'s, 'b, 'n>(
        &'s self,
        b: &'b Bucket<'n>,
        hash: ChainHash,
    ) -> impl Iterator<Item = &'s T> + use<'s, 'b, 'n, T> {
        self.chain(hash)
            .map(|(_, item)| item)
            .filter(move |item| b.holds(*item))
    }

    fn get_mut(&mut self, at: u32) -> Option<&mut T> {
        self.slots.get_mut(at as usize)?.item.as_mut()
    }

    /// Append to the end of the chain of `hash`.
    fn push(&mut self, hash: ChainHash, item: T) {
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
    fn remove_where(&mut self, hash: ChainHash, mut remove: impl FnMut(&T) -> bool) -> usize {
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

    fn retain_all(&mut self, mut keep: impl FnMut(&T) -> bool) -> usize {
        let hashes: Vec<ChainHash> = self.heads.keys().copied().collect();
        hashes
            .into_iter()
            .map(|h| self.remove_where(h, |item| !keep(item)))
            .sum()
    }

    fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().filter_map(|s| s.item.as_ref())
    }

    /// Insert or replace the entry with the same key in the same bucket. `keep_existing` decides
    /// a collision in favour of the stored entry. A replaced entry keeps its place in the chain.
    fn upsert(&mut self, state: &BucketHasher, item: T, keep_existing: impl Fn(&T, &T) -> bool) {
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
    fn shrink(&mut self) {
        self.slots.shrink_to_fit();
    }

    /// The entries in save order with their keys: by key, ties (keys can collide when fields
    /// contain `-`) by bucket name, so that the output is the same on every save.
    fn sorted(&self, size: &mut usize) -> Vec<(String, &T)> {
        let mut records: Vec<(String, &T)> = self
            .iter()
            .map(|r| {
                *size += r.secret_len() + 512;
                (r.key(), r)
            })
            .collect();
        records.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| Bucket::of(a.1).name().cmp(&Bucket::of(b.1).name()))
        });
        records
    }
}

/// One entry as written by [`TokenCache::to_json`].
enum Item<'a> {
    At(&'a AccessTokenEntry),
    Rt(&'a RefreshTokenEntry),
    Idt(&'a IdTokenEntry),
    Account(&'a AccountEntry),
    App(&'a AppMetadataEntry),
    Verbatim(&'a Value),
}

impl Item<'_> {
    fn write(&self, w: &mut JsonOut) {
        let _ = match self {
            Item::At(e) => w.object(|w| e.write_fields(w)),
            Item::Rt(e) => w.object(|w| e.write_fields(w)),
            Item::Idt(e) => w.object(|w| e.write_fields(w)),
            Item::Account(e) => w.object(|w| e.write_fields(w)),
            Item::App(e) => w.object(|w| e.write_fields(w)),
            Item::Verbatim(v) => {
                w.json_value(v);
                Ok(())
            }
        };
    }
}

#[cfg(test)]
impl Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::At(e) => e.serialize(s),
            Item::Rt(e) => e.serialize(s),
            Item::Idt(e) => e.serialize(s),
            Item::Account(e) => e.serialize(s),
            Item::App(e) => e.serialize(s),
            Item::Verbatim(v) => v.serialize(s),
        }
    }
}

/// A section as written: keys and entries in order.
struct SectionOut<'a>(Vec<(Cow<'a, str>, Item<'a>)>);

#[cfg(test)]
impl Serialize for SectionOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

/// The whole document as written.
struct DocOut<'a> {
    sections: Vec<(&'static str, SectionOut<'a>)>,
    unknown: &'a Map<String, Value>,
}

impl DocOut<'_> {
    fn write(&self, w: &mut JsonOut) {
        let _ = w.object(|w| {
            for (name, section) in &self.sections {
                w.key(name);
                let _ = w.object(|w| {
                    for (key, item) in &section.0 {
                        w.key(key);
                        item.write(w);
                    }
                    Ok(())
                });
            }
            for (name, value) in self.unknown {
                w.key(name);
                w.json_value(value);
            }
            Ok(())
        });
    }
}

/// The JSON writer of [`TokenCache::to_json`]: serde_json's pretty layout (4-space indent),
/// byte for byte, but strings that need no escaping are copied whole. serde_json escapes byte
/// by byte through a table, which was 80% of a save: secrets are most of the bytes.
struct JsonOut {
    out: Vec<u8>,
    depth: usize,
    /// Whether the object being written has no member yet.
    first: bool,
}

impl JsonOut {
    fn newline(&mut self) {
        self.out.push(b'\n');
        for _ in 0..self.depth {
            self.out.extend_from_slice(b"    ");
        }
    }

    /// An object whose members `body` writes.
    fn object(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), std::convert::Infallible>,
    ) -> Result<(), std::convert::Infallible> {
        self.out.push(b'{');
        self.depth += 1;
        self.first = true;
        let _ = body(self);
        self.depth -= 1;
        if !self.first {
            self.newline();
        }
        self.out.push(b'}');
        self.first = false;
        Ok(())
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.newline();
        self.string(key);
        self.out.extend_from_slice(b": ");
    }

    fn string(&mut self, s: &str) {
        // No early exit, so that the check vectorizes: most strings are scanned to the end anyway.
        let needs_escape = s.bytes().fold(false, |acc, b| {
            acc | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if needs_escape {
            // serde_json's own escaping, as every string was written before.
            let _ = serde_json::to_writer(&mut self.out, s);
        } else {
            self.out.push(b'"');
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(b'"');
        }
    }

    /// Any JSON value, laid out by serde_json and indented to the current depth (a newline in
    /// its output is always between tokens: strings escape theirs).
    fn json_value(&mut self, v: &Value) {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let _ = v.serialize(&mut serde_json::Serializer::with_formatter(&mut buf, fmt));
        for &b in &buf {
            self.out.push(b);
            if b == b'\n' {
                for _ in 0..self.depth {
                    self.out.extend_from_slice(b"    ");
                }
            }
        }
    }
}

impl FieldSink for JsonOut {
    type Error = std::convert::Infallible;
    fn string(&mut self, name: &str, value: &str) -> Result<(), Self::Error> {
        self.key(name);
        JsonOut::string(self, value);
        Ok(())
    }
    fn null(&mut self, name: &str) -> Result<(), Self::Error> {
        self.key(name);
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn value(&mut self, name: &str, value: &Value) -> Result<(), Self::Error> {
        self.key(name);
        self.json_value(value);
        Ok(())
    }
}

#[cfg(test)]
impl Serialize for DocOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.sections.len() + self.unknown.len()))?;
        for (name, section) in &self.sections {
            m.serialize_entry(name, section)?;
        }
        for (name, value) in self.unknown {
            m.serialize_entry(name, value)?;
        }
        m.end()
    }
}

/// A section's entries with unique keys, and then its entries kept verbatim under their
/// original keys.
///
/// Keys join fields with `-`, which fields may contain too ("a-b" + "c" and "a" + "b-c"), and an
/// entry kept verbatim keeps its original key, which a rebuilt key may equal. Keys are only ever
/// written (readers rebuild or scan), so a taken key gets a suffix instead of overwriting an
/// entry. The order is deterministic, so the suffixes, and with them the output, are the same on
/// every save.
fn section_out<'a, T: Stored>(
    records: Vec<(String, &'a T)>,
    verbatim: Vec<(&'a str, &'a Value)>,
) -> SectionOut<'a> {
    let collides = records.windows(2).any(|w| w[0].0 == w[1].0);
    if !collides && verbatim.is_empty() {
        // The usual case: every rebuilt key is unique and nothing needs a suffix.
        return SectionOut(
            records
                .into_iter()
                .map(|(k, r)| (Cow::Owned(k), r.item()))
                .collect(),
        );
    }
    fn unique(taken: &HashSet<String>, key: &str) -> String {
        if !taken.contains(key) {
            return key.to_owned();
        }
        (2..)
            .map(|n| format!("{key}#{n}"))
            .find(|k| !taken.contains(k))
            .unwrap_or_default()
    }
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(records.len() + verbatim.len());
    let all = records
        .into_iter()
        .map(|(k, r)| (Cow::Owned(k), r.item()))
        .chain(
            verbatim
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), Item::Verbatim(v))),
        );
    for (key, item) in all {
        let key = unique(&taken, &key);
        taken.insert(key.clone());
        out.push((Cow::Owned(key), item));
    }
    SectionOut(out)
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
///
/// What names the stored entry is [`ArcStr`], as in the entry, so that it is taken from the
/// redeemed entry without a copy; what comes from the token response is a `String`, as the
/// response has it.
#[derive(Clone)]
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

/// Strings that entries about to be stored can take instead of their own equal copies (see
/// [`TokenCache::apply`]). A handful at most: a linear search is the cheapest.
#[derive(Default)]
struct Donors(Vec<ArcStr>);

impl Donors {
    /// `value` replaced by a static constant or an equal donor, or else offered as one.
    fn share(&mut self, value: &mut ArcStr) {
        if let Some(c) = constant(value) {
            *value = c;
            return;
        }
        match self.find(value) {
            Some(d) => *value = d.clone(),
            None => self.offer(value),
        }
    }

    fn find(&self, value: &str) -> Option<&ArcStr> {
        self.0.iter().find(|d| d.as_str() == value)
    }

    fn offer(&mut self, value: &ArcStr) {
        // Static strings (the schema's constants, the empty string) cost nothing to keep apart.
        if !ArcStr::is_static(value) && self.find(value).is_none() {
            self.0.push(value.clone());
        }
    }

    fn offer_all<'a>(&mut self, values: impl IntoIterator<Item = &'a ArcStr>) {
        for v in values {
            self.offer(v);
        }
    }

    fn share_all<'a>(&mut self, values: impl IntoIterator<Item = &'a mut ArcStr>) {
        for v in values {
            self.share(v);
        }
    }

    // Secrets are never shared: they are unique, so comparing them would find nothing.

    fn share_access_token(&mut self, e: &mut AccessTokenEntry) {
        let AccessTokenEntry {
            credential_type,
            home_account_id,
            environment,
            client_id,
            realm,
            target,
            token_type,
            ..
        } = e;
        self.share_all([credential_type, environment, client_id, realm, target]);
        self.share_all(home_account_id.iter_mut().chain(token_type));
    }

    fn share_refresh_token(&mut self, e: &mut RefreshTokenEntry) {
        let RefreshTokenEntry {
            credential_type,
            home_account_id,
            environment,
            client_id,
            target,
            family_id,
            ..
        } = e;
        self.share_all([credential_type, home_account_id, environment, client_id]);
        self.share_all(target.iter_mut().chain(family_id));
    }

    fn share_id_token(&mut self, e: &mut IdTokenEntry) {
        let IdTokenEntry {
            credential_type,
            home_account_id,
            environment,
            realm,
            client_id,
            ..
        } = e;
        self.share_all([
            credential_type,
            home_account_id,
            environment,
            realm,
            client_id,
        ]);
    }

    fn share_account(&mut self, e: &mut AccountEntry) {
        let AccountEntry {
            home_account_id,
            environment,
            realm,
            authority_type,
            account_source,
            ..
        } = e;
        self.share_all([home_account_id, environment, realm, authority_type]);
        self.share_all(account_source);
    }

    fn share_app_metadata(&mut self, e: &mut AppMetadataEntry) {
        let AppMetadataEntry {
            client_id,
            environment,
            family_id,
            ..
        } = e;
        self.share_all([client_id, environment]);
        self.share_all(family_id);
    }
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
    /// Keys of the bucket hashes (per cache, random).
    hasher: BucketHasher,
    access_tokens: Section<AtRecord>,
    refresh_tokens: Section<RefreshTokenEntry>,
    id_tokens: Section<IdTokenEntry>,
    accounts: Section<AccountEntry>,
    app_metadata: Section<AppMetadataEntry>,
    /// Parsed `target`s, shared by the access tokens that have the same one.
    scope_sets: HashMap<Box<str>, Arc<ScopeSet>>,
    /// Entries that did not parse as their kind: section name, original key, original value.
    unparsed: Vec<(&'static str, String, Value)>,
    /// Top-level sections msal-rs does not know.
    unknown_sections: Map<String, Value>,
}

/// Documents from this size on load on two threads ([`TokenCache::from_json_split`]); below
/// it, starting a thread costs about what it saves.
const SPLIT_MIN_BYTES: usize = 4 << 20;

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

fn invalid_json(e: &serde_json::Error) -> CacheError {
    CacheError::corrupt(
        None,
        format!("not valid JSON (line {}, column {})", e.line(), e.column()),
    )
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse a serialized cache (either dialect). Data that is not a JSON object, or whose
    /// sections are not objects, is [`CacheError::Corrupt`]; single entries that do not parse
    /// are kept aside verbatim and written back unchanged.
    ///
    /// The document is read in one pass straight into the index: no `serde_json::Value` of the
    /// whole document, strings borrowed from `bytes` until an entry keeps them. A large document
    /// is read on two threads, each taking whole sections (see `from_json_split`).
    /// (A section that appears twice in one document is loaded twice, into the same cache.)
    pub fn from_json(bytes: &[u8]) -> Result<Self, CacheError> {
        if bytes.len() >= SPLIT_MIN_BYTES {
            if let Some(cache) = Self::from_json_split(bytes) {
                return Ok(cache);
            }
        }
        Self::from_json_sequential(bytes)
    }

    /// [`TokenCache::from_json`] on the calling thread alone.
    fn from_json_sequential(bytes: &[u8]) -> Result<Self, CacheError> {
        let mut cache = TokenCache::new();
        let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
            return Ok(cache);
        };
        if *first != b'{' {
            return Err(match serde_json::from_slice::<de::IgnoredAny>(bytes) {
                Ok(_) => CacheError::corrupt(None, "the top level is not a JSON object"),
                Err(e) => invalid_json(&e),
            });
        }
        let mut bad_section = None;
        let loader = Loader {
            cache: &mut cache,
            bad_section: &mut bad_section,
        };
        // One UTF-8 check of the whole document lets serde_json skip its check of each string
        // (a sixth of a load); a document that fails it is read as bytes, to word the error.
        let parsed = match std::str::from_utf8(bytes) {
            Ok(text) => load_document(serde_json::Deserializer::from_str(text), loader),
            Err(_) => load_document(serde_json::Deserializer::from_slice(bytes), loader),
        };
        if let Err(e) = parsed {
            // Invalid JSON anywhere is reported as such, before what the structure got wrong.
            return Err(
                match (serde_json::from_slice::<de::IgnoredAny>(bytes), bad_section) {
                    (Err(syntax), _) => invalid_json(&syntax),
                    (Ok(_), Some(name)) => {
                        CacheError::corrupt(None, format!("section {name:?} is not a JSON object"))
                    }
                    (Ok(_), None) => invalid_json(&e),
                },
            );
        }
        cache.shrink();
        Ok(cache)
    }

    /// The two-thread load: the top level is split into sections by a quick scan, and the known
    /// sections are parsed on two threads, each thread taking whole kinds (all access-token
    /// sections on one, say), so each kind's entries are read in document order as on one
    /// thread and the two halves of the index never meet. Unknown sections are read here.
    ///
    /// `None` whenever anything is not as expected, JSON errors included: the caller then loads
    /// on one thread, which also words the error. So this path only ever has to get valid
    /// documents right. (A scan that splits an invalid document wrongly cannot make it load
    /// either: every piece must then parse as a whole JSON value.)
    fn from_json_split(bytes: &[u8]) -> Option<Self> {
        let mut cache = TokenCache::new();
        let mut known: Vec<(&'static str, &[u8])> = Vec::new();
        for (key, value) in split_top_level(bytes)? {
            let name: String = serde_json::from_slice(key).ok()?;
            match SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(&name)) {
                Some(&kind) => known.push((kind, value)),
                None => {
                    let value: Value = serde_json::from_slice(value).ok()?;
                    cache.unknown_sections.insert(name, value);
                }
            }
        }
        // Kinds go to the less loaded thread, largest first.
        let mut sizes: Vec<(&'static str, usize)> = SECTIONS
            .iter()
            .map(|&kind| {
                let size = known
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, v)| v.len());
                (kind, size.sum())
            })
            .collect();
        sizes.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        let (mut my_bytes, mut their_bytes) = (0, 0);
        for (kind, size) in sizes {
            if my_bytes <= their_bytes {
                mine.push(kind);
                my_bytes += size;
            } else {
                theirs.push(kind);
                their_bytes += size;
            }
        }
        let hasher = cache.hasher.clone();
        let home_accounts = SharedStrings::default();
        let load = |kinds: &[&'static str]| -> Option<TokenCache> {
            let mut part = TokenCache {
                hasher: hasher.clone(),
                ..TokenCache::default()
            };
            let mut fields = Fields::new();
            let mut strings = Interner::with_shared(&home_accounts);
            let mut bad_section = None;
            for (kind, value) in known.iter().filter(|(k, _)| kinds.contains(k)) {
                // As in the one-thread load: one UTF-8 check, then a `str` parse.
                let value = std::str::from_utf8(value).ok()?;
                let mut de = serde_json::Deserializer::from_str(value);
                let section = SectionLoader {
                    cache: &mut part,
                    section: kind,
                    fields: &mut fields,
                    strings: &mut strings,
                    name: kind,
                    bad_section: &mut bad_section,
                };
                section.deserialize(&mut de).ok()?;
                de.end().ok()?;
            }
            Some(part)
        };
        let (mut a, mut b) = std::thread::scope(|s| {
            // A thread that cannot be started (resource limits) leaves the other half to this one.
            let other = std::thread::Builder::new().spawn_scoped(s, || load(&theirs));
            let a = load(&mine);
            let b = match other {
                Ok(handle) => handle.join().ok().flatten(),
                Err(_) => load(&theirs),
            };
            (a, b)
        });
        for (part, kinds) in [(a.as_mut()?, &mine), (b.as_mut()?, &theirs)] {
            cache.take_kinds(part, kinds);
        }
        cache.shrink();
        Some(cache)
    }

    /// Move the sections of `kinds` (the only ones `part` loaded) out of `part`.
    fn take_kinds(&mut self, part: &mut TokenCache, kinds: &[&'static str]) {
        use std::mem::take;
        for &kind in kinds {
            match kind {
                AT => {
                    self.access_tokens = take(&mut part.access_tokens);
                    self.scope_sets = take(&mut part.scope_sets);
                }
                RT => self.refresh_tokens = take(&mut part.refresh_tokens),
                IDT => self.id_tokens = take(&mut part.id_tokens),
                ACCOUNT => self.accounts = take(&mut part.accounts),
                _ => self.app_metadata = take(&mut part.app_metadata),
            }
        }
        self.unparsed.append(&mut part.unparsed);
    }

    /// Give back the slack the slabs' doubling left after a bulk load.
    fn shrink(&mut self) {
        self.access_tokens.shrink();
        self.refresh_tokens.shrink();
        self.id_tokens.shrink();
        self.accounts.shrink();
        self.app_metadata.shrink();
    }

    /// Type and insert one entry; false when it does not type as its kind.
    fn load_fields(
        &mut self,
        section: &str,
        fields: &Fields<'_>,
        strings: &mut Interner<'_>,
    ) -> bool {
        match section {
            AT => AccessTokenEntry::from_fields(fields, strings)
                .map(|e| self.insert_access_token(e))
                .is_some(),
            RT => RefreshTokenEntry::from_fields(fields, strings)
                .map(|e| self.insert_refresh_token(e, true))
                .is_some(),
            IDT => IdTokenEntry::from_fields(fields, strings)
                .map(|e| self.insert_id_token(e))
                .is_some(),
            ACCOUNT => AccountEntry::from_fields(fields, strings)
                .map(|e| self.insert_account(e))
                .is_some(),
            APP => AppMetadataEntry::from_fields(fields, strings)
                .map(|e| self.insert_app_metadata(e))
                .is_some(),
            _ => false,
        }
    }

    /// Serialize in MSAL Python's dialect (4-space indented JSON, keys sorted for stable diffs).
    ///
    /// Written straight from the index into one buffer sized up front; no `serde_json::Value`,
    /// and strings that need no escaping (secrets, in practice) are copied whole (see `JsonOut`).
    pub fn to_json(&self) -> Vec<u8> {
        let mut size = 256;
        let at = self.access_tokens.sorted(&mut size);
        let account = self.accounts.sorted(&mut size);
        let idt = self.id_tokens.sorted(&mut size);
        let rt = self.refresh_tokens.sorted(&mut size);
        let app = self.app_metadata.sorted(&mut size);
        let verbatim = |name: &str| -> Vec<(&str, &Value)> {
            self.unparsed
                .iter()
                .filter(|(section, _, _)| *section == name)
                .map(|(_, key, value)| (key.as_str(), value))
                .collect()
        };
        let doc = DocOut {
            sections: vec![
                (AT, section_out(at, verbatim(AT))),
                (ACCOUNT, section_out(account, verbatim(ACCOUNT))),
                (IDT, section_out(idt, verbatim(IDT))),
                (RT, section_out(rt, verbatim(RT))),
                (APP, section_out(app, verbatim(APP))),
            ],
            unknown: &self.unknown_sections,
        };
        let mut w = JsonOut {
            out: Vec::with_capacity(size),
            depth: 0,
            first: true,
        };
        doc.write(&mut w);
        w.out
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
    fn insert_refresh_token(&mut self, entry: RefreshTokenEntry, keep_newest: bool) {
        self.refresh_tokens.upsert(&self.hasher, entry, |old, new| {
            keep_newest && old.last_modification_time > new.last_modification_time
        });
    }

    fn insert_id_token(&mut self, entry: IdTokenEntry) {
        self.id_tokens.upsert(&self.hasher, entry, |_, _| false);
    }

    fn insert_account(&mut self, entry: AccountEntry) {
        self.accounts.upsert(&self.hasher, entry, |_, _| false);
    }

    fn insert_app_metadata(&mut self, entry: AppMetadataEntry) {
        self.app_metadata.upsert(&self.hasher, entry, |_, _| false);
    }

    // ---- lookups -------------------------------------------------------------------------

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
        let b = Bucket::new(&[user_assertion_hash, q.environment, q.client_id, q.realm]);
        self.access_tokens
            .bucket(&b, b.hash(&self.hasher))
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
                    out.push(to_account(e));
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
                rt.secret = new_secret.as_str().into();
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

fn load_document<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    loader: Loader<'_>,
) -> Result<(), serde_json::Error> {
    serde::Deserializer::deserialize_map(&mut de, loader).and_then(|()| de.end())
}

/// Reads the top-level object of a cache document into a cache.
struct Loader<'c> {
    cache: &'c mut TokenCache,
    /// Set to the section's name when a known section is not an object.
    bad_section: &'c mut Option<String>,
}

impl<'de> Visitor<'de> for Loader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // One field buffer and one string table for every entry of the document.
        let mut fields = Fields::new();
        let mut strings = Interner::default();
        while let Some(Key(name)) = map.next_key()? {
            let Some(&known) = SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(&name)) else {
                let value: Value = map.next_value()?;
                self.cache.unknown_sections.insert(name.into_owned(), value);
                continue;
            };
            map.next_value_seed(SectionLoader {
                cache: &mut *self.cache,
                section: known,
                fields: &mut fields,
                strings: &mut strings,
                name: &name,
                bad_section: &mut *self.bad_section,
            })?;
        }
        Ok(())
    }
}

/// Reads one known section's entries into the cache.
struct SectionLoader<'a, 'de, 's> {
    cache: &'a mut TokenCache,
    section: &'static str,
    fields: &'a mut Fields<'de>,
    /// The load's shared strings.
    strings: &'a mut Interner<'s>,
    name: &'a str,
    bad_section: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for SectionLoader<'_, 'de, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl SectionLoader<'_, '_, '_> {
    fn not_an_object<E: de::Error>(self) -> Result<(), E> {
        *self.bad_section = Some(self.name.to_owned());
        Err(E::custom("a section is not a JSON object"))
    }
}

impl<'de> Visitor<'de> for SectionLoader<'_, 'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            match map.next_value_seed(EntrySeed(&mut *self.fields))? {
                RawEntry::Object => {
                    if !self
                        .cache
                        .load_fields(self.section, self.fields, self.strings)
                    {
                        let value = fields_to_value(self.fields);
                        self.cache
                            .unparsed
                            .push((self.section, key.into_owned(), value));
                    }
                }
                RawEntry::Other(value) => {
                    self.cache
                        .unparsed
                        .push((self.section, key.into_owned(), value))
                }
            }
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object()
    }
}

// ---- the top-level scan of the two-thread load -------------------------------------------------
//
// Finds where each top-level member's key and value start and end, for valid JSON; on anything
// else it may stop (`None`) or cut wrongly, which the parse of each piece then rejects. Strings
// are skipped with memchr, so the scan costs a small part of the parse it splits.

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string whose opening quote is at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[j] == b'\\' {
            j += 2;
        } else {
            return Some(j + 1);
        }
    }
}

/// The end of the object or array that opens at `i`, by counting its brackets outside strings.
fn container_end(b: &[u8], i: usize) -> Option<usize> {
    let (open, close) = if b.get(i)? == &b'{' {
        (b'{', b'}')
    } else {
        (b'[', b']')
    };
    let (mut depth, mut j) = (0usize, i);
    loop {
        j += memchr::memchr3(b'"', open, close, b.get(j..)?)?;
        match b[j] {
            b'"' => j = string_end(b, j)?,
            c if c == open => {
                depth += 1;
                j += 1;
            }
            _ => {
                depth = depth.checked_sub(1)?;
                j += 1;
                if depth == 0 {
                    return Some(j);
                }
            }
        }
    }
}

/// The top-level members as (key with its quotes, value) pieces of `b`.
fn split_top_level(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(b, i)?;
            let key = &b[i..key_end];
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let value_end = match b.get(i)? {
                b'{' | b'[' => container_end(b, i)?,
                b'"' => string_end(b, i)?,
                _ => {
                    let mut j = i;
                    while !matches!(
                        b.get(j),
                        None | Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                    ) {
                        j += 1;
                    }
                    j
                }
            };
            members.push((key, b.get(i..value_end)?));
            i = skip_ws(b, value_end);
            match b.get(i)? {
                b',' => i = skip_ws(b, i + 1),
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(members)
}

fn is_home_profile(e: &AccountEntry) -> bool {
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
        e.home_account_id.as_str(),
        e.environment.as_str(),
        e.username.as_str(),
    );
    a.local_account_id = e.local_account_id.to_string();
    a.tenant_id = e.realm.to_string();
    a.name = e.name.as_ref().map(ArcStr::to_string);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_hash_ignores_case_and_alias_also_past_the_chunk_size() {
        let state = BucketHasher::default();
        let long = "5f6e7d8c-aaaa-4bbb-8ccc-111111111111.72f9a1b0-dddd-4eee-9fff-222222222222";
        let upper = long.to_ascii_uppercase();
        let a = Bucket::new(&[long, "login.microsoftonline.com", "client", "realm"]);
        let b = Bucket::new(&[&upper, "LOGIN.WINDOWS.NET", "CLIENT", "Realm"]);
        assert!(long.len() > 64, "a part longer than the hash buffer");
        assert_eq!(a.hash(&state), b.hash(&state));
        let other = Bucket::new(&[long, "login.microsoftonline.com", "client", "realm2"]);
        assert_ne!(a.hash(&state), other.hash(&state));
    }

    #[test]
    fn swar_lowercase_matches_the_standard_library_on_every_byte() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b, b'Q', 0xc3, b'z', b'@', b'[', b, 0x80]);
            let mut expected = word.to_le_bytes();
            expected.make_ascii_lowercase();
            assert_eq!(ascii_lower8(word).to_le_bytes(), expected, "byte {b:#04x}");
        }
    }

    /// Documents exercising what the top-level scan must get right.
    fn split_fixtures() -> Vec<String> {
        let at = r#"{"credential_type": "AccessToken", "secret": "s{}[]\"\\", "home_account_id": "u.t",
            "environment": "login.windows.net", "client_id": "c", "realm": "t", "target": "a B",
            "expires_on": "100", "future": {"x": [1, {"y": "}"}]}}"#;
        let rt = r#"{"secret": "r", "home_account_id": "u.t", "environment": "login.microsoftonline.com",
            "client_id": "c", "family_id": "1"}"#;
        let account = r#"{"home_account_id": "u.t", "environment": "login.windows.net", "realm": "t",
            "username": "a@b"}"#;
        vec![
            "{}".into(),
            " \n{ } \t".into(),
            format!(
                r#"{{"AccessToken": {{"k1": {at}, "bad": [1, 2], "n": null}}, "RefreshToken": {{"k": {rt}}}}}"#
            ),
            format!(
                r#"{{"Future": {{"a": "}}{{"}}, "accesstoken": {{"k": {at}}}, "Num": -1.5e3, "Str": "x,}}",
                   "Account": {{"k": {account}}}, "AccessToken": {{"k2": {at}}}, "Arr": [{{"]": 1}}],
                   "Access\u0054oken": {{}}, "IdToken": {{}}, "AppMetadata": {{"m": {{"client_id": "c",
                   "environment": "e", "family_id": "1"}}}}, "T": true, "N": null}}"#
            ),
            format!(r#"{{"RefreshToken":{{"a":{rt},"b":{rt}}},"Account":{{"x":{account}}}}}"#),
        ]
    }

    #[test]
    fn split_and_sequential_loads_agree() {
        for doc in split_fixtures() {
            let bytes = doc.as_bytes();
            let seq = TokenCache::from_json_sequential(bytes).expect("fixture loads");
            let split = TokenCache::from_json_split(bytes).expect("fixture splits");
            assert_eq!(split.counts(), seq.counts(), "{doc}");
            assert_eq!(split.unparsed.len(), seq.unparsed.len(), "{doc}");
            assert_eq!(
                String::from_utf8(split.to_json()).unwrap(),
                String::from_utf8(seq.to_json()).unwrap(),
                "{doc}"
            );
        }
    }

    #[test]
    fn split_load_never_accepts_what_the_sequential_load_rejects() {
        // Every prefix and every one-byte change into a structural byte: whenever the split
        // path loads, the document is valid and loads the same on one thread.
        for doc in split_fixtures() {
            let bytes = doc.as_bytes();
            let mut variants: Vec<Vec<u8>> =
                (0..bytes.len()).map(|i| bytes[..i].to_vec()).collect();
            for i in 0..bytes.len() {
                for c in *b"{}[]\",:\\ 1" {
                    let mut v = bytes.to_vec();
                    v[i] = c;
                    variants.push(v);
                }
            }
            for v in variants {
                if let Some(split) = TokenCache::from_json_split(&v) {
                    let seq = TokenCache::from_json_sequential(&v).unwrap_or_else(|e| {
                        panic!(
                            "split loaded {:?}, one thread: {e}",
                            String::from_utf8_lossy(&v)
                        )
                    });
                    assert_eq!(
                        split.to_json(),
                        seq.to_json(),
                        "{}",
                        String::from_utf8_lossy(&v)
                    );
                }
            }
        }
    }

    #[test]
    fn own_json_writer_matches_serde_json_pretty_byte_for_byte() {
        let mut docs = split_fixtures();
        docs.push(
            r#"{"AccessToken": {"k": {"credential_type": "AccessToken", "secret": "a\"b\\c\n\u0001é",
                "home_account_id": null, "environment": "e", "client_id": "c", "realm": "r",
                "target": "x", "refresh_on": "5", "token_type": "pop", "key_id": "k",
                "nested": {"a": [], "b": {}, "c": [1, {"d": [true, null, 1.5, -2]}]}}},
               "U": {"deep": [[{"x": "\n"}]]}, "E": {}, "A": []}"#
                .into(),
        );
        for doc in docs {
            let cache = TokenCache::from_json_sequential(doc.as_bytes()).expect("fixture loads");
            let mut size = 0;
            let verbatim = |name: &str| -> Vec<(&str, &Value)> {
                cache
                    .unparsed
                    .iter()
                    .filter(|(section, _, _)| *section == name)
                    .map(|(_, key, value)| (key.as_str(), value))
                    .collect()
            };
            let reference = DocOut {
                sections: vec![
                    (
                        AT,
                        section_out(cache.access_tokens.sorted(&mut size), verbatim(AT)),
                    ),
                    (
                        ACCOUNT,
                        section_out(cache.accounts.sorted(&mut size), verbatim(ACCOUNT)),
                    ),
                    (
                        IDT,
                        section_out(cache.id_tokens.sorted(&mut size), verbatim(IDT)),
                    ),
                    (
                        RT,
                        section_out(cache.refresh_tokens.sorted(&mut size), verbatim(RT)),
                    ),
                    (
                        APP,
                        section_out(cache.app_metadata.sorted(&mut size), verbatim(APP)),
                    ),
                ],
                unknown: &cache.unknown_sections,
            };
            let mut expected = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            reference
                .serialize(&mut serde_json::Serializer::with_formatter(
                    &mut expected,
                    fmt,
                ))
                .unwrap();
            assert_eq!(
                String::from_utf8(cache.to_json()).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    /// Two accounts with an access, refresh and ID token and an account entry each.
    fn two_accounts() -> String {
        let mut sections = [String::new(), String::new(), String::new(), String::new()];
        for (i, hid) in ["a.t", "b.t"].iter().enumerate() {
            let common = format!(
                r#""home_account_id": "{hid}", "environment": "login.microsoftonline.com",
                   "client_id": "c""#
            );
            let sep = if i > 0 { "," } else { "" };
            sections[0] += &format!(
                r#"{sep}"{hid}-at": {{"credential_type": "AccessToken", "secret": "at{i}", {common},
                   "realm": "t", "target": "User.Read", "token_type": "Bearer"}}"#
            );
            sections[1] += &format!(
                r#"{sep}"{hid}-rt": {{"credential_type": "RefreshToken", "secret": "rt{i}", {common}}}"#
            );
            sections[2] += &format!(
                r#"{sep}"{hid}-idt": {{"credential_type": "IdToken", "secret": "id{i}", {common},
                   "realm": "t"}}"#
            );
            sections[3] += &format!(
                r#"{sep}"{hid}-acc": {{"home_account_id": "{hid}",
                   "environment": "login.microsoftonline.com", "realm": "t",
                   "username": "u{i}", "authority_type": "MSSTS"}}"#
            );
        }
        let [at, rt, idt, acc] = sections;
        format!(
            r#"{{"AccessToken": {{{at}}}, "RefreshToken": {{{rt}}}, "IdToken": {{{idt}}},
                "Account": {{{acc}}}}}"#
        )
    }

    /// Whether all of `strings` are one allocation (or one static string).
    fn one<'a>(strings: impl IntoIterator<Item = &'a ArcStr>) -> bool {
        let all: Vec<&ArcStr> = strings.into_iter().collect();
        all.windows(2).all(|w| ArcStr::ptr_eq(w[0], w[1]))
    }

    /// Every string an account's entries repeat is stored once, whichever way the cache got it:
    /// the home account id always, the other values only with `all` (a two-thread load keeps a
    /// copy of those per thread: a handful of strings, not one per account).
    fn assert_shared(cache: &TokenCache, hid: &str, all: bool) {
        let mut ats = cache.access_tokens.iter().map(|r| &r.entry);
        let at = ats
            .find(|e| e.home_account_id.as_deref() == Some(hid))
            .unwrap();
        let rt = cache
            .refresh_tokens
            .iter()
            .find(|e| e.home_account_id == hid)
            .unwrap();
        let idt = cache
            .id_tokens
            .iter()
            .find(|e| e.home_account_id == hid)
            .unwrap();
        let acc = cache
            .accounts
            .iter()
            .find(|e| e.home_account_id == hid)
            .unwrap();
        let hids = [
            &rt.home_account_id,
            &idt.home_account_id,
            &acc.home_account_id,
        ];
        assert!(
            one(at.home_account_id.iter().chain(hids)),
            "home account id"
        );
        if all {
            let envs = [
                &at.environment,
                &rt.environment,
                &idt.environment,
                &acc.environment,
            ];
            assert!(one(envs), "environment");
            assert!(
                one([&at.client_id, &rt.client_id, &idt.client_id]),
                "client id"
            );
            assert!(one([&at.realm, &idt.realm, &acc.realm]), "realm");
        }
        for constant in [
            &at.credential_type,
            &rt.credential_type,
            &idt.credential_type,
        ] {
            assert!(ArcStr::is_static(constant), "{constant}");
        }
        assert!(at.token_type.iter().all(ArcStr::is_static));
        assert!(ArcStr::is_static(&acc.authority_type));
    }

    #[test]
    fn a_load_stores_each_repeated_string_once_on_one_thread_or_two() {
        let doc = two_accounts();
        let seq = TokenCache::from_json_sequential(doc.as_bytes()).expect("fixture loads");
        let split = TokenCache::from_json_split(doc.as_bytes()).expect("fixture splits");
        for (cache, all) in [(&seq, true), (&split, false)] {
            assert_eq!(cache.counts(), (2, 2, 2, 2, 0));
            assert_shared(cache, "a.t", all);
            assert_shared(cache, "b.t", all);
            let envs = cache.accounts.iter().map(|e| &e.environment);
            assert!(one(envs), "across accounts too");
        }
        assert_eq!(seq.to_json(), split.to_json());
    }

    #[test]
    fn a_write_takes_the_strings_the_cache_already_holds() {
        let mut cache = TokenCache::from_json_sequential(two_accounts().as_bytes()).unwrap();
        let fresh = |s: &str| ArcStr::from(s.to_owned());
        let (hid, env) = (fresh("a.t"), fresh("login.microsoftonline.com"));
        let at = AccessTokenEntry {
            credential_type: fresh("AccessToken"),
            secret: fresh("new-at"),
            home_account_id: Some(fresh("a.t")),
            environment: fresh("login.microsoftonline.com"),
            client_id: fresh("c"),
            realm: fresh("t"),
            target: fresh("User.Read"),
            cached_at: 1,
            expires_on: 2,
            extended_expires_on: 2,
            refresh_on: None,
            token_type: Some(fresh("Bearer")),
            extra: Default::default(),
        };
        let idt = IdTokenEntry {
            credential_type: fresh("IdToken"),
            secret: fresh("new-idt"),
            home_account_id: hid.clone(),
            environment: env.clone(),
            realm: fresh("t"),
            client_id: fresh("c"),
            extra: Default::default(),
        };
        let meta = AppMetadataEntry {
            client_id: fresh("c"),
            environment: env,
            family_id: Some(fresh("1")),
            extra: Default::default(),
        };
        assert!(cache.apply(&TokenWrite {
            access_token: Some(at),
            id_token: Some(idt),
            app_metadata: Some(meta),
            ..TokenWrite::default()
        }));
        assert_eq!(cache.counts(), (2, 2, 2, 2, 1));
        assert_shared(&cache, "a.t", true);
        let meta = cache.app_metadata.iter().next().unwrap();
        let acc = cache.accounts.iter().next().unwrap();
        assert!(one([&meta.environment, &acc.environment]));
        assert!(meta.family_id.iter().all(ArcStr::is_static));
        assert_eq!(
            cache
                .find_access_token(&AccessTokenQuery {
                    home_account_id: Some("a.t"),
                    environment: "login.microsoftonline.com",
                    client_id: "c",
                    realm: "t",
                    scopes: &ScopeSet::new(["User.Read"]),
                    max_expires_on: u64::MAX,
                })
                .map(|e| e.secret.as_str()),
            Some("new-at")
        );
    }

    #[test]
    fn chains_keep_insertion_order_through_removals_and_reuse() {
        let state = BucketHasher::default();
        let mut s: Section<AccountEntry> = Section::default();
        let account = |realm: &str| AccountEntry {
            home_account_id: "u.t".into(),
            environment: "login.microsoftonline.com".into(),
            realm: realm.into(),
            local_account_id: ArcStr::new(),
            username: ArcStr::new(),
            authority_type: ArcStr::new(),
            account_source: None,
            name: None,
            extra: Default::default(),
        };
        for realm in ["a", "b", "c"] {
            s.upsert(&state, account(realm), |_, _| false);
        }
        let b = Bucket::new(&["u.t"]);
        let h = b.hash(&state);
        assert_eq!(s.remove_where(h, |e| e.realm == "a"), 1);
        s.upsert(&state, account("d"), |_, _| false);
        let realms: Vec<&str> = s.bucket(&b, h).map(|e| e.realm.as_str()).collect();
        assert_eq!(realms, ["b", "c", "d"]);
        assert_eq!(s.len, 3);
        assert_eq!(s.slots.len(), 3, "the freed slot was reused");
    }
}
