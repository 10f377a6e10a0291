//! The token endpoint: each grant, checked as Entra checks it, answered from the directory.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::claims::{decode_claims, read_access_token};
use super::log::Grant;
use super::state::{State, UserGrant};

/// A status and a JSON body.
pub(crate) type Answer = (u16, Value);

/// An OAuth error body shaped like Entra's (`error_codes`, `AADSTS` description, ids).
pub(crate) fn oauth_error(
    status: u16,
    error: &str,
    code: u32,
    description: &str,
    suberror: Option<&str>,
) -> Answer {
    let mut body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description} (fake identity provider)"),
        "error_codes": [code],
        "timestamp": "2026-01-01 00:00:00Z",
        "trace_id": "00000000-0000-0000-0000-000000000000",
        "correlation_id": "00000000-0000-0000-0000-000000000000",
    });
    if let Some(s) = suberror {
        body["suberror"] = json!(s);
    }
    (status, body)
}

/// What a token request carries, and when it came.
pub(crate) struct TokenRequest<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) params: &'a HashMap<String, String>,
    pub(crate) now: u64,
}

impl TokenRequest<'_> {
    fn get(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Answer a token request of `grant` (faults already applied).
pub(crate) fn token(state: &mut State, grant: &Grant, req: &TokenRequest<'_>) -> Answer {
    let tenant_id = match req.tenant {
        "common" | "organizations" | "consumers" => None,
        segment => match state.tenant(segment) {
            Some(t) => Some(t.id.clone()),
            None => {
                return oauth_error(
                    400,
                    "invalid_request",
                    90002,
                    &format!("Tenant '{segment}' not found."),
                    None,
                )
            }
        },
    };
    let client_id = req.get("client_id");
    let Some(app) = state.apps.get(client_id).cloned() else {
        return oauth_error(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
            None,
        );
    };
    if let Some(secret) = &app.secret {
        if let Err(e) = authenticate(req, client_id, secret, app.accepts_assertions) {
            return e;
        }
    } else if matches!(grant, Grant::ClientCredentials | Grant::OnBehalfOf) {
        return oauth_error(400, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", None);
    }
    match grant {
        Grant::ClientCredentials => client_credentials(state, req, client_id, tenant_id),
        Grant::RefreshToken => refresh_token(state, req, client_id),
        Grant::AuthorizationCode => authorization_code(state, req, client_id),
        Grant::OnBehalfOf => on_behalf_of(state, req, client_id),
        Grant::DeviceCode => device_code(state, req, client_id),
        Grant::ManagedIdentity => oauth_error(
            400,
            "unsupported_grant_type",
            70003,
            "Managed identity is not a grant of the token endpoint.",
            None,
        ),
        Grant::Other(g) => oauth_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{g}'."),
            None,
        ),
    }
}

/// A confidential client proves itself with its secret, or an assertion it issued.
fn authenticate(
    req: &TokenRequest<'_>,
    client_id: &str,
    secret: &str,
    assertions: bool,
) -> Result<(), Answer> {
    if let Some(sent) = req.params.get("client_secret") {
        if sent == secret {
            return Ok(());
        }
        return Err(oauth_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
            None,
        ));
    }
    if let Some(assertion) = req.params.get("client_assertion") {
        let claims = decode_claims(assertion).unwrap_or_default();
        let issued_by_client = claims["iss"] == client_id && claims["sub"] == client_id;
        if assertions && issued_by_client {
            return Ok(());
        }
        return Err(oauth_error(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.",
            None,
        ));
    }
    Err(oauth_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", None))
}

fn client_credentials(
    state: &mut State,
    req: &TokenRequest<'_>,
    client_id: &str,
    tenant_id: Option<String>,
) -> Answer {
    let Some(tenant_id) = tenant_id else {
        return oauth_error(400, "invalid_request", 1002012, "The provided value for scope is not valid: client credentials need a tenant, not 'common'.", None);
    };
    let scope = req.get("scope");
    let resource = match scope.split_whitespace().collect::<Vec<_>>()[..] {
        [one] if one.ends_with("/.default") => one.trim_end_matches("/.default").to_owned(),
        _ => return oauth_error(400, "invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."), None),
    };
    (
        200,
        state.app_tokens(client_id, &tenant_id, &resource, req.now),
    )
}

