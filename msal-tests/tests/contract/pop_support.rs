//! What the proof-of-possession and SSH certificate modules (`pop`, `pop_flows`) share: a
//! confidential client on wiremock, the committed test key, an `ssh-rsa` line for it, and the
//! SHR's signature check.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use msal::cache::Partition;
use msal::http::RetryPolicy;
use msal::{ConfidentialClientApplication, ManualClock, PopKey, RsaPopKey};
use msal_tests::harness::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_PKCS8_PEM: &str = include_str!("../../data/certs/key-pkcs8.pem");
/// The public half of [`app_key`].
pub(crate) const PUBLIC_PEM: &[u8] = include_bytes!("../../data/certs/public.pem");

/// A confidential client for `CLIENT_ID` in tenant `UTID`, its clock, cache and server.
pub(crate) struct Pop {
    pub(crate) server: MockServer,
    pub(crate) cache: TestStore,
    pub(crate) clock: ManualClock,
    pub(crate) app: ConfidentialClientApplication,
}

impl Pop {
    pub(crate) async fn new() -> Pop {
        let server = MockServer::start().await;
        let cache = TestStore::from_env();
        let clock = ManualClock::at_unix(T0);
        let app = ConfidentialClientApplication::builder(CLIENT_ID)
            .authority(&format!("https://login.microsoftonline.com/{UTID}"))
            .client_secret("pop-test-secret")
            .http_client(LoopbackTransport::new(&server))
            .clock(clock.clone())
            .cache(cache.clone())
            .retry_policy(RetryPolicy {
                max_retries: 0,
                delay: Duration::from_millis(10),
            })
            .build()
            .unwrap();
        Pop {
            server,
            cache,
            clock,
            app,
        }
    }

    /// The token endpoint answers `token_type`/`access_token` to requests containing
    /// `contains` (more specific mocks first).
    pub(crate) async fn answer(
        &self,
        contains: &str,
        token_type: &str,
        access_token: &str,
        priority: u8,
    ) {
        let body = json!({
            "token_type": token_type, "expires_in": 3600, "access_token": access_token,
        });
        self.answer_with(&[contains], body, priority).await;
    }

    /// The token endpoint answers `body` to requests containing every one of `contains`.
    pub(crate) async fn answer_with(&self, contains: &[&str], body: Value, priority: u8) {
        let mut mock = Mock::given(method("POST")).and(path(format!("/{UTID}/oauth2/v2.0/token")));
        for part in contains {
            mock = mock.and(body_string_contains(*part));
        }
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }

    /// The forms of the token requests so far, in order.
    pub(crate) async fn token_forms(&self) -> Vec<HashMap<String, String>> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| r.url.path().ends_with("/token"))
            .map(form)
            .collect()
    }

    /// The access token entries stored in `partition`.
    pub(crate) async fn stored_in(&self, partition: Partition<'_>) -> Vec<Value> {
        let bytes = self.cache.snapshot_of(partition).await.unwrap_or_default();
        let doc: Value = serde_json::from_slice(&bytes).unwrap_or(json!({}));
        entries(&doc, "AccessToken")
    }

    /// The access token entries of the app partition.
    pub(crate) async fn stored_access_tokens(&self) -> Vec<Value> {
        self.stored_in(Partition::App {
            client_id: CLIENT_ID,
            tenant: UTID,
        })
        .await
    }
}

/// The committed test key, as the app's own PoP key.
pub(crate) fn app_key() -> Arc<RsaPopKey> {
    let body: String = KEY_PKCS8_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    Arc::new(RsaPopKey::from_pkcs8_der(&STANDARD.decode(body).unwrap()).unwrap())
}

/// The RFC 7638 thumbprint of [`app_key`]: the `kid` of its `req_cnf` and SHRs.
pub(crate) fn app_key_thumbprint() -> String {
    app_key().public_jwk().thumbprint()
}

