//! HTTP transport for msal-rs.
//!
//! This crate is the only place in msal-rs that talks to the network. It holds:
//!
//! * [`HttpClient`], a tiny object-safe trait (`send` one [`http::Request`] and get an
//!   [`http::Response`] back, bodies as `Vec<u8>`). Everything above this crate talks to
//!   the identity provider through it, so applications can plug in their own transport
//!   (a corporate proxy stack, a test double, a different async runtime…).
//! * [`ReqwestHttpClient`], the default implementation on top of `reqwest` with safe
//!   defaults: 30 s total timeout, 10 s connect timeout, responses capped at 1 MiB,
//!   redirects **not** followed (a token POST must never be replayed to another host).
//! * [`send_with_retry`] and [`RetryPolicy`], the retry rule MSAL uses.
//! * [`parse_retry_after`] and [`ThrottleTable`], the building blocks of throttling.
//! * [`apply_msal_headers`] and the request builders in [`endpoints`].
//!
//! # Why `reqwest` is optional
//!
//! The `reqwest` cargo feature (on by default) provides [`ReqwestHttpClient`]. Turning it
//! off (`default-features = false`) removes reqwest, hyper and rustls from the dependency
//! tree for applications that already have an HTTP stack and implement [`HttpClient`]
//! themselves; everything else in this crate works the same without it.
//!
//! # Retry rule
//!
//! Following MSAL.NET, a request is retried (by default once, after 1 s) only when:
//!
//! * the response is a 5xx **without** a `Retry-After` header, or
//! * the request timed out, or
//! * the connection could not be established (refused, reset…).
//!
//! A 4xx (including 429) is never retried, and neither is anything carrying
//! `Retry-After`: the server has told us when to come back, and retrying earlier would
//! only make things worse.
//!
//! # Throttling rule
//!
//! The facade keeps a process-local [`ThrottleTable`] per application and refuses to
//! send a request that is known to fail:
//!
//! * a response with `Retry-After` blocks the same request for that long, capped at
//!   [`MAX_RETRY_AFTER`] (one hour);
//! * a 429 or 5xx without `Retry-After` (public clients) blocks it for
//!   [`HTTP_STATUS_BLOCK`] (60 s);
//! * a "UI required" answer to a silent refresh blocks it for [`UI_REQUIRED_BLOCK`]
//!   (120 s).
//!
//! Keys are built with [`throttle_key`]; secrets such as refresh tokens only enter a key
//! through [`secret_fingerprint`].
//!
//! # Secrets
//!
//! Request bodies, query strings and headers may contain tokens, codes or client secrets.
//! Nothing in this crate logs them or puts them in an error message: URLs are only ever
//! shown as scheme, host and path.

pub mod client;
pub mod endpoints;
pub mod headers;
#[cfg(feature = "reqwest")]
pub mod reqwest_client;
pub mod retry;
pub mod retry_after;
pub mod throttle;

mod redact;

pub use client::{HttpClient, HttpError};
pub use endpoints::{execute, form_post, get, EndpointResponse};
pub use headers::{apply_msal_headers, SKU, VERSION};
#[cfg(feature = "reqwest")]
pub use reqwest_client::ReqwestHttpClient;
pub use retry::{send_with_retry, RetryPolicy};
pub use retry_after::parse_retry_after;
pub use throttle::{
    secret_fingerprint, throttle_key, ThrottleTable, HTTP_STATUS_BLOCK, MAX_RETRY_AFTER,
    UI_REQUIRED_BLOCK,
};
