//! Replacing the cache file: a temporary file in the same folder (mode `0600`), flushed to
//! disk, renamed over the cache file, then the folder flushed (see [Writing](super#writing)).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use super::version::version_of;
use super::FileCache;
use crate::{CacheError, StoreVersion};

impl FileCache {
    /// Every writer creates its temporary file while holding the write lock, so a temporary
    /// file seen by the lock's holder was left by a writer that died mid-write: remove it.
    pub(super) fn remove_stale_temp_files(&self) {
        let (Some(folder), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let prefix = temp_prefix(name).to_string_lossy().into_owned();
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Replace the cache file with `bytes` by way of a temporary file; return the new version.
    pub(super) fn write_atomically(&self, bytes: &[u8]) -> Result<StoreVersion, CacheError> {
        let invalid = |message: &str| {
            CacheError::io(
                &self.path,
                "write",
                &io::Error::new(io::ErrorKind::InvalidInput, message.to_owned()),
            )
        };
        let file_name = self
            .path
            .file_name()
            .ok_or_else(|| invalid("the cache path does not name a file"))?;
        let folder = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // The rename below would replace a symlink rather than write through it, but the policy
        // is to refuse: check again, as one may have appeared while the update ran.
        self.stat()?;
        create_folder(folder).map_err(|err| CacheError::io(folder, "create folder", &err))?;

        // `.{name}.{random}.tmp`, created exclusively (`O_EXCL`) with mode 0600 on Unix, and
        // deleted by its drop on every error path below.
        let mut temp = tempfile::Builder::new()
            .prefix(&temp_prefix(file_name))
            .suffix(".tmp")
            .tempfile_in(folder)
            .map_err(|err| CacheError::io(&self.path, "write", &err))?;
        // tempfile creates it 0600 already, less what the umask removes; pin it to exactly that.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(|err| CacheError::io(&self.path, "write", &err))?;
        }
        temp.write_all(bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|err| CacheError::io(&self.path, "write", &err))?;
        let written: File = temp
            .persist(&self.path)
            .map_err(|err| CacheError::io(&self.path, "rename", &err.error))?;
        sync_folder(folder);
        // The handle still names the file we wrote, whatever happened to the path since: its
        // metadata (taken after the rename, which may change the change time) is our version.
        let meta = written
            .metadata()
            .map_err(|err| CacheError::io(&self.path, "stat", &err))?;
        Ok(version_of(&meta))
    }
}

/// Create `folder` and its missing parents, owner-only on Unix.
pub(super) fn create_folder(folder: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder)
}

/// The start of every temporary file name: `.{file name}.`, hidden on Unix.
fn temp_prefix(file_name: &std::ffi::OsStr) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    prefix
}

/// Flush the folder entry of a rename to disk. Best effort: not every platform or file system
/// supports syncing a directory.
pub(super) fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_hidden_and_named_for_the_cache() {
        assert_eq!(temp_prefix("cache.json".as_ref()), ".cache.json.");
    }
}
