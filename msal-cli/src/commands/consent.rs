//! When a token needs a new sign-in (or consent), and the command that gives it.

use crate::cli::GlobalOptions;

/// Whether a failed silent request can be fixed by signing in: "interaction required", or an
/// answer to the refresh token that says it cannot cover the scopes (`invalid_scope`: the
/// scope was never consented to in this sign-in; `consent_required`).
pub(crate) fn needs_sign_in(err: &msal::Error) -> bool {
    err.is_ui_required()
        || err.oauth_error().is_some_and(|e| {
            matches!(
                e.error.as_str(),
                "invalid_scope" | "consent_required" | "interaction_required"
            )
        })
}

/// The `msal login` command that signs in for `scopes`, with the options that choose the
/// configuration (profile, tenant, cache) repeated, quoted for a POSIX shell.
pub(crate) fn login_command(
    global: &GlobalOptions,
    scopes: &[String],
    device_code: bool,
    login_hint: Option<&str>,
) -> String {
    let mut words: Vec<String> = vec!["msal".into()];
    if let Some(profile) = &global.profile {
        words.extend(["--profile".into(), quote(profile)]);
    }
    if let Some(tenant) = &global.tenant {
        words.extend(["--tenant".into(), quote(tenant)]);
    }
    if global.plaintext_cache {
        words.push("--plaintext-cache".into());
    }
    if let Some(cache) = &global.cache {
        words.extend(["--cache".into(), quote(&cache.display().to_string())]);
    }
    words.push("login".into());
    for scope in scopes {
        words.extend(["--scope".into(), quote(scope)]);
    }
    if device_code {
        words.push("--device-code".into());
    }
    if let Some(hint) = login_hint {
        words.extend(["--login-hint".into(), quote(hint)]);
    }
    words.join(" ")
}

/// A word for a POSIX shell: as it is when it is plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("api://e2e/read"), "api://e2e/read");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
