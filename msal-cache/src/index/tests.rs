//! Tests of the index's internals across its modules: bucket hashing, the two loads against each
//! other, the JSON writer against serde_json, string sharing on load and write, chains.

use arcstr::ArcStr;
use msal_core::ScopeSet;
use serde::Serialize;
use serde_json::Value;

use super::buckets::{Bucket, BucketHasher};
use super::cache::{TokenCache, ACCOUNT, APP, AT, IDT, RT};
use super::query::AccessTokenQuery;
use super::save::{section_out, sorted, DocOut};
use super::storage::Section;
use super::write_back::TokenWrite;
use crate::schema::{AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry};

/// Documents exercising what the top-level scan must get right.
fn split_fixtures() -> Vec<String> {
    let at = r#"{"credential_type": "AccessToken", "secret": "s{}[]\"\\", "home_account_id": "u.t",
        "environment": "login.windows.net", "client_id": "c", "realm": "t", "target": "a B",
        "expires_on": "100", "future": {"x": [1, {"y": "}"}]}}"#;
    let rt = r#"{"secret": "r", "home_account_id": "u.t", "environment": "login.microsoftonline.com",
        "client_id": "c", "family_id": "1"}"#;
    let account = r#"{"home_account_id": "u.t", "environment": "login.windows.net", "realm": "t",
        "username": "a@b"}"#;
    vec![
        "{}".into(),
        " \n{ } \t".into(),
        format!(
            r#"{{"AccessToken": {{"k1": {at}, "bad": [1, 2], "n": null}}, "RefreshToken": {{"k": {rt}}}}}"#
        ),
        format!(
            r#"{{"Future": {{"a": "}}{{"}}, "accesstoken": {{"k": {at}}}, "Num": -1.5e3, "Str": "x,}}",
               "Account": {{"k": {account}}}, "AccessToken": {{"k2": {at}}}, "Arr": [{{"]": 1}}],
               "Access\u0054oken": {{}}, "IdToken": {{}}, "AppMetadata": {{"m": {{"client_id": "c",
               "environment": "e", "family_id": "1"}}}}, "T": true, "N": null}}"#
        ),
        format!(r#"{{"RefreshToken":{{"a":{rt},"b":{rt}}},"Account":{{"x":{account}}}}}"#),
    ]
}

#[test]
fn split_and_sequential_loads_agree() {
    for doc in split_fixtures() {
        let bytes = doc.as_bytes();
        let seq = TokenCache::from_json_sequential(bytes).expect("fixture loads");
        let split = TokenCache::from_json_split(bytes).expect("fixture splits");
        assert_eq!(split.counts(), seq.counts(), "{doc}");
        assert_eq!(split.unparsed.len(), seq.unparsed.len(), "{doc}");
        assert_eq!(
            String::from_utf8(split.to_json()).unwrap(),
            String::from_utf8(seq.to_json()).unwrap(),
            "{doc}"
        );
    }
}

#[test]
fn split_load_never_accepts_what_the_sequential_load_rejects() {
    // Every prefix and every one-byte change into a structural byte: whenever the split
    // path loads, the document is valid and loads the same on one thread.
    for doc in split_fixtures() {
        let bytes = doc.as_bytes();
        let mut variants: Vec<Vec<u8>> = (0..bytes.len()).map(|i| bytes[..i].to_vec()).collect();
        for i in 0..bytes.len() {
            for c in *b"{}[]\",:\\ 1" {
                let mut v = bytes.to_vec();
                v[i] = c;
                variants.push(v);
            }
        }
        for v in variants {
            if let Some(split) = TokenCache::from_json_split(&v) {
                let seq = TokenCache::from_json_sequential(&v).unwrap_or_else(|e| {
                    panic!(
                        "split loaded {:?}, one thread: {e}",
                        String::from_utf8_lossy(&v)
                    )
                });
                assert_eq!(
                    split.to_json(),
                    seq.to_json(),
                    "{}",
                    String::from_utf8_lossy(&v)
                );
            }
        }
    }
}

