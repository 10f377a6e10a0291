// Module map: msal-rs as Azure SDK for Rust credentials.
//   public, confidential, managed_identity, workload_identity, chain: the credentials
//   token, context: turning results and request options into the SDK's types
//   challenge: continuous access evaluation (claims challenges)

//! # msal-azure: msal-rs as an Azure SDK for Rust credential
//!
//! Every Azure SDK for Rust client takes an `Arc<dyn azure_core::credentials::TokenCredential>`.
//! This crate implements that trait on msal-rs, which brings what `azure_identity` lacks for
//! apps acting as a user: interactive (browser) and device code sign-in, and a persistent,
//! optionally encrypted token cache shared with MSAL.NET, Python and Node, so a CLI signs in
//! once and stays signed in.
//!
//! A Key Vault secret reader (`examples/keyvault_cli.rs`):
//!
//! ```no_run
#![doc = include_str!("../examples/keyvault_cli.rs")]
//! ```
//!
//! ## The credential
//! [`PublicClientCredential`] wraps a [`msal::PublicClientApplication`] and answers each
//! `get_token` silent-first: a cached access token valid for more than 5 minutes (no network),
//! else the cached refresh token; only when neither works, the [`Interaction`] you chose:
//! [`Interaction::DeviceCode`], [`Interaction::Interactive`] (the app's web UI, by default the
//! system browser with msal's device code fallback), or [`Interaction::Fail`], an error that
//! tells the user to sign in (for a tool with its own `login` command). Concurrent requests
//! that need the user share one sign-in. The account is the one the credential signed in last,
//! else [`PublicClientCredentialBuilder::login_hint`]'s, else the only one in the cache.
//!
//! For services, [`ConfidentialClientCredential`] gets tokens for the app itself (client
//! credentials, with a secret, a certificate or a client assertion) and
//! [`OnBehalfOfCredential`] for a web API calling another API as its caller (on-behalf-of),
//! both over a [`msal::ConfidentialClientApplication`] and its token cache.
//!
//! For code running on Azure, [`ManagedIdentityCredential`] (VMs, App Service, Functions,
//! Container Apps, Arc, Service Fabric, Azure ML, Cloud Shell: no secret at all) and
//! [`WorkloadIdentityCredential`] (AKS workload identity federation). [`ChainedCredential`]
//! is the one credential for "works on my laptop and in production": environment (secret or
//! certificate) → workload identity → managed identity → the developer signed in with the
//! msal CLI; its error lists what each link tried.
//!
//! ## Scopes
//! Azure SDK clients ask for `{resource}/.default` (`https://vault.azure.net/.default`,
//! `https://storage.azure.com/.default`): the scopes go to msal-rs as given, which sends them
//! with `openid profile offline_access` and remembers the `.default` request on the cached
//! token (Entra answers with the resource's scope list), so the next `.default` request is a
//! cache hit. Several scopes are passed through the same way. A request without a scope is a
//! [`CredentialError::NoScopes`].
//!
//! ## Tenants
//! azure_core 1.x's `TokenRequestOptions` has no tenant field, only a `Context` that Azure SDK
//! clients carry from each call's `ClientMethodOptions` to the credential. Put a [`Tenant`] in
//! it (or use [`token_request_options`]) to get a token in another tenant. The confidential
//! credentials pass it to msal-rs's per-request tenant, and so does [`PublicClientCredential`]:
//! one app, the user's refresh token redeemed in the other tenant (without a prompt when the
//! user is a member or guest there) and the token cached under that tenant, never served for
//! another (a sign-in, when one is needed, happens at that tenant too). An app whose authority
//! has no tenants (ADFS, B2C, generic OpenID Connect) fails such a request with
//! [`CredentialError::TenantNotAllowed`]. Note that a bearer-token policy keeps one token
//! whatever the tenant: use one client per tenant.
//!
//! ## Continuous access evaluation (claims challenges)
//! A CAE-enabled resource answers a revoked token with `401` and
//! `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"`. The new token
//! must be requested with those claims, never from the cache. A [`Claims`] in the request
//! context does that here (msal-rs skips the cached token and sends `claims`). azure_core
//! 1.1's `BearerTokenAuthorizationPolicy` drops its token on a 401 and retries once, but only
//! through an `OnChallenge` callback, and it reads no claims itself, so:
//! - for a pipeline you build, give the policy a [`ClaimsChallengeHandler`];
//! - for an Azure SDK client with its own callback (Key Vault's parses the challenge only for
//!   the scope), add the credential's
//!   [`claims_challenge_policy`](PublicClientCredential::claims_challenge_policy) to the
//!   client's `ClientOptions::per_try_policies`: it sees the 401 before the client's policy,
//!   and the credential's next token request (the one for the retry) carries the claims. When
//!   the client's callback does not retry (Key Vault's fails on a challenge naming no
//!   resource), the call fails once and the next one gets the new token.
//!
//! To announce that the app handles claims challenges, build the app with
//! `.client_capabilities(["cp1"])`.
//!
//! ## Expiry
//! azure_core 1.1's bearer-token policy keeps the last token and asks the credential for a new
//! one when `expires_on` is 5 minutes away or less; when that request fails, it goes on
//! sending the old token until `expires_on`. msal-rs stops serving a cached token 5 minutes
//! before its real expiry ([`msal::DEFAULT_EXPIRY_BUFFER`]). So the credential reports
//! `expires_on` = real expiry − 5 minutes ([`PublicClientCredentialBuilder::expiry_margin`]):
//! the SDK never sends a token past msal's buffer, even through a refresh outage. In the 5
//! minutes before the reported expiry the policy asks on every request and gets the cached
//! token back (no network), until msal-rs refreshes it. A token msal-rs serves inside its
//! buffer (its refresh failed but the token has not expired) is reported as already expired,
//! so the SDK asks again on the next request.
//!
//! ## Errors
//! Failures are `azure_core::Error`s of kind `ErrorKind::Credential`. When msal-rs failed, its
//! [`msal::Error`] is the source (`err.downcast_ref::<msal::Error>()`). When a user must sign in
//! and the credential may not prompt, the source is [`CredentialError::SignInRequired`], whose
//! message says to sign in (your [`sign_in_hint`](PublicClientCredentialBuilder::sign_in_hint))
//! and whose own source is msal-rs's "interaction required" error, if any.
//! [`is_sign_in_required`] checks for both. No error, log line or `Debug` output carries a
//! token.
//!
//! ## Why a separate crate
//! `azure_core` is versioned with the Azure SDK. Implementing its trait in `msal` itself would
//! put azure_core's version in msal's public API, so each azure_core major release would force
//! one of msal. Here only this adapter follows azure_core; `msal` and its cache format do not.
//!
//! ## Dependencies
//! - `azure_core` without default features (plus `tokio` for its timers): only the trait and
//!   pipeline types. Its defaults add its own reqwest 0.13 HTTP client; msal-rs already has
//!   reqwest 0.12. Apps using Azure SDK clients with default features get azure_core's client
//!   anyway; the example shows an azure_core transport on reqwest 0.12 instead.
//! - `async-trait`: `TokenCredential`, `OnChallenge` and `Policy` are declared with it.
//! - `base64`, `serde_json`: decoding and checking the `claims` of a challenge.

mod chain;
mod challenge;
mod confidential;
mod context;
mod managed_identity;
mod public;
mod token;
mod workload_identity;

pub use chain::{ChainedCredential, ChainedCredentialBuilder, DEFAULT_IMDS_PROBE};
pub use challenge::{claims_from_challenge, ClaimsChallengeHandler, ClaimsChallengePolicy};
pub use confidential::{ConfidentialClientCredential, OnBehalfOfCredential};
pub use context::{token_request_options, Claims, Tenant};
pub use managed_identity::ManagedIdentityCredential;
pub use public::{
    Interaction, PublicClientCredential, PublicClientCredentialBuilder, TenantAppFactory,
    DEFAULT_SIGN_IN_HINT,
};
pub use token::{is_sign_in_required, ChainAttempt, CredentialError};
pub use workload_identity::WorkloadIdentityCredential;
