//! [`FileCache`]: a token cache kept in a plain file.
//!
//! The file holds MSAL's unified token cache JSON document, the same format MSAL Python and
//! MSAL.NET write, so a cache file can be shared with them. It is a whole-document store: the
//! [`Partition`] hint is ignored and the one file holds every account and app token.
//!
//! # Writing
//!
//! [`modify`](CacheStore::modify) never edits the file in place. It writes the new document to a
//! temporary file in the same folder (`.{file name}.{random}.tmp`, made with `tempfile`), flushes it to disk,
//! renames it over the cache file and flushes the folder. Readers therefore see either the old
//! or the new document, never a mix, and a crash leaves one of the two on disk. Missing parent
//! folders are created (mode `0700` on Unix).
//!
//! # Permissions
//!
//! On Unix the cache file is always mode `0600` (readable and writable by its owner only): the
//! temporary file is created with that mode and becomes the cache file by renaming, so the
//! tokens are never visible with wider permissions, not even briefly. An existing file with
//! wider permissions is replaced by a `0600` one at the next write. On other platforms the file
//! gets the folder's default access rights.
//!
//! # Symbolic links
//!
//! If the cache path itself is a symbolic link, both [`load`](CacheStore::load) and
//! [`modify`](CacheStore::modify) fail with [`CacheError::SymlinkRefused`] and nothing is read
//! or written: msal-rs never follows a link planted where its token file should be. (Links in
//! the parent folders are followed as usual.)
//!
//! # Unreadable files are never overwritten
//!
//! The store does not parse the bytes. The msal-rs facade does, inside the update function it
//! passes to `modify`; when the existing file does not parse, that function returns
//! [`CacheError::Corrupt`], which aborts the write, so a file msal-rs cannot read (a newer
//! format, a damaged file, something that is not a cache) is left exactly as it was.
//!
//! # Versions
//!
//! A version is a hash of the file's metadata (length, modification and change times, inode and
//! device on Unix), so checking whether the file changed costs one `stat`. A rewrite in place
//! that keeps the same length within the file system's timestamp granularity can go unnoticed;
//! msal-rs's own writes always replace the file (new inode), so they are always noticed.
//!
//! # Blocking
//!
//! The file work is ordinary synchronous `std::fs` I/O done inside the async methods: a cache
//! file is small, and keeping the crate free of any async runtime lets it be used anywhere.
//!
//! # Concurrency
//!
//! Writes through one `FileCache` and all its clones are serialized in-process: each `modify`
//! holds a lock shared by the clones for the whole read-modify-write, so threads and tasks of one
//! program never lose each other's updates. Use clones of one `FileCache` rather than several
//! `FileCache::new` for the same path, which do not share that lock.
//!
//! Across processes, every read-modify-write holds an exclusive lock on `{cache file}.lockfile`
//! (the operating system's advisory whole-file lock: `flock` on Unix, `LockFileEx` on Windows,
//! through `std::fs::File::lock`). Under the lock the file is re-read (unless it is still at the
//! version the caller holds), the change applied to that fresh copy and the result renamed into
//! place, so no process ever loses another's tokens. A lock held longer than the timeout (10 s
//! by default, [`FileCache::with_lock_timeout`]) fails the write with
//! [`CacheError::LockTimeout`]: it never blocks forever. The lock files are left in place
//! (deleting a lock file while another process waits on it is a classic race), and a dead
//! holder's lock is released by the operating system.
//!
//! Reads take no lock: the atomic rename means a reader sees a whole old or a whole new file.
//!
//! The lock file's name is the one MSAL Python's msal-extensions uses (`{cache}.lockfile`,
//! locked with `flock` on Unix), so msal-rs and a Python tool sharing a cache file exclude each
//! other. (msal-extensions deletes its lock file when done; a process already waiting on the
//! deleted file then holds a lock nobody else sees. msal-rs never deletes lock files.)
//!
//! Token refreshes are serialized across processes by a second lock,
//! `{cache file}.refresh.lockfile`, held across the token request
//! ([`CacheStore::lock_refresh`]): when two processes need the same refresh, one redeems the
//! refresh token and the other then finds the new token in the file, so a single-use rotating
//! refresh token is never redeemed twice.

mod lock;
mod quarantine;
mod version;
mod write;

use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use self::version::{same_file, version_of};
use crate::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};

/// How many times [`FileCache::load`] re-reads a file that keeps changing while it is read.
const READ_ATTEMPTS: usize = 4;

/// A whole-document [`CacheStore`] backed by one file. See the [module documentation](self).
///
/// Cloning is cheap; clones share the in-process write lock.
///
/// ```
/// use msal_cache::{CacheStore, FileCache, Loaded, Partition};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("msal").join("token_cache.json");
/// let cache = FileCache::new(path); // no I/O until the first load or modify
/// assert_eq!(cache.load(Partition::All, None).await?, Loaded::Missing);
/// let version = cache.modify(Partition::All, None, &mut |_| Ok(b"{}".to_vec())).await?;
/// assert_eq!(cache.load(Partition::All, Some(version)).await?, Loaded::Unchanged);
/// # Ok::<(), msal_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct FileCache {
    path: PathBuf,
    /// Serializes `modify` among this cache and its clones.
    write_lock: Arc<Mutex<()>>,
    /// How long `modify` waits for another process's lock.
    lock_timeout: Duration,
}

