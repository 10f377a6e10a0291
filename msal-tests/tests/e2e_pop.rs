//! End to end for proof-of-possession tokens (issue 18) against the real `oidc-provider`
//! (`e2e/provider`): a confidential client asks for a PoP token (`token_type=pop`, `req_cnf`),
//! the provider binds its JWT access token to the key (`cnf.kid`), and the provider's protected
//! resource (`/resource/...`) checks msal-rs's signed HTTP request with `jose` alone: the
//! signature with the SHR's own `cnf.jwk`, that key's thumbprint against the token's `cnf.kid`,
//! the token against the provider's keys, and `m`, `u`, `p`, `ts` against the request it came
//! with. Needs `scripts/e2e-provider.sh setup`.

mod e2e_support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e_support::{jwt_claims, Counting, Provider, SERIAL};
use msal::http::{HttpClient, ReqwestHttpClient};
use msal::{AuthenticationResult, ConfidentialClientApplication, PopRequest, TokenSource};
use serde_json::Value;

const CLIENT_ID: &str = "msal-rs-e2e-confidential";
const SECRET: &str = "e2e-secret";
const API_DEFAULT: &str = "api://e2e/.default";

/// A provider and a confidential client of it that counts its requests, holding [`SERIAL`]
/// (released last, after the provider is stopped).
struct Pop {
    provider: Provider,
    http: Counting,
    app: ConfidentialClientApplication,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

/// What the provider answered: the status and the JSON body (the resource's `check` names a
/// failed check).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn assert_ok(&self) {
        assert_eq!(
            (self.status, &self.body["ok"], &self.body["sub"]),
            (200, &Value::Bool(true), &Value::from(CLIENT_ID)),
            "{}",
            self.body
        );
    }

    /// A 401 from the resource whose failed check is `check`.
    fn assert_refused(&self, check: &str) {
        assert_eq!(
            (self.status, self.body["check"].as_str()),
            (401, Some(check)),
            "{}",
            self.body
        );
    }
}

impl Pop {
    async fn start() -> Pop {
        let _serial = SERIAL.lock().await;
        let provider = Provider::start(&[]);
        let http = Counting::default();
        let app = ConfidentialClientApplication::builder(CLIENT_ID)
            .oidc_authority(&provider.issuer)
            .http_client(http.clone())
            .client_secret(SECRET)
            .build()
            .unwrap();
        Pop {
            provider,
            http,
            app,
            _serial,
        }
    }

    /// The provider's resource URL for `path_and_query` (`/resource/items?x=1`).
    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.provider.issuer)
    }

    /// A PoP token (an SHR) for `method` on the resource's `path_and_query`.
    async fn acquire(&self, method: &str, path_and_query: &str) -> AuthenticationResult {
        let request = PopRequest::new(method, self.url(path_and_query)).unwrap();
        let token = self
            .app
            .acquire_token_for_client([API_DEFAULT])
            .proof_of_possession(request)
            .await
            .unwrap_or_else(|e| panic!("{e:?}\n--- provider ---\n{}", self.provider.stderr()));
        assert_eq!(token.token_type(), "pop");
        token
    }

    /// Send `method` to the provider's `path_and_query` with one header and a body (loopback,
    /// plain reqwest); its status and JSON body.
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        header: (http::HeaderName, &str),
        body: Vec<u8>,
    ) -> (http::HeaderMap, Answer) {
        let request = http::Request::builder()
            .method(method)
            .uri(self.url(path_and_query))
            .header(header.0, header.1)
            .body(body)
            .unwrap();
        let response = ReqwestHttpClient::default().send(request).await.unwrap();
        let body = serde_json::from_slice(response.body())
            .unwrap_or_else(|_| panic!("{:?}", String::from_utf8_lossy(response.body())));
        let status = response.status().as_u16();
        (response.headers().clone(), Answer { status, body })
    }

    /// Call the resource with `Authorization: {authorization}`; a 401 must carry a PoP challenge.
    async fn call(&self, method: &str, path_and_query: &str, authorization: &str) -> Answer {
        let header = (http::header::AUTHORIZATION, authorization);
        let (headers, answer) = self.send(method, path_and_query, header, Vec::new()).await;
        if answer.status == 401 {
            let challenge = headers[http::header::WWW_AUTHENTICATE].to_str().unwrap();
            assert!(challenge.starts_with("PoP "), "{challenge}");
        }
        answer
    }

    /// Call the resource with `Authorization: PoP {shr}`.
    async fn call_pop(&self, method: &str, path_and_query: &str, shr: &str) -> Answer {
        self.call(method, path_and_query, &format!("PoP {shr}"))
            .await
    }
}

/// The provider's access token inside an SHR (its `at`).
fn inner_token(shr: &str) -> String {
    jwt_claims(shr)["at"].as_str().expect("an at").to_owned()
}

