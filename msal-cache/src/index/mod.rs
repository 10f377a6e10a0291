//! The in-memory token cache: entries of the unified schema, indexed for constant-time lookups.
//!
//! Every entry lives in a *bucket* named by the fields a lookup knows up front (home account,
//! canonical environment, client, realm), so a lookup costs one hash probe plus a walk over the
//! handful of entries in its bucket, whether the cache holds one account or a million. The
//! environment in a bucket name is canonical
//! ([`canonical_environment`](msal_core::authority::canonical_environment)): entries written
//! under `login.windows.net` by MSAL.NET and under `login.microsoftonline.com` by MSAL Python
//! share a bucket, so one probe searches every alias.
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
//! it. The entries' strings are shared [`ArcStr`](crate::ArcStr)s: a load stores each repeated
//! value once (see `crate::intern`).
//!
//! One job per module:
//!
//! | module | holds |
//! |---|---|
//! | `cache` | the [`TokenCache`] type, its slabs and its inserts |
//! | `buckets` | bucket names, their keyed hash (foldhash, SWAR-lowercased) and which bucket an entry goes in |
//! | `storage` | the slabs: one `Section` per kind, chained per bucket hash |
//! | `query` | lookups ([`TokenCache::find_access_token`], [`TokenCache::accounts`], ...) |
//! | `bound` | key-bound (PoP, SSH certificate) lookups ([`TokenCache::find_bound_access_token`]) |
//! | `write_back` | [`TokenWrite`], [`TokenCache::apply`] (with the purge of expired access tokens), [`TokenCache::remove_account`] |
//! | `donors` | string sharing for what a write stores |
//! | `load` | [`TokenCache::from_json`], on one thread or two |
//! | `split` | the top-level scan that cuts a document for the two-thread load |
//! | `save` | [`TokenCache::to_json`]: keys, order, verbatim entries |
//! | `json_out` | the JSON writer the save writes with |
//!
//! Dependencies go one way: `buckets` ← `storage` ← `cache` ← the rest; this module only
//! declares them and re-exports the public items. Below the index, `crate::schema` (the entry
//! types) and `crate::intern` (a load's shared strings) never import it.

mod bound;
mod buckets;
mod cache;
mod donors;
mod json_out;
mod load;
mod query;
mod save;
mod split;
mod storage;
#[cfg(test)]
mod tests;
mod write_back;

pub use bound::KeyBinding;
pub use buckets::USER_ASSERTION_HASH;
pub use cache::TokenCache;
pub use query::AccessTokenQuery;
pub use write_back::{
    secret_fingerprint, AccountRemoval, RedeemedRefreshToken, TokenWrite, REDEMPTION_STARTED,
};
