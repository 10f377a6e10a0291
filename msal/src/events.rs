//! What an application is doing on the network, for a user interface: an observer set with
//! the builders' `on_event` ([`PublicClientApplicationBuilder::on_event`],
//! [`ConfidentialClientApplicationBuilder::on_event`]) is told when a request to the identity
//! provider starts, is retried, or fails, and when a cached token close to expiry is served
//! because the provider could not give a new one.
//!
//! ```
//! use msal::events::Event;
//!
//! let app = msal::PublicClientApplication::builder("9f1c3e2a-1111-4a2b-9c3d-0123456789ab")
//!     .on_event(|event: &Event| match event {
//!         Event::Retrying { step, url, delay, attempt, attempts, .. } => eprintln!(
//!             "{step} to {url} failed; retrying in {}s (attempt {attempt} of {attempts})",
//!             delay.as_secs()
//!         ),
//!         Event::StaleTokenServed { expires_on, .. } => {
//!             eprintln!("warning: the identity provider is unreachable; using a token that expires at {expires_on:?}")
//!         }
//!         _ => {}
//!     })
//!     .build()?;
//! # Ok::<(), msal::Error>(())
//! ```
//!
//! The observer is called synchronously, on whichever task does the work (a refresh may run
//! in a spawned task), so it must be quick and must not block; it must not call back into the
//! application. Events never carry a token, a secret, a request body or a URL's query string:
//! URLs are scheme, host, port and path only. A cache hit emits nothing and costs nothing
//! extra; the events are built only when an observer is set.
//!
//! [`PublicClientApplicationBuilder::on_event`]: crate::PublicClientApplicationBuilder::on_event
//! [`ConfidentialClientApplicationBuilder::on_event`]: crate::ConfidentialClientApplicationBuilder::on_event

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Which request to the identity provider an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestStep {
    /// A grant sent to the token endpoint (a refresh, a code redemption, a device code poll,
    /// client credentials...).
    Token,
    /// The device authorization request that starts the device code flow.
    DeviceCode,
    /// The OpenID Connect discovery document (`.well-known/openid-configuration`).
    Discovery,
    /// Microsoft's instance discovery, for an Entra host msal does not know.
    InstanceDiscovery,
}

impl fmt::Display for RequestStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestStep::Token => "token request",
            RequestStep::DeviceCode => "device code request",
            RequestStep::Discovery => "discovery document request",
            RequestStep::InstanceDiscovery => "instance discovery request",
        })
    }
}

/// Something an application did that a user interface may want to show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A request to the identity provider is being sent (its first attempt; retries are
    /// [`Event::Retrying`]). A device code flow sends one token request per poll.
    Requesting {
        /// Which request.
        step: RequestStep,
        /// Where it goes: scheme, host, port and path (never the query).
        url: String,
    },
    /// An attempt failed transiently (a connection failure, a timeout, a 5xx without
    /// `Retry-After`) and the request will be sent again after `delay`.
    Retrying {
        /// Which request.
        step: RequestStep,
        /// Where it goes (no query).
        url: String,
        /// The attempt about to be made, counting the first as 1 (so 2 for the first retry).
        attempt: u32,
        /// How many attempts the retry policy allows in all.
        attempts: u32,
        /// The pause before it.
        delay: Duration,
        /// Why the last attempt failed ("connection failure", "timeout", ...).
        reason: &'static str,
    },
    /// A request got no usable answer after its last attempt: the connection failed or broke,
    /// it timed out, or the transport refused the answer (too large). The call then fails
    /// with [`crate::Error::Http`] (or serves a cached token that has not expired yet, see
    /// [`Event::StaleTokenServed`]). An answer with an error status is not this event: it
    /// becomes the call's error as usual.
    RequestFailed {
        /// Which request.
        step: RequestStep,
        /// Where it went (no query).
        url: String,
        /// What went wrong: the transport's message ([`crate::http::HttpError`]'s text, no
        /// query string, no secret).
        error: String,
    },
    /// A cached access token inside the expiry buffer (see
    /// [`token_expiry_buffer`](crate::PublicClientApplicationBuilder::token_expiry_buffer))
    /// was served because its refresh failed transiently (the provider is unreachable,
    /// unavailable or throttling) or is still running after `max_refresh_wait`.
    StaleTokenServed {
        /// When the served token expires.
        expires_on: SystemTime,
        /// Why it was served: the refresh's error message, or that the refresh is still
        /// running.
        reason: String,
        /// True when the refresh has not failed but is still running after
        /// `max_refresh_wait` (it goes on in the background); false when it failed.
        refresh_still_running: bool,
    },
}

/// The observer an application calls with its [`Event`]s.
pub type EventObserver = Arc<dyn Fn(&Event) + Send + Sync>;

/// An application's observer, if it has one.
#[derive(Clone, Default)]
pub(crate) struct Events(Option<EventObserver>);

impl Events {
    /// No observer: every `emit` is a no-op.
    pub(crate) fn none() -> Self {
        Events(None)
    }

    /// Observe with `observer`.
    pub(crate) fn new(observer: EventObserver) -> Self {
        Events(Some(observer))
    }