/// A PoP token for `GET /resource/items?x=1`: the provider bound its token to msal-rs's key
/// (`cnf.kid` is the SHR's `kid`, the key's thumbprint) and the resource accepts the SHR; the
/// query is not signed, so another query is accepted too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_accepts_a_pop_token_for_its_request() {
    let t = Pop::start().await;
    let token = t.acquire("GET", "/resource/items?x=1").await;
    assert_eq!(token.source(), TokenSource::IdentityProvider);

    let shr = token.access_token();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(shr.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "pop");
    let at = jwt_claims(&inner_token(shr));
    assert_eq!(
        (&at["aud"], &at["cnf"]["kid"]),
        (&"api://e2e".into(), &header["kid"])
    );

    t.call_pop("GET", "/resource/items?x=1", shr)
        .await
        .assert_ok();
    t.call_pop("GET", "/resource/items?x=2", shr)
        .await
        .assert_ok();
}

/// The SHR binds the method and the path: the same token for another path or another method
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shr_binds_the_method_and_the_path() {
    let t = Pop::start().await;
    let token = t.acquire("GET", "/resource/items?x=1").await;
    let shr = token.access_token();

    t.call_pop("GET", "/resource/other?x=1", shr)
        .await
        .assert_refused("p");
    t.call_pop("POST", "/resource/items?x=1", shr)
        .await
        .assert_refused("m");
}

/// A second PoP request for another URL is served from the cache (no request reaches the
/// provider) with a new SHR that the resource accepts for that URL (and the first one is not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_pop_token_is_signed_anew_for_another_url() {
    let t = Pop::start().await;
    let first = t.acquire("GET", "/resource/items?x=1").await;
    let before = t.http.count();

    let second = t.acquire("POST", "/resource/orders").await;
    assert_eq!(second.source(), TokenSource::Cache);
    assert_eq!(t.http.count(), before, "a cache hit reaches no provider");
    assert_ne!(second.access_token(), first.access_token());
    assert_eq!(
        inner_token(second.access_token()),
        inner_token(first.access_token())
    );

    t.call_pop("POST", "/resource/orders", second.access_token())
        .await
        .assert_ok();
    t.call_pop("POST", "/resource/orders", first.access_token())
        .await
        .assert_refused("m");
}

/// An SHR whose payload was changed after signing (here: the path, to the one it is sent for)
/// fails the signature check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_shr_is_refused() {
    let t = Pop::start().await;
    let token = t.acquire("GET", "/resource/items").await;
    let parts: Vec<&str> = token.access_token().split('.').collect();
    let mut payload = jwt_claims(token.access_token());
    payload["p"] = "/resource/other".into();
    let tampered = [
        parts[0],
        &URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2],
    ]
    .join(".");

    t.call_pop("GET", "/resource/other", &tampered)
        .await
        .assert_refused("signature");
    t.call_pop("GET", "/resource/items", token.access_token())
        .await
        .assert_ok();
}

/// The resource requires PoP: the bound token presented as a Bearer token (or bare, without an
/// SHR) is refused. A Bearer request for the same scope is not served the PoP token: it gets a
/// Bearer token of its own (no `cnf`), which the resource refuses too, and the PoP token stays
/// cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_is_refused_and_never_served_the_pop_token() {
    let t = Pop::start().await;
    let pop = t.acquire("GET", "/resource/items").await;
    let at = inner_token(pop.access_token());

    t.call("GET", "/resource/items", &format!("Bearer {at}"))
        .await
        .assert_refused("scheme");
    t.call_pop("GET", "/resource/items", &at)
        .await
        .assert_refused("signature");

    let bearer = t.app.acquire_token_for_client([API_DEFAULT]).await.unwrap();
    assert_eq!(bearer.source(), TokenSource::IdentityProvider);
    assert!(
        bearer.token_type().eq_ignore_ascii_case("bearer"),
        "{}",
        bearer.token_type()
    );
    assert_ne!(bearer.access_token(), at);
    assert!(jwt_claims(bearer.access_token()).get("cnf").is_none());
    t.call(
        "GET",
        "/resource/items",
        &format!("Bearer {}", bearer.access_token()),
    )
    .await
    .assert_refused("scheme");

    let again = t.acquire("GET", "/resource/items").await;
    assert_eq!(again.source(), TokenSource::Cache);
    assert_eq!(inner_token(again.access_token()), at);
}

/// A `token_type=pop` request whose `req_cnf` is not base64url JSON with a `kid` is
/// `invalid_request` (msal-rs never sends one: the form is posted by hand).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_req_cnf_is_an_invalid_request() {
    let t = Pop::start().await;
    let form = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET}\
         &scope=api%3A%2F%2Fe2e%2F.default&token_type=pop&req_cnf=not-json"
    );
    let content_type = "application/x-www-form-urlencoded";
    let (_, answer) = t
        .send(
            "POST",
            "/token",
            (http::header::CONTENT_TYPE, content_type),
            form.into_bytes(),
        )
        .await;
    assert_eq!(
        (answer.status, &answer.body["error"]),
        (400, &Value::from("invalid_request")),
        "{}",
        answer.body
    );
}
