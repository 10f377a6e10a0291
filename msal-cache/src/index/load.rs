//! Loading: [`TokenCache::from_json`], a cache document read in one pass straight into the
//! index, on two threads for a large one.
//!
//! Hand-written serde visitors (`Loader`, `SectionLoader`, and the entry reading in
//! `crate::schema::read`) instead of derived `Deserialize` of a document type: `cargo bench -p
//! msal-cache --bench cache_file -- cache_load` took 1.59 s for 100,000 accounts through a
//! derived `#[serde(flatten)]` schema and a `serde_json::Value` of the document, and takes
//! 0.42-0.54 s this way (BENCHMARKS.md, "Cache files, memory and account listing"). A derived
//! document type would also need every section's entries collected into a map before being
//! indexed, and could not keep an entry that does not type as its kind verbatim, which the
//! lossless round trip requires.
//!
//! The two-thread load cuts the top level with the scan in [`super::split`] and gives each thread
//! whole kinds; both share one table of home account ids (`crate::intern::SharedStrings`).

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::Value;

use super::cache::{TokenCache, ACCOUNT, APP, AT, IDT, RT, SECTIONS};
use super::split::split_top_level;
use crate::intern::{Interner, SharedStrings};
use crate::schema::read::{fields_to_value, EntrySeed, Fields, FromFields, Key, RawEntry};
use crate::schema::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};
use crate::CacheError;

/// Documents from this size on load on two threads (`TokenCache::from_json_split`); below
/// it, starting a thread costs about what it saves.
const SPLIT_MIN_BYTES: usize = 4 << 20;

fn invalid_json(e: &serde_json::Error) -> CacheError {
    CacheError::corrupt(
        None,
        format!("not valid JSON (line {}, column {})", e.line(), e.column()),
    )
}

impl TokenCache {
    /// Parse a serialized cache (either dialect). Data that is not a JSON object, or whose
    /// sections are not objects, is [`CacheError::Corrupt`]; single entries that do not parse
    /// are kept aside verbatim and written back unchanged.
    ///
    /// The document is read in one pass straight into the index: no `serde_json::Value` of the
    /// whole document, strings borrowed from `bytes` until an entry keeps them. A large document
    /// is read on two threads, each taking whole sections (see `from_json_split`).
    /// (A section that appears twice in one document is loaded twice, into the same cache.)
    pub fn from_json(bytes: &[u8]) -> Result<Self, CacheError> {
        if bytes.len() >= SPLIT_MIN_BYTES {
            if let Some(cache) = Self::from_json_split(bytes) {
                return Ok(cache);
            }
        }
        Self::from_json_sequential(bytes)
    }

