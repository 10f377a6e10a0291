//! The unified cache schema shared by MSAL.NET, MSAL Python and MSAL Node: the five entry kinds.
//!
//! Reading accepts both dialects (Python's `key_id`, `target` on refresh tokens and JSON `null`
//! home account ids; .NET's `kid`, `ext_expires_on`, missing `token_type` meaning Bearer, and
//! `client_info` on every entry). Unknown fields are kept in each entry's `extra` map and written
//! back untouched. Timestamps are strings of Unix seconds; numbers are accepted too, and anything
//! unparsable reads as 0 ("int or 0", as MSAL.NET does), which makes a token count as expired.
//!
//! String fields are [`ArcStr`]s: entries read by one load share each repeated
//! value (see the crate documentation), and cloning an entry or handing out its secret copies no
//! bytes. Build them with `.into()` from a `&str` or `String`; read them as `&str` (`&*field`,
//! `field.as_str()`) or compare them with `==` against either.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use arcstr::ArcStr;

use crate::intern::{How, Interner, Recent};

/// Unknown fields of an entry, kept for the round trip. Reads and writes like a
/// `serde_json::Map` (it dereferences to one).
///
/// Almost every entry has none, and an empty `Map` is 72 bytes inline; this is 8 (a `Box` only
/// when a field is present), which is a quarter of the per-entry metadata of a large cache.
#[derive(Clone, Default, PartialEq)]
pub struct Extra(Option<Box<Map<String, Value>>>);

static NO_FIELDS: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

impl std::ops::Deref for Extra {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        self.0.as_deref().unwrap_or(&NO_FIELDS)
    }
}

impl std::ops::DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Default::default)
    }
}

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        Extra((!map.is_empty()).then(|| Box::new(map)))
    }
}

/// An access token entry (`AccessToken` section).
#[derive(Clone)]
pub struct AccessTokenEntry {
    /// `AccessToken` (.NET writes `ATExt` for tokens with extra key components).
    pub credential_type: ArcStr,
    /// The access token.
    pub secret: ArcStr,
    /// `{uid}.{utid}`; `null` for app-only tokens (MSAL Python writes `null`).
    pub home_account_id: Option<ArcStr>,
    /// The host the token was issued by.
    pub environment: ArcStr,
    /// The client (application) id.
    pub client_id: ArcStr,
    /// The tenant.
    pub realm: ArcStr,
    /// The scopes, space-separated.
    pub target: ArcStr,
    /// When it was written (Unix seconds).
    pub cached_at: u64,
    /// When it expires (Unix seconds).
    pub expires_on: u64,
    /// Extended expiry (Unix seconds); .NET's `ext_expires_on` is read when this is absent.
    pub extended_expires_on: u64,
    /// When to refresh proactively (Unix seconds), if the server said.
    pub refresh_on: Option<u64>,
    /// Token type; absent means `Bearer` (.NET omits it).
    pub token_type: Option<ArcStr>,
    /// Fields msal-rs does not interpret (`kid`, `key_id`, `ext`, `client_info`, ...).
    pub extra: Extra,
}

fn access_token_type() -> ArcStr {
    arcstr::literal!("AccessToken")
}

impl AccessTokenEntry {
    /// Whether this entry is a plain Bearer token that a Bearer request may use: not bound to a
    /// key (`key_id`/`kid`), not carrying .NET's extra key components, not PoP or SSH.
    pub fn is_plain_bearer(&self) -> bool {
        self.credential_type.eq_ignore_ascii_case("AccessToken")
            && self
                .token_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("bearer"))
            && (self.extra.is_empty()
                || !(self.extra.contains_key("key_id")
                    || self.extra.contains_key("kid")
                    || self.extra.contains_key("ext")
                    || self.extra.contains_key("user_assertion_hash")))
    }

    /// Whether this entry is a Bearer on-behalf-of token: a plain Bearer token except that it
    /// carries the `user_assertion_hash` it was obtained with.
    pub fn is_on_behalf_of_bearer(&self) -> bool {
        self.credential_type.eq_ignore_ascii_case("AccessToken")
            && self
                .token_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("bearer"))
            && !self.extra.contains_key("key_id")
            && !self.extra.contains_key("kid")
            && !self.extra.contains_key("ext")
            && self.extra.contains_key("user_assertion_hash")
    }

    /// The extended expiry, falling back to .NET's `ext_expires_on`.
    pub fn extended_expiry(&self) -> u64 {
        if self.extended_expires_on != 0 {
            return self.extended_expires_on;
        }
        self.extra
            .get("ext_expires_on")
            .and_then(value_to_u64)
            .unwrap_or(0)
    }
}

