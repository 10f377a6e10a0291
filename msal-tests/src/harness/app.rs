//! [`Harness`]: an app, its manual clock, its cache and the wiremock server it talks to.

use std::time::Duration;

use msal::cache::{CacheStore, Partition};
use msal::http::{HttpClient, RetryPolicy};
use msal::{Account, ManualClock, PublicClientApplication, PublicClientApplicationBuilder};
use serde_json::Value;
use wiremock::MockServer;

use super::{hid, CacheDoc, LoopbackTransport, TestStore, CLIENT_ID, ENV, T0, USERNAME, UTID};

/// The authority harness apps use unless told otherwise.
const COMMON: &str = "https://login.microsoftonline.com/common";

/// An app, its clock, its cache and the wiremock server it talks to.
pub struct Harness {
    /// The server standing in for Entra.
    pub server: MockServer,
    /// The app's clock, at [`T0`] to start with.
    pub clock: ManualClock,
    /// The app's cache (the `MSAL_TEST_BACKEND` store).
    pub cache: TestStore,
    /// The app under test.
    pub app: PublicClientApplication,
}

impl Harness {
    /// An app for `CLIENT_ID` at `https://login.microsoftonline.com/common`.
    pub async fn new() -> Self {
        Self::with_authority(COMMON).await
    }

    /// An app for `CLIENT_ID` at `authority` (on a fresh server, clock and cache).
    pub async fn with_authority(authority: &str) -> Self {
        Self::configured(|b| b.authority(authority)).await
    }

    /// An app for `CLIENT_ID` at `https://login.microsoftonline.com/common` sending through
    /// `transport` instead of the loopback transport (fault injection); the wiremock server
    /// only fills the harness.
    pub async fn with_transport(transport: impl HttpClient + 'static) -> Self {
        Self::configured(|b| b.authority(COMMON).http_client(transport)).await
    }

    /// A fresh server, clock and cache, and an app from [`app_builder`] as `configure` leaves it.
    async fn configured(
        configure: impl FnOnce(PublicClientApplicationBuilder) -> PublicClientApplicationBuilder,
    ) -> Self {
        let server = MockServer::start().await;
        let clock = ManualClock::at_unix(T0);
        let cache = TestStore::from_env();
        let app = configure(app_builder(&server, &clock, &cache, CLIENT_ID))
            .build()
            .expect("the harness app builds");
        Harness {
            server,
            clock,
            cache,
            app,
        }
    }

    /// Another app (e.g. another process or client id) sharing this harness's cache and clock.
    pub fn sibling(&self, client_id: &str) -> PublicClientApplication {
        app_builder(&self.server, &self.clock, &self.cache, client_id)
            .authority(COMMON)
            .build()
            .expect("the sibling app builds")
    }

    /// Replace the cache contents.
    pub async fn seed(&self, doc: &CacheDoc) {
        let bytes = doc.to_bytes();
        self.cache
            .modify(Partition::All, None, &mut |_| Ok(bytes.clone()))
            .await
            .expect("the store accepts the seed");
    }

    /// The cache contents as JSON.
    pub async fn stored(&self) -> Value {
        let bytes = self.cache.snapshot().await;
        serde_json::from_slice(&bytes.unwrap_or_else(|| b"{}".to_vec()))
            .expect("the stored document is JSON")
    }

    /// The signed-in user's account (what [`CacheDoc::signed_in`] seeds).
    pub fn account(&self) -> Account {
        let mut a = Account::new(hid(), ENV, USERNAME);
        a.tenant_id = UTID.into();
        a
    }

    /// The requests the server received at a token endpoint.
    pub async fn token_requests(&self) -> Vec<wiremock::Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path().ends_with("/token"))
            .collect()
    }
}

/// A builder for `client_id` on the loopback transport to `server`, with this clock and cache
/// and one quick retry.
pub fn app_builder(
    server: &MockServer,
    clock: &ManualClock,
    cache: &TestStore,
    client_id: &str,
) -> PublicClientApplicationBuilder {
    PublicClientApplication::builder(client_id)
        .http_client(LoopbackTransport::new(server))
        .clock(clock.clone())
        .cache(cache.clone())
        .retry_policy(RetryPolicy {
            max_retries: 1,
            delay: Duration::from_millis(20),
        })
}
