//! Key-bound tokens: proof-of-possession (signed HTTP request, SHR) tokens and SSH certificates.
//!
//! A Bearer token works for whoever holds it; these are bound to a key the app holds.
//!
//! - **PoP** ([`PopRequest`], MSAL.NET `WithProofOfPossession`): the token request carries
//!   `token_type=pop` and `req_cnf` = base64url(`{"kid":"<RFC 7638 thumbprint>"}`); Entra's
//!   token is cached (`token_type` `pop`, `key_id` the thumbprint) and every result, from the
//!   cache or not, is a fresh SHR: a JWS (RS256, `typ` `pop`) whose payload holds `at` (Entra's
//!   token), `ts`, `m`, `u`, `p`, `nonce` and `cnf.jwk`, signed by the key.
//! - **SSH certificates** ([`SshCertificateRequest`], MSAL.NET
//!   `WithSSHCertificateAuthenticationScheme`, MSAL Python `data={"token_type": "ssh-cert", ..}`):
//!   the request carries `token_type=ssh-cert`, `req_cnf` (the public key as a JWK with its
//!   `kid`) and `key_id`; the result's access token is the certificate, cached per key id.
//!
//! A PoP or SSH request is only ever served a token of its own type and key id, and a Bearer
//! request never one of these (`msal_cache::TokenCache::find_bound_access_token`, and
//! `find_on_behalf_of_bound_access_token` for on-behalf-of tokens). An answer whose
//! `token_type` is not the one asked for is refused, as MSAL.NET does.
//!
//! # Where
//! - PoP and SSH: every confidential client request for a resource's token: client
//!   credentials, on-behalf-of (long-running too), authorization code, silent. SSH only: the
//!   public client's silent, interactive and device code requests. Not on the migration
//!   (`acquire_token_by_refresh_token`) and username/password requests, which exist to move
//!   or test Bearer sign-ins, nor on the one-call `acquire_token`: compose silent and a
//!   sign-in with `.ssh_certificate` as `msal ssh-cert` does.
//! - The builders hold a [`SchemeRequest`] (set by the setters in `setters.rs`, written once);
//!   the flows resolve it ([`resolve`]), add its [`form_fields`] to every token request they
//!   send for it (a refresh too: the refresh token stays an ordinary one), check the answer's
//!   type (`write_back::check_token_type`), bind the new entry ([`AuthScheme::bind_entry`]) and
//!   [`finish`] the result. Sign-ins do the last three in `flows::sign_in::save_sign_in`.
//!
//! # Choices
//! - The key msal-rs generates (2048-bit RSA) lives for the process and is shared by its apps
//!   (MSAL.NET's in-memory provider does the same); bring your own with [`PopRequest::key`].
//! - The SHR always carries a nonce: the one given, else a random one (as MSAL.NET).
//! - PoP entries are written in MSAL Python's dialect (`key_id`), and entries with .NET's `kid`
//!   are read too. Keys of different key ids coexist (the cache key includes the key id).
//! - The SSH `key_id` is also sent as a form field, as MSAL Python sends every `data` field.
//! - Public clients have no `.proof_of_possession(..)`: MSAL.NET allows PoP on a public client
//!   only through a broker (WAM, which keeps the key in the operating system), and msal-rs has
//!   no broker. A method that always failed would be a trap, so the confidential client's
//!   silent request is its own type ([`crate::AcquireTokenSilent`] with the application as a
//!   type parameter) and only it has the method. SSH certificates need no broker (MSAL Python
//!   and .NET offer them on interactive, device code and silent requests), so public clients
//!   have those.
//! - The scheme goes with the token request only: not in the authorize URL of an interactive
//!   sign-in, nor in the device authorization request (MSAL Python sends its `data` with the
//!   token request alone).

mod key;
mod request;
mod setters;
mod shr;
mod ssh;

pub(crate) use setters::{pop_setter, scheme_setter, scheme_setters, ssh_setter};

use std::sync::Arc;

use msal_cache::schema::AccessTokenEntry;
use msal_cache::KeyBinding;

use crate::result::TokenData;
use crate::{AuthenticationResult, Error};

pub use key::{PopKey, PopKeyError, RsaPopKey, RsaPublicJwk};
pub use request::PopRequest;
pub use ssh::SshCertificateRequest;

/// The scheme a request asked for, before its key is resolved (what the builders hold).
#[derive(Debug, Clone)]
pub(crate) enum SchemeRequest {
    Pop(PopRequest),
    SshCert(SshCertificateRequest),
}

/// A resolved key-bound scheme.
pub(crate) enum AuthScheme {
    Pop {
        request: PopRequest,
        key: Arc<dyn PopKey>,
        key_id: String,
    },
    SshCert(SshCertificateRequest),
}

