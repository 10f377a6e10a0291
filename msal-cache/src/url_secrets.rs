//! Keeping a connection URL's password out of every message (the Redis and PostgreSQL stores).

/// The password as written in the URL's user info (`scheme://user:password@host...`).
pub(crate) fn raw_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let user_info = &authority[..authority.rfind('@')?];
    Some(user_info.split_once(':')?.1)
}

/// `message` with every secret replaced by `***`.
pub(crate) fn redact(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_owned(), |m, s| m.replace(s.as_str(), "***"))
}
