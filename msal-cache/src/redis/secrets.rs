//! Keeping the URL's password out of every message.

use ::redis::RedisError;

/// A Redis error's description (kind, code and server message; the client never puts the URL
/// or replies in it, and [`redact`] removes the password in case it did).
pub(super) fn describe(err: &RedisError) -> String {
    err.to_string()
}

/// The password as written in the URL's user info (`scheme://user:password@host...`).
pub(super) fn raw_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let user_info = &authority[..authority.rfind('@')?];
    Some(user_info.split_once(':')?.1)
}

/// `message` with every secret replaced by `***`.
pub(super) fn redact(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_owned(), |m, s| m.replace(s.as_str(), "***"))
}
