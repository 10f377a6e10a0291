//! Keeping the secrets a token request carried out of the errors built from its answer.
//!
//! A provider or a proxy may echo the request in its answer: an `error_description` quoting
//! the refresh token it refuses, an HTML error page quoting the form. Every error that keeps
//! server text (the OAuth error's description, claims and ids, a quoted body excerpt) is built
//! from the answer after a [`Scrubber`] made from the request's form has replaced each secret
//! of the request with `[redacted]`, in every form it can take on the wire: as sent,
//! form-urlencoded and JSON-escaped. [`crate::token_request::post_token_request`] sends every
//! grant, so this is done once, there.

use std::borrow::Cow;

use msal_core::OAuthError;

/// The form fields that hold a secret, in any grant msal-rs sends.
pub(crate) const SECRET_FIELDS: &[&str] = &[
    "refresh_token",
    "code",
    "code_verifier",
    "client_assertion",
    "client_secret",
    "assertion",
    "device_code",
    "password",
];

/// What replaces a secret.
const REDACTED: &str = "[redacted]";

/// Secrets at least this long are replaced wherever they appear. A shorter one (test fixtures,
/// never a real token) is replaced only where it stands alone as a word, so scrubbing does not
/// mangle ordinary words of the server's text that happen to contain it.
const ANYWHERE_LEN: usize = 8;

/// Replaces the secrets of one request in the text of its answer.
pub(crate) struct Scrubber {
    /// Each secret in each of its wire forms, longest first (so a form that contains another
    /// is replaced whole).
    anywhere: Vec<String>,
    /// Short secrets, replaced as whole words only.
    words: Vec<String>,
}

impl Scrubber {
    /// A scrubber for the secrets among `form`'s fields ([`SECRET_FIELDS`]).
    pub(crate) fn for_form(form: &[(&str, &str)]) -> Self {
        let mut anywhere = Vec::new();
        let mut words = Vec::new();
        for (name, value) in form {
            if value.is_empty() || !SECRET_FIELDS.contains(name) {
                continue;
            }
            if value.len() < ANYWHERE_LEN {
                words.push((*value).to_owned());
                continue;
            }
            anywhere.push((*value).to_owned());
            anywhere.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
            if let Ok(json) = serde_json::to_string(value) {
                let escaped = json.trim_matches('"').to_owned();
                anywhere.push(escaped.replace('/', "\\/"));
                anywhere.push(escaped);
            }
        }
        anywhere.sort_by_key(|s| std::cmp::Reverse(s.len()));
        anywhere.dedup();
        Scrubber { anywhere, words }
    }

    /// `text` with every secret replaced.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in &self.anywhere {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
            }
        }
        if !self.words.is_empty() {
            text = self.scrub_words(text);
        }
        text
    }

    fn scrub_words<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let is_word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
        let found = text
            .split(|c: char| !is_word(c))
            .any(|w| self.words.iter().any(|s| s == w));
        if !found {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if self.words.iter().any(|s| s == word) {
                out.push_str(REDACTED);
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in text.chars() {
            if is_word(c) {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        Cow::Owned(out)
    }

    /// `body` with every secret replaced (a body that is not UTF-8 is read lossily: it is only
    /// ever parsed as JSON or quoted, and JSON is UTF-8).
    pub(crate) fn scrub_body<'a>(&self, body: &'a [u8]) -> Cow<'a, [u8]> {
        if self.anywhere.is_empty() && self.words.is_empty() {
            return Cow::Borrowed(body);
        }
        let text = String::from_utf8_lossy(body);
        match self.scrub(&text) {
            Cow::Borrowed(_) if matches!(text, Cow::Borrowed(_)) => Cow::Borrowed(body),
            scrubbed => Cow::Owned(scrubbed.into_owned().into_bytes()),
        }
    }

    /// Every text field of `error` with the secrets replaced (after JSON decoding, which may
    /// have turned an escaped secret back into plain text).
    pub(crate) fn scrub_oauth(&self, error: &mut OAuthError) {
        let fields = [
            Some(&mut error.error),
            error.error_description.as_mut(),
            error.suberror.as_mut(),
            error.claims.as_mut(),
            error.correlation_id.as_mut(),
            error.trace_id.as_mut(),
        ];
        for field in fields.into_iter().flatten() {
            if let Cow::Owned(scrubbed) = self.scrub(field) {
                *field = scrubbed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RT: &str = "0.AXEA-rt/with+odd~chars=";

    #[test]
    fn every_wire_form_of_every_secret_field_is_replaced() {
        for field in SECRET_FIELDS {
            let scrubber = Scrubber::for_form(&[("client_id", "app-id-1234"), (field, RT)]);
            let encoded: String = url::form_urlencoded::byte_serialize(RT.as_bytes()).collect();
            let text = format!("a {RT} b {encoded} c {} d", RT.replace('/', "\\/"));
            let shown = scrubber.scrub(&text);
            assert_eq!(shown, "a [redacted] b [redacted] c [redacted] d", "{field}");
            // Not a secret field: kept.
            assert!(scrubber.scrub("app-id-1234").contains("app-id-1234"));
        }
    }

    #[test]
    fn short_secrets_are_replaced_as_words_only() {
        let scrubber = Scrubber::for_form(&[("refresh_token", "rt-1")]);
        assert_eq!(
            scrubber.scrub("bad token rt-1: short rt-10"),
            "bad token [redacted]: short rt-10"
        );
        assert!(matches!(scrubber.scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn oauth_fields_and_bodies_are_scrubbed() {
        let scrubber = Scrubber::for_form(&[("client_secret", RT)]);
        let mut e = OAuthError {
            error: "invalid_client".into(),
            error_description: Some(format!("secret {RT} is wrong")),
            claims: Some(format!("{{\"x\":\"{RT}\"}}")),
            ..Default::default()
        };
        scrubber.scrub_oauth(&mut e);
        assert!(!format!("{e:?}").contains(RT), "{e:?}");
        let body = format!("<html>{RT}</html>");
        let shown = scrubber.scrub_body(body.as_bytes());
        assert_eq!(&*shown, b"<html>[redacted]</html>");
        assert!(matches!(scrubber.scrub_body(b"<html/>"), Cow::Borrowed(_)));
    }
}
