// Module map (the crate docs below are for users; this is for whoever changes the code):
//
//   apps           public_client.rs, confidential_client.rs: the application types and their
//                  request methods; builder.rs + builder_setters.rs: configuration (no I/O).
//   flows/         one module per way of getting a token: user_silent, app_token,
//                  on_behalf_of (cached, on the engine); interactive, device_code, auth_code
//                  (sign-ins, sharing sign_in); acquire (silent, then a sign-in).
//   engine/        the cache-first engine every cached flow runs on: CachedFlow and serve,
//                  freshness (fresh / refresh due / in the buffer / expired), refresh_lock.
//   request.rs     request options, when the cache may answer, claims merging.
//   token_request  sending a grant to the token endpoint, with throttling and retries;
//   write_back.rs  turning a token response into cache entries and a result.
//   client_core.rs what every request reads: configuration, transport, cache, clock,
//                  single-flight, throttle table, the partition rule.
//   cache_access.rs, partition_map.rs, hit_memo.rs: the in-memory cache kept in step with the
//                  store, its bounded partitions and the memo of recent hits.
//   endpoints.rs, credential.rs, correlation.rs, result.rs, error.rs, single_flight.rs:
//                  discovery, client credentials, ids, the result and error types, sharing.
//
// Data flows one way: apps -> flows -> engine -> (token_request, write_back) -> client_core.

