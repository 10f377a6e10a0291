//! Deterministic unified-schema token caches with `n` signed-in accounts.
//!
//! Written the way MSAL Python 1.x writes its `SerializableTokenCache` (keys, fields, value
//! conventions; see the shared spec §1), minus the `indent=4` whitespace: every library parses
//! compact JSON, and the smaller file keeps 100,000 accounts loadable by MSAL Node (a V8 string
//! holds at most 2^29 - 24 characters).
//!
//! Per account `i` (home account id `{uid}.{utid}`):
//! - an AccessToken (a JWT-shaped secret of about [`ACCESS_TOKEN_LEN`] characters) for
//!   [`CACHED_TARGET`], what Entra grants when an app asks for `User.Read`;
//! - a RefreshToken ([`REFRESH_TOKEN_LEN`] characters, opaque like Entra's);
//! - an IdToken (about 1.1 KB): a JWT whose header and payload are real base64url JSON (`oid`,
//!   `tid`, `sub`, `preferred_username`, `iss`, `aud`, `exp`...), since MSAL Node and MSAL
//!   Python decode it;
//! - an Account entry.
//!
//! plus one AppMetadata entry. Nothing depends on the clock or on randomness: the same
//! arguments always give the same bytes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// The application (client) id of every entry.
pub const CLIENT_ID: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
/// The tenant: every account's `utid` and every tenant-bound entry's `realm`.
pub const TENANT_ID: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
/// The authority host, as MSAL Python stores it.
pub const ENVIRONMENT: &str = "login.microsoftonline.com";
/// The cached access token's scopes, sorted the way MSAL Python sorts them (ordinal).
pub const CACHED_TARGET: &str = "User.Read email openid profile";
/// The scope the benchmarks request: a strict subset of [`CACHED_TARGET`].
pub const REQUESTED_SCOPE: &str = "User.Read";
/// Default `expires_on` of the access tokens: 2035-01-01T00:00:00Z, a fixed date so fixtures
/// are byte-identical whenever they are generated. Not later: msal-rs (like MSAL.NET, #1806)
/// treats a token claiming to live more than 10 years as corrupt, so a year-2100 expiry would
/// turn every hit into a refresh.
pub const DEFAULT_EXPIRES_ON: u64 = 2_051_222_400;
/// `cached_at` (and `iat`/`nbf` of the tokens): 2023-11-14T22:13:20Z.
pub const CACHED_AT: u64 = 1_700_000_000;
/// Approximate length of each access token secret (base64 rounding may take a character or
/// two off).
pub const ACCESS_TOKEN_LEN: usize = 1_600;
/// Length of each refresh token secret.
pub const REFRESH_TOKEN_LEN: usize = 1_200;
/// The length each ID token is padded to; its claims alone already make it longer (1,121
/// characters), so it gets no padding.
pub const ID_TOKEN_LEN: usize = 1_000;

/// The authority URL the three libraries are configured with.
pub fn authority() -> String {
    format!("https://{ENVIRONMENT}/{TENANT_ID}")
}

/// The object id (`uid`, `oid`) of account `i`.
pub fn object_id(i: usize) -> String {
    let tail = Rng::new(i as u64, 0x0b1d).next() & 0xffff_ffff_ffff;
    format!("{:08x}-aaaa-4bbb-8ccc-{tail:012x}", i as u32)
}

/// The home account id (`{uid}.{utid}`) of account `i`.
pub fn home_account_id(i: usize) -> String {
    format!("{}.{TENANT_ID}", object_id(i))
}

/// The sign-in name of account `i`.
pub fn username(i: usize) -> String {
    format!("user{i}@contoso.example")
}

/// The account the benchmarks look up in a cache of `n`: the middle one.
pub fn probe_index(n: usize) -> usize {
    n / 2
}

/// The access token secret of account `i`: a JWT-shaped string of about [`ACCESS_TOKEN_LEN`]
/// characters (the payload decodes to Graph-like claims; the signature is filler).
pub fn access_token(i: usize, expires_on: u64) -> String {
    let oid = object_id(i);
    let claims = json!({
        "aud": "00000003-0000-0000-c000-000000000000",
        "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
        "iat": CACHED_AT, "nbf": CACHED_AT, "exp": expires_on,
        "acct": 0, "acr": "1", "amr": ["pwd", "mfa"],
        "app_displayname": "msal-rs benchmark", "appid": CLIENT_ID, "appidacr": "0",
        "family_name": "User", "given_name": format!("Bench{i}"),
        "idtyp": "user", "ipaddr": "192.0.2.1", "name": format!("Bench User {i}"),
        "oid": oid, "platf": "14", "puid": format!("{:016X}", Rng::new(i as u64, 0x9d).next()),
        "scp": "email openid profile User.Read", "signin_state": ["kmsi"],
        "sub": filler(43, i as u64, 0x5b), "tenant_region_scope": "EU", "tid": TENANT_ID,
        "unique_name": username(i), "upn": username(i), "uti": filler(22, i as u64, 0x07),
        "ver": "1.0", "wids": ["b79fbf4d-3ef9-4689-8143-76b194e85509"],
        "xms_tcdt": 1_600_000_000,
    });
    jwt(claims, ACCESS_TOKEN_LEN, i as u64, 0xa7)
}