impl AuthScheme {
    /// Resolve a request: PoP takes the app's key, else the process's generated one.
    pub(crate) fn resolve(request: SchemeRequest) -> Result<Self, Error> {
        Ok(match request {
            SchemeRequest::Pop(request) => {
                let key = match &request.key {
                    Some(key) => Arc::clone(key),
                    None => key::default_key()?,
                };
                let key_id = key.public_jwk().thumbprint();
                AuthScheme::Pop {
                    request,
                    key,
                    key_id,
                }
            }
            SchemeRequest::SshCert(ssh) => AuthScheme::SshCert(ssh),
        })
    }

    /// The `token_type` asked for and cached.
    pub(crate) fn token_type(&self) -> &'static str {
        match self {
            AuthScheme::Pop { .. } => "pop",
            AuthScheme::SshCert(_) => "ssh-cert",
        }
    }

    /// The key id tokens are cached under.
    pub(crate) fn key_id(&self) -> &str {
        match self {
            AuthScheme::Pop { key_id, .. } => key_id,
            AuthScheme::SshCert(ssh) => &ssh.key_id,
        }
    }

    /// What tells this scheme's requests apart from Bearer ones and other keys' in the
    /// single-flight and throttling keys.
    pub(crate) fn key_part(&self) -> String {
        format!("{} {}", self.token_type(), self.key_id())
    }

    /// What the cache lookup matches on.
    pub(crate) fn binding(&self) -> KeyBinding<'_> {
        KeyBinding {
            token_type: self.token_type(),
            key_id: self.key_id(),
        }
    }

    /// The form fields the token request adds.
    pub(crate) fn form_fields(&self) -> Vec<(&'static str, String)> {
        use base64::Engine as _;
        match self {
            AuthScheme::Pop { key_id, .. } => {
                let cnf = serde_json::json!({ "kid": key_id }).to_string();
                let cnf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cnf);
                vec![("token_type", "pop".into()), ("req_cnf", cnf)]
            }
            AuthScheme::SshCert(ssh) => vec![
                ("token_type", "ssh-cert".into()),
                ("req_cnf", ssh.req_cnf.clone()),
                ("key_id", ssh.key_id.clone()),
            ],
        }
    }

    /// Mark a new cache entry as bound: its token type and key id (MSAL Python's `key_id`).
    pub(crate) fn bind_entry(&self, entry: &mut AccessTokenEntry) {
        entry.token_type = Some(self.token_type().into());
        entry
            .extra
            .insert("key_id".into(), self.key_id().to_owned().into());
    }

    /// The result the caller gets: for PoP a new SHR around the token (signed now), for SSH the
    /// certificate as is.
    pub(crate) fn finish(
        &self,
        result: AuthenticationResult,
        now: u64,
    ) -> Result<AuthenticationResult, Error> {
        let AuthScheme::Pop {
            request,
            key,
            key_id,
        } = self
        else {
            return Ok(result);
        };
        let data = result.token_data();
        let shr = shr::sign(
            &**key,
            key_id,
            request,
            data.access_token.expose_secret(),
            now,
        )?;
        let token = Arc::new(TokenData {
            access_token: shr.into(),
            token_type: arcstr::literal!("pop"),
            expires_on: data.expires_on,
            refresh_on: data.refresh_on,
            scopes: data.scopes.clone(),
            account: data.account.clone(),
            id_token: data.id_token.clone(),
            tenant_id: data.tenant_id.clone(),
        });
        Ok(result.with_token(token))
    }
}

/// A request's scheme, resolved (`None`: Bearer).
pub(crate) fn resolve(request: Option<SchemeRequest>) -> Result<Option<AuthScheme>, Error> {
    request.map(AuthScheme::resolve).transpose()
}

/// The cached token for a query: a plain Bearer one, or one of the scheme's type bound to its
/// key. Never the one for the other.
pub(crate) fn find_access_token<'c>(
    cache: &'c msal_cache::TokenCache,
    query: &msal_cache::AccessTokenQuery<'_>,
    scheme: Option<&AuthScheme>,
) -> Option<&'c AccessTokenEntry> {
    match scheme {
        None => cache.find_access_token(query),
        Some(scheme) => cache.find_bound_access_token(query, &scheme.binding()),
    }
}

/// The `token_type` a request asks for and accepts: its scheme's, else `bearer`.
pub(crate) fn expected_token_type(scheme: Option<&AuthScheme>) -> &'static str {
    scheme.map_or("bearer", AuthScheme::token_type)
}

/// The form fields a request's scheme adds (none for Bearer).
pub(crate) fn form_fields(scheme: Option<&AuthScheme>) -> Vec<(&'static str, String)> {
    scheme.map(AuthScheme::form_fields).unwrap_or_default()
}

/// The result the caller gets: the scheme's [`AuthScheme::finish`], or a Bearer result as is.
pub(crate) fn finish(
    scheme: Option<&AuthScheme>,
    result: AuthenticationResult,
    now: u64,
) -> Result<AuthenticationResult, Error> {
    match scheme {
        Some(scheme) => scheme.finish(result, now),
        None => Ok(result),
    }
}