/// A base64url JSON part (a JWS header or payload, a PoP `req_cnf`).
pub(crate) fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The SHR's header and payload, after checking its RS256 signature with `key`.
pub(crate) fn verified(shr: &str, key: &DecodingKey) -> (Value, Value) {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(shr, key, &validation).expect("the SHR signature verifies");
    let parts: Vec<&str> = shr.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    (decode_part(parts[0]), decode_part(parts[1]))
}

/// The payload of an SHR signed by [`app_key`], its signature checked with the committed
/// public key (not the one the SHR embeds), its header naming the key's thumbprint.
pub(crate) fn verified_with_app_key(shr: &str) -> Value {
    let (header, payload) = verified(shr, &DecodingKey::from_rsa_pem(PUBLIC_PEM).unwrap());
    assert_eq!(
        header,
        json!({ "alg": "RS256", "kid": app_key_thumbprint(), "typ": "pop" })
    );
    payload
}

/// An ssh-rsa public key line for the committed test key.
pub(crate) fn ssh_line() -> String {
    let jwk = app_key().public_jwk().clone();
    let n = URL_SAFE_NO_PAD.decode(jwk.modulus_b64()).unwrap();
    let mut blob = Vec::new();
    for field in [&b"ssh-rsa"[..], &[1, 0, 1], &[&[0u8][..], &n].concat()] {
        blob.extend((field.len() as u32).to_be_bytes());
        blob.extend(field);
    }
    format!("ssh-rsa {} test@host", STANDARD.encode(blob))
}

/// An SSH certificate request for [`ssh_line`] under `key_id`.
pub(crate) fn ssh_request(key_id: &str) -> msal::SshCertificateRequest {
    msal::SshCertificateRequest::from_openssh_public_key(key_id, &ssh_line()).unwrap()
}

/// A PoP request for `url` bound to [`app_key`].
pub(crate) fn pop_request(url: &str) -> msal::PopRequest {
    msal::PopRequest::new("GET", url)
        .unwrap()
        .key(app_key() as Arc<dyn PopKey>)
}

/// Check a token request's form asked for a PoP token bound to [`app_key`].
pub(crate) fn assert_asks_for_pop(form: &HashMap<String, String>) {
    assert_eq!(form["token_type"], "pop", "{form:?}");
    assert_eq!(
        decode_part(&form["req_cnf"]),
        json!({ "kid": app_key_thumbprint() })
    );
    assert!(
        !form.contains_key("key_id"),
        "PoP sends its kid in req_cnf only"
    );
}

/// Check a token request's form asked for an SSH certificate for [`ssh_line`] under `key_id`.
pub(crate) fn assert_asks_for_ssh(form: &HashMap<String, String>, key_id: &str) {
    assert_eq!(form["token_type"], "ssh-cert", "{form:?}");
    assert_eq!(form["key_id"], key_id);
    let cnf: Value = serde_json::from_str(&form["req_cnf"]).unwrap();
    assert_eq!(cnf["kid"], key_id);
    assert_eq!(cnf["kty"], "RSA");
    assert_eq!(cnf["n"], app_key().public_jwk().modulus_b64());
}

/// An answer of another token type than asked for: refused as a protocol error whose message
/// does not carry the token it refused.
pub(crate) fn assert_refused(e: &msal::Error, refused_token: &str) {
    assert!(matches!(e, msal::Error::Protocol { .. }), "{e:?}");
    assert!(
        !e.to_string().contains(refused_token),
        "no token in errors: {e}"
    );
}

/// A PoP result served from the cache: a new SHR, signed by [`app_key`], around `at` for the
/// request path `path`.
pub(crate) fn assert_cached_shr(r: &msal::AuthenticationResult, at: &str, path: &str) {
    assert_eq!(
        (r.token_type(), r.source()),
        ("pop", msal::TokenSource::Cache)
    );
    let payload = verified_with_app_key(r.access_token());
    assert_eq!(
        (payload["at"].as_str(), payload["p"].as_str()),
        (Some(at), Some(path))
    );
}

/// Whether a token request's form is a plain Bearer one (no scheme fields).
pub(crate) fn is_bearer_request(form: &HashMap<String, String>) -> bool {
    !form.contains_key("token_type") && !form.contains_key("req_cnf")
}
