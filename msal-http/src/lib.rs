// Module map: the transport only (MSAL's retry and throttling rules live in the facade).
//   client: the HttpClient trait and HttpError; reqwest_client: the default transport
//   redact: URIs and bodies made safe to print

//! HTTP transport for msal-rs.
//!
//! This crate is the only place in msal-rs that talks to the network, and only that: MSAL's
//! policies on top of it (the retry rule, `Retry-After` and throttling, the telemetry headers,
//! the form POSTs to the token endpoint) live in the facade, `msal`. It holds:
//!
//! * [`HttpClient`], a tiny object-safe trait (`send` one [`http::Request`] and get an
//!   [`http::Response`] back, bodies as `Vec<u8>`). Everything above this crate talks to
//!   the identity provider through it, so applications can plug in their own transport
//!   (a corporate proxy stack, a test double, a different async runtime…).
//! * [`HttpError`], the transport failures an [`HttpClient`] reports (timeout, connection
//!   refused, connection reset or closed, body too large…); the facade retries the transient
//!   ones.
//! * [`ReqwestHttpClient`], the default implementation on top of `reqwest` with safe
//!   defaults: 30 s total timeout, 10 s connect timeout, responses capped at 1 MiB,
//!   redirects **not** followed (a token POST must never be replayed to another host).
//! * [`redacted_uri`], how an [`HttpClient`] names a URL in its errors and logs without its
//!   query string or user info.
//!
//! # Writing your own `HttpClient`
//!
//! Implement [`HttpClient::send`]: return every answer as `Ok`, whatever its status; do not
//! follow redirects; bound the body size and the total time; map failures to [`HttpError`]
//! (use [`HttpError::Connect`] when the request was not sent, [`HttpError::ConnectionClosed`]
//! when the connection broke after it was, so the facade reports and retries them right) and
//! never put a request body, query string or header value in an error message. The [`http`]
//! crate's types are re-exported as [`http`].
//!
//! # Why `reqwest` is optional
//!
//! The `reqwest` cargo feature (on by default) provides [`ReqwestHttpClient`]. Turning it
//! off (`default-features = false`) removes reqwest, hyper and rustls from the dependency
//! tree for applications that already have an HTTP stack and implement [`HttpClient`]
//! themselves; everything else in this crate works the same without it.
//!
//! # Secrets
//!
//! Request bodies, query strings and headers may contain tokens, codes or client secrets.
//! Nothing in this crate logs them or puts them in an error message: URLs are only ever
//! shown as scheme, host and path.

pub mod client;
#[cfg(feature = "reqwest")]
pub mod reqwest_client;

mod redact;

pub use client::{HttpClient, HttpError};
pub use http;
pub use redact::redacted_uri;
#[cfg(feature = "reqwest")]
pub use reqwest_client::ReqwestHttpClient;