    /// Tell the observer, if there is one, of the event `make` builds (only built then).
    pub(crate) fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(observer) = &self.0 {
            observer(&make());
        }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Events(observer)"
        } else {
            "Events(none)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use crate::http::RetryPolicy;
    use crate::{Account, PublicClientApplication};

    const CLIENT: &str = "events-test-client";
    const RT: &str = "RT-secret-events-0123";
    const AT: &str = "AT-secret-events-4567";

    fn now() -> u64 {
        msal_core::clock::unix_seconds(SystemTime::now())
    }

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A cache with alice's refresh token, and an access token expiring at `at_expires_on`.
    fn cache(env: &str, at_expires_on: u64) -> msal_cache::MemoryCache {
        let doc = serde_json::json!({
            "Account": { format!("alice-{env}-"): {
                "home_account_id": "alice", "environment": env, "realm": "",
                "local_account_id": "alice", "username": "alice@example.com",
                "authority_type": "MSSTS" } },
            "RefreshToken": { format!("alice-{env}-refreshtoken-{CLIENT}--"): {
                "credential_type": "RefreshToken", "secret": RT,
                "home_account_id": "alice", "environment": env, "client_id": CLIENT } },
            "AccessToken": { format!("alice-{env}-accesstoken-{CLIENT}--api://x/read"): {
                "credential_type": "AccessToken", "secret": AT,
                "home_account_id": "alice", "environment": env, "client_id": CLIENT,
                "realm": "", "target": "api://x/read", "token_type": "Bearer",
                "cached_at": now().to_string(), "expires_on": at_expires_on.to_string(),
                "extended_expires_on": at_expires_on.to_string() } },
        });
        msal_cache::MemoryCache::from_bytes(serde_json::to_vec(&doc).unwrap())
    }

    /// An app whose OpenID Connect provider is a closed loopback port, recording its events.
    fn unreachable_app(at_expires_on: u64) -> (PublicClientApplication, Account, Recorded) {
        let env = format!("127.0.0.1:{}", closed_port());
        let seen: Recorded = Arc::default();
        let app = PublicClientApplication::builder(CLIENT)
            .oidc_authority(&format!("http://{env}"))
            .cache(cache(&env, at_expires_on))
            .retry_policy(RetryPolicy {
                max_retries: 1,
                delay: Duration::from_millis(10),
            })
            .on_event({
                let seen = Arc::clone(&seen);
                move |e: &Event| seen.lock().unwrap().push(e.clone())
            })
            .build()
            .unwrap();
        (app, Account::new("alice", &env, "alice@example.com"), seen)
    }

    type Recorded = Arc<Mutex<Vec<Event>>>;

    #[tokio::test]
    async fn a_failed_discovery_is_requested_retried_and_reported_with_its_url() {
        let (app, account, seen) = unreachable_app(now() - 60);
        let err = app
            .acquire_token_silent(["api://x/read"], &account)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::Http(_)), "{err:?}");
        let env = &account.environment;
        let url = format!("http://{env}/.well-known/openid-configuration");
        let text = err.to_string();
        assert!(
            text.contains(&format!("(discovery document request to {url})")),
            "{text}"
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(
            seen[0],
            Event::Requesting {
                step: RequestStep::Discovery,
                url: url.clone()
            }
        );
        assert!(
            matches!(&seen[1], Event::Retrying { step: RequestStep::Discovery, url: u, attempt: 2, attempts: 2, delay, reason: "connection failure" } if *u == url && *delay == Duration::from_millis(10)),
            "{seen:?}"
        );
        assert!(
            matches!(&seen[2], Event::RequestFailed { step: RequestStep::Discovery, url: u, error } if *u == url && error.starts_with("could not connect")),
            "{seen:?}"
        );
        let all = format!("{seen:?}{text}");
        assert!(!all.contains(RT) && !all.contains(AT), "no secret: {all}");
    }

    #[tokio::test]
    async fn a_token_inside_the_buffer_served_because_the_provider_is_unreachable_is_told() {
        let expires_on = now() + 120;
        let (app, account, seen) = unreachable_app(expires_on);
        let result = app
            .acquire_token_silent(["api://x/read"], &account)
            .await
            .unwrap();
        assert_eq!(result.access_token(), AT);
        let seen = seen.lock().unwrap().clone();
        let Some(Event::StaleTokenServed {
            expires_on: served,
            reason,
            refresh_still_running: false,
        }) = seen.last()
        else {
            panic!("no StaleTokenServed last: {seen:?}");
        };
        assert_eq!(msal_core::clock::unix_seconds(*served), expires_on);
        assert!(reason.contains("could not connect"), "{reason}");
        assert!(!format!("{seen:?}").contains(AT));

        // A fresh token is a cache hit: no event at all.
        let (app, account, seen) = unreachable_app(now() + 3600);
        app.acquire_token_silent(["api://x/read"], &account)
            .await
            .unwrap();
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn without_an_observer_nothing_is_built() {
        let events = Events::none();
        events.emit(|| unreachable!("no observer: the event is never built"));
    }

    #[test]
    fn an_observer_gets_each_event() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let events = Events::new({
            let seen = Arc::clone(&seen);
            Arc::new(move |e: &Event| seen.lock().unwrap().push(e.clone()))
        });
        events.emit(|| Event::Requesting {
            step: RequestStep::Discovery,
            url: "https://h/.well-known/openid-configuration".into(),
        });
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(RequestStep::Token.to_string(), "token request");
    }
}
