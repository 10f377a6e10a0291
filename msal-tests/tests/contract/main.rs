//! The contract suite, one binary: wiremock contract tests pinning msal-rs's exact protocol
//! behaviour (requests sent, cache contents, errors), one module per flow or concern.
//!
//! Apps are configured with real Entra authorities, and the harness (`msal_tests::harness`) sends every
//! request to a loopback wiremock server instead. `scripts/test.sh` runs this binary once per
//! cache backend (`MSAL_TEST_BACKEND` = memory, file, encrypted, redis):
//!
//!     MSAL_TEST_BACKEND=file cargo test -p msal-tests --all-features --test contract
//!
//! One binary links the whole stack once, instead of once per file.

mod authority;
mod b2c_ciam;
mod by_refresh_token;
mod cache;
mod concurrency;
mod confidential;
mod device_code;
mod errors;
mod extra_query;
mod faults;
mod hit_memo;
mod id_token_issuer;
mod interactive;
mod known_authorities;
mod long_running_obo;
mod managed_identity;
mod pop;
mod pop_flows;
mod pop_support;
mod refresh_wait;
mod region;
mod silent;
mod smoke;
mod store_calls;
mod tenants;
mod username_password;
mod workload_identity;
