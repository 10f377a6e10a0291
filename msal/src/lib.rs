// Module map (the crate docs below are for users; this is for whoever changes the code):
//
//   apps           public_client.rs, confidential_client.rs: the application types and their
//                  request methods; builder.rs + builder_setters.rs: configuration (no I/O).
//   flows/         one module per way of getting a token: user_silent, app_token,
//                  on_behalf_of (cached, on the engine); interactive, device_code, auth_code
//                  (sign-ins, sharing sign_in); acquire (silent, then a sign-in);
//                  by_refresh_token, username_password (sign-ins by a grant);
//                  long_running_obo (on_behalf_of under a session key); tenant
//                  (the tenant a user request names).
//   extra_query.rs extra query parameters: validation, merging, where they go.
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
//   events.rs      the public observer hook (on_event): requests, retries, failures, stale
//                  tokens served; emitted by http/ (exchange, retry) and engine/.
//   issuer.rs, region.rs: the ID token `iss` check; Azure region auto-detection.
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
//! `msal::cache::RedisCache` (feature `redis` of `msal-cache`), `msal::cache::SqliteCache`
//! (feature `sqlite`, one host) or `msal::cache::PostgresCache` (feature `postgres`, a web farm
//! that runs PostgreSQL), so a request never copies or writes other users' tokens. Where a
//! 429/5xx comes without `Retry-After`, identical requests are blocked for 5 s (a service
//! retries for many users at once; a public client waits 60 s).
//!
//! ## Authorities: private clouds, regions, B2C and CIAM
//! - **Private clouds and offline hosts**:
//!   [`instance_discovery_metadata`](PublicClientApplicationBuilder::instance_discovery_metadata)
//!   takes the JSON answer of Entra's instance discovery endpoint (MSAL.NET
//!   `WithInstanceDiscoveryMetadata`), and
//!   [`known_authorities`](PublicClientApplicationBuilder::known_authorities) a list of hosts
//!   (MSAL Node `knownAuthorities`). Their hosts are trusted with no discovery request at all;
//!   an authority on any other host fails with [`AuthorityError::UntrustedAuthority`]. An
//!   OpenID Connect provider's discovery document can be supplied with
//!   [`authority_metadata`](PublicClientApplicationBuilder::authority_metadata) (MSAL Node
//!   `authorityMetadata`): it is then never fetched.
//! - **Regions**: [`ConfidentialClientApplicationBuilder::azure_region_auto_detect`] sends
//!   client credentials to the regional endpoint of the region the service runs in, from
//!   `REGION_NAME` or IMDS, else the global endpoint (see [`region`]).
//! - **B2C and CIAM** authorities sign in, refresh and sign out like Entra's, with no discovery;
//!   a B2C user flow can be chosen per request with `.policy(..)`:
//!   [`AcquireTokenSilent::policy`], [`AcquireTokenInteractive::policy`] and, for web apps,
//!   [`AuthorizationRequestBuilder::policy`] (the flow remembers it for the redemption). The
//!   device code flow has no policy: B2C does not offer it.
//! - **ID tokens of OpenID Connect authorities** must name the discovery document's issuer
//!   (`iss`); Entra's `{tenantid}` template stands for the token's own `tid`. Otherwise the
//!   sign-in fails with [`Error::IssuerMismatch`] and nothing is cached.
//!
//! ```no_run
//! # async fn run() -> Result<(), msal::Error> {
//! use msal::{ConfidentialClientApplication, PublicClientApplication};
//!
//! // A sovereign or private cloud that cannot reach login.microsoftonline.com.
//! let metadata = r#"{"metadata": [{"preferred_network": "login.contoso-cloud.example",
//!     "preferred_cache": "login.contoso-cloud.example",
//!     "aliases": ["login.contoso-cloud.example"]}]}"#;
//! let app = PublicClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
//!     .authority("https://login.contoso-cloud.example/organizations")
//!     .instance_discovery_metadata(metadata)
//!     .build()?;
//!
//! // A daemon in Azure: the regional endpoint of wherever it runs.
//! let daemon = ConfidentialClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
//!     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
//!     .client_secret(std::env::var("CLIENT_SECRET").unwrap_or_default())
//!     .azure_region_auto_detect()
//!     .build()?;
//! let token = daemon.acquire_token_for_client(["https://graph.microsoft.com/.default"]).await?;
//!
//! // B2C: the profile-editing user flow for one request.
//! let b2c = PublicClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
//!     .authority("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin")
//!     .build()?;
//! let edited = b2c.acquire_token_interactive(["https://contoso.onmicrosoft.com/api/read"])
//!     .policy("B2C_1_edit_profile")
//!     .await?;
//! # let _ = (app, token, edited);
//! # Ok(())
//! # }
//! ```
//!
//! Choices where MSAL leaves room:
//! - Known authorities and instance metadata *restrict*: with either set, only their hosts are
//!   accepted, checked at `build` and again before every request (MSAL.NET refuses an authority
//!   missing from user metadata; MSAL Node trusts `knownAuthorities`). The metadata's aliases
//!   are trusted; requests still go to the configured host and tokens are cached under it.
//! - Region detection caches its answer, a region or none, per process and IMDS endpoint: a
//!   failed probe is not repeated (each would cost up to 2 s). The IMDS host can be moved with
//!   `AZURE_POD_IDENTITY_AUTHORITY_HOST`, as for managed identity.
//! - The `iss` check applies to sign-ins (interactive, device code, authorization code) at
//!   OpenID Connect authorities, where a discovered issuer exists; Entra, B2C, CIAM and ADFS
//!   authorities have templated endpoints and per-tenant (per-policy) issuers, so they are not
//!   checked against one.
//! - A per-request B2C policy changes the endpoints and the refresh key, not the cache lookup:
//!   B2C accounts are per policy already (the home account id carries the policy).
//!
//! ## Migration and request options
//! - [`PublicClientApplication::acquire_token_by_refresh_token`] (and the confidential
//!   client's): redeem a refresh token kept by ADAL or another library once; the result is
//!   cached like a sign-in's (see [`by_refresh_token`]).
//! - `extra_query_parameters` on the application builders and every request builder (MSAL.NET's
//!   `WithExtraQueryParameters`): name-value pairs for the provider's URLs, never overriding a
//!   protocol parameter.
//! - [`PublicClientApplication::acquire_token_by_username_password`]: ROPC, deprecated, for
//!   test automation only (see [`username_password`]).
//! - [`ConfidentialClientApplication::initiate_long_running_process_in_web_api`] and
//!   [`ConfidentialClientApplication::acquire_token_in_long_running_process`]: on-behalf-of for
//!   work that outlives the incoming token (see [`long_running_obo`]).
//!
//! ```no_run
//! # async fn run(app: msal::PublicClientApplication, account: msal::Account) -> Result<(), msal::Error> {
//! let r = app.acquire_token_by_refresh_token("<refresh token>", ["User.Read"]).await?;
//! let r = app
//!     .acquire_token_silent(["User.Read"], &account)
//!     .extra_query_parameters([("dc", "ESTS-PUB-WUS2")])
//!     .await?;
//! # Ok(()) }
//! ```
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
//! ## Proof of possession and SSH certificates
//! `.proof_of_possession(..)` binds the token to a key and to one HTTP request: the result's
//! [`token_type`](AuthenticationResult::token_type) is `pop` and its access token a signed
//! HTTP request (a JWS, RS256, `typ` `pop`, holding `at`, `ts`, `m`, `u`, `p`, `nonce` and
//! `cnf.jwk`), signed anew for every call. The key is generated once per process, or the app's
//! own ([`PopKey`], [`RsaPopKey`]). `.ssh_certificate(..)` asks for an SSH certificate for a
//! public key ([`SshCertificateRequest`]). Both are cached per key id, in MSAL's own shape
//! (`token_type`, `key_id`), and never mixed with Bearer tokens; a refresh for either asks for
//! its token type again (the refresh token stays an ordinary one).
//!
//! | request | `.proof_of_possession` | `.ssh_certificate` |
//! | --- | --- | --- |
//! | [`AcquireTokenForClient`] (client credentials) | yes | yes |
//! | [`AcquireTokenOnBehalfOf`] | yes | yes |
//! | [`AcquireTokenByAuthorizationCode`] (web app sign-in) | yes | yes |
//! | [`ConfidentialClientApplication::acquire_token_silent`] | yes | yes |
//! | [`PublicClientApplication::acquire_token_silent`] | no | yes |
//! | [`AcquireTokenInteractive`], [`AcquireTokenWithDeviceCode`] | no | yes |
//!
//! A public client has no proof of possession: MSAL offers it there only through a broker
//! (WAM), which msal-rs has not. A sign-in for an SSH certificate caches the certificate, so a
//! later silent request with the same key is a cache hit.
//!
//! ```no_run
//! # async fn f(app: msal::ConfidentialClientApplication) -> Result<(), msal::Error> {
//! let r = app
//!     .acquire_token_for_client(["https://resource.example/.default"])
//!     .proof_of_possession(msal::PopRequest::new("GET", "https://resource.example/api/items")?)
//!     .await?;
//! let authorization = format!("PoP {}", r.access_token());
//! # let _ = authorization; Ok(()) }
//! ```
//!
//! Choices where MSAL is silent or differs: the generated key lives for the process and is
//! shared by its apps (as MSAL.NET's in-memory key); the SHR always carries a nonce (the given
//! one, else a random one, as MSAL.NET); entries are written with MSAL Python's `key_id` (.NET's
//! `kid` is read too) and tokens of different key ids coexist; the SSH `key_id` is also sent as
//! a form field, as MSAL Python sends it.
//!
//! ## Showing what the library is doing
//! A user interface can follow the network with an observer set on either builder,
//! [`on_event`](PublicClientApplicationBuilder::on_event): it hears each request to the identity
//! provider start ([`events::Event::Requesting`]), be retried ([`events::Event::Retrying`],
//! with the delay and attempt) or get no answer ([`events::Event::RequestFailed`], with the
//! step and URL), and a cached token inside the expiry buffer being served because the
//! provider is unreachable ([`events::Event::StaleTokenServed`]). Events carry no token, secret
//! or query string; a cache hit emits none and pays nothing for them. See [`events`]. A
//! request that got no answer also names its step and URL in the error's text
//! (`... (token request to https://.../token)`).
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
//! - **Tenants** (guest accounts, multi-tenant apps): [`AcquireTokenSilent::tenant`] (and the
//!   same on interactive and device-code sign-ins) gets the token in another tenant, cached
//!   under that tenant; [`Account::tenant_profiles`] lists the tenants an account has ID tokens
//!   in, each a [`TenantProfile`] with that tenant's claims:
//!
//!   ```no_run
//!   # async fn f(app: msal::PublicClientApplication) -> Result<(), msal::Error> {
//!   let account = app.accounts().await?.remove(0);
//!   let guest = app
//!       .acquire_token_silent(["User.Read"], &account)
//!       .tenant("fabrikam.onmicrosoft.com") // a tenant id or domain name
//!       .await?;
//!   for profile in app.account(&account.home_account_id).await?.unwrap().tenant_profiles() {
//!       println!("{} home={} oid={:?}", profile.tenant_id(), profile.is_home_tenant(), profile.oid());
//!   }
//!   # let _ = guest; Ok(()) }
//!   ```
//!
//!   Choices where MSAL is silent or differs: a named tenant is cached under the tenant as
//!   given, even a domain name (MSAL.NET's rule: the next request naming it is a hit; the same
//!   tenant asked by id and by domain is cached twice); `common`/`organizations` name the home
//!   tenant; a named tenant is never served MSAL Python's `common` entries (they are the home
//!   tenant's); the first token of a named tenant writes that tenant's account entry only when
//!   there is none (MSAL.NET writes it on every response; this keeps a sign-in's
//!   `account_source`); refreshes without a named tenant write no account entry (MSAL
//!   Python's rule, as before). Profiles come from the account entries (one per realm) with
//!   the app's ID token for each; their claims are decoded when first asked for, so listing
//!   accounts and serving tokens do not pay for them. Accounts compare equal whatever their
//!   profiles. User cache partitions stay per home account (MSAL.NET's suggested key), so
//!   sign-out clears every tenant at once; lookups inside are per tenant, and the hit memo
//!   keys by the tenant the request named.
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
pub mod events;
mod extra_query;
mod flows;
mod hit_memo;
mod issuer;
pub mod managed_identity;
mod partition_map;
mod pop;
mod public_client;
pub mod region;
mod request;
mod result;
mod scrub;
mod single_flight;
mod tenant_name;
mod token_request;
mod utc_time;
pub mod workload_identity;
mod write_back;