/// A refresh token entry (`RefreshToken` section). Refresh tokens have no realm.
#[derive(Clone)]
pub struct RefreshTokenEntry {
    /// `RefreshToken`.
    pub credential_type: ArcStr,
    /// The refresh token.
    pub secret: ArcStr,
    /// `{uid}.{utid}`.
    pub home_account_id: ArcStr,
    /// The host the token was issued by.
    pub environment: ArcStr,
    /// The client (application) id.
    pub client_id: ArcStr,
    /// Scopes of the response that created it (Python writes it; informational only).
    pub target: Option<ArcStr>,
    /// When it was last rotated (Unix seconds; Python only).
    pub last_modification_time: Option<u64>,
    /// The FOCI family (`"1"`) for family refresh tokens.
    pub family_id: Option<ArcStr>,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

fn refresh_token_type() -> ArcStr {
    arcstr::literal!("RefreshToken")
}

impl RefreshTokenEntry {
    /// Whether this is a family (FOCI) refresh token.
    pub fn is_family(&self) -> bool {
        self.family_id.as_deref().is_some_and(|f| !f.is_empty())
    }
}

/// An ID token entry (`IdToken` section).
#[derive(Clone)]
pub struct IdTokenEntry {
    /// `IdToken`.
    pub credential_type: ArcStr,
    /// The raw JWT.
    pub secret: ArcStr,
    /// `{uid}.{utid}`.
    pub home_account_id: ArcStr,
    /// The host the token was issued by.
    pub environment: ArcStr,
    /// The tenant.
    pub realm: ArcStr,
    /// The client (application) id.
    pub client_id: ArcStr,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

fn id_token_type() -> ArcStr {
    arcstr::literal!("IdToken")
}

/// An account entry (`Account` section): one per home account, environment and tenant.
#[derive(Debug, Clone)]
pub struct AccountEntry {
    /// `{uid}.{utid}`.
    pub home_account_id: ArcStr,
    /// The host the account signed in at.
    pub environment: ArcStr,
    /// The tenant of this profile.
    pub realm: ArcStr,
    /// Object id in `realm` (`oid`, else `sub`).
    pub local_account_id: ArcStr,
    /// Sign-in name.
    pub username: ArcStr,
    /// `MSSTS`, `ADFS`, `MSA` or `Other`.
    pub authority_type: ArcStr,
    /// The grant that created it (Python), e.g. `authorization_code`.
    pub account_source: Option<ArcStr>,
    /// Display name (.NET writes it).
    pub name: Option<ArcStr>,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

/// An app metadata entry (`AppMetadata` section): which FOCI family a client belongs to.
#[derive(Debug, Clone)]
pub struct AppMetadataEntry {
    /// The client (application) id.
    pub client_id: ArcStr,
    /// The host.
    pub environment: ArcStr,
    /// The family, when the client is a member.
    pub family_id: Option<ArcStr>,
    /// Fields msal-rs does not interpret.
    pub extra: Extra,
}

macro_rules! redacted_debug {
    ($ty:ty, $($field:ident),*) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("secret", &"[redacted]")
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(
    AccessTokenEntry,
    home_account_id,
    environment,
    client_id,
    realm,
    target,
    expires_on,
    refresh_on
);
redacted_debug!(
    RefreshTokenEntry,
    home_account_id,
    environment,
    client_id,
    family_id,
    last_modification_time
);
redacted_debug!(IdTokenEntry, home_account_id, environment, client_id, realm);

fn value_to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    }
}

// ---- reading ---------------------------------------------------------------------------------
//
// Entries are read in two steps: the object's fields are collected as they come (strings
// borrowed from the input whenever they hold no escape), then typed by name. No `#[serde(flatten)]`
// (which buffers every field into serde's `Content` and allocates each string twice) and no
// `serde_json::Value` per entry: loading a large cache file is mostly this code. Keeping the
// collected fields also lets an entry that does not type as its kind be written back verbatim.

/// A JSON string, borrowed from the input when it holds no escape.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

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
            secret: required(secret, SECRET, strings)?,
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
            secret: required(secret, SECRET, strings)?,
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
            secret: required(secret, SECRET, strings)?,
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

// ---- writing ---------------------------------------------------------------------------------
//
// Written field by field in the order MSAL Python writes them, unknown fields last. An unknown
// field that repeats a known name (only possible for entries built in code) is left out rather
// than written as a duplicate key. Each kind lists its fields once (`write_fields`), for two
// sinks: serde (the public `Serialize`) and the cache's own JSON writer (`TokenCache::to_json`).

/// Where an entry's fields go.
pub(crate) trait FieldSink {
    type Error;
    fn string(&mut self, name: &str, value: &str) -> Result<(), Self::Error>;
    fn null(&mut self, name: &str) -> Result<(), Self::Error>;
    fn value(&mut self, name: &str, value: &Value) -> Result<(), Self::Error>;

