//! The HTTP layer: the transport from `msal-http`, and MSAL's policies on top of it.
//!
//! Public: the transport ([`HttpClient`] to bring your own, [`HttpError`], the default
//! `ReqwestHttpClient` with the `reqwest` feature, on by default) and [`RetryPolicy`], the
//! retry rule an application may tune. Private to the facade, as they are MSAL's behaviour
//! rather than transport:
//!
//! - `retry`: [`RetryPolicy`] and its rule (after MSAL.NET): one retry after 1 s when the
//!   answer is a 5xx **without** `Retry-After`, the request timed out, or the connection failed
//!   or broke; never a 4xx (429 included) or anything carrying `Retry-After`;
//! - `retry_after`: reading the `Retry-After` header (seconds or an HTTP date);
//! - `throttle`: the per-application table of requests that must not be sent yet (a
//!   `Retry-After` blocks the same request that long, capped at one hour; a 429/5xx without it
//!   60 s; a "UI required" answer to a silent refresh 120 s), and its keys, where secrets only
//!   enter through a SHA-256 fingerprint;
//! - `headers`: the telemetry and protocol headers MSAL sends with every request;
//! - `exchange`: the form POST and GET builders and `execute`, what the token, device-code and
//!   discovery calls use.

pub(crate) mod exchange;
pub(crate) mod headers;
pub(crate) mod pause;
pub(crate) mod retry;
pub(crate) mod retry_after;
pub(crate) mod throttle;

#[cfg(test)]
mod tests;

pub use headers::{SKU, VERSION};
pub use msal_http::*;
pub use retry::RetryPolicy;
