//! msal-azure (docs to come)
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod challenge;
mod context;
mod public;
mod token;

pub use challenge::{claims_from_challenge, ClaimsChallengeHandler, ClaimsChallengePolicy};
pub use context::{token_request_options, Claims, Tenant};
pub use public::{
    Interaction, PublicClientCredential, PublicClientCredentialBuilder, TenantAppFactory,
    DEFAULT_SIGN_IN_HINT,
};
pub use token::{is_sign_in_required, CredentialError};