/// The refresh token secret of account `i`: opaque, [`REFRESH_TOKEN_LEN`] characters.
pub fn refresh_token(i: usize) -> String {
    let mut s = String::from("1.AXYA");
    s.push_str(&filler(REFRESH_TOKEN_LEN - s.len(), i as u64, 0x27));
    s
}

/// The ID token of account `i`: a JWT of about 1.1 KB whose payload holds
/// the claims MSAL reads (`oid`, `tid`, `sub`, `preferred_username`, `name`, `iss`, `aud`,
/// `exp`...). Not signed by anyone; no library validates a cached ID token's signature.
pub fn id_token(i: usize, expires_on: u64) -> String {
    let claims = json!({
        "aud": CLIENT_ID,
        "iss": format!("https://{ENVIRONMENT}/{TENANT_ID}/v2.0"),
        "iat": CACHED_AT, "nbf": CACHED_AT, "exp": expires_on,
        "name": format!("Bench User {i}"), "oid": object_id(i),
        "preferred_username": username(i), "rh": filler(40, i as u64, 0x33),
        "sid": filler(36, i as u64, 0x51), "sub": filler(43, i as u64, 0x5b), "tid": TENANT_ID,
        "uti": filler(22, i as u64, 0x08), "ver": "2.0",
    });
    jwt(claims, ID_TOKEN_LEN, i as u64, 0x1d)
}

/// MSAL Python's key of account `i`'s access token.
pub fn access_token_key(i: usize) -> String {
    format!(
        "{}-{ENVIRONMENT}-accesstoken-{CLIENT_ID}-{TENANT_ID}-{CACHED_TARGET}",
        home_account_id(i)
    )
    .to_lowercase()
}

/// What the generator wrote, for the runners of all three libraries: the file's sidecar
/// `<file>.meta.json` holds this.
pub fn metadata(n: usize, expires_on: u64) -> Value {
    let probe = probe_index(n);
    // The probe's values; null for an empty cache, which has no probe account.
    let some = |f: &dyn Fn(usize) -> String| {
        if n == 0 {
            Value::Null
        } else {
            f(probe).into()
        }
    };
    json!({
        "schema": "msal-bench-fixture/1",
        "accounts": n,
        "client_id": CLIENT_ID,
        "tenant_id": TENANT_ID,
        "environment": ENVIRONMENT,
        "authority": authority(),
        "cached_target": CACHED_TARGET,
        "scopes": [REQUESTED_SCOPE],
        "expires_on": expires_on,
        "probe_index": probe,
        "probe_home_account_id": some(&home_account_id),
        "probe_access_token": some(&|i| access_token(i, expires_on)),
        "probe_username": some(&username),
        "probe_local_account_id": some(&object_id),
    })
}

/// The whole cache in memory. Fine for the benches' sizes; for big `n` stream it to a file with
/// [`write_unified_cache_file`] (1,000,000 accounts is about 6 GB).
pub fn unified_cache(n: usize, expires_on: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 6_000 + 256);
    write_unified_cache(&mut out, n, expires_on).expect("writing to a Vec cannot fail");
    out
}

/// Stream the cache to `path` (and its metadata to `<path>.meta.json`); returns the cache's size
/// in bytes.
pub fn write_unified_cache_file(path: &Path, n: usize, expires_on: u64) -> io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut counted = CountingWriter {
        inner: &mut w,
        n: 0,
    };
    write_unified_cache(&mut counted, n, expires_on)?;
    let size = counted.n;
    w.flush()?;
    let mut meta = metadata(n, expires_on);
    meta["bytes"] = size.into();
    let mut meta_path = path.as_os_str().to_owned();
    meta_path.push(".meta.json");
    std::fs::write(meta_path, serde_json::to_vec_pretty(&meta)?)?;
    Ok(size)
}