    fn optional(&mut self, name: &str, value: Option<&str>) -> Result<(), Self::Error> {
        match value {
            Some(v) => self.string(name, v),
            None => Ok(()),
        }
    }

    /// Unix seconds as the decimal string the schema stores, without allocating.
    fn timestamp(&mut self, name: &str, v: u64) -> Result<(), Self::Error> {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut v = v;
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.string(name, std::str::from_utf8(&buf[i..]).unwrap_or("0"))
    }

    fn extra(&mut self, extra: &Extra, known: &[&str]) -> Result<(), Self::Error> {
        for (k, v) in extra.iter() {
            if !known.contains(&k.as_str()) {
                self.value(k, v)?;
            }
        }
        Ok(())
    }
}

/// The serde sink: fields as map entries.
struct MapSink<'a, M>(&'a mut M);

impl<M: SerializeMap> FieldSink for MapSink<'_, M> {
    type Error = M::Error;
    fn string(&mut self, name: &str, value: &str) -> Result<(), M::Error> {
        self.0.serialize_entry(name, value)
    }
    fn null(&mut self, name: &str) -> Result<(), M::Error> {
        self.0.serialize_entry(name, &())
    }
    fn value(&mut self, name: &str, value: &Value) -> Result<(), M::Error> {
        self.0.serialize_entry(name, value)
    }
}

const ACCESS_TOKEN_FIELDS: &[&str; 12] = &[
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "client_id",
    "realm",
    "target",
    "cached_at",
    "expires_on",
    "extended_expires_on",
    "refresh_on",
    "token_type",
];

impl AccessTokenEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("credential_type", &self.credential_type)?;
        s.string("secret", &self.secret)?;
        match &self.home_account_id {
            Some(h) => s.string("home_account_id", h)?,
            None => s.null("home_account_id")?,
        }
        s.string("environment", &self.environment)?;
        s.string("client_id", &self.client_id)?;
        s.string("realm", &self.realm)?;
        s.string("target", &self.target)?;
        s.timestamp("cached_at", self.cached_at)?;
        s.timestamp("expires_on", self.expires_on)?;
        s.timestamp("extended_expires_on", self.extended_expires_on)?;
        if let Some(v) = self.refresh_on {
            s.timestamp("refresh_on", v)?;
        }
        s.optional("token_type", self.token_type.as_deref())?;
        s.extra(&self.extra, ACCESS_TOKEN_FIELDS)
    }
}

const REFRESH_TOKEN_FIELDS: &[&str; 8] = &[
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "client_id",
    "target",
    "last_modification_time",
    "family_id",
];

impl RefreshTokenEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("credential_type", &self.credential_type)?;
        s.string("secret", &self.secret)?;
        s.string("home_account_id", &self.home_account_id)?;
        s.string("environment", &self.environment)?;
        s.string("client_id", &self.client_id)?;
        s.optional("target", self.target.as_deref())?;
        if let Some(v) = self.last_modification_time {
            s.timestamp("last_modification_time", v)?;
        }
        s.optional("family_id", self.family_id.as_deref())?;
        s.extra(&self.extra, REFRESH_TOKEN_FIELDS)
    }
}

