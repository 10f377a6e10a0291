//! Reading entries, for the public `Deserialize` of each kind and for the cache load
//! (`crate::index`).
//!
//! Entries are read in two steps: the object's fields are collected as they come (strings
//! borrowed from the input whenever they hold no escape), then typed by name. Keeping the
//! collected fields also lets an entry that does not type as its kind be written back verbatim.
//!
//! Hand-written rather than derived: `cargo bench -p msal-cache --bench cache_file --
//! cache_load` took 1.59 s for 100,000 accounts with derived entries (`#[serde(flatten)]` for
//! the unknown fields, which buffers every field into serde's `Content` and allocates each
//! string twice, read through a `serde_json::Value` of the document) and takes 0.42-0.54 s with
//! this reader (BENCHMARKS.md, "Cache files, memory and account listing"). A derive would also
//! need a `deserialize_with` per field for the schema's leniency (numbers or garbage as
//! timestamps, "int or 0"; `null` and numbers as strings) and for the string sharing of a load
//! (`crate::intern`). What costs nothing, [`Key`], is derived.

use std::borrow::Cow;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use arcstr::ArcStr;

use super::{
    access_token_type, id_token_type, refresh_token_type, value_to_u64, AccessTokenEntry,
    AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry, ACCESS_TOKEN_FIELDS,
    ACCOUNT_FIELDS, APP_METADATA_FIELDS, ID_TOKEN_FIELDS, REFRESH_TOKEN_FIELDS,
};
use crate::intern::{How, Interner, Recent};

/// A JSON string, borrowed from the input when it holds no escape (what serde's `borrow` of a
/// `Cow<str>` does; derived, as it costs nothing over the visitor it replaced).
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct Key<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

/// One field's value as read: a string (borrowed when possible) or any other JSON value.
pub(crate) enum Field<'de> {
    Str(Cow<'de, str>),
    Other(Value),
}

impl Field<'_> {
    fn to_value(&self) -> Value {
        match self {
            Field::Str(s) => Value::String(s.as_ref().to_owned()),
            Field::Other(v) => v.clone(),
        }
    }

    /// MSAL.NET's leniency: a string, or `null` (empty), a number or a boolean as text.
    fn lenient_string(&self, how: How, strings: &mut Interner<'_>) -> Option<ArcStr> {
        match self {
            Field::Str(s) => Some(strings.store(how, s)),
            Field::Other(Value::Null) => Some(ArcStr::new()),
            Field::Other(Value::Number(n)) => Some(n.to_string().into()),
            Field::Other(Value::Bool(b)) => Some(b.to_string().into()),
            Field::Other(_) => None,
        }
    }

    /// A string or `null`; anything else does not type.
    fn optional_string(&self, how: How, strings: &mut Interner<'_>) -> Option<Option<ArcStr>> {
        match self {
            Field::Str(s) => Some(Some(strings.store(how, s))),
            Field::Other(Value::Null) => Some(None),
            Field::Other(_) => None,
        }
    }

    /// "int or 0": any value reads, unparsable ones as 0.
    fn timestamp(&self) -> u64 {
        match self {
            Field::Str(s) => s.trim().parse().unwrap_or(0),
            Field::Other(v) => value_to_u64(v).unwrap_or(0),
        }
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
        Ok(Field::Other(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
        Field::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Field::Other)
    }
}

/// An object's fields in input order.
pub(crate) type Fields<'de> = Vec<(Cow<'de, str>, Field<'de>)>;

/// The fields as a JSON object, exactly as `serde_json::Value` would have read them (a repeated
/// name keeps its first position and its last value).
pub(crate) fn fields_to_value(fields: &mut Fields<'_>) -> Value {
    let mut map = Map::new();
    for (k, v) in fields.drain(..) {
        let v = match v {
            Field::Str(s) => Value::String(s.into_owned()),
            Field::Other(v) => v,
        };
        map.insert(k.into_owned(), v);
    }
    Value::Object(map)
}

/// What [`EntrySeed`] read: an object (its fields are in the seed's buffer) or another value.
pub(crate) enum RawEntry {
    Object,
    Other(Value),
}

/// Reads one entry of a section into a reusable field buffer, so the entries of a large file
/// cost no allocation beyond what they keep.
pub(crate) struct EntrySeed<'a, 'de>(pub(crate) &'a mut Fields<'de>);

