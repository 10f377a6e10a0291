//! The partition rows: load and the one-transaction read-modify-write.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::sqlite_error;
use crate::{CacheError, Current, Loaded, StoreVersion, UpdateFn};

/// One statement for both answers: the version, and the data only when it is not the version
/// the caller holds (`?2` is NULL when it holds none, and `version = NULL` is never true).
const READ: &str = "SELECT version, CASE WHEN version = ?2 THEN NULL ELSE data END \
                    FROM msal_cache WHERE partition = ?1";
const WRITE: &str = "INSERT INTO msal_cache (partition, version, data) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (partition) DO UPDATE SET version = excluded.version, \
                     data = excluded.data";

/// A row as read: its version, and its bytes unless the caller's copy is current.
enum Row {
    Unchanged(i64),
    Data(i64, Vec<u8>),
}

fn read(
    conn: &Connection,
    path: &Path,
    key: &str,
    known: Option<StoreVersion>,
) -> Result<Option<Row>, CacheError> {
    // Versions are stored as i64 and handed out as the same 64 bits.
    let known = known.map(|v| v.tag() as i64);
    let mut statement = conn
        .prepare_cached(READ)
        .map_err(|e| sqlite_error(path, "reading", &e))?;
    let row = statement
        .query_row(rusqlite::params![key, known], |row| {
            let version = match row.get_ref(0)? {
                ValueRef::Integer(v) => Some(v),
                _ => None,
            };
            let data = match row.get_ref(1)? {
                ValueRef::Null => Ok(None),
                ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Ok(Some(bytes.to_vec())),
                _ => Err(()),
            };
            Ok((version, data))
        })
        .optional()
        .map_err(|e| sqlite_error(path, "reading", &e))?;
    let damaged = |what: &str| {
        CacheError::corrupt(
            Some(path.to_path_buf()),
            format!("the row of partition {key:?} has {what}"),
        )
    };
    match row {
        None => Ok(None),
        Some((None, _)) => Err(damaged("a version that is not an integer")),
        Some((Some(_), Err(()))) => Err(damaged("data that is neither bytes nor text")),
        Some((Some(version), Ok(None))) => Ok(Some(Row::Unchanged(version))),
        Some((Some(version), Ok(Some(bytes)))) => Ok(Some(Row::Data(version, bytes))),
    }
}

pub(super) fn load(
    conn: &Connection,
    path: &Path,
    key: &str,
    known: Option<StoreVersion>,
) -> Result<Loaded, CacheError> {
    Ok(match read(conn, path, key, known)? {
        None => Loaded::Missing,
        Some(Row::Unchanged(_)) => Loaded::Unchanged,
        Some(Row::Data(version, bytes)) => Loaded::Data {
            bytes,
            version: StoreVersion::new(version as u64),
        },
    })
}

pub(super) fn modify(
    conn: &mut Connection,
    path: &Path,
    key: &str,
    known: Option<StoreVersion>,
    update: &mut UpdateFn<'_>,
) -> Result<StoreVersion, CacheError> {
    // IMMEDIATE takes SQLite's write lock before the read: no writer in any process can come
    // between our read and our write. Dropping the transaction (an error, a panic in `update`)
    // rolls it back.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sqlite_error(path, "starting a write to", &e))?;
    let (new_bytes, next) = match read(&tx, path, key, known)? {
        None => (update(Current::Missing)?, fresh_version()),
        Some(Row::Unchanged(version)) => (update(Current::Unchanged)?, version.wrapping_add(1)),
        Some(Row::Data(version, bytes)) => {
            (update(Current::Data(&bytes))?, version.wrapping_add(1))
        }
    };
    tx.prepare_cached(WRITE)
        .and_then(|mut statement| statement.execute(rusqlite::params![key, next, new_bytes]))
        .map_err(|e| sqlite_error(path, "writing", &e))?;
    tx.commit()
        .map_err(|e| sqlite_error(path, "committing a write to", &e))?;
    Ok(StoreVersion::new(next as u64))
}

/// The first version of a new row: the clock in nanoseconds, so that a partition deleted and
/// created again never repeats a version some caller may still hold.
fn fresh_version() -> i64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos());
    (nanos % (i64::MAX as u128)) as i64
}
