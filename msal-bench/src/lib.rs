// Module map: fixtures (deterministic unified-schema caches) and timing (the batch rules the
// hit runner shares with the peers' runners).

//! Benchmark support for msal-rs: deterministic unified-schema cache fixtures and the pieces
//! the `msal-bench-hit` runner shares with the criterion benches.
//!
//! The fixtures are what the side-by-side comparison with MSAL Python and MSAL Node
//! (`bench/peers/`) loads into all three libraries: one file, written in MSAL Python's dialect
//! of the unified token cache schema, which msal-rs, MSAL Python and MSAL Node all read.

pub mod fixtures;
pub mod timing;
