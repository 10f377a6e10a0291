//! Storing the strings of a load once: the values that repeat across entries (the home account
//! id on the four entries of an account, the cloud, client, tenant and scopes on every entry)
//! become one shared [`ArcStr`] each, and the schema's constants are static, allocation-free
//! strings.
//!
//! An [`Interner`] lives for one load only (it is dropped with the loader), so it never grows
//! with the life of a cache and two caches never share its tables. Secrets and other values that
//! are unique per entry are never looked up: hashing them would cost time and find nothing.
//!
//! The two-thread load gives both threads one [`SharedStrings`] for home account ids, the only
//! values with many distinct instances that both threads meet (each takes whole kinds, and every
//! kind names the account): without it each account would keep one copy per thread. The other
//! values have a handful of instances, so each thread keeps its own, unlocked.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::{Mutex, PoisonError};

use arcstr::ArcStr;

use crate::prehashed::Prehashed;

/// How a loaded string is stored.
#[derive(Clone, Copy)]
pub(crate) enum How {
    /// Unique per entry (secrets, user names): copied as it is, never hashed.
    Own,
    /// Repeated across entries: stored once per load. Names the field, whose last value is kept
    /// aside because consecutive entries mostly repeat it (a cheaper check than a table).
    Shared(Recent),
}

/// The fields whose last value is kept aside, one slot each.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recent {
    HomeAccount,
    Environment,
    Client,
    Realm,
    Target,
    /// Everything else that repeats: credential and token types, authority types, family ids.
    Other,
}

const RECENT_SLOTS: usize = 6;

/// The schema's well-known values, which need no allocation at all.
pub(crate) fn constant(s: &str) -> Option<ArcStr> {
    Some(match s {
        "" => ArcStr::new(),
        "AccessToken" => arcstr::literal!("AccessToken"),
        "RefreshToken" => arcstr::literal!("RefreshToken"),
        "IdToken" => arcstr::literal!("IdToken"),
        "Bearer" => arcstr::literal!("Bearer"),
        "MSSTS" => arcstr::literal!("MSSTS"),
        "1" => arcstr::literal!("1"),
        _ => return None,
    })
}

/// Stored strings by their hash, which is computed once per lookup and kept, so that the table
/// grows without reading the strings again. Two different strings with the same hash (never
/// seen by chance with 64 bits) only means the second is not shared.
type Table = HashMap<u64, ArcStr, BuildHasherDefault<Prehashed>>;

/// The shared value for `s`, added to `table` when it is not there.
fn find_or_add(table: &mut Table, hash: u64, s: &str) -> ArcStr {
    match table.entry(hash) {
        Entry::Occupied(o) if o.get() == s => o.get().clone(),
        Entry::Occupied(_) => ArcStr::from(s),
        Entry::Vacant(v) => v.insert(ArcStr::from(s)).clone(),
    }
}

/// How many locks [`SharedStrings`] spreads the home account ids over, so that the two threads
/// seldom want the same one at once.
const SHARDS: usize = 64;

/// One lock of [`SharedStrings`], on a cache line of its own: two locks on one line would make
/// the threads' cores pass it back and forth even when they take different locks.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<Table>);

/// Home account ids shared by the threads of one two-thread load.
pub(crate) struct SharedStrings {
    /// foldhash with a random seed, as the index: the values come from the document, which must
    /// not be able to pile them into one probe sequence.
    hasher: foldhash::quality::RandomState,
    shards: Vec<Shard>,
}

impl Default for SharedStrings {
    fn default() -> Self {
        SharedStrings {
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl SharedStrings {
    fn get(&self, s: &str) -> ArcStr {
        let hash = self.hasher.hash_one(s);
        // Middle bits pick the shard: a shard's table probes with the low ones and filters with
        // the top seven, which must vary within a shard.
        let shard = &self.shards[(hash >> 32) as usize % SHARDS];
        // A poisoned lock only means the other thread panicked; the table itself is whole.
        let mut table = shard.0.lock().unwrap_or_else(PoisonError::into_inner);
        find_or_add(&mut table, hash, s)
    }
}

/// The strings of one load (or of one thread of a two-thread load), each stored once.
#[derive(Default)]
pub(crate) struct Interner<'s> {
    /// foldhash with a random seed (see [`SharedStrings::hasher`]).
    hasher: foldhash::quality::RandomState,
    /// Every shared value seen so far, unless home account ids go to `home_accounts`.
    table: Table,
    /// Where home account ids go when several threads load into one cache.
    home_accounts: Option<&'s SharedStrings>,
    /// The last value of each [`Recent`] field.
    recent: [ArcStr; RECENT_SLOTS],
}

impl<'s> Interner<'s> {
    /// An interner that shares home account ids through `home_accounts`.
    pub(crate) fn with_shared(home_accounts: &'s SharedStrings) -> Self {
        Interner {
            home_accounts: Some(home_accounts),
            ..Interner::default()
        }
    }

    /// `s` stored as `how` says.
    pub(crate) fn store(&mut self, how: How, s: &str) -> ArcStr {
        match how {
            How::Own => ArcStr::from(s),
            How::Shared(field) => self.shared(field, s),
        }
    }

    fn shared(&mut self, field: Recent, s: &str) -> ArcStr {
        if let Some(c) = constant(s) {
            return c;
        }
        let recent = &mut self.recent[field as usize];
        if recent.as_str() == s {
            return recent.clone();
        }
        let value = match self.home_accounts {
            Some(home_accounts) if field == Recent::HomeAccount => home_accounts.get(s),
            _ => find_or_add(&mut self.table, self.hasher.hash_one(s), s),
        };
        *recent = value.clone();
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_values_are_stored_once_and_constants_never() {
        let mut strings = Interner::default();
        let hid = "uid.utid".to_owned();
        let a = strings.store(How::Shared(Recent::HomeAccount), &hid);
        strings.store(How::Shared(Recent::HomeAccount), "other.utid");
        let b = strings.store(How::Shared(Recent::HomeAccount), &hid.clone());
        assert!(
            ArcStr::ptr_eq(&a, &b),
            "found in the table past the last value"
        );
        let c = strings.store(How::Shared(Recent::Realm), "uid.utid");
        assert!(ArcStr::ptr_eq(&a, &c), "one table for every field");
        let at = strings.store(How::Shared(Recent::Other), "AccessToken");
        assert!(ArcStr::is_static(&at));
        let own = strings.store(How::Own, "uid.utid");
        assert!(!ArcStr::ptr_eq(&a, &own), "unique values are not looked up");
        assert_eq!(own, a);
    }

    #[test]
    fn threads_share_home_account_ids_and_keep_the_rest_to_themselves() {
        let shared = SharedStrings::default();
        let (mut one, mut two) = (
            Interner::with_shared(&shared),
            Interner::with_shared(&shared),
        );
        let hid = How::Shared(Recent::HomeAccount);
        let (a, b) = (one.store(hid, "uid.utid"), two.store(hid, "uid.utid"));
        assert!(ArcStr::ptr_eq(&a, &b));
        let realm = How::Shared(Recent::Realm);
        let (a, b) = (one.store(realm, "utid"), two.store(realm, "utid"));
        assert!(!ArcStr::ptr_eq(&a, &b));
        assert_eq!(a, b);
    }

    #[test]
    fn a_hash_collision_only_costs_the_sharing() {
        let mut table = Table::default();
        let a = find_or_add(&mut table, 7, "a");
        let b = find_or_add(&mut table, 7, "b");
        assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
        assert!(ArcStr::ptr_eq(&a, &find_or_add(&mut table, 7, "a")));
    }
}
