//! On-behalf-of (OBO): an API exchanges the access token it was called with (the *user
//! assertion*) for a token to a downstream API, as the same user.
//!
//! Tokens are cached under a hash of the incoming assertion (base64url SHA-256, MSAL.NET's
//! `user_assertion_hash`), in that hash's own partition: the next request carrying the same
//! assertion is a cache hit, and no other request can be served a token obtained with
//! someone else's assertion. When the access token nears expiry, the OBO refresh token is
//! redeemed; if that fails for any reason but a transient one, the assertion itself is
//! exchanged again (it may well still be valid). An answer of "interaction required" (e.g.
//! conditional access) is [`Error::UiRequired`] with the claims to send back to the API's
//! client in a `WWW-Authenticate` challenge.
//!
//! Work that outlives the incoming token caches under a session key instead (see
//! [`crate::long_running_obo`]); this module's flow serves both.

use std::future::IntoFuture;
use std::sync::Arc;

use crate::http::throttle::throttle_key;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::future::BoxFuture;
use msal_cache::schema::RefreshTokenEntry;
use msal_cache::{Partition, TokenCache, TokenWrite, USER_ASSERTION_HASH};
use msal_core::{Account, Authority, ScopeSet, Secret, SharedSecret, TokenResponse};
use sha2::{Digest, Sha256};

use crate::client_core::{ClientCore, RefreshKey};
use crate::engine::{cached_result, serve, CachedFlow, Found};
use crate::flows::app_token::request_authority;
use crate::pop::AuthScheme;
use crate::request::{merge_claims, request_options, RequestOptions};
use crate::token_request::{send_throttled, ThrottledRequest};
use crate::write_back::{access_token_entry, cached_target, check_response_for};
use crate::{AuthenticationResult, Error};

/// The grant type of the on-behalf-of exchange (RFC 7523).
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An on-behalf-of request; set options, then `.await` it.
#[must_use = "a request does nothing until it is awaited"]
pub struct AcquireTokenOnBehalfOf {
    pub(crate) core: Arc<ClientCore>,
    pub(crate) user_assertion: Secret,
    pub(crate) scopes: Vec<String>,
    pub(crate) options: RequestOptions,
}

request_options!(AcquireTokenOnBehalfOf);
crate::pop::scheme_setters!(
    AcquireTokenOnBehalfOf,
    "app: msal::ConfidentialClientApplication, incoming: String",
    "app.acquire_token_on_behalf_of(incoming, [\"https://resource.example/.default\"])",
    "app.acquire_token_on_behalf_of(incoming, [\"https://pas.windows.net/CheckMyAccess/Linux/.default\"])",
    options.auth_scheme
);

impl IntoFuture for AcquireTokenOnBehalfOf {
    type Output = Result<AuthenticationResult, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            use tracing::Instrument;
            let flow = Arc::new(OboFlow::new(
                &self.core,
                Some(self.user_assertion),
                None,
                &self.scopes,
                self.options,
            )?);
            let span = tracing::debug_span!("acquire_token_on_behalf_of", correlation_id = %flow.correlation_id);
            let now = self.core.now_secs();
            let result = serve(self.core, Arc::clone(&flow)).instrument(span).await?;
            flow.finish(result, now)
        })
    }
}

// Hand-written to leave out the client's internals (`core`); the assertion redacts itself.
impl std::fmt::Debug for AcquireTokenOnBehalfOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireTokenOnBehalfOf")
            .field("user_assertion", &self.user_assertion)
            .field("scopes", &self.scopes)
            .field("tenant", &self.options.tenant)
            .field("force_refresh", &self.options.force_refresh)
            .field("auth_scheme", &self.options.auth_scheme)
            .finish()
    }
}

/// The longest session key accepted.
const MAX_SESSION_KEY_LEN: usize = 1024;

/// A session key as given, if it is one (see [`crate::flows::long_running_obo`]).
pub(crate) fn checked_session_key(key: String) -> Result<String, Error> {
    if key.trim().is_empty() || key.len() > MAX_SESSION_KEY_LEN || key.chars().any(char::is_control)
    {
        return Err(Error::InvalidArgument(
            "a long-running session key is 1 to 1024 characters without control characters".into(),
        ));
    }
    Ok(key)
}

