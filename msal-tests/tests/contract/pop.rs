//! Proof-of-possession (SHR) tokens and SSH certificates on client credentials: the request
//! (`token_type`, `req_cnf`, `key_id`), the signed HTTP request's header and fields (`at`, `ts`,
//! `m`, `u`, `p`, `nonce`, `cnf.jwk`), its signature checked with the public key by an
//! independent JWT library, caching per key, entries written by MSAL Python found, and the
//! refusal to mix schemes (a Bearer request is never served a bound token, and the reverse).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use msal::cache::{CacheStore, Partition};
use msal::{Error, PopKey, PopRequest, SshCertificateRequest, TokenSource};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::pop_support::*;

const RESOURCE: &str = "https://resource.example/.default";
const ITEMS: &str = "https://resource.example/api/items?x=1";

#[tokio::test]
async fn pop_request_sends_req_cnf_and_returns_an_shr_verified_with_the_public_key() {
    let t = Pop::new().await;
    t.answer("token_type=pop", "pop", "idp-pop-token", 1).await;
    let key = app_key();
    let thumbprint = key.public_jwk().thumbprint();
    let request = PopRequest::new("GET", ITEMS).unwrap().nonce("n-123");
    let r = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(request.key(key.clone()))
        .await
        .unwrap();
    assert_eq!(r.token_type(), "pop");
    assert_eq!(r.source(), TokenSource::IdentityProvider);

    let forms = t.token_forms().await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["token_type"], "pop");
    let cnf = decode_part(&forms[0]["req_cnf"]);
    assert_eq!(cnf, json!({ "kid": thumbprint }));
    assert!(
        !forms[0].contains_key("key_id"),
        "PoP sends its kid in req_cnf only"
    );

    // End to end: the SHR verifies with the committed public key, not just the embedded one.
    let (header, payload) = verified(
        r.access_token(),
        &DecodingKey::from_rsa_pem(PUBLIC_PEM).unwrap(),
    );
    assert_eq!(
        header,
        json!({ "alg": "RS256", "kid": thumbprint, "typ": "pop" })
    );
    assert_eq!(payload["at"], "idp-pop-token");
    assert_eq!(payload["ts"], T0);
    assert_eq!(payload["m"], "GET");
    assert_eq!(payload["u"], "resource.example");
    assert_eq!(payload["p"], "/api/items");
    assert_eq!(payload["nonce"], "n-123");
    let jwk = &payload["cnf"]["jwk"];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["n"], key.public_jwk().modulus_b64());
    assert_eq!(jwk["e"], "AQAB");

    let stored = t.stored_access_tokens().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["token_type"], "pop");
    assert_eq!(stored[0]["key_id"], thumbprint.as_str());
    assert_eq!(stored[0]["secret"], "idp-pop-token");
}

#[tokio::test]
async fn the_generated_key_signs_an_shr_that_its_cnf_jwk_verifies() {
    let t = Pop::new().await;
    t.answer("token_type=pop", "pop", "idp-pop-token", 1).await;
    let r = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(PopRequest::new("POST", "https://resource.example:8443/x").unwrap())
        .await
        .unwrap();
    let parts: Vec<&str> = r.access_token().split('.').collect();
    let payload = decode_part(parts[1]);
    let jwk = &payload["cnf"]["jwk"];
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let (header, payload) = verified(r.access_token(), &key);
    // The kid is the RFC 7638 thumbprint of the embedded key, and what req_cnf named.
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        jwk["e"].as_str().unwrap(),
        jwk["n"].as_str().unwrap()
    );
    let thumbprint = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(canonical));
    assert_eq!(header["kid"], thumbprint.as_str());
    assert_eq!(
        decode_part(&t.token_forms().await[0]["req_cnf"])["kid"],
        thumbprint.as_str()
    );
    assert_eq!(
        (payload["m"].as_str(), payload["u"].as_str()),
        (Some("POST"), Some("resource.example:8443"))
    );
    assert!(
        payload["nonce"].as_str().is_some_and(|n| !n.is_empty()),
        "a nonce is always signed"
    );
}