impl<'de> de::DeserializeSeed<'de> for EntrySeed<'_, 'de> {
    type Value = RawEntry;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_, 'de> {
    type Value = RawEntry;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        self.0.clear();
        while let Some(Key(k)) = map.next_key()? {
            let v: Field<'de> = map.next_value()?;
            self.0.push((k, v));
        }
        Ok(RawEntry::Object)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<RawEntry, E> {
        self.visit_str(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::String(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<RawEntry, E> {
        Ok(RawEntry::Other(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawEntry, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RawEntry::Other)
    }
}

/// The value of each of `names` (its last occurrence: a repeated name reads as a serde_json
/// `Value` would read it, last value wins), with every other field put into `extra`.
fn pick<'f, 'de, const N: usize>(
    fields: &'f Fields<'de>,
    names: &[&str; N],
    extra: &mut Map<String, Value>,
) -> [Option<&'f Field<'de>>; N] {
    let mut found = [None; N];
    for (k, v) in fields {
        match names.iter().position(|n| *n == k.as_ref()) {
            Some(i) => found[i] = Some(v),
            None => {
                extra.insert(k.as_ref().to_owned(), v.to_value());
            }
        }
    }
    found
}

/// A lenient string field, with its default when absent.
fn lenient_or(
    field: Option<&Field<'_>>,
    default: impl FnOnce() -> ArcStr,
    how: How,
    strings: &mut Interner<'_>,
) -> Option<ArcStr> {
    match field {
        Some(f) => f.lenient_string(how, strings),
        None => Some(default()),
    }
}

/// A required lenient string field.
fn required(field: Option<&Field<'_>>, how: How, strings: &mut Interner<'_>) -> Option<ArcStr> {
    field?.lenient_string(how, strings)
}

/// A string-or-null field, `None` when absent.
fn optional(
    field: Option<&Field<'_>>,
    how: How,
    strings: &mut Interner<'_>,
) -> Option<Option<ArcStr>> {
    match field {
        Some(f) => f.optional_string(how, strings),
        None => Some(None),
    }
}

// How each field is stored: secrets and what is unique per user are copied; the rest repeats
// across entries (the home account id over an account's four entries, the others over all).
const SECRET: How = How::Own;
const UNIQUE: How = How::Own;
const HOME_ACCOUNT: How = How::Shared(Recent::HomeAccount);
const ENVIRONMENT: How = How::Shared(Recent::Environment);
const CLIENT: How = How::Shared(Recent::Client);
const REALM: How = How::Shared(Recent::Realm);
const TARGET: How = How::Shared(Recent::Target);
const REPEATED: How = How::Shared(Recent::Other);

fn timestamp(field: Option<&Field<'_>>) -> u64 {
    field.map_or(0, Field::timestamp)
}

/// Typing of collected fields, one impl per entry kind.
pub(crate) trait FromFields: Sized {
    /// `None` when a required field is missing or a field has a type it cannot take. Strings
    /// that repeat across entries are taken from (and added to) `strings`.
    fn from_fields(fields: &Fields<'_>, strings: &mut Interner<'_>) -> Option<Self>;
}

impl FromFields for AccessTokenEntry {
    fn from_fields(fields: &Fields<'_>, strings: &mut Interner<'_>) -> Option<Self> {
        let mut extra = Map::new();
        let [credential_type, secret, home_account_id, environment, client_id, realm, target, cached_at, expires_on, extended_expires_on, refresh_on, token_type] =
            pick(fields, ACCESS_TOKEN_FIELDS, &mut extra);
        Some(AccessTokenEntry {
            credential_type: lenient_or(credential_type, access_token_type, REPEATED, strings)?,
            secret: required(secret, SECRET, strings)?.into(),
            home_account_id: optional(home_account_id, HOME_ACCOUNT, strings)?,
            environment: required(environment, ENVIRONMENT, strings)?,
            client_id: required(client_id, CLIENT, strings)?,
            realm: lenient_or(realm, ArcStr::new, REALM, strings)?,
            target: lenient_or(target, ArcStr::new, TARGET, strings)?,
            cached_at: timestamp(cached_at),
            expires_on: timestamp(expires_on),
            extended_expires_on: timestamp(extended_expires_on),
            refresh_on: Some(timestamp(refresh_on)).filter(|v| *v != 0),
            token_type: optional(token_type, REPEATED, strings)?,
            extra: extra.into(),
        })
    }
}

impl FromFields for RefreshTokenEntry {
    fn from_fields(fields: &Fields<'_>, strings: &mut Interner<'_>) -> Option<Self> {
        let mut extra = Map::new();
        let [credential_type, secret, home_account_id, environment, client_id, target, last_modification_time, family_id] =
            pick(fields, REFRESH_TOKEN_FIELDS, &mut extra);
        Some(RefreshTokenEntry {
            credential_type: lenient_or(credential_type, refresh_token_type, REPEATED, strings)?,
            secret: required(secret, SECRET, strings)?.into(),
            home_account_id: lenient_or(home_account_id, ArcStr::new, HOME_ACCOUNT, strings)?,
            environment: required(environment, ENVIRONMENT, strings)?,
            client_id: required(client_id, CLIENT, strings)?,
            target: optional(target, TARGET, strings)?,
            last_modification_time: Some(timestamp(last_modification_time)).filter(|v| *v != 0),
            family_id: optional(family_id, REPEATED, strings)?,
            extra: extra.into(),
        })
    }
}

impl FromFields for IdTokenEntry {
    fn from_fields(fields: &Fields<'_>, strings: &mut Interner<'_>) -> Option<Self> {
        let mut extra = Map::new();
        let [credential_type, secret, home_account_id, environment, realm, client_id] =
            pick(fields, ID_TOKEN_FIELDS, &mut extra);
        Some(IdTokenEntry {
            credential_type: lenient_or(credential_type, id_token_type, REPEATED, strings)?,
            secret: required(secret, SECRET, strings)?.into(),
            home_account_id: lenient_or(home_account_id, ArcStr::new, HOME_ACCOUNT, strings)?,
            environment: required(environment, ENVIRONMENT, strings)?,
            realm: lenient_or(realm, ArcStr::new, REALM, strings)?,
            client_id: required(client_id, CLIENT, strings)?,
            extra: extra.into(),
        })
    }
}

impl FromFields for AccountEntry {
    fn from_fields(fields: &Fields<'_>, strings: &mut Interner<'_>) -> Option<Self> {
        let mut extra = Map::new();
        let [home_account_id, environment, realm, local_account_id, username, authority_type, account_source, name] =
            pick(fields, ACCOUNT_FIELDS, &mut extra);
        Some(AccountEntry {
            home_account_id: required(home_account_id, HOME_ACCOUNT, strings)?,
            environment: required(environment, ENVIRONMENT, strings)?,
            realm: lenient_or(realm, ArcStr::new, REALM, strings)?,
            local_account_id: lenient_or(local_account_id, ArcStr::new, UNIQUE, strings)?,
            username: lenient_or(username, ArcStr::new, UNIQUE, strings)?,
            authority_type: lenient_or(authority_type, ArcStr::new, REPEATED, strings)?,
            account_source: optional(account_source, REPEATED, strings)?,
            name: optional(name, UNIQUE, strings)?,
            extra: extra.into(),
        })
    }
}

impl FromFields for AppMetadataEntry {
    fn from_fields(fields: &Fields<'_>, strings: &mut Interner<'_>) -> Option<Self> {
        let mut extra = Map::new();
        let [client_id, environment, family_id] = pick(fields, APP_METADATA_FIELDS, &mut extra);
        Some(AppMetadataEntry {
            client_id: required(client_id, CLIENT, strings)?,
            environment: required(environment, ENVIRONMENT, strings)?,
            family_id: optional(family_id, REPEATED, strings)?,
            extra: extra.into(),
        })
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a cache entry object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Fields::new();
        while let Some(Key(k)) = map.next_key()? {
            let v: Field<'de> = map.next_value()?;
            fields.push((k, v));
        }
        Ok(fields)
    }
}

macro_rules! deserialize_via_fields {
    ($ty:ty, $what:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let fields = d.deserialize_map(FieldsVisitor)?;
                <$ty>::from_fields(&fields, &mut Interner::default())
                    .ok_or_else(|| de::Error::custom(concat!("not a valid ", $what, " entry")))
            }
        }
    };
}
deserialize_via_fields!(AccessTokenEntry, "access token");
deserialize_via_fields!(RefreshTokenEntry, "refresh token");
deserialize_via_fields!(IdTokenEntry, "ID token");
deserialize_via_fields!(AccountEntry, "account");
deserialize_via_fields!(AppMetadataEntry, "app metadata");
