//! A small process-local table of requests that must not be sent yet.
//!
//! The facade keeps one [`ThrottleTable`] per application. When the identity provider
//! answers with `Retry-After`, or with a 429/5xx, or says user interaction is required
//! for a silent refresh, the facade blocks the request's key for a while and answers
//! further identical requests from the table instead of hitting the network.
//!
//! The table never reads the clock: every call takes `now`, so tests can move time.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// The longest a request is ever blocked, whatever `Retry-After` says: one hour.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How long a 429 or 5xx without `Retry-After` blocks the request (public clients).
pub(crate) const HTTP_STATUS_BLOCK: Duration = Duration::from_secs(60);

/// How long a "UI required" answer to a silent refresh blocks the same refresh.
pub(crate) const UI_REQUIRED_BLOCK: Duration = Duration::from_secs(120);

/// Default number of entries a table holds before evicting.
const DEFAULT_CAPACITY: usize = 1024;

/// Expired entries are swept by [`ThrottleTable::block`] at most this often.
const PURGE_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Keys blocked until some instant, each with a value (typically the error to replay).
///
/// Thread-safe (an internal mutex); share it with `Arc`. Expired entries are dropped
/// lazily: by [`ThrottleTable::check`] for the key it looks at, and by a sweep in
/// [`ThrottleTable::block`] at most every five minutes. When the table is full, the
/// entry expiring soonest is evicted to make room.
pub(crate) struct ThrottleTable<V: Clone> {
    inner: Mutex<Inner<V>>,
    capacity: usize,
}

struct Inner<V> {
    entries: HashMap<String, (SystemTime, V)>,
    last_purge: Option<SystemTime>,
}

impl<V: Clone> ThrottleTable<V> {
    /// An empty table holding at most 1024 entries.
    pub(crate) fn new() -> Self {
        Self::with_capacity_limit(DEFAULT_CAPACITY)
    }

    /// An empty table holding at most `n` entries (at least one).
    pub(crate) fn with_capacity_limit(n: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                last_purge: None,
            }),
            capacity: n.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Block `key` from `now` for `for_` (capped at [`MAX_RETRY_AFTER`]), remembering
    /// `value`. Replaces any existing entry for the key.
    pub(crate) fn block(&self, key: impl Into<String>, now: SystemTime, for_: Duration, value: V) {
        let key = key.into();
        let for_ = for_.min(MAX_RETRY_AFTER);
        let until = now.checked_add(for_).unwrap_or(now);
        let mut inner = self.lock();

        let purge_due = match inner.last_purge {
            None => true,
            // A clock that went backwards also triggers a sweep.
            Some(last) => now
                .duration_since(last)
                .map_or(true, |elapsed| elapsed >= PURGE_INTERVAL),
        };
        if purge_due {
            inner.entries.retain(|_, (until, _)| *until > now);
            inner.last_purge = Some(now);
        }

        if !inner.entries.contains_key(&key) && inner.entries.len() >= self.capacity {
            inner.entries.retain(|_, (until, _)| *until > now);
            while inner.entries.len() >= self.capacity {
                let soonest = inner
                    .entries
                    .iter()
                    .min_by_key(|(_, (until, _))| *until)
                    .map(|(k, _)| k.clone());
                match soonest {
                    Some(k) => {
                        inner.entries.remove(&k);
                    }
                    None => break,
                }
            }
        }
        inner.entries.insert(key, (until, value));
    }

    /// If `key` is still blocked at `now`, the instant it is blocked until and its
    /// value. An expired entry is removed and `None` returned.
    pub(crate) fn check(&self, key: &str, now: SystemTime) -> Option<(SystemTime, V)> {
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some((until, value)) if *until > now => Some((*until, value.clone())),
            Some(_) => {
                inner.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Unblock `key` (for example after a success).
    #[cfg(test)]
    pub(crate) fn clear(&self, key: &str) {
        self.lock().entries.remove(key);
    }

    /// Number of entries, including expired ones not yet purged.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// `true` when the table holds no entry.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }
}

impl<V: Clone> Default for ThrottleTable<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Clone> fmt::Debug for ThrottleTable<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys may identify users and values may hold server answers: show sizes only.
        f.debug_struct("ThrottleTable")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Build an unambiguous key from parts.
///
/// Each part is written as `<byte length>:<part>;`, so no choice of parts can produce
/// the key of another list of parts (`["a-b", "c"]` and `["a", "b-c"]` differ, and so do
/// `["ab"]` and `["a", "b"]`). Pass secrets through [`secret_fingerprint`] first.
pub(crate) fn throttle_key(parts: &[&str]) -> String {
    let capacity = parts.iter().map(|p| p.len() + 8).sum();
    let mut key = String::with_capacity(capacity);
    for part in parts {
        key.push_str(&part.len().to_string());
        key.push(':');
        key.push_str(part);
        key.push(';');
    }
    key
}

/// Lower-case hex SHA-256 of `secret`, so a refresh token or client secret can take
/// part in a throttle key without being kept in clear.
pub(crate) fn secret_fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_sha256_hex() {
        assert_eq!(
            secret_fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn purge_on_block_after_interval() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let table = ThrottleTable::new();
        table.block("a", t0, Duration::from_secs(10), ());
        assert_eq!(table.len(), 1);
        // Within the purge interval: the expired entry stays until checked.
        table.block(
            "b",
            t0 + Duration::from_secs(60),
            Duration::from_secs(10),
            (),
        );
        assert_eq!(table.len(), 2);
        // After the interval: both expired entries are swept.
        table.block(
            "c",
            t0 + Duration::from_secs(400),
            Duration::from_secs(10),
            (),
        );
        assert_eq!(table.len(), 1);
    }
}
