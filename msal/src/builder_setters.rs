//! The settings every application builder shares, written once: a builder with a `config:
//! CoreConfig` field gets them with `core_setters!(Builder)`. The public and confidential
//! builders differ only in what is theirs (a web UI and device-code fallback; a credential and
//! a region).

/// The shared setters, on a builder with a `config: CoreConfig` field.
macro_rules! core_setters {
    ($builder:ty) => {
        impl $builder {
            /// An Entra ID, B2C, CIAM or ADFS authority, e.g.
            /// `https://login.microsoftonline.com/<tenant>` (default:
            /// [`DEFAULT_AUTHORITY`](crate::DEFAULT_AUTHORITY)). A confidential client's app
            /// tokens and on-behalf-of tokens need a tenant, given here or per request.
            pub fn authority(mut self, authority: &str) -> Self {
                self.config.authority =
                    $crate::builder::AuthoritySpec::Standard(authority.to_owned());
                self
            }

            /// Any OpenID Connect provider, by issuer URL; its endpoints come from
            /// `{issuer}/.well-known/openid-configuration`, fetched on the first network
            /// request.
            pub fn oidc_authority(mut self, issuer: &str) -> Self {
                self.config.authority = $crate::builder::AuthoritySpec::Oidc(issuer.to_owned());
                self
            }

            /// Whether to validate unknown Entra hosts with Microsoft's instance discovery
            /// (default true). Known Entra hosts never need it; cache hits never make a
            /// request.
            pub fn instance_discovery(mut self, enabled: bool) -> Self {
                self.config.instance_discovery = enabled;
                self
            }

            /// Instance discovery metadata the app supplies itself (MSAL.NET
            /// `WithInstanceDiscoveryMetadata`): the JSON answer of Entra's instance discovery
            /// endpoint (see [`msal_core::InstanceDiscoveryMetadata`] for its shape), for
            /// private clouds and hosts that cannot reach `login.microsoftonline.com`. Its
            /// hosts are trusted without any discovery request, and an authority on any other
            /// host is refused with [`AuthorityError::UntrustedAuthority`](msal_core::AuthorityError::UntrustedAuthority)
            /// (at `build`, and before any request). Invalid JSON fails `build` with
            /// [`AuthorityError::InvalidInstanceMetadata`](msal_core::AuthorityError::InvalidInstanceMetadata).
            pub fn instance_discovery_metadata(mut self, json: impl Into<String>) -> Self {
                self.config.instance_metadata = Some(json.into());
                self
            }

            /// The hosts the app's authorities may be on (MSAL Node `knownAuthorities`), as
            /// host names (`login.contoso.example`, `host:port`) or authority URLs. They are
            /// trusted without instance discovery; an authority on any other host is refused
            /// with [`AuthorityError::UntrustedAuthority`](msal_core::AuthorityError::UntrustedAuthority)
            /// (at `build`, and before any request). Combines with
            /// [`instance_discovery_metadata`](Self::instance_discovery_metadata).
            pub fn known_authorities<I>(mut self, hosts: I) -> Self
            where
                I: IntoIterator,
                I::Item: Into<String>,
            {
                self.config.known_authorities = hosts.into_iter().map(Into::into).collect();
                self
            }

            /// The OpenID Connect discovery document of an
            /// [`oidc_authority`](Self::oidc_authority), supplied by the app (MSAL Node
            /// `authorityMetadata`): the document is then never fetched, so an offline or
            /// air-gapped provider needs no discovery request. It is checked as a fetched one
            /// is (its `issuer` must name the authority; https endpoints); a bad document fails
            /// `build` with [`Error::Authority`](crate::Error::Authority), and on any other kind
            /// of authority (whose endpoints need no discovery) `build` fails with
            /// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
            pub fn authority_metadata(mut self, json: impl Into<String>) -> Self {
                self.config.authority_metadata = Some(json.into());
                self
            }

            /// Where the token cache is kept (default: in this process's memory only; a
            /// confidential client's is partitioned per user, tenant and assertion).
            pub fn cache(mut self, store: impl msal_cache::CacheStore + 'static) -> Self {
                self.config.cache = Some(std::sync::Arc::new(store));
                self
            }

            /// The HTTP transport (default: `msal::http::ReqwestHttpClient`; required when the
            /// `reqwest` feature is off).
            pub fn http_client(mut self, client: impl msal_http::HttpClient + 'static) -> Self {
                self.config.http = Some(std::sync::Arc::new(client));
                self
            }

            /// The clock every expiry decision reads and every deliberate pause (retry delay,
            /// device code polling, managed identity backoff) goes through (default: the
            /// system clock, pausing on Tokio's timer). Tests move time with
            /// [`msal_core::ManualClock`]; [`msal_core::ManualClock::with_auto_advance`] makes
            /// the pauses move it instead of waiting. The `max_refresh_wait` and
            /// `refresh_lock_wait` timeouts stay on Tokio's timer.
            pub fn clock(mut self, clock: impl msal_core::Clock + 'static) -> Self {
                self.config.clock = Some(std::sync::Arc::new(clock));
                self
            }

            /// How long before expiry a cached access token is refreshed instead of served
            /// (default 5 minutes).
            pub fn token_expiry_buffer(mut self, buffer: std::time::Duration) -> Self {
                self.config.expiry_buffer = buffer;
                self
            }

            /// When a cached access token is inside the expiry buffer but has not expired, how
            /// long a call waits for its refresh before returning the cached token (default
            /// 5 s). The refresh goes on in the background either way. Timed on Tokio's timer,
            /// not the [`clock`](Self::clock): it races the real refresh.
            pub fn max_refresh_wait(mut self, wait: std::time::Duration) -> Self {
                self.config.max_refresh_wait = wait;
                self
            }

            /// How long a refresh waits for another process sharing the cache to finish its
            /// refresh of the same tokens before giving up with
            /// [`Error::RefreshInProgress`](crate::Error::RefreshInProgress) (it never redeems
            /// the refresh token the other process holds). Default: the longest the other
            /// process can take, discovery and the token request with every retry at the
            /// transport's timeout, plus a margin (137 s with the defaults). Timed on Tokio's
            /// timer, not the [`clock`](Self::clock): it races the real wait for the lock.
            pub fn refresh_lock_wait(mut self, wait: std::time::Duration) -> Self {
                self.config.refresh_lock_wait = Some(wait);
                self
            }

            /// The most cache partitions kept in memory (default 10,000): with a partitioned
            /// store (Redis) or a confidential client's in-memory cache, one per user, tenant
            /// and on-behalf-of assertion served. Past it the least recently used half is
            /// dropped: a persistent store's partitions are read again when next used; without
            /// a store their tokens are asked for again.
            pub fn max_partitions_in_memory(mut self, max: usize) -> Self {
                self.config.max_partitions_in_memory = max;
                self
            }

            /// Retries of token requests (default: one retry after 1 s on 5xx without
            /// `Retry-After` and on timeouts). A single-use refresh token (an OpenID Connect
            /// provider other than Entra ID) is never retried.
            pub fn retry_policy(mut self, retry: crate::http::RetryPolicy) -> Self {
                self.config.retry = retry;
                self
            }

            /// Client capabilities (e.g. `["cp1"]` for continuous access evaluation), sent as
            /// the `xms_cc` claim with every token request.
            pub fn client_capabilities<I>(mut self, capabilities: I) -> Self
            where
                I: IntoIterator,
                I::Item: Into<String>,
            {
                self.config.client_capabilities =
                    capabilities.into_iter().map(Into::into).collect();
                self
            }

            /// Extra query parameters sent with every request of this application (MSAL.NET's
            /// `WithExtraQueryParameters`), e.g. `[("dc", "ESTS-PUB-WUS2")]`: on the
            /// authorization URL, the token endpoint and the device authorization endpoint.
            /// A request's own [`extra_query_parameters`] merge over these. Naming a protocol
            /// parameter (`client_id`, `grant_type`, `scope`, `redirect_uri`, ...) makes
            /// `build` fail with [`Error::InvalidArgument`](crate::Error::InvalidArgument).
            ///
            /// [`extra_query_parameters`]: crate::AcquireTokenSilent::extra_query_parameters
            pub fn extra_query_parameters<I, K, V>(mut self, params: I) -> Self
            where
                I: IntoIterator<Item = (K, V)>,
                K: Into<String>,
                V: Into<String>,
            {
                self.config.extra_query = crate::extra_query::collect(params);
                self
            }

            /// Tell `observer` what the application does on the network: a request to the
            /// identity provider starting, being retried or failing, and a cached token near
            /// expiry served because its refresh failed (see [`crate::events`]). For a user
            /// interface: progress, "retrying in 1 s", "the provider is unreachable". Called
            /// synchronously, possibly from a spawned task: keep it quick. Events carry no
            /// token, secret or query string; a cache hit emits none.
            pub fn on_event(
                mut self,
                observer: impl Fn(&$crate::events::Event) + Send + Sync + 'static,
            ) -> Self {
                self.config.events = $crate::events::Events::new(std::sync::Arc::new(observer));
                self
            }
        }
    };
}
pub(crate) use core_setters;
