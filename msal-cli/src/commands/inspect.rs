//! `msal cache inspect`: a summary of the token cache that shows no secret.
//!
//! The document is validated with [`TokenCache::from_json`] (which also gives the counts); the
//! per-account details are read from the JSON directly, field by field, and only from fields
//! that hold no secret (`secret` is never read).

use std::collections::BTreeMap;

use msal_cache::{CacheStore, Loaded, Partition, TokenCache};
use serde_json::{Map, Value};

use crate::cli::GlobalOptions;
use crate::config::{open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::{now_unix, print_stdout, relative_expiry};

/// Print the summary on stdout. Needs no client id and makes no network request.
pub(super) async fn run(global: &GlobalOptions) -> Result<(), CliError> {
    let cache = open_cache(global, KeyPolicy::Existing)?;
    let mut out = vec![
        format!("cache: {}", cache.path.display()),
        format!("kind:  {}", cache.kind),
    ];
    let bytes = match cache.store.load(Partition::All, None).await? {
        Loaded::Data { bytes, .. } => bytes,
        Loaded::Missing | Loaded::Unchanged => {
            out.push("no cache file yet: nobody has signed in".into());
            return print_stdout(&out.join("\n"));
        }
    };
    let parsed = TokenCache::from_json(&bytes).map_err(|err| {
        CliError::Other(format!(
            "the token cache {} is not valid: {err}",
            cache.path.display()
        ))
    })?;
    let doc: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|err| CliError::Other(format!("the token cache is not valid JSON: {err}")))?
    };
    drop(bytes);
    let (at, rt, idt, acc, app) = parsed.counts();
    out.push(format!(
        "entries: {} · {} · {} · {} · {}",
        plural(at, "access token"),
        plural(rt, "refresh token"),
        plural(idt, "ID token"),
        plural(acc, "account"),
        plural(app, "app metadata entry")
    ));
    out.extend(summarize(&doc, now_unix()));
    print_stdout(&out.join("\n"))
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else if let Some(stem) = what.strip_suffix("entry") {
        format!("{n} {stem}entries")
    } else {
        format!("{n} {what}s")
    }
}

/// The entries of a section (section names are matched case-insensitively, as the cache does).
fn section<'a>(doc: &'a Value, name: &str) -> Vec<&'a Map<String, Value>> {
    doc.as_object()
        .into_iter()
        .flat_map(|top| top.iter())
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .filter_map(|(_, value)| value.as_object())
        .flat_map(|entries| entries.values())
        .filter_map(Value::as_object)
        .collect()
}

/// A string field (never `secret`).
fn field<'a>(entry: &'a Map<String, Value>, name: &str) -> &'a str {
    debug_assert_ne!(name, "secret");
    entry.get(name).and_then(Value::as_str).unwrap_or("")
}

