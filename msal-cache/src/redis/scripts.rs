//! The Lua scripts [`RedisCache`](super::RedisCache) runs on the server, and the parsing of
//! their replies. A script runs atomically on the server, so each is one indivisible step
//! (see [Atomic writes](super#atomic-writes-compare-and-set-in-lua) for why not `WATCH`).

use std::sync::LazyLock;

use ::redis::{Script, Value};

use crate::CacheError;

/// Reads a partition: `{0}` missing, `{1, v}` still at the caller's version (`ARGV[1]`),
/// `{2, v, d}` the document and its version.
pub(super) static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {0} end
if v == ARGV[1] then return {1, v} end
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return redis.error_reply('msal-rs: cache key has a version but no data') end
return {2, v, d}
",
    )
});

/// Compare-and-set: writes `ARGV[2]` if the version is still `ARGV[1]` (`''` = the key must not
/// exist), bumps the version, sets or clears the expiry (`ARGV[3]` ms, `'0'` = none), and answers
/// `{3, new version}`. Otherwise answers like [`READ`] with `ARGV[4]` as the caller's version.
pub(super) static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then
  if not v then return {0} end
  if v == ARGV[4] then return {1, v} end
  local d = redis.call('HGET', KEYS[1], 'd')
  if not d then return redis.error_reply('msal-rs: cache key has a version but no data') end
  return {2, v, d}
end
if not v then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'v', t[1] .. string.sub('00000' .. t[2], -6))
end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
local nv = redis.call('HINCRBY', KEYS[1], 'v', 1)
if ARGV[3] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {3, nv}
",
    )
});

/// Deletes a lease only while it still holds our token.
pub(super) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Extends a lease's expiry to `ARGV[2]` ms only while it still holds our token (`ARGV[1]`):
/// `1` extended, `0` the lease is gone or someone else's.
pub(super) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});

/// What a read (or a failed compare-and-set) found.
pub(super) enum Found {
    Missing,
    Unchanged(u64),
    Data(u64, Vec<u8>),
}

/// The answer of a compare-and-set.
pub(super) enum Written {
    Done(u64),
    Conflict(Found),
}

pub(super) fn malformed() -> CacheError {
    CacheError::store("Redis: unexpected reply from the server's script")
}

/// A version or status number, sent as an integer or as a string of digits.
fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        _ => None,
    }
}

/// Parses a `{0}` / `{1, v}` / `{2, v, d}` reply. Never formats the reply (it may hold tokens).
pub(super) fn parse_found(reply: Value) -> Result<Found, CacheError> {
    let Value::Array(items) = reply else {
        return Err(malformed());
    };
    let mut items = items.into_iter();
    let tag = items.next().as_ref().and_then(as_u64);
    let version = items.next().as_ref().and_then(as_u64);
    match (tag, version, items.next()) {
        (Some(0), None, None) => Ok(Found::Missing),
        (Some(1), Some(v), None) => Ok(Found::Unchanged(v)),
        (Some(2), Some(v), Some(Value::BulkString(bytes))) => Ok(Found::Data(v, bytes)),
        _ => Err(malformed()),
    }
}

/// Parses a compare-and-set reply: `{3, new version}` or a conflict shaped like a read.
pub(super) fn parse_written(reply: Value) -> Result<Written, CacheError> {
    if let Value::Array(items) = &reply {
        if items.first().and_then(as_u64) == Some(3) {
            return match items.get(1).and_then(as_u64) {
                Some(version) if items.len() == 2 => Ok(Written::Done(version)),
                _ => Err(malformed()),
            };
        }
    }
    parse_found(reply).map(Written::Conflict)
}
