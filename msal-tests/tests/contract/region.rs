//! Azure region auto-detection for confidential clients: `REGION_NAME`, then IMDS (pointed at
//! the loopback fake through `AZURE_POD_IDENTITY_AUTHORITY_HOST`, never 169.254.169.254), then
//! the global endpoint with a warning. Each test uses its own IMDS path prefix: the detected
//! region is kept per process and per IMDS endpoint.

use std::future::IntoFuture;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use msal::ConfidentialClientApplication;
use msal_tests::harness::*;
use serde_json::json;
use tracing_subscriber::util::SubscriberInitExt;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

fn token_url(host: &str) -> String {
    format!("https://{host}/{UTID}/oauth2/v2.0/token")
}

fn app(transport: &LoopbackTransport, vars: &[(&str, String)]) -> ConfidentialClientApplication {
    ConfidentialClientApplication::builder(CLIENT_ID)
        .authority(&format!("https://login.microsoftonline.com/{UTID}"))
        .client_secret("s3cret")
        .http_client(transport.clone())
        .clock(msal::ManualClock::at_unix(T0))
        .azure_region_auto_detect()
        .region_environment(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .build()
        .unwrap()
}

async fn mount_app_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/{UTID}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "app-at", "token_type": "Bearer", "expires_in": 3600
        })))
        .mount(server)
        .await;
}

/// IMDS's region endpoint under `prefix`, answering `response`.
fn imds(prefix: &str, response: ResponseTemplate) -> Mock {
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/metadata/instance/compute/location")))
        .and(query_param("format", "text"))
        .and(query_param("api-version", "2021-01-01"))
        .and(header("Metadata", "true"))
        .respond_with(response)
}

fn imds_host(server: &MockServer, prefix: &str) -> (&'static str, String) {
    (
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("{}{prefix}", server.uri()),
    )
}

async fn imds_requests(server: &MockServer) -> usize {
    let reqs = server.received_requests().await.unwrap_or_default();
    reqs.iter()
        .filter(|r| {
            r.url
                .path()
                .ends_with("/metadata/instance/compute/location")
        })
        .count()
}

/// `REGION_NAME` (as Azure Functions spell it) wins: no IMDS request at all.
#[tokio::test]
async fn region_name_is_used_without_asking_imds() {
    let server = MockServer::start().await;
    mount_app_token(&server).await;
    let transport = LoopbackTransport::new(&server);
    let app = app(
        &transport,
        &[
            ("REGION_NAME", "West US 2".into()),
            imds_host(&server, "/region-name"),
        ],
    );
    app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
    assert_eq!(
        transport.sent_urls(),
        vec![token_url("westus2.login.microsoft.com")]
    );
    assert_eq!(imds_requests(&server).await, 0);
}

/// IMDS's answer sends client credentials to the regional endpoint; it is asked once per
/// process, however many applications there are.
#[tokio::test]
async fn imds_region_is_detected_once_per_process() {
    let server = MockServer::start().await;
    mount_app_token(&server).await;
    imds(
        "/imds-once",
        ResponseTemplate::new(200).set_body_string("eastus"),
    )
    .expect(1)
    .mount(&server)
    .await;
    let vars = [imds_host(&server, "/imds-once")];
    for _ in 0..2 {
        let transport = LoopbackTransport::new(&server);
        let app = app(&transport, &vars);
        app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
        let urls = transport.sent_urls();
        assert_eq!(urls.last(), Some(&token_url("eastus.login.microsoft.com")));
    }
    assert_eq!(imds_requests(&server).await, 1);
}

/// A writer the tracing subscriber of one test writes to.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// IMDS failing (HTTP 500) falls back to the global endpoint, with a warning saying so; the
/// failure is kept too, so the next request does not ask again.
#[tokio::test]
async fn imds_failure_falls_back_to_the_global_endpoint_with_a_warning() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish()
        .set_default();
    let server = MockServer::start().await;
    mount_app_token(&server).await;
    imds("/imds-500", ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let transport = LoopbackTransport::new(&server);
    let app = app(&transport, &[imds_host(&server, "/imds-500")]);
    app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
    app.acquire_token_for_client([GRAPH_DEFAULT])
        .force_refresh(true)
        .await
        .unwrap();
    let urls = transport.sent_urls();
    assert_eq!(urls.len(), 3, "{urls:?}");
    assert_eq!(urls[1..], [token_url(ENV), token_url(ENV)]);
    assert_eq!(imds_requests(&server).await, 1);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("WARN") && logs.contains("using the global endpoint"),
        "{logs}"
    );
}

/// IMDS that does not answer is given up on after its short timeout (2 s): the request goes to
/// the global endpoint instead of hanging.
#[tokio::test]
async fn imds_that_does_not_answer_falls_back_after_its_timeout() {
    let server = MockServer::start().await;
    mount_app_token(&server).await;
    imds(
        "/imds-slow",
        ResponseTemplate::new(200)
            .set_body_string("eastus")
            .set_delay(Duration::from_secs(30)),
    )
    .mount(&server)
    .await;
    let transport = LoopbackTransport::new(&server).with_timeout(Duration::from_secs(60));
    let app = app(&transport, &[imds_host(&server, "/imds-slow")]);
    tokio::time::timeout(
        Duration::from_secs(20),
        app.acquire_token_for_client([GRAPH_DEFAULT]).into_future(),
    )
    .await
    .expect("region detection is bounded")
    .unwrap();
    assert_eq!(transport.sent_urls().last(), Some(&token_url(ENV)));
}

/// Without an override, detection would ask 169.254.169.254: the loopback guard refuses that
/// before sending, and the app falls back to the global endpoint.
#[tokio::test]
async fn the_real_imds_address_is_refused_before_sending() {
    let server = MockServer::start().await;
    mount_app_token(&server).await;
    let transport = LoopbackTransport::new(&server);
    let app = app(&transport, &[]);
    app.acquire_token_for_client([GRAPH_DEFAULT]).await.unwrap();
    let urls = transport.sent_urls();
    // The probe (if this process had not made it already) was refused, never sent.
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://169.254.169.254/") || *u == token_url(ENV)),
        "{urls:?}"
    );
    assert_eq!(urls.last(), Some(&token_url(ENV)));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert!(received[0].url.path().ends_with("/token"));
}
