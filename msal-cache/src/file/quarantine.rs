//! The way out of a cache that cannot be read: move it aside, never delete it.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::write::sync_folder;
use super::FileCache;
use crate::CacheError;

/// How many `-2`, `-3`, ... suffixes [`FileCache::quarantine`] tries when a name is taken.
const NAME_ATTEMPTS: u32 = 100;

impl FileCache {
    /// Move the cache file aside, to `{file name}.corrupt-{UTC time}` in the same folder (for
    /// example `msal_token_cache.json.corrupt-20260101T120000Z`), so that the next write starts
    /// a new, empty cache. Returns the new path, or `None` when there is no cache file.
    ///
    /// This is the explicit recovery from [`CacheError::Corrupt`]: msal-rs never overwrites a
    /// file it cannot read, so a damaged file, one encrypted with a lost key, or one in a format
    /// this version does not know stays in the way until it is moved. Nothing is deleted and the
    /// file keeps its contents and permissions (mode `0600`), so it can still be inspected or
    /// restored. Any file at the cache path is moved, readable or not; the signed-in accounts
    /// in it are then gone from the cache.
    ///
    /// Holds the cross-process write lock while moving, so it never moves a file that another
    /// process is replacing. Fails with [`CacheError::SymlinkRefused`] when the cache path is a
    /// symbolic link (msal-rs leaves links alone), [`CacheError::LockTimeout`] when another
    /// process holds the lock too long, and [`CacheError::Io`] when the move fails.
    pub fn quarantine(&self) -> Result<Option<PathBuf>, CacheError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _file_lock = self.lock_for_write()?;
        if self.stat()?.is_none() {
            return Ok(None);
        }
        let stamp = utc_stamp(SystemTime::now());
        for attempt in 1..=NAME_ATTEMPTS {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".corrupt-{stamp}"));
            if attempt > 1 {
                name.push(format!("-{attempt}"));
            }
            let aside = PathBuf::from(name);
            // Never replace an earlier quarantined file (the check and the rename both run
            // under the lock, which every msal-rs writer of this cache takes).
            if fs::symlink_metadata(&aside).is_ok() {
                continue;
            }
            fs::rename(&self.path, &aside)
                .map_err(|err| CacheError::io(&self.path, "move aside", &err))?;
            if let Some(folder) = self.path.parent().filter(|f| !f.as_os_str().is_empty()) {
                sync_folder(folder);
            }
            tracing::info!(from = %self.path.display(), to = %aside.display(), "token cache moved aside");
            return Ok(Some(aside));
        }
        Err(CacheError::io(
            &self.path,
            "move aside",
            &io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{NAME_ATTEMPTS} quarantined copies from this second already exist"),
            ),
        ))
    }
}

/// `YYYYMMDDTHHMMSSZ`, the UTC time of `now` (a time before 1970 reads as 1970).
fn utc_stamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let at = |secs| utc_stamp(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_767_225_599), "20251231T235959Z");
        assert_eq!(at(1_798_761_600 + 45_296), "20270101T123456Z");
    }
}