/// How long [`FileCache`] waits for another process's lock before failing with
/// [`CacheError::LockTimeout`].
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

impl FileCache {
    /// A cache stored at `path`. Does no I/O: the file and its folders are created by the first
    /// [`modify`](CacheStore::modify).
    pub fn new(path: impl Into<PathBuf>) -> FileCache {
        FileCache {
            path: path.into(),
            write_lock: Arc::new(Mutex::new(())),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// How long a write waits for another process holding the lock (default
    /// [`DEFAULT_LOCK_TIMEOUT`]) before failing with [`CacheError::LockTimeout`].
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The lock file held by every read-modify-write: `{cache file}.lockfile`, beside the cache.
    pub fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lockfile")
    }

    /// The lock file held across a token refresh: `{cache file}.refresh.lockfile`.
    pub fn refresh_lock_path(&self) -> PathBuf {
        sibling(&self.path, ".refresh.lockfile")
    }

    /// The path of the cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `symlink_metadata` of the cache path: `None` when missing, an error when it is a symlink.
    fn stat(&self) -> Result<Option<Metadata>, CacheError> {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => Err(CacheError::SymlinkRefused {
                path: self.path.clone(),
            }),
            Ok(meta) => Ok(Some(meta)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(CacheError::io(&self.path, "stat", &err)),
        }
    }

    /// Read the file: `None` when it does not exist (any more).
    fn read(&self) -> Result<Option<(Vec<u8>, File)>, CacheError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(CacheError::io(&self.path, "read", &err)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|err| CacheError::io(&self.path, "read", &err))?;
        Ok(Some((bytes, file)))
    }

    fn load_sync(&self, known: Option<StoreVersion>) -> Result<Loaded, CacheError> {
        let mut last = None;
        for _ in 0..READ_ATTEMPTS {
            let Some(before) = self.stat()? else {
                return Ok(Loaded::Missing);
            };
            let version = version_of(&before);
            if known == Some(version) {
                return Ok(Loaded::Unchanged);
            }
            let Some((bytes, file)) = self.read()? else {
                continue; // removed between stat and open: look again
            };
            // Consistent only if the path still names the same, unchanged file, and the file we
            // read is that file (not something swapped in, like a symlink, and back).
            let after = self.stat()?;
            let consistent = after.as_ref().map(version_of) == Some(version)
                && bytes.len() as u64 == before.len()
                && same_file(&file, version);
            if consistent {
                return Ok(Loaded::Data { bytes, version });
            }
            last = Some((bytes, version));
        }
        // Still changing after several attempts. Label the last bytes with the version seen
        // *before* reading them: the file has changed since, so the next load re-reads it rather
        // than wrongly trusting these bytes. The caller's parser rejects torn data.
        match last {
            Some((bytes, version)) => Ok(Loaded::Data { bytes, version }),
            None => Ok(Loaded::Missing),
        }
    }

    fn modify_sync(
        &self,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        // A panic in an earlier update poisons the lock but leaves nothing half done on disk.
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Held until the new file is in place: the read below sees every other process's last
        // write, and no process writes between our read and our rename.
        let _file_lock = self.lock_for_write()?;
        let current = match self.stat()? {
            None => None,
            Some(meta) if Some(version_of(&meta)) == known => {
                let new_bytes = update(Current::Unchanged)?;
                self.remove_stale_temp_files();
                return self.write_atomically(&new_bytes);
            }
            Some(_) => self.read()?.map(|(bytes, _)| bytes),
        };
        let new_bytes = match &current {
            Some(bytes) => update(Current::Data(bytes))?,
            None => update(Current::Missing)?,
        };
        self.remove_stale_temp_files();
        self.write_atomically(&new_bytes)
    }
}

impl fmt::Debug for FileCache {
    /// Prints the path only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCache")
            .field("path", &self.path)
            .finish()
    }
}

#[async_trait::async_trait]
impl CacheStore for FileCache {
    fn location(&self) -> Option<&Path> {
        Some(&self.path)
    }

    async fn load(
        &self,
        _partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.load_sync(known)
    }

    async fn modify(
        &self,
        _partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.modify_sync(known, update)
    }

    async fn lock_refresh(
        &self,
        _partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        self.take_refresh_lock().await
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_the_path_only() {
        let cache = FileCache::new("/tmp/x/cache.json");
        assert_eq!(
            format!("{cache:?}"),
            r#"FileCache { path: "/tmp/x/cache.json" }"#
        );
    }

    #[test]
    fn new_does_no_io() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b.json");
        let _cache = FileCache::new(&path);
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn version_follows_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"one").unwrap();
        let v1 = version_of(&fs::metadata(&path).unwrap());
        assert_eq!(v1, version_of(&fs::metadata(&path).unwrap()));
        fs::write(&path, b"three").unwrap();
        assert_ne!(v1, version_of(&fs::metadata(&path).unwrap()));
    }

    #[tokio::test]
    async fn path_without_file_name_is_an_io_error() {
        let cache = FileCache::new("/");
        let err = cache
            .modify(Partition::All, None, &mut |_| Ok(vec![]))
            .await
            .unwrap_err();
        assert!(matches!(err, CacheError::Io { .. }), "{err:?}");
    }
}
