//! Testing a daemon (a background service with its own identity) that calls an API with
//! client credentials, reusing its token until it expires. Run with `cargo test -p msal-tests
//! --example daemon`.

use std::sync::Arc;

use msal::http::HttpClient;
use msal::{ConfidentialClientApplication, Error};

// ---------------------------------------------------------------- the code under test

/// The daemon: its app and how it reaches the API.
pub struct Daemon {
    /// Its confidential client.
    pub msal: ConfidentialClientApplication,
    /// The API's Application ID URI (`api://...`).
    pub api: String,
    /// The API's base URL.
    pub api_url: String,
    /// The transport to the API.
    pub http: Arc<dyn HttpClient>,
}

/// Why a run failed.
#[derive(Debug)]
pub enum RunError {
    /// No token.
    Token(Error),
    /// The API did not answer 200.
    Api(String),
}

impl Daemon {
    /// One unit of work: `GET /data` on the API with an app token.
    pub async fn run_once(&self) -> Result<Vec<u8>, RunError> {
        let token = self
            .msal
            .acquire_token_for_client([format!("{}/.default", self.api)])
            .await
            .map_err(RunError::Token)?;
        let request = http::Request::get(format!("{}/data", self.api_url))
            .header("authorization", format!("Bearer {}", token.access_token()))
            .body(Vec::new())
            .map_err(|e| RunError::Api(e.to_string()))?;
        match self.http.send(request).await {
            Ok(r) if r.status() == 200 => Ok(r.into_body()),
            Ok(r) => Err(RunError::Api(format!("HTTP {}", r.status()))),
            Err(e) => Err(RunError::Api(e.to_string())),
        }
    }
}

fn main() {
    println!("an example to run as a test: cargo test -p msal-tests --example daemon");
}

// ---------------------------------------------------------------- its tests

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use msal_tests::kit::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    const DAEMON_ID: &str = "d43m0n00-4444-4e5f-8a9b-0123456789ab";
    const DAEMON_SECRET: &str = "fake-daemon-secret";

    async fn daemon_under_test() -> (FakeEntra, Daemon) {
        let entra = FakeEntra::start().await;
        entra.add_app(
            AppRegistration::confidential(DAEMON_ID, DAEMON_SECRET).with_roles(["Data.Read.All"]),
        );
        Mock::given(method("GET"))
            .and(path("/data"))
            .respond_with(ResponseTemplate::new(200).set_body_string("the data"))
            .mount(entra.server())
            .await;
        let daemon = Daemon {
            msal: entra.confidential_client(DAEMON_ID).build().unwrap(),
            api: WEB_API_URI.into(),
            api_url: "https://api.contoso.example".into(),
            http: Arc::new(entra.transport()),
        };
        (entra, daemon)
    }

    /// The bearer tokens the API received, in order.
    async fn tokens_the_api_saw(entra: &FakeEntra) -> Vec<String> {
        entra
            .server()
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/data")
            .map(|r| {
                r.headers["authorization"]
                    .to_str()
                    .unwrap()
                    .trim_start_matches("Bearer ")
                    .to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn reuses_its_token_then_gets_a_new_one_after_the_clock_moves() {
        let (entra, daemon) = daemon_under_test().await;
        assert_eq!(daemon.run_once().await.unwrap(), b"the data");
        assert_eq!(daemon.run_once().await.unwrap(), b"the data");
        entra.assert_token_requests_for(Grant::ClientCredentials, 1);

        entra.clock().advance(Duration::from_secs(2 * 3600));
        daemon.run_once().await.unwrap();
        entra.assert_token_requests_for(Grant::ClientCredentials, 2);

        let seen = tokens_the_api_saw(&entra).await;
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], seen[1]);
        assert_ne!(seen[1], seen[2]);
        // What the API checks: its audience, the daemon's roles, unexpired.
        let claims = entra.validate(&seen[2], WEB_API_URI).unwrap();
        assert_eq!(
            (claims.aud.as_str(), claims.azp.as_str()),
            (WEB_API_CLIENT_ID, DAEMON_ID)
        );
        assert_eq!(claims.roles, ["Data.Read.All".to_owned()].into());
        assert!(
            entra.validate(&seen[0], WEB_API_URI).is_err(),
            "the first token has expired"
        );
    }

    #[tokio::test]
    async fn reports_an_outage_and_recovers() {
        let (entra, daemon) = daemon_under_test().await;
        entra.fault(Fault::status(503).times(2));
        match daemon.run_once().await {
            Err(RunError::Token(e)) => assert!(e.is_transient(), "{e}"),
            other => panic!("expected a transient token error, got {other:?}"),
        }
        assert!(tokens_the_api_saw(&entra).await.is_empty());
        entra.clock().advance(Duration::from_secs(60)); // past the local throttle
        daemon.run_once().await.unwrap();
    }

    #[tokio::test]
    async fn a_wrong_secret_is_a_clear_error() {
        let (entra, _) = daemon_under_test().await;
        let daemon = Daemon {
            msal: entra
                .confidential_client(DAEMON_ID)
                .client_secret("rotated-away")
                .build()
                .unwrap(),
            api: WEB_API_URI.into(),
            api_url: "https://api.contoso.example".into(),
            http: Arc::new(entra.transport()),
        };
        match daemon.run_once().await {
            Err(RunError::Token(e)) => assert_eq!(e.oauth_error().unwrap().error, "invalid_client"),
            other => panic!("expected invalid_client, got {other:?}"),
        }
    }
}
