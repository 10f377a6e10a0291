//! The cache's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading, parsing or writing a token cache.
///
/// No variant ever carries a token or a key: messages describe what failed and where.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// An I/O operation on a cache file failed.
    #[error("cache file {path}: {operation} failed: {message}")]
    Io {
        /// The file or folder the operation was on.
        path: PathBuf,
        /// What was being done ("read", "write", "rename", "create folder", ...).
        operation: &'static str,
        /// The kind of I/O error, for programmatic checks.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// Stored data could not be parsed as a token cache. The data was left untouched.
    ///
    /// A file is never overwritten while it cannot be read. To start over, move it aside with
    /// `msal cache reset`, [`FileCache::quarantine`](crate::FileCache::quarantine) or
    /// [`EncryptedFileCache::quarantine`](crate::EncryptedFileCache::quarantine); the message
    /// says so when the data came from a file.
    #[error("token cache {} is unreadable and was left untouched: {message}{}", location.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "data".into()), recovery_hint(location.as_deref()))]
    Corrupt {
        /// The file the data came from, when it came from a file.
        location: Option<PathBuf>,
        /// What the parser found wrong (never the data itself).
        message: String,
    },
    /// The cache path is a symbolic link; msal-rs never writes through one.
    #[error("cache file {path} is a symbolic link; refusing to write through it")]
    SymlinkRefused {
        /// The path that is a symlink.
        path: PathBuf,
    },
    /// Another process held the cache's lock for longer than the wait allows.
    #[error("cache file {path} is locked by another process; gave up after {waited:?}")]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// A custom store (Redis, a database, a keychain...) reported a failure.
    #[error("cache store error: {message}")]
    Store {
        /// The store's own description of the failure.
        message: String,
    },
}

/// How to get out of a corrupt cache file (nothing for data that is not in a file).
fn recovery_hint(location: Option<&std::path::Path>) -> &'static str {
    match location {
        Some(_) => {
            " (to start over, move it aside with `msal cache reset` or FileCache::quarantine; \
             nothing is deleted)"
        }
        None => "",
    }
}

impl CacheError {
    /// A failure reported by a custom [`CacheStore`](crate::CacheStore) implementation.
    pub fn store(message: impl Into<String>) -> Self {
        CacheError::Store {
            message: message.into(),
        }
    }

    /// Data that does not parse as a token cache.
    pub fn corrupt(location: Option<PathBuf>, message: impl Into<String>) -> Self {
        CacheError::Corrupt {
            location,
            message: message.into(),
        }
    }

    /// Wrap an [`std::io::Error`] with the path and operation it came from.
    pub fn io(path: impl Into<PathBuf>, operation: &'static str, err: &std::io::Error) -> Self {
        CacheError::Io {
            path: path.into(),
            operation,
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}