#[tokio::test]
async fn pop_tokens_are_cached_per_key_and_never_mixed_with_bearer_tokens() {
    let t = Pop::new().await;
    t.answer("token_type=pop", "pop", "idp-pop-token", 1).await;
    t.answer("grant_type=client_credentials", "Bearer", "bearer-token", 5)
        .await;
    let key = app_key();
    let pop = |url: &str| {
        PopRequest::new("GET", url)
            .unwrap()
            .key(key.clone() as Arc<dyn PopKey>)
    };

    let first = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(pop(ITEMS))
        .await
        .unwrap();
    // Another request with the same key: the cached token, signed into a new SHR for it.
    let second = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(pop("https://resource.example/other"))
        .await
        .unwrap();
    assert_eq!(second.source(), TokenSource::Cache);
    let payload = decode_part(second.access_token().split('.').nth(1).unwrap());
    assert_eq!(
        (payload["at"].as_str(), payload["p"].as_str()),
        (Some("idp-pop-token"), Some("/other"))
    );
    assert_ne!(first.access_token(), second.access_token());
    assert_eq!(t.token_forms().await.len(), 1);

    // A Bearer request is not served the PoP token.
    let bearer = t.app.acquire_token_for_client([RESOURCE]).await.unwrap();
    assert_eq!(
        (bearer.token_type(), bearer.access_token()),
        ("Bearer", "bearer-token")
    );
    assert_eq!(t.token_forms().await.len(), 2);

    // Another key is not served the first key's token; both stay cached beside the Bearer one.
    let other = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(PopRequest::new("GET", ITEMS).unwrap())
        .await
        .unwrap();
    assert_eq!(other.source(), TokenSource::IdentityProvider);
    assert_eq!(t.token_forms().await.len(), 3);
    let stored = t.stored_access_tokens().await;
    let mut types: Vec<&str> = stored
        .iter()
        .map(|e| e["token_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["Bearer", "pop", "pop"]);

    // And the PoP tokens never answer a Bearer request, nor the Bearer token a PoP one.
    let bearer = t.app.acquire_token_for_client([RESOURCE]).await.unwrap();
    assert_eq!(
        (bearer.access_token(), bearer.source()),
        ("bearer-token", TokenSource::Cache)
    );
    let again = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(pop(ITEMS))
        .await
        .unwrap();
    assert_eq!(
        (again.token_type(), again.source()),
        ("pop", TokenSource::Cache)
    );
    assert_eq!(t.token_forms().await.len(), 3);
}

#[tokio::test]
async fn an_answer_of_another_token_type_is_refused_and_not_cached() {
    let t = Pop::new().await;
    t.answer("grant_type=client_credentials", "Bearer", "bearer-token", 5)
        .await;
    let e = t
        .app
        .acquire_token_for_client([RESOURCE])
        .proof_of_possession(PopRequest::new("GET", ITEMS).unwrap().key(app_key()))
        .await
        .unwrap_err();
    assert_refused(&e, "bearer-token");
    assert!(t.stored_access_tokens().await.is_empty());
    // Nor does a Bearer request accept a PoP answer.
    let t = Pop::new().await;
    t.answer("grant_type=client_credentials", "pop", "idp-pop-token", 5)
        .await;
    let e = t
        .app
        .acquire_token_for_client([RESOURCE])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
}

#[tokio::test]
async fn ssh_certificates_are_requested_and_cached_per_key_id() {
    let t = Pop::new().await;
    t.answer(
        "token_type=ssh-cert",
        "ssh-cert",
        "AAAAHHNzaC1yc2EtY2VydA-cert",
        1,
    )
    .await;
    t.answer("grant_type=client_credentials", "Bearer", "bearer-token", 5)
        .await;
    let ssh = |kid: &str| SshCertificateRequest::from_openssh_public_key(kid, &ssh_line()).unwrap();

    let r = t
        .app
        .acquire_token_for_client([RESOURCE])
        .ssh_certificate(ssh("key1"))
        .await
        .unwrap();
    assert_eq!(
        (r.token_type(), r.access_token()),
        ("ssh-cert", "AAAAHHNzaC1yc2EtY2VydA-cert")
    );
    let forms = t.token_forms().await;
    assert_eq!(forms[0]["token_type"], "ssh-cert");
    assert_eq!(forms[0]["key_id"], "key1");
    let cnf: Value = serde_json::from_str(&forms[0]["req_cnf"]).unwrap();
    assert_eq!(cnf["kid"], "key1");
    assert_eq!(cnf["kty"], "RSA");
    assert_eq!(cnf["e"], "AQAB");
    assert_eq!(cnf["n"], app_key().public_jwk().modulus_b64());

    let cached = t
        .app
        .acquire_token_for_client([RESOURCE])
        .ssh_certificate(ssh("key1"))
        .await
        .unwrap();
    assert_eq!(cached.source(), TokenSource::Cache);
    let other = t
        .app
        .acquire_token_for_client([RESOURCE])
        .ssh_certificate(ssh("key2"))
        .await
        .unwrap();
    assert_eq!(other.source(), TokenSource::IdentityProvider);
    let bearer = t.app.acquire_token_for_client([RESOURCE]).await.unwrap();
    assert_eq!(bearer.access_token(), "bearer-token");
    assert_eq!(t.token_forms().await.len(), 3);
    let stored = t.stored_access_tokens().await;
    let mut kids: Vec<&str> = stored.iter().filter_map(|e| e["key_id"].as_str()).collect();
    kids.sort_unstable();
    assert_eq!(kids, ["key1", "key2"]);
}

#[tokio::test]
async fn an_ssh_certificate_written_by_msal_python_is_served_from_the_cache() {
    let t = Pop::new().await;
    // MSAL Python's entry for an app-only SSH certificate (its key: no token type, no key id).
    let doc = json!({ "AccessToken": {
        format!("-login.microsoftonline.com-accesstoken-{CLIENT_ID}-{UTID}-{RESOURCE}"): {
            "credential_type": "AccessToken", "secret": "python-cert", "home_account_id": null,
            "environment": "login.microsoftonline.com", "client_id": CLIENT_ID, "realm": UTID,
            "target": RESOURCE, "token_type": "ssh-cert", "key_id": "py-key",
            "cached_at": T0.to_string(), "expires_on": (T0 + 3600).to_string(),
            "extended_expires_on": (T0 + 3600).to_string(),
        }
    }});
    let partition = Partition::App {
        client_id: CLIENT_ID,
        tenant: UTID,
    };
    let bytes = serde_json::to_vec(&doc).unwrap();
    t.cache
        .modify(partition, None, &mut |_| Ok(bytes.clone()))
        .await
        .expect("the store accepts the seed");
    let ssh = SshCertificateRequest::from_openssh_public_key("py-key", &ssh_line()).unwrap();
    let r = t
        .app
        .acquire_token_for_client([RESOURCE])
        .ssh_certificate(ssh)
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.source()),
        ("python-cert", TokenSource::Cache)
    );
    // The Bearer lookup does not see it.
    t.answer("grant_type=client_credentials", "Bearer", "bearer-token", 5)
        .await;
    let bearer = t.app.acquire_token_for_client([RESOURCE]).await.unwrap();
    assert_eq!(bearer.access_token(), "bearer-token");
}

