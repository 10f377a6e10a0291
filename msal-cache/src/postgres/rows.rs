//! The partition rows: one read, and the writes of the compare-and-set loop.

use super::connection::{Conn, Shared};
use crate::{CacheError, StoreVersion};

/// A row as read.
pub(super) enum Found {
    Missing,
    /// The row is still at the caller's version (its bytes were not sent).
    Unchanged(i64),
    Data(i64, Vec<u8>),
}

/// Read `key`'s row in one round trip, without its bytes when `known` is its version.
pub(super) async fn read(
    shared: &Shared,
    conn: &Conn,
    key: &str,
    known: Option<StoreVersion>,
) -> Result<Found, CacheError> {
    // Versions are stored as BIGINT and handed out as the same 64 bits.
    let known = known.map(|v| v.tag() as i64);
    let row = shared
        .bounded(
            "reading from",
            conn.client.query_opt(&conn.read, &[&key, &known]),
        )
        .await?;
    let Some(row) = row else {
        return Ok(Found::Missing);
    };
    // NOT NULL in our schema; read as optional anyway, so a table changed by another program
    // is reported as damaged instead of read as empty.
    let version: Option<i64> = row
        .try_get(0)
        .map_err(|e| shared.error("reading from", &e))?;
    let data: Option<Vec<u8>> = row
        .try_get(1)
        .map_err(|e| shared.error("reading from", &e))?;
    match (version, data) {
        (None, _) => Err(CacheError::corrupt(
            None,
            format!("PostgreSQL row of partition {key:?} has no version"),
        )),
        (Some(version), None) if known == Some(version) => Ok(Found::Unchanged(version)),
        (Some(_), None) => Err(CacheError::corrupt(
            None,
            format!("PostgreSQL row of partition {key:?} has no data"),
        )),
        (Some(version), Some(bytes)) => Ok(Found::Data(version, bytes)),
    }
}

/// Store `bytes` as `key`'s row if the row is still at `expected` (`None`: still missing).
/// `Ok(None)` when another writer got there first.
pub(super) async fn write_if(
    shared: &Shared,
    conn: &Conn,
    key: &str,
    expected: Option<i64>,
    bytes: &[u8],
) -> Result<Option<i64>, CacheError> {
    let row = match expected {
        None => {
            shared
                .bounded(
                    "writing to",
                    conn.client.query_opt(&conn.insert, &[&key, &bytes]),
                )
                .await?
        }
        Some(version) => {
            shared
                .bounded(
                    "writing to",
                    conn.client.query_opt(&conn.swap, &[&key, &version, &bytes]),
                )
                .await?
        }
    };
    row.map(|row| row.try_get(0))
        .transpose()
        .map_err(|e| shared.error("writing to", &e))
}