/// The partition key of an incoming assertion: base64url of its SHA-256, as MSAL.NET computes
/// it. Only the hash is ever stored.
pub fn user_assertion_hash(user_assertion: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(user_assertion.as_bytes()))
}

/// An on-behalf-of request: with the incoming assertion, or (a long-running process) with
/// only the session key its tokens are cached under.
pub(crate) struct OboFlow {
    client_id: String,
    /// `None` for a long-running process's later calls: only the cached refresh token can help.
    user_assertion: Option<Secret>,
    /// The cache key: the assertion's hash, or a long-running process's session key.
    assertion_hash: String,
    requested: ScopeSet,
    match_scopes: ScopeSet,
    authority: Arc<Authority>,
    tenant: String,
    claims: Option<String>,
    bypass_cache: bool,
    pub(crate) correlation_id: String,
    extra_query: crate::extra_query::QueryParams,
    /// A key-bound scheme (PoP, SSH certificate); `None` for Bearer.
    scheme: Option<AuthScheme>,
}

impl OboFlow {
    /// A request with `user_assertion`, or without one (a long-running process); cached under
    /// `session_key`, else under the assertion's hash.
    pub(crate) fn new(
        core: &ClientCore,
        user_assertion: Option<Secret>,
        session_key: Option<String>,
        scopes: &[String],
        options: RequestOptions,
    ) -> Result<Self, Error> {
        let bypass_cache = !options.may_use_cache();
        let correlation_id = options
            .correlation_id
            .unwrap_or_else(crate::correlation::new_correlation_id);
        if user_assertion
            .as_ref()
            .is_some_and(|a| a.expose_secret().trim().is_empty())
        {
            return Err(Error::InvalidArgument("the user assertion is empty".into()));
        }
        let assertion_hash = match (session_key, &user_assertion) {
            (Some(key), _) => checked_session_key(key)?,
            (None, Some(assertion)) => user_assertion_hash(assertion.expose_secret()),
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "on-behalf-of needs a user assertion or a session key".into(),
                ))
            }
        };
        let requested =
            ScopeSet::parse_request(scopes).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let match_scopes = requested.without_reserved();
        if match_scopes.is_empty() {
            return Err(Error::InvalidArgument(
                "at least one scope besides openid, profile and offline_access is required".into(),
            ));
        }
        let authority = request_authority(core, options.tenant.as_deref())?;
        if authority.is_multi_tenant() {
            return Err(Error::InvalidArgument(
                "on-behalf-of needs a tenant: configure a tenanted authority or set the request's tenant".into(),
            ));
        }
        let claims = merge_claims(options.claims.as_deref(), &core.client_capabilities)?;
        let extra_query = crate::extra_query::merge(&core.extra_query, &options.extra_query)?;
        let scheme = crate::pop::resolve(options.auth_scheme)?;
        Ok(OboFlow {
            scheme,
            extra_query,
            client_id: core.client_id.clone(),
            assertion_hash,
            user_assertion,
            tenant: authority.tenant().unwrap_or("").to_owned(),
            requested,
            match_scopes,
            authority,
            bypass_cache,
            claims,
            correlation_id,
        })
    }

    /// The key the tokens are cached under.
    pub(crate) fn cache_key(&self) -> &str {
        &self.assertion_hash
    }

    /// The caller's result from the engine's: for a PoP request, the token signed into an SHR
    /// (at `now`, read before the request); otherwise as it is.
    pub(crate) fn finish(
        &self,
        result: AuthenticationResult,
        now: u64,
    ) -> Result<AuthenticationResult, Error> {
        crate::pop::finish(self.scheme.as_ref(), result, now)
    }

    fn account(&self, home_account_id: Option<&str>) -> Option<Account> {
        let hid = home_account_id.filter(|h| !h.is_empty())?;
        let mut account = Account::new(hid, self.authority.environment(), "");
        account.tenant_id = self.tenant.clone();
        Some(account)
    }

    /// Redeem the OBO refresh token; `None` when it cannot help (the caller then exchanges the
    /// assertion again).
    async fn redeem(
        &self,
        core: &ClientCore,
        token_endpoint: &url::Url,
        rt: &RefreshTokenEntry,
    ) -> Option<Result<TokenResponse, Error>> {
        let scope = self.requested.to_request_string();
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", &core.client_id),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.secret.expose_secret()),
            ("scope", &scope),
            ("client_info", "1"),
        ];
        if let Some(claims) = &self.claims {
            form.push(("claims", claims));
        }
        // A key-bound request asks for its token type on the refresh too (the refresh token
        // itself stays an ordinary one).
        let scheme_fields = crate::pop::form_fields(self.scheme.as_ref());
        form.extend(scheme_fields.iter().map(|(k, v)| (*k, v.as_str())));
        let outcome = self.send(core, token_endpoint, &form, &scope, false).await;
        match outcome {
            // Without the assertion there is nothing to fall back on: the refresh token's
            // answer ("interaction required" when it was revoked) is the caller's.
            Err(e) if !e.is_transient() && self.user_assertion.is_some() => {
                tracing::debug!(correlation_id = %self.correlation_id, error = %e, "the on-behalf-of refresh token failed; exchanging the assertion again");
                None
            }
            outcome => Some(outcome),
        }
    }

    async fn exchange(
        &self,
        core: &ClientCore,
        token_endpoint: &url::Url,
    ) -> Result<TokenResponse, Error> {
        let Some(assertion) = &self.user_assertion else {
            return Err(Error::LongRunningSessionNotFound);
        };
        let scope = self.requested.to_request_string();
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", &core.client_id),
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", assertion.expose_secret()),
            ("requested_token_use", "on_behalf_of"),
            ("scope", &scope),
            ("client_info", "1"),
        ];
        if let Some(claims) = &self.claims {
            form.push(("claims", claims));
        }
        let scheme_fields = crate::pop::form_fields(self.scheme.as_ref());
        form.extend(scheme_fields.iter().map(|(k, v)| (*k, v.as_str())));
        self.send(core, token_endpoint, &form, &scope, true).await
    }

    /// Send one of this flow's grants under the throttling rules: identical requests for the
    /// same assertion back off together; an exchange of the assertion that was answered
    /// "interaction required" is answered the same for a while without asking again.
    async fn send(
        &self,
        core: &ClientCore,
        token_endpoint: &url::Url,
        form: &[(&str, &str)],
        scope: &str,
        replay_ui_required: bool,
    ) -> Result<TokenResponse, Error> {
        let authority = self.authority.canonical_url();
        // A key-bound request never shares a throttling state with a Bearer one or another
        // key's.
        let scheme_part = self.scheme.as_ref().map(AuthScheme::key_part);
        let key = |parts: &[&str]| {
            let mut all = vec![core.client_id.as_str(), &authority, scope];
            all.extend(scheme_part.as_deref());
            all.extend_from_slice(parts);
            throttle_key(&all)
        };
        send_throttled(
            core,
            ThrottledRequest {
                token_endpoint,
                form,
                correlation_id: &self.correlation_id,
                anchor_mailbox: None,
                strict_key: key(&[&self.assertion_hash]),
                ui_key: replay_ui_required.then(|| key(&["obo", &self.assertion_hash])),
                // Entra's on-behalf-of refresh tokens may be presented again.
                single_use: false,
                extra_query: &self.extra_query,
            },
        )
        .await
    }
}

