// Module map: user interfaces for signing in.
//   web_ui: the WebUi trait and the authorization response; browser: the system browser
//   loopback/ (+ loopback.rs): the loopback redirect listener (serve, http parsing)
//   device_code: what a device-code prompt shows

//! # msal-interactive
//!
//! Interactive sign-in for msal-rs: when the silent-first pipeline ends in "interaction
//! required", a [`WebUi`] shows the user the identity provider's sign-in page and brings back
//! the authorization response; on machines without a browser, the device code flow shows a
//! code to enter elsewhere.
//!
//! - [`web_ui`]: the seam. Sign-in is two steps because the redirect URI goes into the
//!   authorization URL and may only be known once the UI is ready (a loopback listener on a
//!   free port): [`WebUi::start`] prepares the UI and returns an [`AuthorizationSession`]; the
//!   caller reads [`AuthorizationSession::redirect_uri`], builds the authorization URL (with
//!   `state`, PKCE, ...) and calls [`AuthorizationSession::complete`], which shows it and
//!   returns the [`AuthorizationResponse`]. [`WebUi::authorize`] does both for a UI whose
//!   redirect URI is known in advance. The response's `state` is checked in constant time
//!   (RFC 6749 §10.12): a mismatch is refused as a possible forged, cross-site redirect.
//! - [`loopback`]: [`LoopbackListener`], the one-shot HTTP listener on a loopback address only
//!   that receives the redirect (RFC 8252 §7.3), with size caps, per-connection timeouts and
//!   customizable [`LoopbackPages`].
//! - [`browser`]: [`SystemBrowser`], the [`WebUi`] that opens the system browser (or a custom
//!   opener, or `BROWSER`) on top of a loopback listener, and [`browser_available`], the
//!   headless check used to fall back to the device code flow. Failing to open a browser is
//!   [`WebUiError::Unavailable`].
//! - [`device_code`]: [`DeviceCodeInfo`], what the user is shown in the device code flow, and
//!   the parser of the device authorization response (RFC 8628); the HTTP is the facade's.
//!
//! The authorization code never appears in logs, `Debug` output, error messages or the pages
//! served to the browser. `subtle` is a dependency for its constant-time comparison: comparing
//! `state` with `==` would let an attacker probe it byte by byte through response timing.

pub mod browser;
pub mod device_code;
pub mod loopback;
pub mod web_ui;

pub use browser::{
    browser_available, SystemBrowser, UrlNotice, UrlOpener, DEFAULT_BROWSER_TIMEOUT,
};
pub use device_code::{
    DeviceAuthorizationResponse, DeviceCodeError, DeviceCodeInfo, DEFAULT_POLLING_INTERVAL,
};
pub use loopback::{
    LoopbackHost, LoopbackListener, LoopbackPages, LoopbackRedirect, DEFAULT_CONNECTION_TIMEOUT,
    DEFAULT_CONTENT_SECURITY_POLICY,
};
pub use web_ui::{
    AuthorizationRequest, AuthorizationResponse, AuthorizationSession, WebUi, WebUiError,
};
