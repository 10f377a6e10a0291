//! The Redis cache (in progress).