const ID_TOKEN_FIELDS: &[&str; 6] = &[
    "credential_type",
    "secret",
    "home_account_id",
    "environment",
    "realm",
    "client_id",
];

impl IdTokenEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("credential_type", &self.credential_type)?;
        s.string("secret", &self.secret)?;
        s.string("home_account_id", &self.home_account_id)?;
        s.string("environment", &self.environment)?;
        s.string("realm", &self.realm)?;
        s.string("client_id", &self.client_id)?;
        s.extra(&self.extra, ID_TOKEN_FIELDS)
    }
}

const ACCOUNT_FIELDS: &[&str; 8] = &[
    "home_account_id",
    "environment",
    "realm",
    "local_account_id",
    "username",
    "authority_type",
    "account_source",
    "name",
];

impl AccountEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("home_account_id", &self.home_account_id)?;
        s.string("environment", &self.environment)?;
        s.string("realm", &self.realm)?;
        s.string("local_account_id", &self.local_account_id)?;
        s.string("username", &self.username)?;
        s.string("authority_type", &self.authority_type)?;
        s.optional("account_source", self.account_source.as_deref())?;
        s.optional("name", self.name.as_deref())?;
        s.extra(&self.extra, ACCOUNT_FIELDS)
    }
}

const APP_METADATA_FIELDS: &[&str; 3] = &["client_id", "environment", "family_id"];

impl AppMetadataEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("client_id", &self.client_id)?;
        s.string("environment", &self.environment)?;
        s.optional("family_id", self.family_id.as_deref())?;
        s.extra(&self.extra, APP_METADATA_FIELDS)
    }
}

macro_rules! serialize_via_fields {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                self.write_fields(&mut MapSink(&mut m))?;
                m.end()
            }
        }
    )*};
}
serialize_via_fields!(
    AccessTokenEntry,
    RefreshTokenEntry,
    IdTokenEntry,
    AccountEntry,
    AppMetadataEntry
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dialect_access_token() {
        let e: AccessTokenEntry = serde_json::from_str(
            r#"{"credential_type":"AccessToken","secret":"s","home_account_id":"u.t","environment":"login.windows.net",
                "client_id":"c","realm":"t","target":"email openid profile User.Read","cached_at":"1","expires_on":"100",
                "ext_expires_on":"200","client_info":"xyz"}"#,
        )
        .unwrap();
        assert_eq!(e.extended_expiry(), 200);
        assert!(e.is_plain_bearer());
        assert_eq!(e.extra["client_info"], "xyz");
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["client_info"], "xyz");
        assert_eq!(back["expires_on"], "100");
    }

    #[test]
    fn python_dialect_app_token_and_garbage_timestamps() {
        let e: AccessTokenEntry = serde_json::from_str(
            r#"{"credential_type":"AccessToken","secret":"s","home_account_id":null,"environment":"e",
                "client_id":"c","realm":"r","target":"a","token_type":"Bearer","expires_on":"soon","key_id":"k"}"#,
        )
        .unwrap();
        assert_eq!(e.home_account_id, None);
        assert_eq!(e.expires_on, 0);
        assert!(!e.is_plain_bearer());
        let back = serde_json::to_value(&e).unwrap();
        assert!(back["home_account_id"].is_null());
    }

    #[test]
    fn a_repeated_field_reads_as_a_json_value_would_last_one_wins() {
        // Found by the cache_loader fuzz corpus: the entry must type the same whether read
        // directly or after being written back verbatim (where repeats are already merged).
        let e: RefreshTokenEntry = serde_json::from_str(
            r#"{"secret": {"not": "a string"}, "environment": "e", "client_id": "c",
                "secret": "s2", "x": 1, "x": 2}"#,
        )
        .unwrap();
        assert_eq!(e.secret, "s2");
        assert_eq!(e.extra["x"], 2);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let e: RefreshTokenEntry = serde_json::from_str(
            r#"{"secret":"super-secret-rt","home_account_id":"h","environment":"e","client_id":"c"}"#,
        )
        .unwrap();
        assert!(!format!("{e:?}").contains("super-secret-rt"));
    }
}
