//! The device code flow's user-facing part (RFC 8628).
//!
//! The types live in [`msal_core::device_code`] (protocol parsing, no I/O); they are re-exported
//! here so `msal_interactive::device_code::*` and `msal_interactive::DeviceCodeInfo` keep working.

pub use msal_core::device_code::{
    DeviceAuthorizationResponse, DeviceCodeError, DeviceCodeInfo, DEFAULT_POLLING_INTERVAL,
};
