//! Cache keys in MSAL Python's dialect, derived from entry content (never parsed).
//!
//! Keys are only written, never read back: on load every key is rebuilt from its entry, so keys
//! written by MSAL.NET (no target on refresh tokens, `login.windows.net`) or by older libraries
//! load the same way. Lookups never go through these keys; they use the index's buckets.

/// `{home_account_id}-{environment}-accesstoken-{client_id}-{realm}-{target}`, lowercased.
pub fn access_token_key(
    home_account_id: &str,
    environment: &str,
    client_id: &str,
    realm: &str,
    target: &str,
) -> String {
    join_lower(&[
        home_account_id,
        environment,
        "accesstoken",
        client_id,
        realm,
        target,
    ])
}

/// `{home_account_id}-{environment}-refreshtoken-{client_id or family_id}--`, lowercased.
/// A family refresh token is keyed by its family id, as MSAL.NET does.
pub fn refresh_token_key(
    home_account_id: &str,
    environment: &str,
    client_or_family: &str,
) -> String {
    join_lower(&[
        home_account_id,
        environment,
        "refreshtoken",
        client_or_family,
        "",
        "",
    ])
}

/// `{home_account_id}-{environment}-idtoken-{client_id}-{realm}-`, lowercased.
pub fn id_token_key(
    home_account_id: &str,
    environment: &str,
    client_id: &str,
    realm: &str,
) -> String {
    join_lower(&[
        home_account_id,
        environment,
        "idtoken",
        client_id,
        realm,
        "",
    ])
}

/// `{home_account_id}-{environment}-{realm}`, lowercased.
pub fn account_key(home_account_id: &str, environment: &str, realm: &str) -> String {
    join_lower(&[home_account_id, environment, realm])
}

/// `appmetadata-{environment}-{client_id}`, lowercased.
pub fn app_metadata_key(environment: &str, client_id: &str) -> String {
    join_lower(&["appmetadata", environment, client_id])
}

fn join_lower(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push('-');
        }
        s.push_str(p);
    }
    s.make_ascii_lowercase();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use msal_core::ScopeSet;
    use proptest::prelude::*;

    #[test]
    fn spec_vector_1() {
        // Python sorts the original spelling ordinally, then lowercases: "S2" < "s1".
        let target = ScopeSet::from_target("S2 s1").to_target();
        assert_eq!(
            access_token_key("U.T", "Login.MicrosoftOnline.com", "C", "Common", &target),
            "u.t-login.microsoftonline.com-accesstoken-c-common-s2 s1"
        );
    }

    #[test]
    fn spec_vector_2() {
        assert_eq!(
            refresh_token_key("uid.utid", "login.example.com", "my_client_id"),
            "uid.utid-login.example.com-refreshtoken-my_client_id--"
        );
        assert_eq!(
            account_key("uid.utid", "login.example.com", "contoso"),
            "uid.utid-login.example.com-contoso"
        );
        assert_eq!(
            id_token_key("uid.utid", "login.example.com", "my_client_id", "contoso"),
            "uid.utid-login.example.com-idtoken-my_client_id-contoso-"
        );
        assert_eq!(
            app_metadata_key("login.example.com", "my_client_id"),
            "appmetadata-login.example.com-my_client_id"
        );
    }

    proptest! {
        #[test]
        fn keys_ignore_field_case_and_scope_order(
            hid in "[A-Za-z0-9.]{1,12}", env in "[A-Za-z.]{1,12}", cid in "[A-Za-z0-9]{1,8}",
            realm in "[A-Za-z0-9]{1,8}", scopes in proptest::collection::vec("[a-z.]{1,6}", 1..5),
        ) {
            let mut reversed = scopes.clone();
            reversed.reverse();
            let t1 = ScopeSet::new(&scopes).to_target();
            let t2 = ScopeSet::new(&reversed).to_target();
            let k1 = access_token_key(&hid, &env, &cid, &realm, &t1);
            let k2 = access_token_key(
                &hid.to_uppercase(),
                &env.to_uppercase(),
                &cid,
                &realm.to_uppercase(),
                &t2,
            );
            prop_assert_eq!(&k1, &k2.to_lowercase());
            prop_assert_eq!(k1.clone(), k1.to_lowercase());
        }

        #[test]
        fn distinct_clients_give_distinct_refresh_keys(a in "[a-z0-9]{1,8}", b in "[a-z0-9]{1,8}") {
            prop_assume!(a != b);
            prop_assert_ne!(refresh_token_key("h", "e", &a), refresh_token_key("h", "e", &b));
        }
    }
}
