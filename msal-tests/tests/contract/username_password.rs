//! Username/password (ROPC; deprecated, for test automation only): the exact grant, the
//! tokens cached like a sign-in's, MFA and other interaction answers as "UI required", the
//! password never in `Debug` or an error.

use msal::{Error, TokenSource};
use msal_tests::harness::*;
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

const SIGN_IN_TOKEN_PATH: &str = "/common/oauth2/v2.0/token";
const PASSWORD: &str = "Pa55w0rd-never-logged-7Hq~p2";

#[tokio::test]
async fn username_password_signs_in_and_the_tokens_are_cached() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path(SIGN_IN_TOKEN_PATH))
        .and(body_string_contains("grant_type=password"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "ropc-at",
            Some("ropc-rt"),
            "User.Read",
            3600,
        )))
        .expect(1)
        .mount(&h.server)
        .await;

    let r = h
        .app
        .acquire_token_by_username_password(USERNAME, PASSWORD, ["User.Read"])
        .await
        .unwrap();
    assert_eq!(r.access_token(), "ropc-at");
    let f = form(&h.token_requests().await[0]);
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["username"], USERNAME);
    assert_eq!(f["password"], PASSWORD);
    assert_eq!(f["client_info"], "1");
    assert!(f["scope"].contains("offline_access") && f["scope"].contains("User.Read"));

    let stored = h.stored().await;
    assert_eq!(refresh_token_secrets(&stored), vec!["ropc-rt".to_owned()]);
    let account = h
        .app
        .account(&hid())
        .await
        .unwrap()
        .expect("cached account");
    let again = h
        .app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(again.source(), TokenSource::Cache);
}

/// AADSTS50076 and 50079 (MFA), `interaction_required` and `consent_required` are all the
/// "UI required" error; the password is in none of them.
#[tokio::test]
async fn mfa_and_interaction_answers_are_ui_required() {
    let answers = [
        json!({"error": "invalid_grant", "error_codes": [50076], "suberror": "basic_action",
               "error_description": "AADSTS50076: you must use multi-factor authentication"}),
        json!({"error": "invalid_grant", "error_codes": [50079],
               "error_description": "AADSTS50079: the user is required to use MFA"}),
        json!({"error": "interaction_required",
               "error_description": format!("AADSTS50158: external security challenge ({PASSWORD})")}),
        json!({"error": "consent_required", "error_description": "AADSTS65001: consent"}),
    ];
    for answer in answers {
        let h = Harness::new().await;
        Mock::given(method("POST"))
            .and(path(SIGN_IN_TOKEN_PATH))
            .respond_with(ResponseTemplate::new(400).set_body_json(answer.clone()))
            .expect(1)
            .mount(&h.server)
            .await;
        let err = h
            .app
            .acquire_token_by_username_password(USERNAME, PASSWORD, ["User.Read"])
            .await
            .unwrap_err();
        assert!(err.is_ui_required(), "{answer}: {err:?}");
        assert!(!format!("{err} {err:?}").contains(PASSWORD), "{err:?}");
        assert!(refresh_token_secrets(&h.stored().await).is_empty());
    }
}

#[tokio::test]
async fn bad_input_sends_nothing_and_debug_hides_the_password() {
    let h = Harness::new().await;
    let request = h
        .app
        .acquire_token_by_username_password(USERNAME, PASSWORD, ["User.Read"]);
    assert!(!format!("{request:?}").contains(PASSWORD));
    for (user, password) in [("", PASSWORD), (USERNAME, "")] {
        let err = h
            .app
            .acquire_token_by_username_password(user, password, ["User.Read"])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
    assert!(h.server.received_requests().await.unwrap().is_empty());
}
