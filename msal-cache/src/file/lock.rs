//! The cross-process locks: `{cache}.lockfile` around every read-modify-write, and
//! `{cache}.refresh.lockfile` across a token refresh (see [Concurrency](super#concurrency)).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::Instant;

use super::write::create_folder;
use super::FileCache;
use crate::{CacheError, RefreshLock};

impl FileCache {
    /// Open (creating, mode 0600) a lock file, refusing a symlink planted in its place.
    pub(super) fn open_lock_file(&self, path: &Path) -> Result<File, CacheError> {
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            if !folder.exists() {
                create_folder(folder).map_err(|e| CacheError::io(folder, "create folder", &e))?;
            }
        }
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CacheError::SymlinkRefused {
                path: path.to_path_buf(),
            });
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .map_err(|e| CacheError::io(path, "open lock file", &e))
    }

    /// Take the cross-process write lock, waiting up to the lock timeout. An uncontended lock
    /// costs one system call. When contended, a helper thread waits in the kernel's queue
    /// (fairer under heavy contention than polling, which can starve a process) while this one
    /// waits for it with the timeout; a lock the helper gets after we gave up is released at
    /// once, because the last handle to the lock file closes with the helper.
    pub(super) fn lock_for_write(&self) -> Result<File, CacheError> {
        let path = self.lock_path();
        let file = self.open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(CacheError::io(&path, "lock", &e)),
        }
        let start = Instant::now();
        let waiter = file
            .try_clone()
            .map_err(|e| CacheError::io(&path, "lock", &e))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("msal-cache-lock".into())
            .spawn(move || {
                let _ = tx.send(waiter.lock());
            })
            .map_err(|e| CacheError::io(&path, "start lock thread", &e))?;
        match rx.recv_timeout(self.lock_timeout) {
            Ok(Ok(())) => Ok(file),
            Ok(Err(e)) => Err(CacheError::io(&path, "lock", &e)),
            Err(_) => Err(CacheError::LockTimeout {
                path,
                waited: start.elapsed(),
            }),
        }
    }

    /// One refresh lock per cache file (`{cache file}.refresh.lockfile`), held across the token
    /// request. Waiting happens on a helper thread, so no executor thread blocks; if the caller
    /// stops waiting, the thread releases the lock as soon as it gets it. The operating system
    /// releases it if the holder dies.
    pub(super) async fn take_refresh_lock(&self) -> Result<Option<RefreshLock>, CacheError> {
        let path = self.refresh_lock_path();
        let file = self.open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => return Ok(Some(RefreshLock::new(file))),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(CacheError::io(&path, "lock", &e)),
        }
        let (tx, rx) = futures_channel::oneshot::channel();
        std::thread::Builder::new()
            .name("msal-cache-refresh-lock".into())
            .spawn(move || {
                let outcome = file.lock().map(|()| file);
                // If nobody waits any more, dropping the file here releases the lock.
                let _ = tx.send(outcome);
            })
            .map_err(|e| CacheError::io(&path, "start lock thread", &e))?;
        match rx.await {
            Ok(Ok(file)) => Ok(Some(RefreshLock::new(file))),
            Ok(Err(e)) => Err(CacheError::io(&path, "lock", &e)),
            Err(_) => Err(CacheError::store(
                "the refresh lock thread stopped unexpectedly",
            )),
        }
    }
}
