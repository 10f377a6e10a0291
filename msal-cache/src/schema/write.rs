//! Writing entries, for the public `Serialize` of each kind and for the cache save
//! (`crate::index`).
//!
//! Written field by field in the order MSAL Python writes them, unknown fields last. An unknown
//! field that repeats a known name (only possible for entries built in code) is left out rather
//! than written as a duplicate key. Each kind lists its fields once (`write_fields`), for two
//! sinks: serde (the public `Serialize`) and the cache's own JSON writer.
//!
//! Hand-written rather than derived: the save does not go through serde (`cargo bench -p
//! msal-cache --bench cache_file -- cache_save`: 5.04-5.81 s for 100,000 accounts through
//! serde_json, 0.57-0.67 s with the cache's own writer, BENCHMARKS.md), so the field list must
//! exist as code that writes to a sink other than serde's; a derived `Serialize` beside it would
//! list every field a second time (with `serialize_with` for the string timestamps and a
//! filtered `flatten` for the unknown fields) and could drift from it.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, Extra, IdTokenEntry, RefreshTokenEntry,
    ACCESS_TOKEN_FIELDS, ACCOUNT_FIELDS, APP_METADATA_FIELDS, ID_TOKEN_FIELDS,
    REFRESH_TOKEN_FIELDS,
};

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

impl AccessTokenEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("credential_type", &self.credential_type)?;
        s.string("secret", self.secret.expose_secret())?;
        match &self.home_account_id {
            Some(h) => s.string("home_account_id", h)?,
            None => s.null("home_account_id")?,
        }
        s.string("environment", &self.environment)?;
        // MSAL Python writes a system-assigned managed identity's tokens with `client_id`
        // null (read as empty): written back as null so that it finds them (it matches
        // `client_id` by equality with `None`).
        match self.client_id.is_empty() {
            true => s.null("client_id")?,
            false => s.string("client_id", &self.client_id)?,
        }
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

impl RefreshTokenEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("credential_type", &self.credential_type)?;
        s.string("secret", self.secret.expose_secret())?;
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

impl IdTokenEntry {
    pub(crate) fn write_fields<S: FieldSink>(&self, s: &mut S) -> Result<(), S::Error> {
        s.string("credential_type", &self.credential_type)?;
        s.string("secret", self.secret.expose_secret())?;
        s.string("home_account_id", &self.home_account_id)?;
        s.string("environment", &self.environment)?;
        s.string("realm", &self.realm)?;
        s.string("client_id", &self.client_id)?;
        s.extra(&self.extra, ID_TOKEN_FIELDS)
    }
}

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
