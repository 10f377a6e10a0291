//! Bucket names and their hashes: which bucket an entry lives in and which chain a lookup
//! probes.
//!
//! A bucket is named by the fields a lookup knows up front (home account, canonical environment,
//! client, realm; fewer for the kinds that have fewer), compared ignoring ASCII case, the
//! environment by its canonical alias so that every alias shares one bucket. Names are never
//! built as strings on a lookup: they are hashed field by field, eight bytes at a time, with a
//! keyed hash, and 32 bits of that name a chain in a [`super::storage::Section`].

use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher};

use msal_core::authority::canonical_environment;
use serde_json::{Map, Value};

/// The separator of bucket-name fields in hashes and in the save order's tie-break.
pub(super) const SEP: u8 = 0x1f;

/// The extra field naming the incoming assertion an on-behalf-of token was obtained with
/// (MSAL.NET's name for it).
pub const USER_ASSERTION_HASH: &str = "user_assertion_hash";

pub(super) fn assertion_hash_of(extra: &Map<String, Value>) -> Option<&str> {
    if extra.is_empty() {
        return None;
    }
    extra.get(USER_ASSERTION_HASH).and_then(Value::as_str)
}

/// Whose bucket a token goes in: its home account's, or for an on-behalf-of token (which an API
/// looks up by the incoming assertion, not by account) the assertion hash's. Lookups check the
/// entries' own fields, so an account id that happened to equal a hash would share a bucket
/// but never a token.
pub(super) fn owner<'a>(home_account_id: &'a str, extra: &'a Map<String, Value>) -> &'a str {
    assertion_hash_of(extra).unwrap_or(home_account_id)
}

/// A bucket name: the lookup fields, compared ignoring ASCII case, the environment (second
/// field) by its canonical form.
pub(super) struct Bucket<'a> {
    parts: [&'a str; 4],
    len: usize,
    canonical: Cow<'a, str>,
}

impl<'a> Bucket<'a> {
    pub(super) fn new(parts: &[&'a str]) -> Self {
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
    pub(super) fn with_canonical(parts: &[&'a str], canonical: Cow<'a, str>) -> Self {
        let mut p = [""; 4];
        p[..parts.len()].copy_from_slice(parts);
        Bucket {
            parts: p,
            len: parts.len(),
            canonical,
        }
    }

    pub(super) fn of<T: BucketFields>(item: &'a T) -> Self {
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

    pub(super) fn hash(&self, state: &BucketHasher) -> ChainHash {
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
    pub(super) fn holds<T: BucketFields>(&self, item: &T) -> bool {
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
    pub(super) fn name(&self) -> Vec<u8> {
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
pub(super) type BucketHasher = foldhash::quality::RandomState;

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
pub(super) type ChainHash = u32;

/// What an entry must tell for the bucket it lives in.
pub(super) trait BucketFields {
    /// The bucket fields (up to four; the second is the environment) and how many there are.
    fn bucket_fields(&self) -> ([&str; 4], usize);
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
}
