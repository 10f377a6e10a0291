//! Managed identity endpoints: IMDS (`/metadata/identity/oauth2/token`, header `Metadata: true`,
//! `expires_in`) and App Service (`/msi/token`, header `X-IDENTITY-HEADER`, `expires_on`).

use std::collections::{BTreeSet, HashMap};

use serde_json::json;
use wiremock::Request;

use super::claims::{access_token, Minted, Subject};
use super::grants::{oauth_error, Answer};
use super::state::State;

/// The client id of the system-assigned managed identity (its tokens' `azp` and `oid`).
pub const MANAGED_IDENTITY_CLIENT_ID: &str = "5a1e7c3d-5555-4f60-8b1c-0123456789ab";
/// The `IDENTITY_HEADER` the App Service endpoint expects.
pub const IDENTITY_HEADER: &str = "fake-identity-header";

/// Answer a managed identity token request in the shape of its source.
pub(crate) fn token(
    state: &mut State,
    request: &Request,
    params: &HashMap<String, String>,
    now: u64,
) -> Answer {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let app_service = request.url.path() == "/msi/token";
    if app_service && header("x-identity-header") != Some(IDENTITY_HEADER) {
        return (
            401,
            json!({"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is missing or wrong (fake identity provider)"}),
        );
    }
    if !app_service && header("metadata") != Some("true") {
        return oauth_error(
            400,
            "invalid_request",
            0,
            "Required metadata header not specified",
            None,
        );
    }
    let Some(resource) = params.get("resource").filter(|r| !r.is_empty()) else {
        return oauth_error(
            400,
            "invalid_request",
            0,
            "Required query variable 'resource' is missing",
            None,
        );
    };
    let client_id = params
        .get("client_id")
        .cloned()
        .unwrap_or_else(|| MANAGED_IDENTITY_CLIENT_ID.to_owned());
    let tenant_id = state
        .tenants
        .first()
        .map(|t| t.id.clone())
        .unwrap_or_default();
    let aud = state.audience(resource.trim_end_matches("/.default"));
    let serial = state.next_serial();
    let lifetime = state.access_token_lifetime;
    let token = access_token(&Minted {
        subject: Subject::App {
            tenant_id: &tenant_id,
        },
        client_id: &client_id,
        aud: &aud,
        permissions: &BTreeSet::new(),
        iat: now,
        lifetime,
        serial,
    });
    // Numbers as strings, as both sources send them.
    let mut body = json!({
        "access_token": token,
        "client_id": client_id,
        "expires_on": (now + lifetime).to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    if !app_service {
        body["expires_in"] = json!(lifetime.to_string());
        body["ext_expires_in"] = json!(lifetime.to_string());
        body["not_before"] = json!(now.to_string());
    }
    (200, body)
}
