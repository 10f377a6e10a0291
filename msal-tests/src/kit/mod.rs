//! A test kit for code built on msal-rs: a fake Microsoft identity platform on wiremock,
//! scripted faults, a request log with assertions, a browserless web UI and a manual clock.
//!
//! ```
//! use msal_tests::kit::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A tenant, a user (alice), a public client and a confidential web API, in one line.
//! let entra = FakeEntra::start().await;
//! let app = entra.public_client(PUBLIC_CLIENT_ID).build().unwrap();
//!
//! // Sign in interactively (no browser), then the token is served from the cache.
//! let signed_in = app.acquire_token_interactive(["User.Read"]).await.unwrap();
//! let claims = entra.validate(signed_in.access_token(), GRAPH).unwrap();
//! assert_eq!(claims.preferred_username.as_deref(), Some(USERNAME));
//! let account = signed_in.account().unwrap().clone();
//! app.acquire_token_silent(["User.Read"], &account).await.unwrap();
//! entra.assert_token_requests(1);
//!
//! // Two hours later the refresh token buys a new one; then the identity provider is down.
//! entra.clock().advance(std::time::Duration::from_secs(2 * 3600));
//! app.acquire_token_silent(["User.Read"], &account).await.unwrap();
//! entra.assert_token_requests_for(Grant::RefreshToken, 1);
//! entra.fault(Fault::status(503).times(2));
//! entra.clock().advance(std::time::Duration::from_secs(2 * 3600));
//! let err = app.acquire_token_silent(["User.Read"], &account).await.unwrap_err();
//! assert!(err.is_transient());
//! # }
//! ```
//!
//! # What the fake serves
//! Every request the apps send (they use [`FakeEntra::transport`]) reaches one wiremock server
//! that answers by path, as Entra does: `/common/discovery/instance`,
//! `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/authorize`,
//! `/{tenant}/oauth2/v2.0/devicecode` and `/{tenant}/oauth2/v2.0/token` with the grants
//! `authorization_code` (PKCE S256 checked, `redirect_uri` checked, the `nonce` echoed in the
//! ID token), `refresh_token` (a new refresh token each time), `client_credentials` (`/.default`
//! scopes, a tenant, the app's `roles`), on-behalf-of (the assertion must be an access token of
//! the fake for this client, unexpired) and device code. `{tenant}` is a tenant id, a domain or
//! `common`/`organizations`. Managed identity: IMDS (`/metadata/identity/oauth2/token`) and App
//! Service (`/msi/token`) shapes, through [`FakeEntra::managed_identity_on_vm`] and
//! [`FakeEntra::managed_identity_on_app_service`]. Unknown tenants, clients, secrets, codes and refresh tokens get
//! Entra's errors (`invalid_client`, `invalid_grant` with an `AADSTS` code, ...).
//!
//! Tokens are JWT-shaped and unsigned: ID tokens and `client_info` as Entra's; access tokens
//! carry `aud`, `iss`, `tid`, `oid`, `azp`, `scp` (user tokens) or `roles` (app tokens), which
//! [`FakeEntra::validate`] reads back for an API under test.
//!
//! # Choices
//! - Time is the fake's [`ManualClock`] (shared by the apps it builds), starting at
//!   [`T0`](crate::harness::T0), with auto-advance: msal-rs's pauses (retry delays, device code
//!   polling) move it instead of waiting, so tests take no real time.
//!   [`Fault::delay`] is real time (it tests timeouts).
//! - Refresh tokens rotate (a new one per redemption) and, as in Entra, the old one stays
//!   valid unless [`FakeEntra::single_use_refresh_tokens`] is set.
//! - A revoked refresh token gets `invalid_grant` (AADSTS50173, suberror `bad_token`).
//! - A claims challenge is `interaction_required` (AADSTS50076, suberror `basic_action`) with
//!   `claims`, whatever the grant (Entra answers on-behalf-of the same way for MFA).
//! - The audience of a scope `{uri}/name` is the client id of the app registered with that
//!   Application ID URI (or `api://{client id}`), else `{uri}` itself; plain scopes
//!   (`User.Read`) are Microsoft Graph's, [`GRAPH`].
//! - Sign-ins consent at once; the device code is approved on the first poll unless
//!   [`FakeEntra::device_code_pending_polls`] says otherwise.

