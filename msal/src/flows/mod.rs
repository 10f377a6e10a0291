//! One module per way of getting a token. The cached flows plug into the engine
//! ([`crate::engine::CachedFlow`]); the sign-in flows end in [`sign_in::save_sign_in`].
//!
//! - [`user_silent`]: a user's token from the cache, else the cached refresh token
//!   ([`refresh_redemption`]: presenting it, and the single-use refresh-token rules).
//! - [`app_token`]: the client credentials grant (an app acting as itself).
//! - [`on_behalf_of`]: a web API calling another API as its caller.
//! - [`device_code`], [`interactive`], [`auth_code`]: signing a user in; [`sign_in`] is what
//!   they share (starting one, saving its tokens).
//! - [`acquire`]: silent first, then a sign-in, in one call.
//! - [`by_refresh_token`]: redeeming a refresh token from another library once (migration).
//! - [`username_password`]: ROPC, deprecated, for test automation only.
//! - [`long_running_obo`]: on-behalf-of for work that outlives the incoming token.
//! - [`tenant`]: the tenant a user request names (`.tenant(..)`).

pub(crate) mod acquire;
pub(crate) mod app_token;
pub mod auth_code;
pub(crate) mod bound_silent;
pub mod by_refresh_token;
pub(crate) mod device_code;
pub(crate) mod interactive;
pub mod long_running_obo;
pub mod on_behalf_of;
pub(crate) mod refresh_redemption;
pub(crate) mod sign_in;
pub(crate) mod silent_params;
pub(crate) mod tenant;
pub(crate) mod user_silent;
pub mod username_password;
