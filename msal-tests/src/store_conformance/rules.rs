//! The data rules: load and modify, versions and "unchanged", update errors, exact bytes,
//! partitions, concurrent writers and damaged data.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use msal_cache::{CacheError, CacheStore, Current, Loaded, Partition, StoreVersion};

use super::{bounded, fail, ConformanceFailure};

pub(super) const LOAD_MISSING: &str = "load_missing";
pub(super) const MODIFY_THEN_LOAD: &str = "modify_then_load";
pub(super) const UNCHANGED_ONLY_WHEN_CURRENT: &str = "unchanged_only_when_current";
pub(super) const UPDATE_ERROR_WRITES_NOTHING: &str = "update_error_writes_nothing";
pub(super) const BYTES_KEPT_EXACTLY: &str = "bytes_kept_exactly";
pub(super) const PARTITION_ISOLATION: &str = "partition_isolation";
pub(super) const NO_LOST_UPDATE: &str = "no_lost_update";
pub(super) const DAMAGED_DATA_KEPT: &str = "damaged_data_kept";

/// The partition the single-partition rules use: what a public client passes.
const ALL: Partition<'static> = Partition::All;

/// What an update function was handed, owned, so a rule can look at it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Unchanged,
    Missing,
    Data(Vec<u8>),
}

impl From<Current<'_>> for Seen {
    fn from(current: Current<'_>) -> Self {
        match current {
            Current::Unchanged => Seen::Unchanged,
            Current::Missing => Seen::Missing,
            Current::Data(bytes) => Seen::Data(bytes.to_vec()),
        }
    }
}

/// A short description of a load's answer for failure messages (never the bytes).
fn describe(loaded: &Loaded) -> String {
    format!("{loaded:?}")
}

async fn load<S: CacheStore + ?Sized>(
    rule: &'static str,
    store: &S,
    partition: Partition<'_>,
    known: Option<StoreVersion>,
    bound: Duration,
) -> Result<Loaded, ConformanceFailure> {
    bounded(rule, "load", bound, store.load(partition, known))
        .await?
        .map_err(|e| fail(rule, format!("load({partition:?}, {known:?}) failed: {e}")))
}

/// `modify` storing `bytes`; returns the new version and what the update function was handed
/// (on its last run, as a retrying store may run it more than once).
async fn write<S: CacheStore + ?Sized>(
    rule: &'static str,
    store: &S,
    partition: Partition<'_>,
    known: Option<StoreVersion>,
    bytes: &[u8],
    bound: Duration,
) -> Result<(StoreVersion, Seen), ConformanceFailure> {
    let seen = Mutex::new(None);
    let mut update = |current: Current<'_>| {
        *seen.lock().unwrap() = Some(Seen::from(current));
        Ok(bytes.to_vec())
    };
    let version = bounded(
        rule,
        "modify",
        bound,
        store.modify(partition, known, &mut update),
    )
    .await?
    .map_err(|e| {
        fail(
            rule,
            format!("modify({partition:?}, {known:?}) failed: {e}"),
        )
    })?;
    let seen = seen.into_inner().unwrap().ok_or_else(|| {
        fail(
            rule,
            format!("modify({partition:?}) returned Ok without calling the update function"),
        )
    })?;
    Ok((version, seen))
}

/// Expect `Loaded::Data` with exactly `bytes` at `version`.
fn expect_data(
    rule: &'static str,
    what: &str,
    loaded: &Loaded,
    bytes: &[u8],
    version: StoreVersion,
) -> Result<(), ConformanceFailure> {
    match loaded {
        Loaded::Data { bytes: got, version: v } if got == bytes && *v == version => Ok(()),
        Loaded::Data { bytes: got, version: v } if got == bytes => Err(fail(
            rule,
            format!("{what}: the bytes are right but the version is {v:?}, not {version:?} (what modify returned)"),
        )),
        Loaded::Data { bytes: got, .. } => Err(fail(
            rule,
            format!(
                "{what}: returned {} bytes that differ from the {} bytes written{}",
                got.len(),
                bytes.len(),
                first_difference(got, bytes)
            ),
        )),
        other => Err(fail(
            rule,
            format!("{what}: expected the data written ({} bytes), got {}", bytes.len(), describe(other)),
        )),
    }
}

