//! The writers' queue: `{database}.write.lockfile`, locked around every write transaction.
//!
//! SQLite's busy handler makes a waiting writer poll (sleeping up to 100 ms between tries), so
//! under heavy contention a process can lose every race for longer than the busy timeout and
//! fail although the database was never stuck: eight processes writing one row while the
//! machine was loaded starved one of them for over 5 s. Waiting for an OS file lock first
//! (woken by the kernel when it is released, as `FileCache` does) hands the database to the
//! writers in turn, and `BEGIN IMMEDIATE` then rarely waits at all. Programs that write the
//! database without this queue are still serialized by SQLite's own lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::CacheError;

/// The queue's lock file beside `database`.
pub(super) fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".write.lockfile");
    PathBuf::from(name)
}

/// Wait (at most `timeout`) for the queue's lock; held until the returned file is dropped.
pub(super) fn enter(path: &Path, timeout: Duration) -> Result<File, CacheError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .map_err(|e| CacheError::io(path, "open lock file", &e))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(CacheError::io(path, "lock", &e)),
    }
    // Contended: a helper thread waits in the kernel's queue. If we stop waiting, the helper
    // holds the last handle, so the lock it gets late is released when the thread ends.
    let start = Instant::now();
    let waiter = file
        .try_clone()
        .map_err(|e| CacheError::io(path, "lock", &e))?;
    drop(file);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("msal-sqlite-queue".into())
        .spawn(move || {
            let outcome = waiter.lock().map(|()| waiter);
            let _ = tx.send(outcome);
        })
        .map_err(|e| CacheError::io(path, "start lock thread", &e))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(file)) => Ok(file),
        Ok(Err(e)) => Err(CacheError::io(path, "lock", &e)),
        Err(_) => Err(CacheError::LockTimeout {
            path: path.to_path_buf(),
            waited: start.elapsed(),
        }),
    }
}
