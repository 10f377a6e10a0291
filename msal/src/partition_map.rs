//! The bounded map of in-memory cache partitions (a confidential client, or a partitioned store
//! such as Redis): one entry per user, tenant and on-behalf-of assertion served.
//!
//! A web API serving a million distinct callers would otherwise keep a million partitions. Past
//! `max` entries, the least recently used half is dropped in one pass (amortised O(1) per new
//! partition: an O(n) selection every n/2 insertions; no list to maintain on the hit path,
//! which only stores a counter). What a dropped partition held is read again from a persistent
//! store when it is next used; without a store it is gone, and the next request for it asks
//! the identity provider again, as after a restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// The default bound: enough for every user of a busy server's working set, about 40 MB of
/// partitions holding one token each (see `BENCHMARKS.md`).
pub(crate) const DEFAULT_MAX_PARTITIONS: usize = 10_000;

struct Slot<V> {
    value: V,
    last_used: AtomicU64,
}

/// Partition key → value, bounded to `max` entries, least recently used out first.
pub(crate) struct PartitionMap<V> {
    slots: RwLock<HashMap<String, Slot<V>>>,
    max: usize,
    tick: AtomicU64,
}

impl<V: Clone + Default> PartitionMap<V> {
    pub(crate) fn new(max: usize) -> Self {
        PartitionMap {
            slots: RwLock::new(HashMap::new()),
            max: max.max(1),
            tick: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.tick.fetch_add(1, Ordering::Relaxed)
    }

    /// A copy of `key`'s value, if it is in memory.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
        let slot = slots.get(key)?;
        slot.last_used.store(self.now(), Ordering::Relaxed);
        Some(slot.value.clone())
    }

    /// Run `f` on `key`'s value (a default one if absent, making room for it first).
    pub(crate) fn update<T>(&self, key: String, f: impl FnOnce(&mut V) -> T) -> T {
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if !slots.contains_key(&key) && slots.len() >= self.max {
            evict_older_half(&mut slots);
        }
        let now = self.now();
        let slot = slots.entry(key).or_insert_with(|| Slot {
            value: V::default(),
            last_used: AtomicU64::new(now),
        });
        slot.last_used.store(now, Ordering::Relaxed);
        f(&mut slot.value)
    }

    /// How many partitions are in memory.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Keep the most recently used half.
fn evict_older_half<V>(slots: &mut HashMap<String, Slot<V>>) {
    let mut ages: Vec<u64> = slots
        .values()
        .map(|s| s.last_used.load(Ordering::Relaxed))
        .collect();
    let middle = ages.len() / 2;
    let (_, threshold, _) = ages.select_nth_unstable(middle);
    let threshold = *threshold;
    slots.retain(|_, s| s.last_used.load(Ordering::Relaxed) >= threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_never_holds_more_than_its_bound() {
        let map = PartitionMap::<u32>::new(100);
        for i in 0..10_000u32 {
            map.update(format!("p{i}"), |v| *v = i);
            assert!(map.len() <= 100);
        }
        assert_eq!(map.get("p9999"), Some(9999));
    }

    #[test]
    fn recently_used_partitions_survive_eviction() {
        let map = PartitionMap::<u32>::new(10);
        map.update("hot".into(), |v| *v = 1);
        for i in 0..1_000u32 {
            // The hot partition is read between every new one.
            assert_eq!(map.get("hot"), Some(1), "evicted after {i} insertions");
            map.update(format!("cold{i}"), |v| *v = i);
        }
        // Old cold ones are gone.
        assert_eq!(map.get("cold0"), None);
    }

    #[test]
    fn updating_an_existing_partition_evicts_nothing() {
        let map = PartitionMap::<u32>::new(2);
        map.update("a".into(), |v| *v = 1);
        map.update("b".into(), |v| *v = 2);
        map.update("a".into(), |v| *v = 3);
        assert_eq!((map.get("a"), map.get("b")), (Some(3), Some(2)));
    }
}