/// Stream the cache to `w`, section by section, in MSAL Python's section order.
pub fn write_unified_cache<W: Write>(w: &mut W, n: usize, expires_on: u64) -> io::Result<()> {
    let exp = expires_on.to_string();
    let cached_at = CACHED_AT.to_string();
    let mut out = Out { w };

    out.raw("{\"AccessToken\":{")?;
    for i in 0..n {
        let hid = home_account_id(i);
        out.entry(
            i,
            &access_token_key(i),
            &[
                ("credential_type", "AccessToken"),
                ("secret", &access_token(i, expires_on)),
                ("home_account_id", &hid),
                ("environment", ENVIRONMENT),
                ("client_id", CLIENT_ID),
                ("target", CACHED_TARGET),
                ("realm", TENANT_ID),
                ("token_type", "Bearer"),
                ("cached_at", &cached_at),
                ("expires_on", &exp),
                ("extended_expires_on", &exp),
            ],
        )?;
    }
    out.raw("},\"Account\":{")?;
    for i in 0..n {
        let hid = home_account_id(i);
        let key = format!("{hid}-{ENVIRONMENT}-{TENANT_ID}").to_lowercase();
        out.entry(
            i,
            &key,
            &[
                ("home_account_id", &hid),
                ("environment", ENVIRONMENT),
                ("realm", TENANT_ID),
                ("local_account_id", &object_id(i)),
                ("username", &username(i)),
                ("authority_type", "MSSTS"),
                ("account_source", "authorization_code"),
            ],
        )?;
    }
    out.raw("},\"IdToken\":{")?;
    for i in 0..n {
        let hid = home_account_id(i);
        let key = format!("{hid}-{ENVIRONMENT}-idtoken-{CLIENT_ID}-{TENANT_ID}-").to_lowercase();
        out.entry(
            i,
            &key,
            &[
                ("credential_type", "IdToken"),
                ("secret", &id_token(i, expires_on)),
                ("home_account_id", &hid),
                ("environment", ENVIRONMENT),
                ("realm", TENANT_ID),
                ("client_id", CLIENT_ID),
            ],
        )?;
    }
    out.raw("},\"RefreshToken\":{")?;
    for i in 0..n {
        let hid = home_account_id(i);
        let key =
            format!("{hid}-{ENVIRONMENT}-refreshtoken-{CLIENT_ID}--{CACHED_TARGET}").to_lowercase();
        out.entry(
            i,
            &key,
            &[
                ("credential_type", "RefreshToken"),
                ("secret", &refresh_token(i)),
                ("home_account_id", &hid),
                ("environment", ENVIRONMENT),
                ("client_id", CLIENT_ID),
                ("target", CACHED_TARGET),
                ("last_modification_time", &cached_at),
            ],
        )?;
    }
    out.raw("},\"AppMetadata\":{")?;
    out.entry(
        0,
        &format!("appmetadata-{ENVIRONMENT}-{CLIENT_ID}"),
        &[("client_id", CLIENT_ID), ("environment", ENVIRONMENT)],
    )?;
    out.raw("}}")
}

/// Writes JSON pieces; strings go through serde_json so they are always escaped correctly.
struct Out<'a, W: Write> {
    w: &'a mut W,
}

impl<W: Write> Out<'_, W> {
    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.w.write_all(s.as_bytes())
    }

    fn string(&mut self, s: &str) -> io::Result<()> {
        serde_json::to_writer(&mut *self.w, s).map_err(io::Error::from)
    }

    /// `"key":{"field":"value",...}`, preceded by a comma unless it is the section's first.
    fn entry(&mut self, i: usize, key: &str, fields: &[(&str, &str)]) -> io::Result<()> {
        if i > 0 {
            self.raw(",")?;
        }
        self.string(key)?;
        self.raw(":{")?;
        for (j, (name, value)) in fields.iter().enumerate() {
            if j > 0 {
                self.raw(",")?;
            }
            self.string(name)?;
            self.raw(":")?;
            self.string(value)?;
        }
        self.raw("}")
    }
}

struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    n: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.n += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A JWT-shaped `header.payload.signature` of about `len` characters: an `aio` claim of filler
/// pads the payload, and the signature is 342 characters like an RS256 one.
fn jwt(mut claims: Value, len: usize, seed: u64, salt: u64) -> String {
    const SIG: usize = 342;
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "bench-key-1"});
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("JSON"));
    let bare = serde_json::to_vec(&claims).expect("JSON").len();
    // Payload bytes that base64url-encode to what is left of `len`, minus `,"aio":""`.
    let room = len.saturating_sub(header.len() + SIG + 2) * 3 / 4;
    let aio = room.saturating_sub(bare + 9);
    claims["aio"] = filler(aio, seed, salt ^ 0xa10).into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("JSON"));
    format!("{header}.{payload}.{}", filler(SIG, seed, salt))
}

