//! Testing a web API built on axum that calls a downstream API (Microsoft Graph) on behalf of
//! its caller, and answers 401 with a `WWW-Authenticate` claims challenge when Conditional
//! Access asks for more (e.g. MFA). Run with `cargo test -p msal-tests --example
//! web_api_on_behalf_of`.
//!
//! The first half is the code under test, as it would be in your crate: nothing in it knows
//! about the fake. The second half is its tests, against `msal_tests::kit::FakeEntra`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use msal::http::HttpClient;
use msal::{ConfidentialClientApplication, Error};

// ---------------------------------------------------------------- the code under test

/// Checks a caller's access token (in production: signature, issuer, audience, expiry).
pub type Validator = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The web API's dependencies.
pub struct Api {
    /// The API's confidential client (its own registration).
    pub msal: ConfidentialClientApplication,
    /// How the API checks its callers' tokens.
    pub validate: Validator,
    /// How it reaches Graph.
    pub http: Arc<dyn HttpClient>,
    /// Graph's base URL.
    pub graph: String,
}

/// `GET /me`: the caller's Graph profile, fetched on their behalf.
pub fn router(api: Arc<Api>) -> Router {
    Router::new().route("/me", get(me)).with_state(api)
}

fn unauthorized(www_authenticate: String) -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(v) = HeaderValue::from_str(&www_authenticate) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

async fn me(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token.filter(|t| (api.validate)(t).is_ok()) else {
        return unauthorized(r#"Bearer error="invalid_token""#.into());
    };
    let graph_token = match api
        .msal
        .acquire_token_on_behalf_of(token, ["User.Read"])
        .await
    {
        Ok(t) => t,
        // Conditional Access wants more: pass the challenge to the client, which signs in again
        // with these claims (the "claims challenge" of an API, base64 in `WWW-Authenticate`).
        Err(Error::UiRequired(e)) if e.claims.is_some() => {
            let claims = base64::engine::general_purpose::STANDARD
                .encode(e.claims.as_deref().unwrap_or_default());
            return unauthorized(format!(
                r#"Bearer realm="", error="insufficient_claims", error_description="A claims challenge is required", claims="{claims}""#
            ));
        }
        Err(e) if e.is_transient() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let request = http::Request::get(format!("{}/v1.0/me", api.graph))
        .header(
            "authorization",
            format!("Bearer {}", graph_token.access_token()),
        )
        .body(Vec::new());
    let Ok(request) = request else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match api.http.send(request).await {
        Ok(r) if r.status().is_success() => (StatusCode::OK, r.into_body()).into_response(),
        _ => StatusCode::BAD_GATEWAY.into_response(),
    }
}

fn main() {
    println!(
        "an example to run as a test: cargo test -p msal-tests --example web_api_on_behalf_of"
    );
}

// ---------------------------------------------------------------- its tests

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use msal::http::ReqwestHttpClient;
    use msal_tests::kit::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    /// The fake, Graph's `/v1.0/me` on its server, and the API on a loopback port.
    async fn api_under_test() -> (Arc<FakeEntra>, String) {
        let entra = Arc::new(FakeEntra::start().await);
        Mock::given(method("GET"))
            .and(path("/v1.0/me"))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"displayName":"Alice"}"#))
            .mount(entra.server())
            .await;
        let validator_entra = Arc::clone(&entra);
        let api = Api {
            msal: entra
                .confidential_client(WEB_API_CLIENT_ID)
                .build()
                .unwrap(),
            validate: Arc::new(move |t: &str| {
                validator_entra
                    .validate(t, WEB_API_CLIENT_ID)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
            http: Arc::new(entra.transport()),
            graph: "https://graph.microsoft.com".into(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router(Arc::new(api))).await;
        });
        (entra, url)
    }

    /// `GET /me` with this bearer token (bounded: the API must answer).
    async fn call_me(url: &str, token: Option<&str>) -> http::Response<Vec<u8>> {
        let mut request = http::Request::get(format!("{url}/me"));
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        ReqwestHttpClient::new()
            .with_timeout(Duration::from_secs(10))
            .send(request.body(Vec::new()).unwrap())
            .await
            .expect("the API answers")
    }

    #[tokio::test]
    async fn calls_graph_on_behalf_of_the_caller() {
        let (entra, url) = api_under_test().await;
        let caller = entra.issue_user_token(
            USERNAME,
            PUBLIC_CLIENT_ID,
            &["api://web-api/access_as_user"],
        );
        let response = call_me(&url, Some(&caller)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), br#"{"displayName":"Alice"}"#);
        entra.assert_token_requests_for(Grant::OnBehalfOf, 1);

        // Graph received a token for Graph, for the caller, obtained by the API.
        let graph_call = entra
            .server()
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.url.path() == "/v1.0/me")
            .unwrap();
        let token = graph_call.headers["authorization"]
            .to_str()
            .unwrap()
            .trim_start_matches("Bearer ")
            .to_owned();
        let claims = entra.validate(&token, GRAPH).unwrap();
        assert_eq!(
            (claims.oid.as_str(), claims.azp.as_str()),
            (USER_OID, WEB_API_CLIENT_ID)
        );
        assert_eq!(claims.scp, ["User.Read".to_owned()].into());

        // A second call with the same caller token is served from the API's OBO cache.
        assert_eq!(call_me(&url, Some(&caller)).await.status(), 200);
        entra.assert_token_requests(1);
    }

    #[tokio::test]
    async fn answers_401_with_a_claims_challenge_when_the_fake_asks_for_mfa() {
        let (entra, url) = api_under_test().await;
        let challenge = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
        entra.fault(Fault::claims_challenge(challenge).only(Grant::OnBehalfOf));
        let caller = entra.issue_user_token(
            USERNAME,
            PUBLIC_CLIENT_ID,
            &["api://web-api/access_as_user"],
        );

        let response = call_me(&url, Some(&caller)).await;
        assert_eq!(response.status(), 401);
        let www = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(www.contains(r#"error="insufficient_claims""#), "{www}");
        let b64 = www
            .split(r#"claims=""#)
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let claims = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(claims, challenge.as_bytes());
        entra.assert_token_requests_for(Grant::OnBehalfOf, 1);
    }

    #[tokio::test]
    async fn refuses_callers_without_a_token_for_it() {
        let (entra, url) = api_under_test().await;
        assert_eq!(call_me(&url, None).await.status(), 401);
        let for_graph = entra.issue_user_token(USERNAME, PUBLIC_CLIENT_ID, &["User.Read"]);
        let response = call_me(&url, Some(&for_graph)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
        entra.assert_no_requests();
    }
}
