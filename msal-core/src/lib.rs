// Module map: protocol types, no I/O.
//   authority (+ authority_tests): authority URLs, kinds (Entra, B2C, CIAM, ADFS, OIDC), endpoints
//   instance_metadata: app-supplied instance discovery metadata and trusted (known) hosts
//   scopes: scope sets and their rules; token_response: token and OAuth error bodies
//   id_token, client_info, account, tenant_profile: who signed in; pkce: verifiers and S256 challenges
//   device_code: the device authorization response; managed_identity: its wire types
//   clock: "now" and deliberate pauses (system or manual); secret: the redacting, zeroizing Secret type;
//   shared_secret: SharedSecret, the redacting ArcStr the cache's tokens are held in

//! # msal-core
//!
//! The protocol vocabulary of [msal-rs](https://github.com/msal-rs/msal-rs), with no I/O:
//! nothing in this crate opens a socket, a file or a runtime, so it can be used anywhere
//! (a cache tool, a WebAssembly front end, a test).
//!
//! - [`authority`]: Entra ID, B2C, CIAM, ADFS and generic OpenID Connect authorities, their
//!   endpoints and Entra's host alias groups.
//! - [`instance_metadata`]: instance discovery metadata an app supplies and the hosts it trusts.
//! - [`scopes`]: case-insensitive scope sets and the reserved OpenID scopes.
//! - [`token_response`]: parsing token endpoint answers into a success or a typed error, and
//!   classifying OAuth errors ("interaction required" or not).
//! - [`id_token`] and [`client_info`]: decoding what identifies the account.
//! - [`account`]: the [`Account`] type users see.
//! - [`pkce`]: PKCE S256 and random `state`/`nonce`.
//! - [`device_code`]: the device authorization response (RFC 8628) and what the user is shown.
//! - [`clock`]: the [`Clock`] trait every expiry decision and every deliberate pause goes through.
//! - [`secret`]: [`Secret`], the type every code, verifier, assertion, key and client secret is
//!   held in (redacted in `Debug`, wiped on drop), and [`SharedSecret`], the cheap-to-clone
//!   form every cached access, refresh and ID token is held in (redacted in `Debug`).
//!
//! Secrets (access, refresh and ID tokens, PKCE verifiers) never appear in `Debug` output or
//! error messages of these types.

pub mod account;
pub mod authority;
pub mod client_info;
pub mod clock;
pub mod device_code;
pub mod id_token;
pub mod instance_metadata;
pub mod managed_identity;
pub mod pkce;
pub mod scopes;
pub mod secret;
pub mod shared_secret;
pub mod tenant_profile;
pub mod token_response;

pub use account::Account;
pub use authority::{Authority, AuthorityError, AuthorityKind, Endpoints, OidcMetadata};
pub use client_info::{ClientInfo, ClientInfoError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use id_token::{IdTokenClaims, IdTokenError};
pub use instance_metadata::{CloudAliases, InstanceDiscoveryMetadata, TrustedHosts};
pub use managed_identity::ManagedIdentityId;
pub use pkce::Pkce;
pub use scopes::{InvalidScope, ScopeSet};
pub use secret::Secret;
pub use shared_secret::SharedSecret;
pub use tenant_profile::TenantProfile;
pub use token_response::{
    parse_token_response, OAuthError, TokenResponse, TokenResponseError, UiRequiredClassification,
};
