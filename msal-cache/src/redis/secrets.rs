//! Keeping the URL's password out of every message.

use ::redis::RedisError;

pub(super) use crate::url_secrets::{raw_password, redact};

/// A Redis error's description (kind, code and server message; the client never puts the URL
/// or replies in it, and [`redact`] removes the password in case it did).
pub(super) fn describe(err: &RedisError) -> String {
    err.to_string()
}