#[tokio::test]
async fn a_silent_ssh_certificate_redeems_the_refresh_token_and_is_cached_apart_from_bearer() {
    const SSH_SCOPE: &str = "https://pas.windows.net/CheckMyAccess/Linux/.default";
    let h = Harness::new().await;
    h.seed(&CacheDoc::new().signed_in(CLIENT_ID, "rt-1")).await;
    let mut cert = token_response("user-cert", Some("rt-2"), SSH_SCOPE, 3600);
    cert["token_type"] = json!("ssh-cert");
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("token_type=ssh-cert"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cert))
        .with_priority(1)
        .mount(&h.server)
        .await;
    let bearer = token_response("user-bearer", Some("rt-3"), SSH_SCOPE, 3600);
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(bearer))
        .mount(&h.server)
        .await;
    let ssh = || SshCertificateRequest::from_openssh_public_key("user-key", &ssh_line()).unwrap();
    let account = h.account();

    let r = h
        .app
        .acquire_token_silent([SSH_SCOPE], &account)
        .ssh_certificate(ssh())
        .await
        .unwrap();
    assert_eq!(
        (r.access_token(), r.token_type()),
        ("user-cert", "ssh-cert")
    );
    let requests = h.token_requests().await;
    let sent = form(&requests[0]);
    assert_eq!(sent["grant_type"], "refresh_token");
    assert_eq!(sent["refresh_token"], "rt-1");
    assert_eq!(
        (sent["token_type"].as_str(), sent["key_id"].as_str()),
        ("ssh-cert", "user-key")
    );

    let again = h
        .app
        .acquire_token_silent([SSH_SCOPE], &account)
        .ssh_certificate(ssh())
        .await
        .unwrap();
    assert_eq!(
        (again.access_token(), again.source()),
        ("user-cert", TokenSource::Cache)
    );
    // The Bearer request for the same scope is not served the certificate.
    let plain = h
        .app
        .acquire_token_silent([SSH_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(
        (plain.access_token(), plain.token_type()),
        ("user-bearer", "Bearer")
    );
    assert_eq!(h.token_requests().await.len(), 2);
    let stored = access_token_secrets(&h.stored().await);
    assert_eq!(stored.len(), 2, "{stored:?}");
}
