//! What the fake directory holds: tenants, users and app registrations.

use std::collections::BTreeSet;

/// A tenant (a directory): its id and its verified domain (either names it in an authority).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The tenant id (a GUID in Entra; any string here).
    pub id: String,
    /// Its domain, e.g. `contoso.example` (`https://login.microsoftonline.com/contoso.example`).
    pub domain: String,
}

impl Tenant {
    /// A tenant with this id and domain.
    pub fn new(id: impl Into<String>, domain: impl Into<String>) -> Self {
        Tenant {
            id: id.into(),
            domain: domain.into(),
        }
    }
}

/// A user who can sign in: the claims their tokens carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The sign-in name (`preferred_username`), e.g. `alice@contoso.example`.
    pub username: String,
    /// The object id (`oid`, and `uid` in `client_info`).
    pub oid: String,
    /// The home tenant's id (`tid`, and `utid` in `client_info`).
    pub tenant_id: String,
    /// The display name (`name`).
    pub name: String,
}

impl User {
    /// A user with this sign-in name, object id and home tenant id; the display name is the
    /// part of the name before `@`.
    pub fn new(
        username: impl Into<String>,
        oid: impl Into<String>,
        tenant_id: impl Into<String>,
    ) -> Self {
        let username = username.into();
        let name = username.split('@').next().unwrap_or_default().to_owned();
        User {
            username,
            oid: oid.into(),
            tenant_id: tenant_id.into(),
            name,
        }
    }

    /// The same user with another display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The account's home account id as msal-rs shows it (`oid.tenant_id`).
    pub fn home_account_id(&self) -> String {
        format!("{}.{}", self.oid, self.tenant_id)
    }
}

/// An app registration: a public client (desktop, CLI) or a confidential client (web app,
/// web API, daemon) with a client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRegistration {
    /// The application (client) id.
    pub client_id: String,
    /// The client secret of a confidential client; `None` for a public client.
    pub secret: Option<String>,
    /// The Application ID URI that names it as a resource (`api://...`): scopes
    /// `{app_id_uri}/name` ask for tokens whose `aud` is this app's client id.
    pub app_id_uri: Option<String>,
    /// The application permissions (app roles) granted to it, the `roles` of its client
    /// credentials tokens.
    pub roles: BTreeSet<String>,
    /// Whether it may authenticate with a client assertion (a certificate or a federated
    /// credential) instead of its secret. The fake checks the assertion's `iss`/`sub` only.
    pub accepts_assertions: bool,
}

impl std::fmt::Debug for AppRegistration {
    /// No secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("client_id", &self.client_id)
            .field("confidential", &self.secret.is_some())
            .field("app_id_uri", &self.app_id_uri)
            .field("roles", &self.roles)
            .field("accepts_assertions", &self.accepts_assertions)
            .finish()
    }
}

impl AppRegistration {
    /// A public client (no secret; PKCE, device code and refresh tokens only).
    pub fn public(client_id: impl Into<String>) -> Self {
        AppRegistration {
            client_id: client_id.into(),
            secret: None,
            app_id_uri: None,
            roles: BTreeSet::new(),
            accepts_assertions: false,
        }
    }

    /// A confidential client authenticating with `secret`.
    pub fn confidential(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        AppRegistration {
            secret: Some(secret.into()),
            ..Self::public(client_id)
        }
    }

    /// The same app exposing an API under `uri` (`api://my-api`).
    pub fn with_app_id_uri(mut self, uri: impl Into<String>) -> Self {
        self.app_id_uri = Some(uri.into());
        self
    }

    /// The same app granted these application permissions (`roles` in its app tokens).
    pub fn with_roles<I>(mut self, roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The same app, also accepting client assertions (certificates, federated credentials).
    pub fn accepting_assertions(mut self) -> Self {
        self.accepts_assertions = true;
        self
    }

    /// Whether `resource` (the part of a scope before its last `/`) names this app.
    pub(crate) fn is_resource(&self, resource: &str) -> bool {
        let resource = resource.trim_end_matches('/');
        resource == self.client_id
            || resource == format!("api://{}", self.client_id)
            || self.app_id_uri.as_deref().map(|u| u.trim_end_matches('/')) == Some(resource)
    }
}