mod claims;
mod directory;
mod endpoints;
mod faults;
mod grants;
mod log;
mod managed_identity;
mod state;
mod web_ui;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use msal::{
    ConfidentialClientApplication, ConfidentialClientApplicationBuilder,
    ManagedIdentityApplication, ManagedIdentityApplicationBuilder, ManagedIdentityEnvironment,
    ManagedIdentityId, PublicClientApplication, PublicClientApplicationBuilder,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

pub use self::claims::{decode_claims, issuer, AccessTokenClaims, TokenValidationError};
pub use self::directory::{AppRegistration, Tenant, User};
pub use self::faults::Fault;
pub use self::log::{Endpoint, Grant, LoggedRequest};
pub use self::managed_identity::{IDENTITY_HEADER, MANAGED_IDENTITY_CLIENT_ID};
pub use self::state::GRAPH;
pub use self::web_ui::BrowserlessWebUi;
pub use crate::harness::UTID as TENANT_ID;
pub use crate::harness::{
    LoopbackTransport, CLIENT_ID as PUBLIC_CLIENT_ID, UID as USER_OID, USERNAME,
};
pub use msal::ManualClock;

use self::endpoints::Responder;
use self::log::describe;
use self::state::State;

/// The default tenant's domain.
pub const TENANT_DOMAIN: &str = "contoso.example";
/// The default confidential client: a web API (and daemon) with a secret.
pub const WEB_API_CLIENT_ID: &str = "3c2b1a09-3333-4d5e-8f70-0123456789ef";
/// The default web API's client secret.
pub const WEB_API_SECRET: &str = "fake-web-api-secret";
/// The default web API's Application ID URI (scopes `api://web-api/access_as_user`).
pub const WEB_API_URI: &str = "api://web-api";
/// The application permission granted to the default web API (its app tokens' `roles`).
pub const WEB_API_ROLE: &str = "Data.Read.All";

/// A fake Microsoft identity platform on a loopback wiremock server; see the [module
/// docs](self). Cheap to share by reference; drop it to stop the server.
pub struct FakeEntra {
    server: MockServer,
    state: Arc<Mutex<State>>,
    clock: ManualClock,
}

impl FakeEntra {
    /// A fake with a tenant ([`TENANT_ID`], [`TENANT_DOMAIN`]), a user ([`USERNAME`],
    /// [`USER_OID`]), a public client ([`PUBLIC_CLIENT_ID`]) and a confidential web API
    /// ([`WEB_API_CLIENT_ID`], [`WEB_API_SECRET`], [`WEB_API_URI`], role [`WEB_API_ROLE`]).
    pub async fn start() -> Self {
        let entra = Self::empty().await;
        entra
            .add_tenant(Tenant::new(TENANT_ID, TENANT_DOMAIN))
            .add_user(User::new(USERNAME, USER_OID, TENANT_ID).with_name("Alice"))
            .add_app(AppRegistration::public(PUBLIC_CLIENT_ID))
            .add_app(
                AppRegistration::confidential(WEB_API_CLIENT_ID, WEB_API_SECRET)
                    .with_app_id_uri(WEB_API_URI)
                    .with_roles([WEB_API_ROLE]),
            );
        entra
    }

