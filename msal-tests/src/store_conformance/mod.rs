//! A conformance suite for [`CacheStore`] implementations: one call checks every rule of the
//! [store contract](msal_cache::store) against a store constructor.
//!
//! ```no_run
//! use msal_cache::MemoryCache;
//! use msal_tests::store_conformance::StoreConformance;
//!
//! # async fn run() {
//! let report = StoreConformance::new(|| async { MemoryCache::new() })
//!     .run()
//!     .await
//!     .unwrap_or_else(|failure| panic!("{failure}"));
//! println!("{report}");
//! # }
//! ```
//!
//! Every rule gets a fresh, empty store from the constructor. The rules:
//!
//! | rule | what it checks |
//! | --- | --- |
//! | `load_missing` | a new store answers [`Loaded::Missing`] |
//! | `modify_then_load` | a write is read back byte for byte with the version `modify` returned |
//! | `unchanged_only_when_current` | [`Loaded::Unchanged`] / [`Current::Unchanged`] only for the current version, never for an older or unknown one |
//! | `update_error_writes_nothing` | an update function's error is returned as is and nothing is written |
//! | `bytes_kept_exactly` | unknown fields and sections, non-ASCII text and a large document survive unchanged |
//! | `partition_isolation` | (partitioned stores) each partition keeps its own document and versions |
//! | `no_lost_update` | concurrent `modify` calls from many tasks all land |
//! | `refresh_lock_exclusive` | (stores that lock) a second taker waits while the lock is held |
//! | `refresh_lock_released_on_drop` | (stores that lock) dropping the lock lets the waiter in |
//! | `refresh_lock_released_on_holder_death` | (opt-in, [`StoreConformance::holder_death_released_within`]) a holder whose runtime dies without dropping its lock blocks others for a bounded time only |
//! | `damaged_data_kept` | (opt-in, [`StoreConformance::damage_with`]) data the store cannot read is reported, never passed as missing, and never overwritten |
//!
//! The suite spawns tokio tasks: call [`StoreConformance::run`] inside a tokio runtime (a
//! multi-thread one exercises the store's concurrency best). Every wait it makes is bounded, so
//! a store that deadlocks fails a rule instead of hanging the test.

mod lock_rules;
mod rules;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use msal_cache::CacheStore;
#[cfg(doc)]
use msal_cache::{Current, Loaded};

/// A broken rule: which one, and what the store did.
#[derive(Clone, PartialEq, Eq)]
pub struct ConformanceFailure {
    /// The rule's name (see the [module documentation](self)).
    pub rule: &'static str,
    /// What the store did that the rule forbids.
    pub message: String,
}

impl fmt::Display for ConformanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "store conformance rule `{}` broken: {}",
            self.rule, self.message
        )
    }
}

// Debug as Display, so `.unwrap()` on a failed run prints a readable message.
impl fmt::Debug for ConformanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConformanceFailure {}

/// What a passing run checked and what it skipped (with why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConformanceReport {
    /// The rules the store kept.
    pub passed: Vec<&'static str>,
    /// The rules that did not apply, with the reason.
    pub skipped: Vec<(&'static str, String)>,
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "passed: {}", self.passed.join(", "))?;
        for (rule, why) in &self.skipped {
            write!(f, "; skipped {rule} ({why})")?;
        }
        Ok(())
    }
}

type Hook<S> = Box<dyn Fn(&S) + Send + Sync>;

/// The suite, configured for one kind of store. See the [module documentation](self).
pub struct StoreConformance<S, F> {
    make: F,
    damage: Option<Hook<S>>,
    holder_death: Option<Duration>,
    tasks: usize,
    writes_per_task: usize,
    wait_bound: Duration,
}

