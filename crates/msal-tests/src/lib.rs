//! Contract and end-to-end tests for msal-rs live in `tests/`; this crate has no library code.
//!
//! - `tests/contract_*.rs`: wiremock contract tests pinning the silent-first pipeline's exact
//!   protocol behaviour (requests sent, cache contents, errors), one test per behaviour.
//! - `tests/common/`: the harness: an Entra-configured app whose HTTP transport sends every
//!   request to a loopback wiremock server instead, a manual clock and fixture builders.
#![forbid(unsafe_code)]