//! # msal: the Microsoft Authentication Library for Rust
//!
//! Acquire OAuth 2.0 / OpenID Connect tokens from Microsoft Entra ID (and any OpenID Connect
//! provider) **silent-first**: ask the token cache; a cached access token valid for more than
//! five minutes comes back with no network at all; otherwise the cached refresh token buys a new
//! one (also for scopes never asked before); only when that is impossible do you get
//! [`Error::UiRequired`], the signal to sign the user in interactively.
//!
//! ```
//! use msal::{PublicClientApplication, TokenSource, Error};
//! use msal::cache::MemoryCache;
//! # fn cache_with_a_signed_in_user() -> MemoryCache {
//! #     let in_an_hour = std::time::SystemTime::now()
//! #         .duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
//! #     let json = include_str!("../doc/example-cache.json").replace("EXPIRES_ON", &in_an_hour.to_string());
//! #     MemoryCache::from_bytes(json.into_bytes())
//! # }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let app = PublicClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
//!     .authority("https://login.microsoftonline.com/common")
//!     .cache(cache_with_a_signed_in_user()) // e.g. msal::cache::FileCache::new(path)
//!     .build()?;
//!
//! let accounts = app.accounts().await?;
//! match accounts.first() {
//!     Some(account) => match app.acquire_token_silent(["User.Read"], account).await {
//!         Ok(token) => {
//!             assert_eq!(token.source(), TokenSource::Cache); // no network request was made
//!             println!("token for {} expires at {:?}", account.username, token.expires_on());
//!         }
//!         Err(e) if e.is_ui_required() => { /* sign the user in interactively */ }
//!         Err(e) => return Err(e),
//!     },
//!     None => { /* nobody signed in yet: sign the user in interactively */ }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Add `tokio = { version = "1", features = ["macros", "rt-multi-thread"] }` to your
//! `Cargo.toml` for `#[tokio::main]`; msal-rs itself needs only a Tokio runtime.
//!
//! ## The whole pattern in one call
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), msal::Error> {
//! let app = msal::PublicClientApplication::builder("<client-id>")
//!     .authority("https://login.microsoftonline.com/organizations")
//!     .cache(msal::cache::FileCache::new("token_cache.json"))
//!     .build()?;
//! // The cache, else the refresh token, else the browser, else (no browser can be opened)
//! // the device code flow, its message printed on stderr.
//! let token = app.acquire_token(["User.Read"]).print_device_code().await?;
//! println!("from {}, expires {}", token.acquisition(), token.expires_on_utc());
//! # Ok(())
//! # }
//! ```
//! [`AuthenticationResult::acquisition`] tells a cache hit, a refresh and a sign-in apart
//! ([`Acquisition`]); [`AuthenticationResult::expires_on_utc`] prints as RFC 3339
//! ([`UtcTime`]). Use [`AcquireToken::device_code_fallback`] to show the device code your
//! own way.
//!
//! ## Choices
//! - [`TokenSource`] keeps its meaning (did this call use the network?), so code matching
//!   `TokenSource::IdentityProvider` after a refresh keeps working; the finer [`Acquisition`]
//!   is a separate accessor rather than a new `TokenSource` variant.
//! - [`AuthenticationResult::expires_on_utc`] prints whole seconds in UTC, as the cache and
//!   the wire hold them.
//! - A request's [`AcquireToken::device_code_fallback`] (or `print_device_code`) overrides the
//!   application's [`PublicClientApplicationBuilder::device_code_fallback`]; concurrent calls
//!   sharing one prompt show the code through the first caller's callback.
//!
//! ## Signing in
//! - [`PublicClientApplication::acquire_token`] does the whole pattern in one call: silent, and
//!   on "interaction required" an interactive sign-in. Concurrent callers needing the user share
//!   one prompt.
//! - [`PublicClientApplication::acquire_token_interactive`]: authorization code with PKCE
//!   (S256), `state` and `nonce`, through a [`WebUi`]. The default is [`SystemBrowser`]: the
//!   platform's browser (or `$BROWSER`, or a callback of yours) redirected to a listener bound
//!   to loopback only, which accepts one request and checks `state` in constant time.
//! - [`PublicClientApplication::acquire_token_with_device_code`]: for sessions without a
//!   browser. `acquire_token` falls back to it where no browser can be opened, if the app set
//!   [`PublicClientApplicationBuilder::device_code_fallback`].
//!
//! ## Daemons, web apps and web APIs
//! [`ConfidentialClientApplication`] holds a credential of its own: a client secret, a
//! [`ClientCertificate`] (client assertion JWTs, see [`credential`]) or an assertion callback
//! (workload identity federation). It serves, cache-first like everything else:
//! - [`ConfidentialClientApplication::acquire_token_for_client`]: the app's own tokens, cached
//!   per client and tenant (a per-request tenant is allowed), with `refresh_in` honoured in the
//!   background and an opt-in regional endpoint;
//! - [`ConfidentialClientApplication::acquire_token_on_behalf_of`]: an API calling another API
//!   as its caller, cached per hash of the incoming assertion (see [`on_behalf_of`]);
//! - web app sign-in with [`ConfidentialClientApplication::authorization_request`] and
//!   [`ConfidentialClientApplication::acquire_token_by_auth_code_flow`] (see [`auth_code`]),
//!   then [`ConfidentialClientApplication::acquire_token_silent`] per user.
//!
//! Its cache is partitioned (app tokens per client and tenant, user tokens per home account,
//! on-behalf-of tokens per assertion), in memory and in partitioned stores such as
//! `msal::cache::RedisCache` (feature `redis` of `msal-cache`) or `msal::cache::SqliteCache`
//! (feature `sqlite`, one host), so a request never copies or writes other users' tokens. Where a
//! 429/5xx comes without `Retry-After`, identical requests are blocked for 5 s (a service
//! retries for many users at once; a public client waits 60 s).
//!
//! ## Managed identity
//! [`ManagedIdentityApplication`] acquires tokens for the Azure resource the code runs on (a VM,
//! App Service, Functions, Container Apps, Azure Arc, Service Fabric, Azure Machine Learning,
//! Cloud Shell) with no secret, cache-first like everything else; see [`managed_identity`] for
//! each source, its detection rule and its limits. Its cache entries are MSAL Python's, so a
//! cache file is shared with its `ManagedIdentityClient`.
//!
//! ## Workload identity (AKS)
//! [`ConfidentialClientApplication::workload_identity`] builds a confidential client from
//! `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST` and the token in
//! `AZURE_FEDERATED_TOKEN_FILE`, read again when the kubelet rotates it; see
//! [`workload_identity`] for its rules and errors.
//!
//! ## Behaviour worth knowing
//! - **Runtime**: async on Tokio. Refreshes run as spawned tasks so they finish even when the
//!   caller goes away. Outside a Tokio runtime the futures still work, but they are driven by
//!   the callers, and proactive background refresh is skipped.
//! - **Time**: the [`Clock`] set with [`PublicClientApplicationBuilder::clock`] is the one
//!   source of "now" (every expiry and throttling decision) and of every deliberate pause: the
//!   delay before an HTTP retry, the device code flow's polling interval and deadline, and
//!   managed identity's retry backoff. With the system clock those pauses are Tokio's timer; a
//!   [`ManualClock::with_auto_advance`] instead moves its time by each pause and goes on at
//!   once, so a test of retries or polling takes no real time. Not through the clock: the two
//!   timeouts that race real work, [`PublicClientApplicationBuilder::max_refresh_wait`] and
//!   [`PublicClientApplicationBuilder::refresh_lock_wait`], stay on Tokio's timer (test them
//!   with Tokio's paused time), as do the transport's timeouts.
//! - **Cache format**: MSAL's unified JSON schema, shared with MSAL.NET, Python and Node; both
//!   dialects read, Python's written, unknown fields kept (see [`msal_cache`]).
//! - **Single-flight**: concurrent silent calls that need the same refresh share one HTTP
//!   request and its result. The refresh runs to completion even if the callers go away, so a
//!   rotated refresh token is never lost.
//! - **Proactive refresh**: a token whose `refresh_on` has passed is still served, and one
//!   background refresh replaces it.
//! - **Errors**: `invalid_grant` (unless `client_mismatch`/`protection_policy_required`),
//!   `interaction_required`, `consent_required`, `login_required`, and a cache without a usable
//!   refresh token are "UI required"; other OAuth errors are [`Error::Service`]. A failed
//!   refresh never deletes anything from the cache.
//! - **Throttling** (MSAL.NET's rules): one retry after 1 s on 5xx or timeout; `Retry-After`
//!   (capped at 1 h) and 429/5xx (60 s) block identical requests locally; a UI-required answer
//!   is replayed for 120 s to identical requests with the same refresh token. A request that
//!   timed out blocks identical ones for the same 60 s (5 s in a confidential client): they
//!   fail fast with the timeout instead of waiting it out again.
//! - **Faults near expiry**: a token inside the 5-minute buffer but not yet expired is returned
//!   when the refresh fails *transiently* ([`Error::is_transient`]: the network, a timeout, a
//!   5xx, a 429, an answer that is not the identity provider's, another process still
//!   refreshing), or hangs longer than
//!   [`PublicClientApplicationBuilder::max_refresh_wait`] (the refresh then completes in the
//!   background). A permanent answer (`invalid_client`, `invalid_scope`, any OAuth error that
//!   is not "interaction required", "interaction required" itself, a user mismatch) is
//!   returned at once, as MSAL Python does: the old token would hide a misconfigured or
//!   disabled app for up to five minutes.
//! - **A refresh token is never redeemed twice**, in one process or across processes sharing a
//!   cache: a process that cannot get the cache's refresh lock within the longest a holder can
//!   take fails with the transient [`Error::RefreshInProgress`] instead of redeeming it (see
//!   [`PublicClientApplicationBuilder::refresh_lock_wait`]). Entra ID (and B2C, External ID,
//!   ADFS) keeps a refresh token valid after issuing the next one, so a redemption that timed
//!   out is retried. Other OpenID Connect providers may rotate refresh tokens with reuse
//!   detection (Auth0 and Okta revoke the whole family when a used one comes back): for them a
//!   refresh token is sent at most once, with no retry, and its redemption is recorded in the
//!   cache before it is sent; if no answer arrives (a timeout, a process that ended mid-
//!   request), the token is not sent again and the call reports "interaction required"
//!   ([`UiRequiredReason::RefreshOutcomeUnknown`]).
//! - **Scopes**: case-insensitive; `openid`, `profile`, `offline_access` are always sent and
//!   never matched on; at least one other scope is required. A requested `.../.default` scope
//!   is remembered on the cached token, since Entra answers with the resource's scope list.
//! - **Realms**: for `common`/`organizations`, tokens are cached and refreshed under the
//!   account's home tenant (as MSAL.NET does); lookups also find MSAL Python's `common` entries.
//! - **Cost of a hit**: an app asks for the same token before every call it makes, so a
//!   repeated silent hit (a user's token, or an app token from
//!   [`ConfidentialClientApplication::acquire_token_for_client`]) is served from a memo of
//!   recent hits (256 slots, lock-free): one hash
//!   probe, the expiry check and one reference count, about 0.2 µs (see `BENCHMARKS.md`).
//!   A memo entry is only used while the in-memory cache it was built from is current (the
//!   store is still asked "unchanged?" on every call: a `stat` for a file) and writes empty
//!   it, so it never answers differently from the full lookup. Results share the token data
//!   ([`AuthenticationResult`] is cheap to clone) and silent requests borrow the app and the
//!   account: threads sharing an app contend on nothing but the result's reference count.

mod builder;
mod builder_setters;
mod cache_access;
mod client_core;
mod confidential_client;
mod correlation;
pub mod credential;
mod endpoints;
mod engine;
mod error;
mod flows;
mod hit_memo;
pub mod managed_identity;
mod partition_map;
mod public_client;
mod request;
mod result;
mod scrub;
mod single_flight;
mod token_request;
mod utc_time;
pub mod workload_identity;
mod write_back;

pub use flows::{auth_code, on_behalf_of};

pub use auth_code::{
    AcquireTokenByAuthorizationCode, AuthorizationCodeFlow, AuthorizationRequestBuilder,
};
pub use builder::{
    PublicClientApplicationBuilder, DEFAULT_AUTHORITY, DEFAULT_EXPIRY_BUFFER,
    DEFAULT_MAX_REFRESH_WAIT,
};
pub use confidential_client::{
    ConfidentialClientApplication, ConfidentialClientApplicationBuilder,
};
pub use credential::{AssertionError, AssertionRequest, ClientCertificate, JwtSignature};
pub use error::{Error, ServiceError, SharedError, UiRequiredError, UiRequiredReason};
pub use flows::acquire::AcquireToken;
pub use flows::app_token::AcquireTokenForClient;
pub use flows::device_code::{AcquireTokenWithDeviceCode, DeviceCodeCallback};
pub use flows::interactive::{AcquireTokenInteractive, Prompt};
pub use flows::on_behalf_of::AcquireTokenOnBehalfOf;
pub use managed_identity::{
    AcquireTokenForManagedIdentity, ManagedIdentityApplication, ManagedIdentityApplicationBuilder,
    ManagedIdentityEnvironment, ManagedIdentityError, ManagedIdentityErrorKind, ManagedIdentityId,
    ManagedIdentityRetryPolicy, ManagedIdentitySource,
};
pub use msal_core::{
    Account, Authority, Clock, ManualClock, OAuthError, Secret, SystemClock,
    UiRequiredClassification,
};
pub use msal_interactive::{DeviceCodeInfo, SystemBrowser, WebUi, WebUiError};
pub use public_client::{AcquireTokenSilent, PublicClientApplication};
pub use result::{Acquisition, AuthenticationResult, TokenSource};
pub use utc_time::UtcTime;
pub use workload_identity::{WorkloadIdentityEnvironment, WorkloadIdentityError};

/// The token cache crate: stores ([`cache::FileCache`], [`cache::MemoryCache`]), the
/// [`cache::CacheStore`] trait to keep the cache anywhere else, and the schema.
#[doc(inline)]
pub use msal_cache as cache;
pub mod http;