/// A Unix-seconds field, written as a string (the schema) or a number.
fn seconds(entry: &Map<String, Value>, name: &str) -> Option<u64> {
    match entry.get(name)? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Which account an entry belongs to: (home account id, environment), lowercased.
fn owner(entry: &Map<String, Value>) -> (String, String) {
    (
        field(entry, "home_account_id").to_ascii_lowercase(),
        field(entry, "environment").to_ascii_lowercase(),
    )
}

#[derive(Default)]
struct AccountSummary {
    username: String,
    home_account_id: String,
    environment: String,
    realms: Vec<String>,
}

/// The per-account lines.
fn summarize(doc: &Value, now: u64) -> Vec<String> {
    let mut accounts: BTreeMap<(String, String), AccountSummary> = BTreeMap::new();
    for entry in section(doc, "Account") {
        let summary = accounts.entry(owner(entry)).or_default();
        if summary.home_account_id.is_empty() {
            summary.home_account_id = field(entry, "home_account_id").to_owned();
            summary.environment = field(entry, "environment").to_owned();
        }
        if summary.username.is_empty() {
            summary.username = field(entry, "username").to_owned();
        }
        let realm = field(entry, "realm").to_owned();
        if !summary.realms.contains(&realm) {
            summary.realms.push(realm);
        }
    }
    let access_tokens = section(doc, "AccessToken");
    let refresh_tokens = section(doc, "RefreshToken");
    let id_tokens = section(doc, "IdToken");

    let mut out = Vec::new();
    for (key, account) in &accounts {
        out.push(String::new());
        let name = if account.username.is_empty() {
            "(no username)"
        } else {
            &account.username
        };
        out.push(format!("account {name}"));
        out.push(format!("  home account id: {}", account.home_account_id));
        out.push(format!("  environment:     {}", account.environment));
        let realms: Vec<&str> = account.realms.iter().map(|r| realm_name(r)).collect();
        out.push(format!("  realms:          {}", realms.join(", ")));
        let rts: Vec<String> = refresh_tokens
            .iter()
            .filter(|e| owner(e) == *key)
            .map(|e| match e.get("family_id").and_then(Value::as_str) {
                Some(family) if !family.is_empty() => {
                    format!("client {} (family {family})", field(e, "client_id"))
                }
                _ => format!("client {}", field(e, "client_id")),
            })
            .collect();
        out.push(format!(
            "  refresh token:   {}",
            if rts.is_empty() {
                "no".to_owned()
            } else {
                format!("yes ({})", rts.join("; "))
            }
        ));
        let id_token_count = id_tokens.iter().filter(|e| owner(e) == *key).count();
        out.push(format!(
            "  ID token:        {}",
            if id_token_count > 0 { "yes" } else { "no" }
        ));
        let mut ats: Vec<&&Map<String, Value>> =
            access_tokens.iter().filter(|e| owner(e) == *key).collect();
        ats.sort_by_key(|e| seconds(e, "expires_on").unwrap_or(0));
        if ats.is_empty() {
            out.push("  access tokens:   none".into());
        } else {
            out.push("  access tokens:".into());
            for at in ats {
                out.push(format!(
                    "    {}: client {}, realm {}, {}",
                    field(at, "target"),
                    field(at, "client_id"),
                    realm_name(field(at, "realm")),
                    seconds(at, "expires_on")
                        .map(|t| relative_expiry(t, now))
                        .unwrap_or_else(|| "expiry unknown".into())
                ));
            }
        }
    }

    let orphan = |entries: &[&Map<String, Value>]| {
        entries
            .iter()
            .filter(|e| !accounts.contains_key(&owner(e)))
            .count()
    };
    let (at, rt, idt) = (
        orphan(&access_tokens),
        orphan(&refresh_tokens),
        orphan(&id_tokens),
    );
    if at + rt + idt > 0 {
        out.push(String::new());
        out.push(format!(
            "without an account entry: {} · {} · {}",
            plural(at, "access token"),
            plural(rt, "refresh token"),
            plural(idt, "ID token")
        ));
    }
    out
}

fn realm_name(realm: &str) -> &str {
    if realm.is_empty() {
        "(none)"
    } else {
        realm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_summary_shows_scopes_and_expiry_but_no_secret() {
        let doc = json!({
            "Account": {"a": {"home_account_id": "uid.utid", "environment": "login.example",
                "realm": "utid", "username": "alice@example.com"}},
            "AccessToken": {"t": {"credential_type": "AccessToken", "secret": "AT-SECRET",
                "home_account_id": "uid.utid", "environment": "login.example",
                "client_id": "app", "realm": "utid", "target": "User.Read",
                "expires_on": "4000"}},
            "refreshtoken": {"r": {"credential_type": "RefreshToken", "secret": "RT-SECRET",
                "home_account_id": "UID.utid", "environment": "login.example",
                "client_id": "app", "family_id": "1"}},
            "IdToken": {"i": {"credential_type": "IdToken", "secret": "IDT-SECRET",
                "home_account_id": "other", "environment": "login.example"}}
        });
        let text = summarize(&doc, 1000).join("\n");
        assert!(text.contains("account alice@example.com"), "{text}");
        assert!(text.contains("User.Read: client app, realm utid, expires in 50 min"));
        assert!(text.contains("refresh token:   yes (client app (family 1))"));
        assert!(text.contains("ID token:        no"));
        assert!(text.contains("without an account entry: 0 access tokens"));
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "account"), "1 account");
        assert_eq!(plural(2, "account"), "2 accounts");
        assert_eq!(plural(0, "app metadata entry"), "0 app metadata entries");
    }
}
