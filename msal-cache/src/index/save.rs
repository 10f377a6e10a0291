//! Saving: [`TokenCache::to_json`], the document in MSAL Python's dialect, straight from the
//! index.
//!
//! Keys are rebuilt from each entry ([`Stored::key`]), sections and entries are sorted so that
//! the output is the same on every save (stable diffs), colliding keys get a suffix rather than
//! overwrite an entry, and entries that did not parse on load are written back verbatim. The
//! bytes are written by [`super::json_out::JsonOut`]; serde's `Serialize` of the same structure
//! is kept for tests only, as the reference the writer is compared with byte for byte.

use std::borrow::Cow;
use std::collections::HashSet;

#[cfg(test)]
use serde::ser::SerializeMap;
#[cfg(test)]
use serde::Serialize;
use serde_json::{Map, Value};

use super::buckets::Bucket;
use super::cache::{TokenCache, ACCOUNT, APP, AT, IDT, RT};
use super::json_out::JsonOut;
use super::storage::{AtRecord, Section, Stored};
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};

/// What the save needs of a stored entry besides its key.
pub(super) trait Written: Stored {
    /// How the entry is written.
    fn item(&self) -> Item<'_>;
    /// Bytes of secret, to size the save buffer.
    fn secret_len(&self) -> usize {
        0
    }
}

impl Written for AtRecord {
    fn item(&self) -> Item<'_> {
        Item::At(&self.entry)
    }
    fn secret_len(&self) -> usize {
        self.entry.secret.len()
    }
}

impl Written for RefreshTokenEntry {
    fn item(&self) -> Item<'_> {
        Item::Rt(self)
    }
    fn secret_len(&self) -> usize {
        self.secret.len()
    }
}

impl Written for IdTokenEntry {
    fn item(&self) -> Item<'_> {
        Item::Idt(self)
    }
    fn secret_len(&self) -> usize {
        self.secret.len()
    }
}

impl Written for AccountEntry {
    fn item(&self) -> Item<'_> {
        Item::Account(self)
    }
}

impl Written for AppMetadataEntry {
    fn item(&self) -> Item<'_> {
        Item::App(self)
    }
}

/// A section's entries in save order with their keys: by key, ties (keys can collide when
/// fields contain `-`) by bucket name, so that the output is the same on every save. Adds an
/// estimate of their size to `size`.
pub(super) fn sorted<'a, T: Written>(
    section: &'a Section<T>,
    size: &mut usize,
) -> Vec<(String, &'a T)> {
    let mut records: Vec<(String, &T)> = section
        .iter()
        .map(|r| {
            *size += r.secret_len() + 512;
            (r.key(), r)
        })
        .collect();
    records.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| Bucket::of(a.1).name().cmp(&Bucket::of(b.1).name()))
    });
    records
}

/// One entry as written by [`TokenCache::to_json`].
pub(super) enum Item<'a> {
    At(&'a AccessTokenEntry),
    Rt(&'a RefreshTokenEntry),
    Idt(&'a IdTokenEntry),
    Account(&'a AccountEntry),
    App(&'a AppMetadataEntry),
    Verbatim(&'a Value),
}

impl Item<'_> {
    fn write(&self, w: &mut JsonOut) {
        let _ = match self {
            Item::At(e) => w.object(|w| e.write_fields(w)),
            Item::Rt(e) => w.object(|w| e.write_fields(w)),
            Item::Idt(e) => w.object(|w| e.write_fields(w)),
            Item::Account(e) => w.object(|w| e.write_fields(w)),
            Item::App(e) => w.object(|w| e.write_fields(w)),
            Item::Verbatim(v) => {
                w.json_value(v);
                Ok(())
            }
        };
    }
}

#[cfg(test)]
impl Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::At(e) => e.serialize(s),
            Item::Rt(e) => e.serialize(s),
            Item::Idt(e) => e.serialize(s),
            Item::Account(e) => e.serialize(s),
            Item::App(e) => e.serialize(s),
            Item::Verbatim(v) => v.serialize(s),
        }
    }
}

/// A section as written: keys and entries in order.
pub(super) struct SectionOut<'a>(Vec<(Cow<'a, str>, Item<'a>)>);

#[cfg(test)]
impl Serialize for SectionOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

/// The whole document as written.
pub(super) struct DocOut<'a> {
    pub(super) sections: Vec<(&'static str, SectionOut<'a>)>,
    pub(super) unknown: &'a Map<String, Value>,
}

