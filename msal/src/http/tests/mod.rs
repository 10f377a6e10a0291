//! Tests of MSAL's HTTP policies (moved from msal-http with them).

#[cfg(feature = "reqwest")]
mod reqwest_wiremock;
mod retry_after;
mod retry_mockall;
mod throttle;
