//! The fake's mutable state (directory, issued codes and tokens, faults, log) and how it
//! mints the answer to a successful user or app token request.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};

use super::claims::{self, Minted, Subject};
use super::directory::{AppRegistration, Tenant, User};
use super::faults::Fault;
use super::log::LoggedRequest;

/// Scopes that ask for identity, not for a resource.
pub(crate) const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];
/// The resource of scopes without one (`User.Read`), as in Entra.
pub const GRAPH: &str = "https://graph.microsoft.com";

/// An authorization code the authorize endpoint issued.
pub(crate) struct IssuedCode {
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
    pub(crate) nonce: Option<String>,
}

/// A refresh token the token endpoint issued.
pub(crate) struct IssuedRefreshToken {
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) revoked: bool,
    pub(crate) redeemed: bool,
}

/// A device code the devicecode endpoint issued.
pub(crate) struct IssuedDeviceCode {
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) expires_at: u64,
    pub(crate) pending_polls: usize,
}

/// Everything the fake knows and remembers.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) tenants: Vec<Tenant>,
    pub(crate) users: Vec<User>,
    pub(crate) apps: HashMap<String, AppRegistration>,
    /// Who signs in at the authorize endpoint and approves device codes (without a
    /// `login_hint` naming someone else); the first user when `None`.
    pub(crate) signing_in: Option<String>,
    pub(crate) decline_sign_ins: bool,
    pub(crate) device_code_pending_polls: usize,
    pub(crate) single_use_refresh_tokens: bool,
    pub(crate) access_token_lifetime: u64,
    pub(crate) codes: HashMap<String, IssuedCode>,
    pub(crate) refresh_tokens: HashMap<String, IssuedRefreshToken>,
    pub(crate) device_codes: HashMap<String, IssuedDeviceCode>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) log: Vec<LoggedRequest>,
    pub(crate) serial: u64,
}

/// A successful token answer's makings for a user.
pub(crate) struct UserGrant<'a> {
    pub(crate) username: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) scope: &'a str,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) now: u64,
}

/// The resource and permission names of a scope list (`None` resource: identity scopes only).
pub(crate) fn split_scopes(scope: &str) -> (Option<String>, BTreeSet<String>) {
    let mut resource = None;
    let mut names = BTreeSet::new();
    for s in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&s) {
            continue;
        }
        let (r, name) = match s.rsplit_once('/') {
            Some((r, name)) if !r.is_empty() => (r.to_owned(), name.to_owned()),
            _ => (GRAPH.to_owned(), s.to_owned()),
        };
        resource.get_or_insert(r);
        if name != ".default" {
            names.insert(name);
        }
    }
    (resource, names)
}

impl State {
    pub(crate) fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    pub(crate) fn user(&self, username: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// Who signs in when nobody is named.
    pub(crate) fn signing_in_user(&self) -> Option<&User> {
        match &self.signing_in {
            Some(name) => self.user(name),
            None => self.users.first(),
        }
    }

    /// The tenant an authority's tenant segment names (`None`: unknown).
    pub(crate) fn tenant(&self, segment: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(segment) || t.domain.eq_ignore_ascii_case(segment))
    }

    /// The `aud` of tokens for `resource`: the client id of the app it names, else itself.
    pub(crate) fn audience(&self, resource: &str) -> String {
        self.apps
            .values()
            .find(|a| a.is_resource(resource))
            .map(|a| a.client_id.clone())
            .unwrap_or_else(|| resource.to_owned())
    }

    /// The body of a successful user token answer: an access token, an ID token and
    /// `client_info` when `openid` was asked, a new refresh token when `offline_access` was.
    pub(crate) fn user_tokens(&mut self, g: &UserGrant<'_>) -> Value {
        let user = self
            .user(g.username)
            .cloned()
            .expect("issued for a known user");
        let (resource, names) = split_scopes(g.scope);
        let aud = self.audience(resource.as_deref().unwrap_or(GRAPH));
        let serial = self.next_serial();
        let access_token = claims::access_token(&Minted {
            subject: Subject::User(&user),
            client_id: g.client_id,
            aud: &aud,
            permissions: &names,
            iat: g.now,
            lifetime: self.access_token_lifetime,
            serial,
        });
        let requested: Vec<&str> = g.scope.split_whitespace().collect();
        let granted: Vec<&str> = requested
            .iter()
            .copied()
            .filter(|s| *s != "offline_access")
            .collect();
        let mut body = json!({
            "token_type": "Bearer",
            "scope": granted.join(" "),
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": access_token,
            "client_info": claims::user_client_info(&user),
        });
        if requested.contains(&"openid") {
            body["id_token"] = json!(claims::id_token(&user, g.client_id, g.now, g.nonce));
        }
        if requested.contains(&"offline_access") {
            let rt = format!("fake-rt-{serial}");
            self.refresh_tokens.insert(
                rt.clone(),
                IssuedRefreshToken {
                    username: user.username.clone(),
                    client_id: g.client_id.to_owned(),
                    revoked: false,
                    redeemed: false,
                },
            );
            body["refresh_token"] = json!(rt);
        }
        body
    }

    /// The body of a successful client credentials answer for `app` in `tenant_id`.
    pub(crate) fn app_tokens(
        &mut self,
        client_id: &str,
        tenant_id: &str,
        resource: &str,
        now: u64,
    ) -> Value {
        let aud = self.audience(resource);
        let roles = self
            .apps
            .get(client_id)
            .map(|a| a.roles.clone())
            .unwrap_or_default();
        let serial = self.next_serial();
        let access_token = claims::access_token(&Minted {
            subject: Subject::App { tenant_id },
            client_id,
            aud: &aud,
            permissions: &roles,
            iat: now,
            lifetime: self.access_token_lifetime,
            serial,
        });
        json!({
            "token_type": "Bearer",
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": access_token,
        })
    }
}