fn refresh_token(state: &mut State, req: &TokenRequest<'_>, client_id: &str) -> Answer {
    let single_use = state.single_use_refresh_tokens;
    let username = match state.refresh_tokens.get_mut(req.get("refresh_token")) {
        None => return oauth_error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.", None),
        Some(rt) if rt.revoked => return oauth_error(400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed.", Some("bad_token")),
        Some(rt) if rt.redeemed && single_use => return oauth_error(400, "invalid_grant", 70043, "The refresh token has expired or is invalid due to sign-in frequency checks (already redeemed).", Some("bad_token")),
        Some(rt) if rt.client_id != client_id => return oauth_error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed: issued to another client.", Some("client_mismatch")),
        Some(rt) => {
            rt.redeemed = true;
            rt.username.clone()
        }
    };
    let grant = UserGrant {
        username: &username,
        client_id,
        scope: req.get("scope"),
        nonce: None,
        now: req.now,
    };
    (200, state.user_tokens(&grant))
}

fn authorization_code(state: &mut State, req: &TokenRequest<'_>, client_id: &str) -> Answer {
    let Some(code) = state.codes.remove(req.get("code")) else {
        return oauth_error(
            400,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed or is unknown.",
            None,
        );
    };
    if code.client_id != client_id {
        return oauth_error(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: issued to another client.",
            None,
        );
    }
    if code.redirect_uri != req.get("redirect_uri") {
        return oauth_error(400, "invalid_grant", 500112, "The reply address does not match the reply address provided when requesting the authorization code.", None);
    }
    if let Some(challenge) = &code.challenge {
        let verifier = req.get("code_verifier");
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        if verifier.is_empty() || &computed != challenge {
            return oauth_error(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.", None);
        }
    }
    let grant = UserGrant {
        username: &code.username,
        client_id,
        scope: req.get("scope"),
        nonce: code.nonce.as_deref(),
        now: req.now,
    };
    (200, state.user_tokens(&grant))
}

fn on_behalf_of(state: &mut State, req: &TokenRequest<'_>, client_id: &str) -> Answer {
    if req.get("requested_token_use") != "on_behalf_of" {
        return oauth_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'requested_token_use'.",
            None,
        );
    }
    let Some(incoming) = read_access_token(req.get("assertion")) else {
        return oauth_error(
            400,
            "invalid_grant",
            50013,
            "Assertion failed signature validation (not a token of this identity provider).",
            None,
        );
    };
    if incoming.aud != client_id {
        return oauth_error(
            400,
            "invalid_grant",
            50013,
            &format!(
                "Assertion audience does not match the client app: the assertion is for {}.",
                incoming.aud
            ),
            None,
        );
    }
    if incoming.exp <= req.now {
        return oauth_error(
            400,
            "invalid_grant",
            500133,
            "Assertion is not within its valid time range.",
            None,
        );
    }
    let Some(user) = state.users.iter().find(|u| u.oid == incoming.oid).cloned() else {
        return oauth_error(400, "invalid_grant", 50013, "The assertion's user is not in the directory (an app token cannot be exchanged on behalf of a user).", None);
    };
    let grant = UserGrant {
        username: &user.username,
        client_id,
        scope: req.get("scope"),
        nonce: None,
        now: req.now,
    };
    (200, state.user_tokens(&grant))
}

fn device_code(state: &mut State, req: &TokenRequest<'_>, client_id: &str) -> Answer {
    let device_code = req.get("device_code").to_owned();
    let Some(issued) = state.device_codes.get_mut(&device_code) else {
        return oauth_error(400, "invalid_grant", 70019, "Unknown device code.", None);
    };
    if issued.client_id != client_id {
        return oauth_error(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: issued to another client.",
            None,
        );
    }
    if req.now >= issued.expires_at {
        return oauth_error(
            400,
            "expired_token",
            70019,
            "Verification code expired.",
            None,
        );
    }
    if issued.pending_polls > 0 {
        issued.pending_polls -= 1;
        return oauth_error(
            400,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            None,
        );
    }
    let scope = issued.scope.clone();
    state.device_codes.remove(&device_code);
    if state.decline_sign_ins {
        return oauth_error(
            400,
            "authorization_declined",
            70000,
            "The user declined the sign-in.",
            None,
        );
    }
    let Some(user) = state.signing_in_user().map(|u| u.username.clone()) else {
        return oauth_error(
            400,
            "invalid_grant",
            50034,
            "The user account does not exist in the directory.",
            None,
        );
    };
    // The poll carries no scope: the device code remembers what was asked.
    let grant = UserGrant {
        username: &user,
        client_id,
        scope: &scope,
        nonce: None,
        now: req.now,
    };
    (200, state.user_tokens(&grant))
}