impl DocOut<'_> {
    fn write(&self, w: &mut JsonOut) {
        let _ = w.object(|w| {
            for (name, section) in &self.sections {
                w.key(name);
                let _ = w.object(|w| {
                    for (key, item) in &section.0 {
                        w.key(key);
                        item.write(w);
                    }
                    Ok(())
                });
            }
            for (name, value) in self.unknown {
                w.key(name);
                w.json_value(value);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
impl Serialize for DocOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.sections.len() + self.unknown.len()))?;
        for (name, section) in &self.sections {
            m.serialize_entry(name, section)?;
        }
        for (name, value) in self.unknown {
            m.serialize_entry(name, value)?;
        }
        m.end()
    }
}

/// A section's entries with unique keys, and then its entries kept verbatim under their
/// original keys.
///
/// Keys join fields with `-`, which fields may contain too ("a-b" + "c" and "a" + "b-c"), and an
/// entry kept verbatim keeps its original key, which a rebuilt key may equal. Keys are only ever
/// written (readers rebuild or scan), so a taken key gets a suffix instead of overwriting an
/// entry. The order is deterministic, so the suffixes, and with them the output, are the same on
/// every save.
pub(super) fn section_out<'a, T: Written>(
    records: Vec<(String, &'a T)>,
    verbatim: Vec<(&'a str, &'a Value)>,
) -> SectionOut<'a> {
    let collides = records.windows(2).any(|w| w[0].0 == w[1].0);
    if !collides && verbatim.is_empty() {
        // The usual case: every rebuilt key is unique and nothing needs a suffix.
        return SectionOut(
            records
                .into_iter()
                .map(|(k, r)| (Cow::Owned(k), r.item()))
                .collect(),
        );
    }
    fn unique(taken: &HashSet<String>, key: &str) -> String {
        if !taken.contains(key) {
            return key.to_owned();
        }
        (2..)
            .map(|n| format!("{key}#{n}"))
            .find(|k| !taken.contains(k))
            .unwrap_or_default()
    }
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(records.len() + verbatim.len());
    let all = records
        .into_iter()
        .map(|(k, r)| (Cow::Owned(k), r.item()))
        .chain(
            verbatim
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), Item::Verbatim(v))),
        );
    for (key, item) in all {
        let key = unique(&taken, &key);
        taken.insert(key.clone());
        out.push((Cow::Owned(key), item));
    }
    SectionOut(out)
}

impl TokenCache {
    /// Serialize in MSAL Python's dialect (4-space indented JSON, keys sorted for stable diffs).
    ///
    /// Written straight from the index into one buffer sized up front; no `serde_json::Value`,
    /// and strings that need no escaping (secrets, in practice) are copied whole (see `JsonOut`).
    pub fn to_json(&self) -> Vec<u8> {
        let mut size = 256;
        let at = sorted(&self.access_tokens, &mut size);
        let account = sorted(&self.accounts, &mut size);
        let idt = sorted(&self.id_tokens, &mut size);
        let rt = sorted(&self.refresh_tokens, &mut size);
        let app = sorted(&self.app_metadata, &mut size);
        let verbatim = |name: &str| -> Vec<(&str, &Value)> {
            self.unparsed
                .iter()
                .filter(|(section, _, _)| *section == name)
                .map(|(_, key, value)| (key.as_str(), value))
                .collect()
        };
        let doc = DocOut {
            sections: vec![
                (AT, section_out(at, verbatim(AT))),
                (ACCOUNT, section_out(account, verbatim(ACCOUNT))),
                (IDT, section_out(idt, verbatim(IDT))),
                (RT, section_out(rt, verbatim(RT))),
                (APP, section_out(app, verbatim(APP))),
            ],
            unknown: &self.unknown_sections,
        };
        let mut w = JsonOut::with_capacity(size);
        doc.write(&mut w);
        w.into_bytes()
    }
}