fn first_difference(got: &[u8], want: &[u8]) -> String {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(at) => format!(" (first difference at byte {at})"),
        None => " (one is a prefix of the other: truncated or padded)".into(),
    }
}

pub(super) async fn load_missing<S: CacheStore>(
    store: &S,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    for partition in [ALL, Partition::Account("conformance.missing")] {
        match load(LOAD_MISSING, store, partition, None, bound).await? {
            Loaded::Missing => {}
            other => {
                return Err(fail(
                    LOAD_MISSING,
                    format!(
                        "a new store answered load({partition:?}) with {}, not Missing",
                        describe(&other)
                    ),
                ))
            }
        }
    }
    Ok(())
}

pub(super) async fn modify_then_load<S: CacheStore>(
    store: &S,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = MODIFY_THEN_LOAD;
    let first = br#"{"AccessToken":{},"n":1}"#;
    let (v1, seen) = write(rule, store, ALL, None, first, bound).await?;
    if seen != Seen::Missing {
        return Err(fail(
            rule,
            format!("the first modify of a new store handed the update {seen:?}, not Missing"),
        ));
    }
    let loaded = load(rule, store, ALL, None, bound).await?;
    expect_data(rule, "load after the first modify", &loaded, first, v1)?;

    let second = br#"{"AccessToken":{},"n":2}"#;
    let (v2, seen) = write(rule, store, ALL, None, second, bound).await?;
    if seen != Seen::Data(first.to_vec()) {
        return Err(fail(
            rule,
            format!(
                "modify without a known version handed the update {seen:?}, not the stored data"
            ),
        ));
    }
    if v2 == v1 {
        return Err(fail(
            rule,
            format!("two different writes got the same version {v1:?}"),
        ));
    }
    let loaded = load(rule, store, ALL, None, bound).await?;
    expect_data(rule, "load after the second modify", &loaded, second, v2)
}