    /// [`TokenCache::from_json`] on the calling thread alone.
    pub(super) fn from_json_sequential(bytes: &[u8]) -> Result<Self, CacheError> {
        let mut cache = TokenCache::new();
        let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
            return Ok(cache);
        };
        if *first != b'{' {
            return Err(match serde_json::from_slice::<de::IgnoredAny>(bytes) {
                Ok(_) => CacheError::corrupt(None, "the top level is not a JSON object"),
                Err(e) => invalid_json(&e),
            });
        }
        let mut bad_section = None;
        let loader = Loader {
            cache: &mut cache,
            bad_section: &mut bad_section,
        };
        // One UTF-8 check of the whole document lets serde_json skip its check of each string
        // (a sixth of a load); a document that fails it is read as bytes, to word the error.
        let parsed = match std::str::from_utf8(bytes) {
            Ok(text) => load_document(serde_json::Deserializer::from_str(text), loader),
            Err(_) => load_document(serde_json::Deserializer::from_slice(bytes), loader),
        };
        if let Err(e) = parsed {
            // Invalid JSON anywhere is reported as such, before what the structure got wrong.
            return Err(
                match (serde_json::from_slice::<de::IgnoredAny>(bytes), bad_section) {
                    (Err(syntax), _) => invalid_json(&syntax),
                    (Ok(_), Some(name)) => {
                        CacheError::corrupt(None, format!("section {name:?} is not a JSON object"))
                    }
                    (Ok(_), None) => invalid_json(&e),
                },
            );
        }
        cache.shrink();
        Ok(cache)
    }

    /// The two-thread load: the top level is split into sections by a quick scan, and the known
    /// sections are parsed on two threads, each thread taking whole kinds (all access-token
    /// sections on one, say), so each kind's entries are read in document order as on one
    /// thread and the two halves of the index never meet. Unknown sections are read here.
    ///
    /// `None` whenever anything is not as expected, JSON errors included: the caller then loads
    /// on one thread, which also words the error. So this path only ever has to get valid
    /// documents right. (A scan that splits an invalid document wrongly cannot make it load
    /// either: every piece must then parse as a whole JSON value.)
    pub(super) fn from_json_split(bytes: &[u8]) -> Option<Self> {
        let mut cache = TokenCache::new();
        let mut known: Vec<(&'static str, &[u8])> = Vec::new();
        for (key, value) in split_top_level(bytes)? {
            let name: String = serde_json::from_slice(key).ok()?;
            match SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(&name)) {
                Some(&kind) => known.push((kind, value)),
                None => {
                    let value: Value = serde_json::from_slice(value).ok()?;
                    cache.unknown_sections.insert(name, value);
                }
            }
        }
        // Kinds go to the less loaded thread, largest first.
        let mut sizes: Vec<(&'static str, usize)> = SECTIONS
            .iter()
            .map(|&kind| {
                let size = known
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, v)| v.len());
                (kind, size.sum())
            })
            .collect();
        sizes.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        let (mut my_bytes, mut their_bytes) = (0, 0);
        for (kind, size) in sizes {
            if my_bytes <= their_bytes {
                mine.push(kind);
                my_bytes += size;
            } else {
                theirs.push(kind);
                their_bytes += size;
            }
        }
        let hasher = cache.hasher.clone();
        let home_accounts = SharedStrings::default();
        let load = |kinds: &[&'static str]| -> Option<TokenCache> {
            let mut part = TokenCache {
                hasher: hasher.clone(),
                ..TokenCache::default()
            };
            let mut fields = Fields::new();
            let mut strings = Interner::with_shared(&home_accounts);
            let mut bad_section = None;
            for (kind, value) in known.iter().filter(|(k, _)| kinds.contains(k)) {
                // As in the one-thread load: one UTF-8 check, then a `str` parse.
                let value = std::str::from_utf8(value).ok()?;
                let mut de = serde_json::Deserializer::from_str(value);
                let section = SectionLoader {
                    cache: &mut part,
                    section: kind,
                    fields: &mut fields,
                    strings: &mut strings,
                    name: kind,
                    bad_section: &mut bad_section,
                };
                section.deserialize(&mut de).ok()?;
                de.end().ok()?;
            }
            Some(part)
        };
        let (mut a, mut b) = std::thread::scope(|s| {
            // A thread that cannot be started (resource limits) leaves the other half to this one.
            let other = std::thread::Builder::new().spawn_scoped(s, || load(&theirs));
            let a = load(&mine);
            let b = match other {
                Ok(handle) => handle.join().ok().flatten(),
                Err(_) => load(&theirs),
            };
            (a, b)
        });
        for (part, kinds) in [(a.as_mut()?, &mine), (b.as_mut()?, &theirs)] {
            cache.take_kinds(part, kinds);
        }
        cache.shrink();
        Some(cache)
    }

    /// Move the sections of `kinds` (the only ones `part` loaded) out of `part`.
    fn take_kinds(&mut self, part: &mut TokenCache, kinds: &[&'static str]) {
        use std::mem::take;
        for &kind in kinds {
            match kind {
                AT => {
                    self.access_tokens = take(&mut part.access_tokens);
                    self.scope_sets = take(&mut part.scope_sets);
                }
                RT => self.refresh_tokens = take(&mut part.refresh_tokens),
                IDT => self.id_tokens = take(&mut part.id_tokens),
                ACCOUNT => self.accounts = take(&mut part.accounts),
                _ => self.app_metadata = take(&mut part.app_metadata),
            }
        }
        self.unparsed.append(&mut part.unparsed);
    }

    /// Type and insert one entry; false when it does not type as its kind.
    fn load_fields(
        &mut self,
        section: &str,
        fields: &Fields<'_>,
        strings: &mut Interner<'_>,
    ) -> bool {
        match section {
            AT => AccessTokenEntry::from_fields(fields, strings)
                .map(|e| self.insert_access_token(e))
                .is_some(),
            RT => RefreshTokenEntry::from_fields(fields, strings)
                .map(|e| self.insert_refresh_token(e, true))
                .is_some(),
            IDT => IdTokenEntry::from_fields(fields, strings)
                .map(|e| self.insert_id_token(e))
                .is_some(),
            ACCOUNT => AccountEntry::from_fields(fields, strings)
                .map(|e| self.insert_account(e))
                .is_some(),
            APP => AppMetadataEntry::from_fields(fields, strings)
                .map(|e| self.insert_app_metadata(e))
                .is_some(),
            _ => false,
        }
    }
}

fn load_document<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    loader: Loader<'_>,
) -> Result<(), serde_json::Error> {
    serde::Deserializer::deserialize_map(&mut de, loader).and_then(|()| de.end())
}

/// Reads the top-level object of a cache document into a cache.
struct Loader<'c> {
    cache: &'c mut TokenCache,
    /// Set to the section's name when a known section is not an object.
    bad_section: &'c mut Option<String>,
}

impl<'de> Visitor<'de> for Loader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // One field buffer and one string table for every entry of the document.
        let mut fields = Fields::new();
        let mut strings = Interner::default();
        while let Some(Key(name)) = map.next_key()? {
            let Some(&known) = SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(&name)) else {
                let value: Value = map.next_value()?;
                self.cache.unknown_sections.insert(name.into_owned(), value);
                continue;
            };
            map.next_value_seed(SectionLoader {
                cache: &mut *self.cache,
                section: known,
                fields: &mut fields,
                strings: &mut strings,
                name: &name,
                bad_section: &mut *self.bad_section,
            })?;
        }
        Ok(())
    }
}

/// Reads one known section's entries into the cache.
struct SectionLoader<'a, 'de, 's> {
    cache: &'a mut TokenCache,
    section: &'static str,
    fields: &'a mut Fields<'de>,
    /// The load's shared strings.
    strings: &'a mut Interner<'s>,
    name: &'a str,
    bad_section: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for SectionLoader<'_, 'de, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl SectionLoader<'_, '_, '_> {
    fn not_an_object<E: de::Error>(self) -> Result<(), E> {
        *self.bad_section = Some(self.name.to_owned());
        Err(E::custom("a section is not a JSON object"))
    }
}

impl<'de> Visitor<'de> for SectionLoader<'_, 'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            match map.next_value_seed(EntrySeed(&mut *self.fields))? {
                RawEntry::Object => {
                    if !self
                        .cache
                        .load_fields(self.section, self.fields, self.strings)
                    {
                        let value = fields_to_value(self.fields);
                        self.cache
                            .unparsed
                            .push((self.section, key.into_owned(), value));
                    }
                }
                RawEntry::Other(value) => {
                    self.cache
                        .unparsed
                        .push((self.section, key.into_owned(), value))
                }
            }
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object()
    }
}