/// `len` base64url characters drawn from a generator seeded by `(seed, salt)`.
fn filler(len: usize, seed: u64, salt: u64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = Rng::new(seed, salt);
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let mut bits = rng.next();
        for _ in 0..10 {
            if s.len() == len {
                break;
            }
            s.push(ALPHABET[(bits & 63) as usize] as char);
            bits >>= 6;
        }
    }
    s
}

/// SplitMix64: tiny, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, salt: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_payload(jwt: &str) -> Value {
        let payload = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn deterministic() {
        assert_eq!(
            unified_cache(3, DEFAULT_EXPIRES_ON),
            unified_cache(3, DEFAULT_EXPIRES_ON)
        );
        assert_ne!(unified_cache(3, DEFAULT_EXPIRES_ON), unified_cache(3, 1));
    }

    #[test]
    fn secrets_have_their_sizes_and_decode() {
        let at = access_token(7, DEFAULT_EXPIRES_ON);
        assert!(at.len().abs_diff(ACCESS_TOKEN_LEN) < 4, "{}", at.len());
        assert_eq!(decode_payload(&at)["scp"], "email openid profile User.Read");
        assert_eq!(refresh_token(7).len(), REFRESH_TOKEN_LEN);
        let idt = id_token(7, DEFAULT_EXPIRES_ON);
        assert!(
            (ID_TOKEN_LEN..ID_TOKEN_LEN + 200).contains(&idt.len()),
            "{}",
            idt.len()
        );
        let claims = decode_payload(&idt);
        assert_eq!(claims["oid"], object_id(7));
        assert_eq!(claims["tid"], TENANT_ID);
        assert_eq!(claims["preferred_username"], username(7));
        assert_eq!(claims["exp"], DEFAULT_EXPIRES_ON);
    }

    #[test]
    fn keys_and_fields_as_msal_python_writes_them() {
        let v: Value = serde_json::from_slice(&unified_cache(2, DEFAULT_EXPIRES_ON)).unwrap();
        let sections: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            sections,
            [
                "AccessToken",
                "Account",
                "IdToken",
                "RefreshToken",
                "AppMetadata"
            ]
        );
        let hid = home_account_id(1);
        let at = &v["AccessToken"][access_token_key(1)];
        assert_eq!(at["home_account_id"], hid.as_str());
        assert_eq!(at["target"], CACHED_TARGET);
        assert_eq!(at["expires_on"], DEFAULT_EXPIRES_ON.to_string());
        assert!(access_token_key(1).ends_with("-user.read email openid profile"));
        let acc_key = format!("{hid}-login.microsoftonline.com-{TENANT_ID}");
        assert_eq!(v["Account"][acc_key]["username"], username(1));
        let rt_key = format!(
            "{hid}-login.microsoftonline.com-refreshtoken-{CLIENT_ID}--user.read email openid profile"
        );
        assert_eq!(v["RefreshToken"][rt_key]["secret"], refresh_token(1));
        let idt_key = format!("{hid}-login.microsoftonline.com-idtoken-{CLIENT_ID}-{TENANT_ID}-");
        assert_eq!(
            v["IdToken"][idt_key]["secret"],
            id_token(1, DEFAULT_EXPIRES_ON)
        );
        let app = format!("appmetadata-login.microsoftonline.com-{CLIENT_ID}");
        assert_eq!(v["AppMetadata"][app]["client_id"], CLIENT_ID);
    }

    #[test]
    fn file_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let size = write_unified_cache_file(&path, 5, DEFAULT_EXPIRES_ON).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(bytes, unified_cache(5, DEFAULT_EXPIRES_ON));
        let meta: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("cache.json.meta.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["probe_home_account_id"], home_account_id(2));
        assert_eq!(meta["bytes"], size);
        assert_eq!(
            meta["probe_access_token"],
            access_token(2, DEFAULT_EXPIRES_ON)
        );
    }

    #[test]
    fn msal_rs_loads_it() {
        let bytes = unified_cache(10, DEFAULT_EXPIRES_ON);
        let cache = msal::cache::TokenCache::from_json(&bytes).unwrap();
        let accounts = cache.accounts(ENVIRONMENT, CLIENT_ID);
        assert_eq!(accounts.len(), 10);
    }
}
