// Module map: harness (the wiremock contract harness), process (bounded child processes),
// loopback_guard (a transport that refuses non-loopback hosts), store_conformance (the CacheStore rules); bin/ the multi-process worker.

//! Contract and end-to-end tests for msal-rs live in `tests/`; the library holds what the tests
//! share.
//!
//! - [`harness`]: the wiremock contract harness every test binary shares (msal-azure's too):
//!   an Entra-configured app whose HTTP transport sends every request to a loopback wiremock
//!   server instead, a manual clock, the `MSAL_TEST_BACKEND` store and fixture builders.
//! - [`process`]: child processes with every wait bounded (the end-to-end provider, the headless
//!   browser, the `msal` binary, cache workers): a process that hangs fails its test with what it
//!   wrote on stderr instead of hanging the suite.
//! - [`loopback_guard`]: a transport that refuses, before sending, any request to a host that
//!   is not loopback (managed identity tests: IMDS must never be probed for real).
//! - [`store_conformance`]: the rules every `CacheStore` must keep, checked in one call, for
//!   the built-in stores and for anyone writing their own.
//! - `tests/contract/`: the wiremock contract suite (one binary, a module per flow) pinning the
//!   exact protocol behaviour (requests sent, cache contents, errors), one test per behaviour.

pub mod harness;
pub mod kit;
pub mod loopback_guard;
pub mod process;
pub mod store_conformance;