pub(super) async fn unchanged_only_when_current<S: CacheStore>(
    store: &S,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = UNCHANGED_ONLY_WHEN_CURRENT;
    let (a, b) = (br#"{"v":"a"}"#, br#"{"v":"b"}"#);
    let (v1, _) = write(rule, store, ALL, None, a, bound).await?;
    match load(rule, store, ALL, Some(v1), bound).await? {
        Loaded::Unchanged => {}
        // Allowed ("may answer Unchanged"), if it is the same data and version.
        loaded @ Loaded::Data { .. } => {
            expect_data(rule, "load at the current version", &loaded, a, v1)?
        }
        Loaded::Missing => return Err(fail(rule, "load at the current version answered Missing")),
    }
    let (v2, seen) = write(rule, store, ALL, Some(v1), b, bound).await?;
    if seen != Seen::Unchanged && seen != Seen::Data(a.to_vec()) {
        return Err(fail(rule, format!("modify at the current version handed the update {seen:?}, not Unchanged or the stored data")));
    }
    // v1 is stale now: answering Unchanged would make the caller keep "a".
    let loaded = load(rule, store, ALL, Some(v1), bound).await?;
    if loaded == Loaded::Unchanged {
        return Err(fail(
            rule,
            "load with an outdated version answered Unchanged: the caller would keep stale data",
        ));
    }
    expect_data(rule, "load with an outdated version", &loaded, b, v2)?;
    let (_, seen) = write(rule, store, ALL, Some(v1), br#"{"v":"c"}"#, bound).await?;
    if seen != Seen::Data(b.to_vec()) {
        return Err(fail(rule, format!("modify with an outdated version handed the update {seen:?}, not the current data: the caller would overwrite a newer write")));
    }
    // A version this store never gave out.
    let foreign = StoreVersion::new(v1.tag() ^ v2.tag() ^ 0x5a5a_5a5a_5a5a_5a5a);
    if load(rule, store, ALL, Some(foreign), bound).await? == Loaded::Unchanged {
        return Err(fail(
            rule,
            "load with a version the store never returned answered Unchanged",
        ));
    }
    Ok(())
}

pub(super) async fn update_error_writes_nothing<S: CacheStore>(
    store: &S,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = UPDATE_ERROR_WRITES_NOTHING;
    let kept = br#"{"kept":true}"#;
    let (v1, _) = write(rule, store, ALL, None, kept, bound).await?;
    let refused = CacheError::corrupt(None, "conformance: the caller refuses this data");
    let mut update = |_: Current<'_>| Err(refused.clone());
    let outcome = bounded(rule, "modify", bound, store.modify(ALL, None, &mut update)).await?;
    match outcome {
        Err(CacheError::Corrupt { message, .. }) if message.contains("conformance") => {}
        Err(other) => {
            return Err(fail(
                rule,
                format!("the update function's Corrupt error came back as another error: {other}"),
            ))
        }
        Ok(v) => {
            return Err(fail(
                rule,
                format!("modify returned Ok({v:?}) though the update function failed"),
            ))
        }
    }
    let loaded = load(rule, store, ALL, None, bound).await?;
    expect_data(rule, "load after a failed update", &loaded, kept, v1)
}

pub(super) async fn bytes_kept_exactly<S: CacheStore>(
    store: &S,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = BYTES_KEPT_EXACTLY;
    // Unknown top-level sections and fields (other MSAL libraries' and future ones), non-ASCII
    // text, JSON escapes and a document of a few hundred kilobytes.
    let mut doc = String::from(
        r#"{"AccessToken":{"k":{"credential_type":"AccessToken","x_unknown_field":{"nested":[1,2.5,null,true]}}},"#,
    );
    doc.push_str(r#""UnknownSection":{"ünïcödé ✓":"\u0000\"\\\n"},"AppMetadata":{},"padding":""#);
    doc.extend(std::iter::repeat_n("0123456789abcdef", 32 * 1024));
    doc.push_str(r#"","trailing":  [ ] }"#);
    let (version, _) = write(rule, store, ALL, None, doc.as_bytes(), bound).await?;
    let loaded = load(rule, store, ALL, None, bound).await?;
    expect_data(
        rule,
        "a document with unknown fields, non-ASCII text and 512 KiB",
        &loaded,
        doc.as_bytes(),
        version,
    )
}

pub(super) async fn partition_isolation<S: CacheStore>(
    store: &S,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = PARTITION_ISOLATION;
    let partitions = [
        Partition::All,
        Partition::Account("alice.tenant"),
        Partition::Account("bob.tenant"),
        Partition::App {
            client_id: "client",
            tenant: "tenant",
        },
        Partition::UserAssertion("assertion-hash"),
    ];
    let mut written = Vec::new();
    for (i, partition) in partitions.iter().enumerate() {
        let bytes = format!(r#"{{"partition":{i}}}"#).into_bytes();
        let (version, seen) = write(rule, store, *partition, None, &bytes, bound).await?;
        if seen != Seen::Missing {
            return Err(fail(rule, format!("the first write to {partition:?} was handed {seen:?}, not Missing: it sees another partition's data")));
        }
        written.push((version, bytes));
    }
    for (partition, (version, bytes)) in partitions.iter().zip(&written) {
        let loaded = load(rule, store, *partition, None, bound).await?;
        expect_data(
            rule,
            &format!("load({partition:?})"),
            &loaded,
            bytes,
            *version,
        )?;
    }
    if load(rule, store, Partition::Account("carol.tenant"), None, bound).await? != Loaded::Missing
    {
        return Err(fail(rule, "a partition never written is not Missing"));
    }
    // Bob's version is no proof that Alice's data is current.
    let (alice, bob) = (partitions[1], &written[2]);
    if load(rule, store, alice, Some(bob.0), bound).await? == Loaded::Unchanged
        && written[1].0 != bob.0
    {
        return Err(fail(
            rule,
            "load(Account(alice)) with Bob's version answered Unchanged",
        ));
    }
    Ok(())
}

/// Each write adds one line naming its task and number; a lost update loses a line.
pub(super) async fn no_lost_update<S: CacheStore + 'static>(
    store: Arc<S>,
    tasks: usize,
    writes_per_task: usize,
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = NO_LOST_UPDATE;
    let mut handles = Vec::new();
    // Every task starts writing at once, so their read-modify-writes overlap.
    let start = Arc::new(tokio::sync::Barrier::new(tasks));
    for task in 0..tasks {
        let store = Arc::clone(&store);
        let start = Arc::clone(&start);
        handles.push(tokio::spawn(async move {
            start.wait().await;
            for n in 0..writes_per_task {
                let mut update = |current: Current<'_>| {
                    let mut bytes = match current {
                        Current::Data(bytes) => bytes.to_vec(),
                        Current::Missing => Vec::new(),
                        // We passed no known version: Unchanged cannot be right.
                        _ => {
                            return Err(CacheError::store(
                                "handed Unchanged without a known version",
                            ))
                        }
                    };
                    bytes.extend_from_slice(format!("{task}:{n}\n").as_bytes());
                    Ok(bytes)
                };
                store.modify(ALL, None, &mut update).await?;
                // Let other tasks in between writes.
                tokio::task::yield_now().await;
            }
            Ok::<(), CacheError>(())
        }));
    }
    let total = tasks * writes_per_task;
    for handle in handles {
        let joined = bounded(
            rule,
            &format!("{total} concurrent writes"),
            bound * 3,
            handle,
        )
        .await?;
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(fail(rule, format!("a concurrent modify failed: {e}"))),
            Err(e) => return Err(fail(rule, format!("a writing task panicked: {e}"))),
        }
    }
    let lines = match load(rule, &*store, ALL, None, bound).await? {
        Loaded::Data { bytes, .. } => bytes.iter().filter(|b| **b == b'\n').count(),
        other => {
            return Err(fail(
                rule,
                format!(
                    "after {total} writes the store answered {}",
                    describe(&other)
                ),
            ))
        }
    };
    if lines != total {
        return Err(fail(
            rule,
            format!("{tasks} tasks made {total} writes but only {lines} are stored: {} concurrent updates were lost (modify is not atomic)", total.saturating_sub(lines)),
        ));
    }
    Ok(())
}

pub(super) async fn damaged_data_kept<S: CacheStore>(
    store: &S,
    damage: &(dyn Fn(&S) + Send + Sync),
    bound: Duration,
) -> Result<(), ConformanceFailure> {
    let rule = DAMAGED_DATA_KEPT;
    let good = br#"{"AccessToken":{}}"#;
    write(rule, store, ALL, None, good, bound).await?;
    damage(store);
    let before = bounded(rule, "load", bound, store.load(ALL, None)).await?;
    let damaged_bytes = match &before {
        Err(_) => None,
        Ok(Loaded::Data { bytes, .. }) => Some(bytes.clone()),
        Ok(other) => {
            return Err(fail(
                rule,
                format!(
                    "damaged data was reported as {}: a caller would write over it",
                    describe(other)
                ),
            ))
        }
    };
    if before.is_ok() && damaged_bytes.as_deref() == Some(&good[..]) {
        return Err(fail(
            rule,
            "the damage hook did not change what the store returns",
        ));
    }
    // What the facade does: refuse to write over data it cannot parse.
    let mut handed = None;
    let mut update = |current: Current<'_>| {
        handed = Some(Seen::from(current));
        match current {
            Current::Data(_) => Err(CacheError::corrupt(None, "conformance: unparsable")),
            _ => Ok(b"{\"overwritten\":true}".to_vec()),
        }
    };
    let outcome = bounded(rule, "modify", bound, store.modify(ALL, None, &mut update)).await?;
    if let Ok(v) = outcome {
        return Err(fail(rule, format!("modify over damaged data wrote a new version {v:?} (the update was handed {handed:?}): the damaged data was overwritten")));
    }
    let after = bounded(rule, "load", bound, store.load(ALL, None)).await?;
    match (&before, &after) {
        (Err(b), Err(a)) if std::mem::discriminant(a) == std::mem::discriminant(b) => Ok(()),
        (Ok(Loaded::Data { bytes: b, .. }), Ok(Loaded::Data { bytes: a, .. })) if a == b => Ok(()),
        _ => Err(fail(
            rule,
            format!(
                "damaged data changed after a refused write: before {}, after {}",
                result_kind(&before),
                result_kind(&after)
            ),
        )),
    }
}

fn result_kind(result: &Result<Loaded, CacheError>) -> String {
    match result {
        Ok(loaded) => describe(loaded),
        Err(e) => format!("error: {e}"),
    }
}