#[test]
fn own_json_writer_matches_serde_json_pretty_byte_for_byte() {
    let mut docs = split_fixtures();
    docs.push(
        r#"{"AccessToken": {"k": {"credential_type": "AccessToken", "secret": "a\"b\\c\n\u0001é",
            "home_account_id": null, "environment": "e", "client_id": "c", "realm": "r",
            "target": "x", "refresh_on": "5", "token_type": "pop", "key_id": "k",
            "nested": {"a": [], "b": {}, "c": [1, {"d": [true, null, 1.5, -2]}]}}},
           "U": {"deep": [[{"x": "\n"}]]}, "E": {}, "A": []}"#
            .into(),
    );
    for doc in docs {
        let cache = TokenCache::from_json_sequential(doc.as_bytes()).expect("fixture loads");
        let mut size = 0;
        let verbatim = |name: &str| -> Vec<(&str, &Value)> {
            cache
                .unparsed
                .iter()
                .filter(|(section, _, _)| *section == name)
                .map(|(_, key, value)| (key.as_str(), value))
                .collect()
        };
        let reference = DocOut {
            sections: vec![
                (
                    AT,
                    section_out(sorted(&cache.access_tokens, &mut size), verbatim(AT)),
                ),
                (
                    ACCOUNT,
                    section_out(sorted(&cache.accounts, &mut size), verbatim(ACCOUNT)),
                ),
                (
                    IDT,
                    section_out(sorted(&cache.id_tokens, &mut size), verbatim(IDT)),
                ),
                (
                    RT,
                    section_out(sorted(&cache.refresh_tokens, &mut size), verbatim(RT)),
                ),
                (
                    APP,
                    section_out(sorted(&cache.app_metadata, &mut size), verbatim(APP)),
                ),
            ],
            unknown: &cache.unknown_sections,
        };
        let mut expected = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        reference
            .serialize(&mut serde_json::Serializer::with_formatter(
                &mut expected,
                fmt,
            ))
            .unwrap();
        assert_eq!(
            String::from_utf8(cache.to_json()).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}

/// Two accounts with an access, refresh and ID token and an account entry each.
fn two_accounts() -> String {
    let mut sections = [String::new(), String::new(), String::new(), String::new()];
    for (i, hid) in ["a.t", "b.t"].iter().enumerate() {
        let common = format!(
            r#""home_account_id": "{hid}", "environment": "login.microsoftonline.com",
               "client_id": "c""#
        );
        let sep = if i > 0 { "," } else { "" };
        sections[0] += &format!(
            r#"{sep}"{hid}-at": {{"credential_type": "AccessToken", "secret": "at{i}", {common},
               "realm": "t", "target": "User.Read", "token_type": "Bearer",
               "expires_on": "100"}}"#
        );
        sections[1] += &format!(
            r#"{sep}"{hid}-rt": {{"credential_type": "RefreshToken", "secret": "rt{i}", {common}}}"#
        );
        sections[2] += &format!(
            r#"{sep}"{hid}-idt": {{"credential_type": "IdToken", "secret": "id{i}", {common},
               "realm": "t"}}"#
        );
        sections[3] += &format!(
            r#"{sep}"{hid}-acc": {{"home_account_id": "{hid}",
               "environment": "login.microsoftonline.com", "realm": "t",
               "username": "u{i}", "authority_type": "MSSTS"}}"#
        );
    }
    let [at, rt, idt, acc] = sections;
    format!(
        r#"{{"AccessToken": {{{at}}}, "RefreshToken": {{{rt}}}, "IdToken": {{{idt}}},
            "Account": {{{acc}}}}}"#
    )
}

/// Whether all of `strings` are one allocation (or one static string).
fn one<'a>(strings: impl IntoIterator<Item = &'a ArcStr>) -> bool {
    let all: Vec<&ArcStr> = strings.into_iter().collect();
    all.windows(2).all(|w| ArcStr::ptr_eq(w[0], w[1]))
}

/// Every string an account's entries repeat is stored once, whichever way the cache got it:
/// the home account id always, the other values only with `all` (a two-thread load keeps a
/// copy of those per thread: a handful of strings, not one per account).
fn assert_shared(cache: &TokenCache, hid: &str, all: bool) {
    let mut ats = cache.access_tokens.iter().map(|r| &r.entry);
    let at = ats
        .find(|e| e.home_account_id.as_deref() == Some(hid))
        .unwrap();
    let rt = cache
        .refresh_tokens
        .iter()
        .find(|e| e.home_account_id == hid)
        .unwrap();
    let idt = cache
        .id_tokens
        .iter()
        .find(|e| e.home_account_id == hid)
        .unwrap();
    let acc = cache
        .accounts
        .iter()
        .find(|e| e.home_account_id == hid)
        .unwrap();
    let hids = [
        &rt.home_account_id,
        &idt.home_account_id,
        &acc.home_account_id,
    ];
    assert!(
        one(at.home_account_id.iter().chain(hids)),
        "home account id"
    );
    if all {
        let envs = [
            &at.environment,
            &rt.environment,
            &idt.environment,
            &acc.environment,
        ];
        assert!(one(envs), "environment");
        assert!(
            one([&at.client_id, &rt.client_id, &idt.client_id]),
            "client id"
        );
        assert!(one([&at.realm, &idt.realm, &acc.realm]), "realm");
    }
    for constant in [
        &at.credential_type,
        &rt.credential_type,
        &idt.credential_type,
    ] {
        assert!(ArcStr::is_static(constant), "{constant}");
    }
    assert!(at.token_type.iter().all(ArcStr::is_static));
    assert!(ArcStr::is_static(&acc.authority_type));
}