impl CachedFlow for OboFlow {
    fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    fn bypass_cache(&self) -> bool {
        self.bypass_cache
    }

    fn partition(&self) -> Partition<'_> {
        Partition::UserAssertion(&self.assertion_hash)
    }

    fn find(&self, core: &ClientCore, cache: &TokenCache) -> Option<Found> {
        let query = core.accountless_query(
            self.authority.environment(),
            &self.tenant,
            &self.match_scopes,
        );
        let entry = match &self.scheme {
            None => cache.find_on_behalf_of_access_token(&self.assertion_hash, &query)?,
            Some(scheme) => cache.find_on_behalf_of_bound_access_token(
                &self.assertion_hash,
                &query,
                &scheme.binding(),
            )?,
        };
        let account = self.account(entry.home_account_id.as_deref());
        Some(cached_result(entry, account, None, &self.correlation_id))
    }

    fn refresh_key(&self) -> RefreshKey {
        RefreshKey {
            home_account_id: match &self.scheme {
                None => format!("obo:{}", self.assertion_hash),
                Some(s) => format!("obo:{} {}", self.assertion_hash, s.key_part()),
            },
            authority: self.authority.canonical_url(),
            scopes: self.match_scopes.to_target().to_ascii_lowercase(),
            claims: self.claims.clone(),
            bypass_cache: self.bypass_cache,
        }
    }

    fn acquire(
        core: Arc<ClientCore>,
        flow: Arc<Self>,
        cache: Arc<TokenCache>,
    ) -> BoxFuture<'static, Result<AuthenticationResult, Error>> {
        Box::pin(async move {
            let environment = flow.authority.environment().to_owned();
            // A claims challenge must reach the assertion exchange: a refresh token cannot
            // satisfy new conditions. Without an assertion (a long-running process), the
            // refresh token is all there is.
            let rt = (!flow.bypass_cache || flow.user_assertion.is_none())
                .then(|| {
                    cache.on_behalf_of_refresh_token(
                        &flow.assertion_hash,
                        &environment,
                        &flow.client_id,
                    )
                })
                .flatten()
                .cloned();
            drop(cache);
            let endpoints = core
                .endpoints_for(&flow.authority, &flow.correlation_id)
                .await?;
            let redeemed = match &rt {
                Some(rt) => flow.redeem(&core, &endpoints.token, rt).await,
                None => None,
            };
            let tokens = match redeemed {
                Some(outcome) => outcome?,
                None => flow.exchange(&core, &endpoints.token).await?,
            };
            let checked = check_response_for(&tokens, flow.scheme.as_ref())?;
            let home_account_id = checked
                .client_info_home_account_id
                .clone()
                .or_else(|| checked.claims.as_ref().and_then(|c| c.sub.clone()));

            let now = core.now_secs();
            let target = cached_target(&tokens, &flow.requested);
            let mut entry = access_token_entry(
                &core,
                home_account_id.clone(),
                &environment,
                &flow.tenant,
                &tokens,
                &target,
                now,
            );
            let hash = serde_json::Value::String(flow.assertion_hash.clone());
            entry.extra.insert(USER_ASSERTION_HASH.into(), hash.clone());
            if let Some(scheme) = &flow.scheme {
                scheme.bind_entry(&mut entry);
            }
            let refresh_token = tokens.refresh_token.as_ref().map(|secret| {
                let mut rt = RefreshTokenEntry {
                    credential_type: "RefreshToken".into(),
                    secret: secret.into(),
                    home_account_id: home_account_id.as_deref().unwrap_or_default().into(),
                    environment: environment.as_str().into(),
                    client_id: core.client_id.as_str().into(),
                    target: Some(target.to_target().into()),
                    last_modification_time: Some(now),
                    family_id: None,
                    extra: Default::default(),
                };
                rt.extra.insert(USER_ASSERTION_HASH.into(), hash.clone());
                rt
            });
            let write = TokenWrite {
                access_token: Some(entry.clone()),
                refresh_token,
                ..TokenWrite::default()
            };
            core.cache
                .write(flow.partition(), |c| c.apply(&write))
                .await?;
            tracing::debug!(correlation_id = %flow.correlation_id, "on-behalf-of token acquired");
            let account = flow.account(home_account_id.as_deref());
            let mut found = cached_result(
                &entry,
                account,
                tokens.id_token.as_ref().map(SharedSecret::from),
                &flow.correlation_id,
            );
            found.result.source = crate::TokenSource::IdentityProvider;
            Ok(found.result)
        })
    }
}