pub use flows::{auth_code, by_refresh_token, long_running_obo, on_behalf_of, username_password};

pub use auth_code::{
    AcquireTokenByAuthorizationCode, AuthorizationCodeFlow, AuthorizationRequestBuilder,
};
pub use builder::{
    PublicClientApplicationBuilder, DEFAULT_AUTHORITY, DEFAULT_EXPIRY_BUFFER,
    DEFAULT_MAX_REFRESH_WAIT,
};
pub use confidential_client::{
    ConfidentialClientApplication, ConfidentialClientApplicationBuilder, AZURE_REGION_AUTO_DETECT,
};
pub use credential::{AssertionError, AssertionRequest, ClientCertificate, JwtSignature};
pub use error::{Error, ServiceError, SharedError, UiRequiredError, UiRequiredReason};
pub use flows::acquire::AcquireToken;
pub use flows::app_token::AcquireTokenForClient;
pub use flows::by_refresh_token::AcquireTokenByRefreshToken;
pub use flows::device_code::{AcquireTokenWithDeviceCode, DeviceCodeCallback};
pub use flows::interactive::{AcquireTokenInteractive, Prompt};
pub use flows::long_running_obo::{
    AcquireTokenInLongRunningProcess, InitiateLongRunningProcess, LongRunningSession,
};
pub use flows::on_behalf_of::AcquireTokenOnBehalfOf;
pub use flows::username_password::AcquireTokenByUsernamePassword;
pub use managed_identity::{
    AcquireTokenForManagedIdentity, ManagedIdentityApplication, ManagedIdentityApplicationBuilder,
    ManagedIdentityEnvironment, ManagedIdentityError, ManagedIdentityErrorKind, ManagedIdentityId,
    ManagedIdentityRetryPolicy, ManagedIdentitySource,
};
pub use msal_core::{
    Account, Authority, AuthorityError, AuthorityKind, Clock, InstanceDiscoveryMetadata,
    ManualClock, OAuthError, Secret, SystemClock, TenantProfile, UiRequiredClassification,
};
pub use msal_interactive::{DeviceCodeInfo, SystemBrowser, WebUi, WebUiError};
pub use pop::{PopKey, PopKeyError, PopRequest, RsaPopKey, RsaPublicJwk, SshCertificateRequest};
pub use public_client::{AcquireTokenSilent, PublicClientApplication};
pub use result::{Acquisition, AuthenticationResult, TokenSource};
pub use utc_time::UtcTime;
pub use workload_identity::{WorkloadIdentityEnvironment, WorkloadIdentityError};

/// The token cache crate: stores ([`cache::FileCache`], [`cache::MemoryCache`]), the
/// [`cache::CacheStore`] trait to keep the cache anywhere else, and the schema.
#[doc(inline)]
pub use msal_cache as cache;
pub mod http;
