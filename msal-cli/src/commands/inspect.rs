//! `msal cache inspect`: a summary of the token cache that shows no secret.
//!
//! The document is validated with [`TokenCache::from_json`] (which also gives the counts); the
//! per-account details are read from the JSON directly, field by field, and only from fields
//! that hold no secret (`secret` is never read).

use std::collections::BTreeMap;

use msal_cache::{CacheStore, Loaded, Partition, TokenCache};
use serde_json::{json, Map, Value};

use crate::cli::{GlobalOptions, InspectArgs};
use crate::config::{open_cache, KeyPolicy};
use crate::error::CliError;
use crate::output::{now_unix, or_null, print_json, print_stdout, relative_expiry, rfc3339_utc};

/// Print the summary on stdout (text, or JSON with `--json`). Needs no client id and makes
/// no network request.
pub(super) async fn run(global: &GlobalOptions, args: &InspectArgs) -> Result<(), CliError> {
    let cache = open_cache(global, KeyPolicy::Existing)?;
    let mut out = vec![
        format!("cache: {}", cache.path.display()),
        format!("kind:  {}", cache.kind),
    ];
    let head = |exists: bool| {
        json!({
            "cache": cache.path.display().to_string(),
            "kind": cache.kind.to_string(),
            "exists": exists,
        })
    };
    let bytes = match cache.store.load(Partition::All, None).await? {
        Loaded::Data { bytes, .. } => bytes,
        Loaded::Missing | Loaded::Unchanged => {
            if args.json {
                let mut v = head(false);
                v["counts"] = counts_json((0, 0, 0, 0, 0));
                v["accounts"] = json!([]);
                return print_json(&v);
            }
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
    let counts = parsed.counts();
    if args.json {
        let mut v = head(true);
        v["counts"] = counts_json(counts);
        let details = summary_json(&doc, now_unix());
        v["accounts"] = details["accounts"].clone();
        v["withoutAccount"] = details["withoutAccount"].clone();
        return print_json(&v);
    }
    let (at, rt, idt, acc, app) = counts;
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

/// The entry counts as JSON.
fn counts_json((at, rt, idt, acc, app): (usize, usize, usize, usize, usize)) -> Value {
    json!({
        "accessTokens": at, "refreshTokens": rt, "idTokens": idt, "accounts": acc,
        "appMetadata": app,
    })
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

/// One account's entries, as the summary shows them.
#[derive(Default)]
struct AccountSummary {
    username: String,
    home_account_id: String,
    environment: String,
    /// The tenants (the schema's `realm`) the account has profiles in; empty for a provider
    /// without tenants (any OpenID Connect provider but Entra ID).
    realms: Vec<String>,
    /// (client id, family id) of each refresh token.
    refresh_tokens: Vec<(String, Option<String>)>,
    id_token: bool,
    /// (scopes, client id, tenant, expires on) of each access token, soonest expiry first.
    access_tokens: Vec<(String, String, String, Option<u64>)>,
}

/// The cache's entries grouped by account.
struct Summary {
    accounts: Vec<AccountSummary>,
    /// Entries whose account entry is missing: access, refresh and ID tokens.
    orphans: (usize, usize, usize),
}

/// Group the cache's entries by account, from fields that hold no secret.
fn collect(doc: &Value) -> Summary {
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
        if !realm.is_empty() && !summary.realms.contains(&realm) {
            summary.realms.push(realm);
        }
    }
    let access_tokens = section(doc, "AccessToken");
    let refresh_tokens = section(doc, "RefreshToken");
    let id_tokens = section(doc, "IdToken");
    for (key, account) in accounts.iter_mut() {
        account.refresh_tokens = refresh_tokens
            .iter()
            .filter(|e| owner(e) == *key)
            .map(|e| {
                let family = field(e, "family_id");
                let family = (!family.is_empty()).then(|| family.to_owned());
                (field(e, "client_id").to_owned(), family)
            })
            .collect();
        account.id_token = id_tokens.iter().any(|e| owner(e) == *key);
        account.access_tokens = access_tokens
            .iter()
            .filter(|e| owner(e) == *key)
            .map(|at| {
                (
                    field(at, "target").to_owned(),
                    field(at, "client_id").to_owned(),
                    field(at, "realm").to_owned(),
                    seconds(at, "expires_on"),
                )
            })
            .collect();
        account.access_tokens.sort_by_key(|at| at.3.unwrap_or(0));
    }
    let orphan = |entries: &[&Map<String, Value>]| {
        entries
            .iter()
            .filter(|e| !accounts.contains_key(&owner(e)))
            .count()
    };
    let orphans = (
        orphan(&access_tokens),
        orphan(&refresh_tokens),
        orphan(&id_tokens),
    );
    Summary {
        accounts: accounts.into_values().collect(),
        orphans,
    }
}

/// The per-account lines. A tenant (the schema's "realm") is shown only when there is one:
/// generic OpenID Connect providers have none, and "(none)" told users nothing.
fn summarize(doc: &Value, now: u64) -> Vec<String> {
    let summary = collect(doc);
    let mut out = Vec::new();
    for account in &summary.accounts {
        out.push(String::new());
        let name = if account.username.is_empty() {
            "(no username)"
        } else {
            &account.username
        };
        out.push(format!("account {name}"));
        out.push(format!("  home account id: {}", account.home_account_id));
        out.push(format!("  environment:     {}", account.environment));
        if !account.realms.is_empty() {
            let label = if account.realms.len() == 1 {
                "tenant: "
            } else {
                "tenants:"
            };
            out.push(format!("  {label}         {}", account.realms.join(", ")));
        }
        let rts: Vec<String> = account
            .refresh_tokens
            .iter()
            .map(|(client, family)| match family {
                Some(family) => format!("client {client} (family {family})"),
                None => format!("client {client}"),
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
        out.push(format!(
            "  ID token:        {}",
            if account.id_token { "yes" } else { "no" }
        ));
        if account.access_tokens.is_empty() {
            out.push("  access tokens:   none".into());
        } else {
            out.push("  access tokens:".into());
            for (target, client, realm, expires) in &account.access_tokens {
                let tenant = if realm.is_empty() {
                    String::new()
                } else {
                    format!(", tenant {realm}")
                };
                out.push(format!(
                    "    {target}: client {client}{tenant}, {}",
                    expires
                        .map(|t| relative_expiry(t, now))
                        .unwrap_or_else(|| "expiry unknown".into())
                ));
            }
        }
    }
    let (at, rt, idt) = summary.orphans;
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

/// The summary as JSON (`msal cache inspect --json`): no secret, null for what is unknown.
fn summary_json(doc: &Value, now: u64) -> Value {
    let summary = collect(doc);
    let accounts: Vec<Value> = summary
        .accounts
        .iter()
        .map(|a| {
            json!({
                "username": or_null(&a.username),
                "homeAccountId": or_null(&a.home_account_id),
                "environment": or_null(&a.environment),
                "tenants": a.realms,
                "refreshTokens": a.refresh_tokens.iter().map(|(client, family)| json!({
                    "clientId": or_null(client), "familyId": family,
                })).collect::<Vec<_>>(),
                "idToken": a.id_token,
                "accessTokens": a.access_tokens.iter().map(|(target, client, realm, expires)| json!({
                    "scopes": target.split_whitespace().collect::<Vec<_>>(),
                    "clientId": or_null(client),
                    "tenant": or_null(realm),
                    "expiresOn": expires.map(rfc3339_utc),
                    "expiresOnUnix": expires,
                    "expired": expires.map(|t| t <= now),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (at, rt, idt) = summary.orphans;
    json!({
        "accounts": accounts,
        "withoutAccount": {"accessTokens": at, "refreshTokens": rt, "idTokens": idt},
    })
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
        assert!(text.contains("User.Read: client app, tenant utid, expires in 50 min"));
        assert!(text.contains("tenant:          utid"), "{text}");
        assert!(text.contains("refresh token:   yes (client app (family 1))"));
        assert!(text.contains("ID token:        no"));
        assert!(text.contains("without an account entry: 0 access tokens"));
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn an_oidc_account_has_no_tenant_line_and_json_has_nulls() {
        let doc = json!({
            "Account": {"a": {"home_account_id": "sub", "environment": "idp.example",
                "realm": "", "username": ""}},
            "AccessToken": {"t": {"secret": "AT-SECRET", "home_account_id": "sub",
                "environment": "idp.example", "client_id": "app", "realm": "",
                "target": "a b", "expires_on": "4000"}}
        });
        let text = summarize(&doc, 1000).join("\n");
        assert!(
            !text.contains("realm") && !text.contains("tenant"),
            "{text}"
        );
        assert!(
            text.contains("a b: client app, expires in 50 min"),
            "{text}"
        );
        let v = summary_json(&doc, 1000);
        let account = &v["accounts"][0];
        assert_eq!(account["username"], Value::Null);
        assert_eq!(account["tenants"], json!([]));
        assert_eq!(account["accessTokens"][0]["tenant"], Value::Null);
        assert_eq!(account["accessTokens"][0]["scopes"], json!(["a", "b"]));
        assert_eq!(account["accessTokens"][0]["expired"], json!(false));
        assert!(!v.to_string().contains("SECRET"));
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "account"), "1 account");
        assert_eq!(plural(2, "account"), "2 accounts");
        assert_eq!(plural(0, "app metadata entry"), "0 app metadata entries");
    }
}
