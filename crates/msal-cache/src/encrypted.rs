//! The encrypted file cache (in progress).
