//! A file's version: a hash of its metadata, so "has it changed?" costs one `stat` (see
//! [Versions](super#versions)).

use std::fs::{File, Metadata};
use std::hash::{Hash, Hasher};
#[cfg(not(unix))]
use std::io;

use crate::StoreVersion;

/// The version of a file: a hash of the metadata that changes whenever its contents do.
pub(super) fn version_of(meta: &Metadata) -> StoreVersion {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.len().hash(&mut hasher);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.mtime(), meta.mtime_nsec()).hash(&mut hasher);
        (meta.ctime(), meta.ctime_nsec()).hash(&mut hasher);
        (meta.ino(), meta.dev()).hash(&mut hasher);
    }
    #[cfg(not(unix))]
    {
        let nanos = |time: io::Result<std::time::SystemTime>| {
            time.ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
        };
        nanos(meta.modified()).hash(&mut hasher);
        nanos(meta.created()).hash(&mut hasher);
    }
    StoreVersion::new(hasher.finish())
}

/// Whether the open `file` is still the file whose metadata had `version`.
#[cfg(unix)]
pub(super) fn same_file(file: &File, version: StoreVersion) -> bool {
    file.metadata().map(|m| version_of(&m)).ok() == Some(version)
}

/// On other platforms handle metadata may differ in detail from path metadata; the path re-stat
/// is the check there.
#[cfg(not(unix))]
pub(super) fn same_file(_file: &File, _version: StoreVersion) -> bool {
    true
}