    /// A fake with no tenant, user or app.
    pub async fn empty() -> Self {
        let server = MockServer::start().await;
        let clock = ManualClock::at_unix(crate::harness::T0).with_auto_advance();
        let state = Arc::new(Mutex::new(State {
            access_token_lifetime: 3600,
            ..State::default()
        }));
        // The lowest priority: mocks a test mounts on the server (its own APIs) come first.
        Mock::given(any())
            .respond_with(Responder {
                state: Arc::clone(&state),
                clock: clock.clone(),
            })
            .with_priority(u8::MAX)
            .mount(&server)
            .await;
        FakeEntra {
            server,
            state,
            clock,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a tenant.
    pub fn add_tenant(&self, tenant: Tenant) -> &Self {
        self.state().tenants.push(tenant);
        self
    }

    /// Add a user (the first user added signs in unless [`sign_in_as`](Self::sign_in_as)).
    pub fn add_user(&self, user: User) -> &Self {
        self.state().users.push(user);
        self
    }

    /// Register an app (replacing one with the same client id).
    pub fn add_app(&self, app: AppRegistration) -> &Self {
        self.state().apps.insert(app.client_id.clone(), app);
        self
    }

    /// The fake's clock, shared with every app it builds: move it to expire tokens.
    pub fn clock(&self) -> ManualClock {
        self.clock.clone()
    }

    /// The wiremock server (to mount mocks of your own APIs beside the fake's).
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// A transport sending every request (to `login.microsoftonline.com` or any host) to the
    /// fake, for an app you build yourself.
    pub fn transport(&self) -> LoopbackTransport {
        LoopbackTransport::new(&self.server)
    }

    /// A builder for a public client at `https://login.microsoftonline.com/common` wired to
    /// the fake: its transport, its clock and the [browserless web UI](Self::web_ui). Set a
    /// cache of your own with `.cache(..)` (an in-memory one otherwise).
    pub fn public_client(&self, client_id: &str) -> PublicClientApplicationBuilder {
        PublicClientApplication::builder(client_id)
            .authority("https://login.microsoftonline.com/common")
            .http_client(self.transport())
            .clock(self.clock())
            .web_ui(self.web_ui())
    }

    /// A builder for a confidential client in the first tenant with its registered secret,
    /// wired to the fake (transport and clock).
    pub fn confidential_client(&self, client_id: &str) -> ConfidentialClientApplicationBuilder {
        let (tenant, secret) = {
            let s = self.state();
            let tenant = s
                .tenants
                .first()
                .map(|t| t.id.clone())
                .unwrap_or_else(|| "common".into());
            let secret = s.apps.get(client_id).and_then(|a| a.secret.clone());
            (tenant, secret)
        };
        let mut builder = ConfidentialClientApplication::builder(client_id)
            .authority(&format!("https://login.microsoftonline.com/{tenant}"))
            .http_client(self.transport())
            .clock(self.clock());
        if let Some(secret) = secret {
            builder = builder.client_secret(secret);
        }
        builder
    }

    /// A builder for a managed identity app on a virtual machine (IMDS) wired to the fake:
    /// its transport and its clock; IMDS's host is the fake's (`AZURE_POD_IDENTITY_AUTHORITY_HOST`).
    pub fn managed_identity_on_vm(
        &self,
        id: ManagedIdentityId,
    ) -> ManagedIdentityApplicationBuilder {
        // IMDS's host comes from the environment, as it must in tests: the transport's loopback
        // guard refuses 169.254.169.254 itself before anything is sent.
        let host = self.server.uri();
        ManagedIdentityApplication::builder(id)
            .environment(ManagedIdentityEnvironment::from_vars([(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                host.as_str(),
            )]))
            .http_client(self.transport())
            .clock(self.clock())
    }

    /// A builder for a managed identity app on App Service (`IDENTITY_ENDPOINT` at the fake,
    /// `IDENTITY_HEADER` = [`IDENTITY_HEADER`]) wired to the fake.
    pub fn managed_identity_on_app_service(
        &self,
        id: ManagedIdentityId,
    ) -> ManagedIdentityApplicationBuilder {
        let endpoint = format!("{}/msi/token", self.server.uri());
        ManagedIdentityApplication::builder(id)
            .environment(ManagedIdentityEnvironment::from_vars([
                ("IDENTITY_ENDPOINT", endpoint.as_str()),
                ("IDENTITY_HEADER", IDENTITY_HEADER),
            ]))
            .http_client(self.transport())
            .clock(self.clock())
    }

    /// A web UI completing interactive sign-in against the fake without a browser.
    pub fn web_ui(&self) -> BrowserlessWebUi {
        BrowserlessWebUi::new(self.transport())
    }

    /// Who signs in interactively (without a `login_hint` naming someone else) and approves
    /// device codes from now on.
    pub fn sign_in_as(&self, username: &str) {
        self.state().signing_in = Some(username.to_owned());
    }

    /// Make sign-ins decline (`access_denied` at the authorize endpoint,
    /// `authorization_declined` for device codes), or accept again.
    pub fn decline_sign_ins(&self, decline: bool) {
        self.state().decline_sign_ins = decline;
    }

    /// Device codes issued from now on answer `authorization_pending` to their first `polls`
    /// polls before the user approves.
    pub fn device_code_pending_polls(&self, polls: usize) {
        self.state().device_code_pending_polls = polls;
    }

    /// Make a redeemed refresh token invalid (`invalid_grant`, `bad_token`) once its
    /// successor is issued (Entra keeps it valid; some providers do not).
    pub fn single_use_refresh_tokens(&self, single_use: bool) {
        self.state().single_use_refresh_tokens = single_use;
    }

    /// The lifetime of access tokens issued from now on (an hour unless set).
    pub fn access_token_lifetime(&self, lifetime: Duration) {
        self.state().access_token_lifetime = lifetime.as_secs();
    }

    /// Queue a scripted fault for the next matching token requests.
    pub fn fault(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Revoke one refresh token: redeeming it gets `invalid_grant` (AADSTS50173, `bad_token`).
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        if let Some(rt) = self.state().refresh_tokens.get_mut(refresh_token) {
            rt.revoked = true;
        }
    }

    /// Revoke every refresh token issued to `username` so far (what "revoke sessions" does).
    pub fn revoke_sessions(&self, username: &str) {
        for rt in self.state().refresh_tokens.values_mut() {
            if rt.username.eq_ignore_ascii_case(username) {
                rt.revoked = true;
            }
        }
    }

    /// An access token of `username` for `scopes` through `client_id`, issued now without a
    /// request (what a caller of your API presents).
    ///
    /// # Panics
    /// If `username` is not a user of the fake.
    pub fn issue_user_token(&self, username: &str, client_id: &str, scopes: &[&str]) -> String {
        let now = self.now();
        let mut s = self.state();
        assert!(
            s.user(username).is_some(),
            "{username} is not a user of the fake identity provider"
        );
        let scope = scopes.join(" ");
        let body = s.user_tokens(&state::UserGrant {
            username,
            client_id,
            scope: &scope,
            nonce: None,
            now,
        });
        body["access_token"].as_str().unwrap_or_default().to_owned()
    }

    /// Check an access token as an API would: issued by this fake, for `audience`, not expired
    /// on the fake's clock. Returns its claims.
    pub fn validate(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<AccessTokenClaims, TokenValidationError> {
        let claims = claims::read_access_token(token).ok_or(TokenValidationError::Unknown)?;
        let expected = self.state().audience(audience);
        if claims.aud != expected && claims.aud != audience {
            return Err(TokenValidationError::WrongAudience {
                expected: audience.to_owned(),
                actual: claims.aud,
            });
        }
        let now = self.now();
        if claims.exp <= now {
            return Err(TokenValidationError::Expired {
                exp: claims.exp,
                now,
            });
        }
        Ok(claims)
    }

    fn now(&self) -> u64 {
        use msal::Clock;
        self.clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Every request the fake received, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// The token requests (token endpoint and managed identity) the fake received, in order.
    pub fn token_requests(&self) -> Vec<LoggedRequest> {
        self.state()
            .log
            .iter()
            .filter(|r| r.is_token_request())
            .cloned()
            .collect()
    }

    /// Forget the requests received so far (assertions then count from here).
    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    /// Assert that exactly `n` token requests (token endpoint and managed identity) reached
    /// the fake.
    ///
    /// # Panics
    /// Otherwise, listing the requests (no secrets).
    #[track_caller]
    pub fn assert_token_requests(&self, n: usize) {
        let s = self.state();
        let seen: Vec<&LoggedRequest> = s.log.iter().filter(|r| r.is_token_request()).collect();
        assert!(
            seen.len() == n,
            "expected {n} token request(s), the fake identity provider received {}: {}",
            seen.len(),
            describe(&seen)
        );
    }

    /// Assert that exactly `n` token requests of `grant` reached the fake.
    ///
    /// # Panics
    /// Otherwise, listing the token requests (no secrets).
    #[track_caller]
    pub fn assert_token_requests_for(&self, grant: Grant, n: usize) {
        let s = self.state();
        let all: Vec<&LoggedRequest> = s.log.iter().filter(|r| r.is_token_request()).collect();
        let count = all
            .iter()
            .filter(|r| r.grant.as_ref() == Some(&grant))
            .count();
        assert!(count == n, "expected {n} {grant:?} token request(s), the fake identity provider received {count}; all token requests: {}", describe(&all));
    }

    /// Assert that no request at all reached the fake (everything came from the cache).
    ///
    /// # Panics
    /// Otherwise, listing the requests (no secrets).
    #[track_caller]
    pub fn assert_no_requests(&self) {
        let s = self.state();
        let seen: Vec<&LoggedRequest> = s.log.iter().collect();
        assert!(
            seen.is_empty(),
            "expected no request to reach the network, the fake identity provider received {}: {}",
            seen.len(),
            describe(&seen)
        );
    }
}

impl std::fmt::Debug for FakeEntra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEntra")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}
