//! Contract and end-to-end tests for msal-rs live in `tests/`; the library holds what the tests
//! share.
//!
//! - [`process`]: child processes with every wait bounded (the end-to-end provider, the headless
//!   browser, the `msal` binary, cache workers): a process that hangs fails its test with what it
//!   wrote on stderr instead of hanging the suite.
//! - `tests/contract_*.rs`: wiremock contract tests pinning the silent-first pipeline's exact
//!   protocol behaviour (requests sent, cache contents, errors), one test per behaviour.
//! - `tests/common/`: the harness: an Entra-configured app whose HTTP transport sends every
//!   request to a loopback wiremock server instead, a manual clock and fixture builders.

pub mod process;