impl<S, F, Fut> StoreConformance<S, F>
where
    S: CacheStore + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    /// The suite for the stores `make` returns. Each call must return a new, empty store (a
    /// new file, a new key prefix, a new database...).
    pub fn new(make: F) -> Self {
        StoreConformance {
            make,
            damage: None,
            holder_death: None,
            tasks: 8,
            writes_per_task: 16,
            wait_bound: Duration::from_secs(20),
        }
    }

    /// Check the corrupt-data rule: after the suite wrote a document, `damage` spoils what the
    /// store keeps, behind its back (garbage in the file, the row, the key). The store must then
    /// report the data (as an error, or as bytes the caller will refuse), never as missing, and
    /// must still hold the same damaged data after a refused write.
    pub fn damage_with(mut self, damage: impl Fn(&S) + Send + Sync + 'static) -> Self {
        self.damage = Some(Box::new(damage));
        self
    }

    /// Check that a refresh lock whose holder dies is released within `bound`: the suite takes
    /// the lock on a runtime of its own, forgets the lock (no drop runs) and shuts that runtime
    /// down, which is what a crashed process leaves of a lease kept alive by a task. For stores
    /// whose lock is a lease (Redis, SQLite); a file lock is released by the operating system
    /// when the process dies and cannot be checked inside one process.
    pub fn holder_death_released_within(mut self, bound: Duration) -> Self {
        self.holder_death = Some(bound);
        self
    }

    /// How many tasks write at once in `no_lost_update`, and how many writes each makes
    /// (default 8 x 16).
    pub fn concurrency(mut self, tasks: usize, writes_per_task: usize) -> Self {
        self.tasks = tasks.max(2);
        self.writes_per_task = writes_per_task.max(1);
        self
    }

    /// The longest any single wait of the suite may take before the rule fails as hung
    /// (default 20 s).
    pub fn wait_bound(mut self, bound: Duration) -> Self {
        self.wait_bound = bound;
        self
    }

    /// Run every rule, stopping at the first broken one.
    pub async fn run(mut self) -> Result<ConformanceReport, ConformanceFailure> {
        let mut report = ConformanceReport::default();
        let bound = self.wait_bound;

        rules::load_missing(&(self.make)().await, bound).await?;
        report.passed.push(rules::LOAD_MISSING);
        rules::modify_then_load(&(self.make)().await, bound).await?;
        report.passed.push(rules::MODIFY_THEN_LOAD);
        rules::unchanged_only_when_current(&(self.make)().await, bound).await?;
        report.passed.push(rules::UNCHANGED_ONLY_WHEN_CURRENT);
        rules::update_error_writes_nothing(&(self.make)().await, bound).await?;
        report.passed.push(rules::UPDATE_ERROR_WRITES_NOTHING);
        rules::bytes_kept_exactly(&(self.make)().await, bound).await?;
        report.passed.push(rules::BYTES_KEPT_EXACTLY);

        let store = (self.make)().await;
        if store.partitioned() {
            rules::partition_isolation(&store, bound).await?;
            report.passed.push(rules::PARTITION_ISOLATION);
        } else {
            report.skipped.push((
                rules::PARTITION_ISOLATION,
                "whole-document store (partitioned() is false)".into(),
            ));
        }

        let store = std::sync::Arc::new((self.make)().await);
        rules::no_lost_update(store, self.tasks, self.writes_per_task, bound).await?;
        report.passed.push(rules::NO_LOST_UPDATE);

        let store = std::sync::Arc::new((self.make)().await);
        if lock_rules::exclusive_and_released(store, bound).await? {
            report.passed.push(lock_rules::EXCLUSIVE);
            report.passed.push(lock_rules::RELEASED_ON_DROP);
        } else {
            for rule in [lock_rules::EXCLUSIVE, lock_rules::RELEASED_ON_DROP] {
                let why = "lock_refresh answers None: the store does not coordinate refreshes";
                report.skipped.push((rule, why.into()));
            }
        }
        match self.holder_death {
            Some(within) => {
                let store = std::sync::Arc::new((self.make)().await);
                lock_rules::released_on_holder_death(store, within, bound).await?;
                report.passed.push(lock_rules::RELEASED_ON_HOLDER_DEATH);
            }
            None => report.skipped.push((
                lock_rules::RELEASED_ON_HOLDER_DEATH,
                "not claimed (holder_death_released_within not set)".into(),
            )),
        }

        match self.damage.take() {
            Some(damage) => {
                rules::damaged_data_kept(&(self.make)().await, &*damage, bound).await?;
                report.passed.push(rules::DAMAGED_DATA_KEPT);
            }
            None => report.skipped.push((
                rules::DAMAGED_DATA_KEPT,
                "no damage hook (damage_with not set)".into(),
            )),
        }
        Ok(report)
    }
}

/// Await `future` for at most `bound`; a longer wait breaks `rule` as hung.
pub(crate) async fn bounded<T>(
    rule: &'static str,
    what: &str,
    bound: Duration,
    future: impl Future<Output = T>,
) -> Result<T, ConformanceFailure> {
    tokio::time::timeout(bound, future)
        .await
        .map_err(|_| fail(rule, format!("{what} did not finish within {bound:?}")))
}

/// A broken `rule`.
pub(crate) fn fail(rule: &'static str, message: impl Into<String>) -> ConformanceFailure {
    ConformanceFailure {
        rule,
        message: message.into(),
    }
}
