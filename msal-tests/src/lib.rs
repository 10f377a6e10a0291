// Module map: kit (the test kit for users: a fake Entra, faults, log assertions, a browserless
// web UI), harness (the wiremock contract harness), process (bounded child processes),
// loopback_guard (a transport that refuses non-loopback hosts), store_conformance (the CacheStore rules); bin/ the multi-process worker.

//! Test your own code against msal-rs, without Entra and without a browser: [`kit`] is a fake
//! Microsoft identity platform on a loopback wiremock server, with scripted faults, a request log
//! and a manual clock. (The crate also holds what msal-rs's own tests share.)
//!
//! ```
//! use msal_tests::kit::*;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let entra = FakeEntra::start().await; // a tenant, alice, a public client, a web API
//! let app = entra.public_client(PUBLIC_CLIENT_ID).build().unwrap();
//!
//! // Interactive sign-in completes against the fake with no browser.
//! let signed_in = app.acquire_token_interactive(["User.Read"]).await.unwrap();
//! let account = signed_in.account().unwrap().clone();
//!
//! // Two hours later, a silent call refreshes; then the refresh token is revoked.
//! entra.clock().advance(Duration::from_secs(2 * 3600));
//! app.acquire_token_silent(["User.Read"], &account).await.unwrap();
//! entra.assert_token_requests_for(Grant::RefreshToken, 1);
//!
//! entra.revoke_sessions(USERNAME);
//! entra.clock().advance(Duration::from_secs(2 * 3600));
//! let err = app.acquire_token_silent(["User.Read"], &account).await.unwrap_err();
//! assert!(err.is_ui_required()); // invalid_grant, suberror bad_token
//! # }
//! ```
//!
//! See [`kit`] for every endpoint, grant, fault and assertion, and `examples/` for a web API
//! (on-behalf-of and a claims challenge), a CLI (silent, then device code) and a daemon (client
//! credentials), each with its tests, run by `cargo test -p msal-tests`.
//!
//! What msal-rs's own tests share:
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
