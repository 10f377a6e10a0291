//! The JSON writer of [`TokenCache::to_json`](super::TokenCache::to_json).
//!
//! Hand-written: `cargo bench -p msal-cache --bench cache_file -- cache_save` took 5.04-5.81 s
//! for 100,000 accounts through serde_json's `PrettyFormatter` and takes 0.57-0.67 s with this
//! writer (BENCHMARKS.md, "Cache files, memory and account listing"): serde_json escapes every
//! string byte by byte through a table, which was 81% of a save's instructions, and secrets are
//! most of the bytes. It writes serde_json's pretty layout byte for byte (the test
//! `own_json_writer_matches_serde_json_pretty_byte_for_byte` compares them), so files stay
//! what they always were.

use serde::Serialize;
use serde_json::Value;

use crate::schema::write::FieldSink;

/// The JSON writer of [`TokenCache::to_json`]: serde_json's pretty layout (4-space indent),
/// byte for byte, but strings that need no escaping are copied whole. serde_json escapes byte
/// by byte through a table, which was 80% of a save: secrets are most of the bytes.
pub(super) struct JsonOut {
    out: Vec<u8>,
    depth: usize,
    /// Whether the object being written has no member yet.
    first: bool,
}

impl JsonOut {
    /// A writer whose buffer is sized for about `size` bytes.
    pub(super) fn with_capacity(size: usize) -> Self {
        JsonOut {
            out: Vec::with_capacity(size),
            depth: 0,
            first: true,
        }
    }

    /// What was written.
    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn newline(&mut self) {
        self.out.push(b'\n');
        for _ in 0..self.depth {
            self.out.extend_from_slice(b"    ");
        }
    }

    /// An object whose members `body` writes.
    pub(super) fn object(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), std::convert::Infallible>,
    ) -> Result<(), std::convert::Infallible> {
        self.out.push(b'{');
        self.depth += 1;
        self.first = true;
        let _ = body(self);
        self.depth -= 1;
        if !self.first {
            self.newline();
        }
        self.out.push(b'}');
        self.first = false;
        Ok(())
    }

    pub(super) fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.newline();
        self.string(key);
        self.out.extend_from_slice(b": ");
    }

    fn string(&mut self, s: &str) {
        // No early exit, so that the check vectorizes: most strings are scanned to the end anyway.
        let needs_escape = s.bytes().fold(false, |acc, b| {
            acc | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if needs_escape {
            // serde_json's own escaping, as every string was written before.
            let _ = serde_json::to_writer(&mut self.out, s);
        } else {
            self.out.push(b'"');
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(b'"');
        }
    }

    /// Any JSON value, laid out by serde_json and indented to the current depth (a newline in
    /// its output is always between tokens: strings escape theirs).
    pub(super) fn json_value(&mut self, v: &Value) {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let _ = v.serialize(&mut serde_json::Serializer::with_formatter(&mut buf, fmt));
        for &b in &buf {
            self.out.push(b);
            if b == b'\n' {
                for _ in 0..self.depth {
                    self.out.extend_from_slice(b"    ");
                }
            }
        }
    }
}

impl FieldSink for JsonOut {
    type Error = std::convert::Infallible;
    fn string(&mut self, name: &str, value: &str) -> Result<(), Self::Error> {
        self.key(name);
        JsonOut::string(self, value);
        Ok(())
    }
    fn null(&mut self, name: &str) -> Result<(), Self::Error> {
        self.key(name);
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn value(&mut self, name: &str, value: &Value) -> Result<(), Self::Error> {
        self.key(name);
        self.json_value(value);
        Ok(())
    }
}