#[test]
fn a_load_stores_each_repeated_string_once_on_one_thread_or_two() {
    let doc = two_accounts();
    let seq = TokenCache::from_json_sequential(doc.as_bytes()).expect("fixture loads");
    let split = TokenCache::from_json_split(doc.as_bytes()).expect("fixture splits");
    for (cache, all) in [(&seq, true), (&split, false)] {
        assert_eq!(cache.counts(), (2, 2, 2, 2, 0));
        assert_shared(cache, "a.t", all);
        assert_shared(cache, "b.t", all);
        let envs = cache.accounts.iter().map(|e| &e.environment);
        assert!(one(envs), "across accounts too");
    }
    assert_eq!(seq.to_json(), split.to_json());
}

#[test]
fn a_write_takes_the_strings_the_cache_already_holds() {
    let mut cache = TokenCache::from_json_sequential(two_accounts().as_bytes()).unwrap();
    let fresh = |s: &str| ArcStr::from(s.to_owned());
    let (hid, env) = (fresh("a.t"), fresh("login.microsoftonline.com"));
    let at = AccessTokenEntry {
        credential_type: fresh("AccessToken"),
        secret: fresh("new-at").into(),
        home_account_id: Some(fresh("a.t")),
        environment: fresh("login.microsoftonline.com"),
        client_id: fresh("c"),
        realm: fresh("t"),
        target: fresh("User.Read"),
        cached_at: 1,
        expires_on: 2,
        extended_expires_on: 2,
        refresh_on: None,
        token_type: Some(fresh("Bearer")),
        extra: Default::default(),
    };
    let idt = IdTokenEntry {
        credential_type: fresh("IdToken"),
        secret: fresh("new-idt").into(),
        home_account_id: hid.clone(),
        environment: env.clone(),
        realm: fresh("t"),
        client_id: fresh("c"),
        extra: Default::default(),
    };
    let meta = AppMetadataEntry {
        client_id: fresh("c"),
        environment: env,
        family_id: Some(fresh("1")),
        extra: Default::default(),
    };
    assert!(cache.apply(&TokenWrite {
        access_token: Some(at),
        id_token: Some(idt),
        app_metadata: Some(meta),
        ..TokenWrite::default()
    }));
    assert_eq!(cache.counts(), (2, 2, 2, 2, 1));
    assert_shared(&cache, "a.t", true);
    let meta = cache.app_metadata.iter().next().unwrap();
    let acc = cache.accounts.iter().next().unwrap();
    assert!(one([&meta.environment, &acc.environment]));
    assert!(meta.family_id.iter().all(ArcStr::is_static));
    assert_eq!(
        cache
            .find_access_token(&AccessTokenQuery {
                home_account_id: Some("a.t"),
                environment: "login.microsoftonline.com",
                client_id: "c",
                realm: "t",
                scopes: &ScopeSet::new(["User.Read"]),
                max_expires_on: u64::MAX,
            })
            .map(|e| e.secret.expose_secret()),
        Some("new-at")
    );
}

#[test]
fn chains_keep_insertion_order_through_removals_and_reuse() {
    let state = BucketHasher::default();
    let mut s: Section<AccountEntry> = Section::default();
    let account = |realm: &str| AccountEntry {
        home_account_id: "u.t".into(),
        environment: "login.microsoftonline.com".into(),
        realm: realm.into(),
        local_account_id: ArcStr::new(),
        username: ArcStr::new(),
        authority_type: ArcStr::new(),
        account_source: None,
        name: None,
        extra: Default::default(),
    };
    for realm in ["a", "b", "c"] {
        s.upsert(&state, account(realm), |_, _| false);
    }
    let b = Bucket::new(&["u.t"]);
    let h = b.hash(&state);
    assert_eq!(s.remove_where(h, |e| e.realm == "a"), 1);
    s.upsert(&state, account("d"), |_, _| false);
    let realms: Vec<&str> = s.bucket(&b, h).map(|e| e.realm.as_str()).collect();
    assert_eq!(realms, ["b", "c", "d"]);
    assert_eq!(s.len, 3);
    assert_eq!(s.slots.len(), 3, "the freed slot was reused");
}
