//! The one wiremock responder behind every path: it logs the request, applies the scripted
//! faults, and answers as Entra's endpoint for that path would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use msal::{Clock, ManualClock};
use serde_json::{json, Value};
use url::Url;
use wiremock::{Request, Respond, ResponseTemplate};

use super::claims::user_client_info;
use super::faults::FaultKind;
use super::grants::{self, oauth_error, Answer, TokenRequest};
use super::log::{Endpoint, Grant, LoggedRequest};
use super::managed_identity;
use super::state::{IssuedCode, IssuedDeviceCode, State};
use crate::harness::ENV;

/// How long a device code lives (Entra's 15 minutes).
const DEVICE_CODE_LIFETIME: u64 = 900;

pub(crate) struct Responder {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) clock: ManualClock,
}

fn endpoint(path: &str) -> Endpoint {
    if path.ends_with("/oauth2/v2.0/token") {
        Endpoint::Token
    } else if path.ends_with("/oauth2/v2.0/authorize") {
        Endpoint::Authorize
    } else if path.ends_with("/oauth2/v2.0/devicecode") {
        Endpoint::DeviceCode
    } else if path == "/metadata/identity/oauth2/token" || path == "/msi/token" {
        Endpoint::ManagedIdentity
    } else if path.ends_with("/discovery/instance") {
        Endpoint::InstanceDiscovery
    } else if path.ends_with("/.well-known/openid-configuration") {
        Endpoint::OpenIdConfiguration
    } else {
        Endpoint::Unknown
    }
}

/// An answer and its status (wiremock keeps a template's status to itself).
type Reply = (u16, ResponseTemplate);

fn json_response((status, body): Answer) -> Reply {
    (status, ResponseTemplate::new(status).set_body_json(body))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut params: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        params.extend(url::form_urlencoded::parse(&request.body).into_owned());
        let path = request.url.path().to_owned();
        let logged = LoggedRequest::new(
            request.method.to_string(),
            path.clone(),
            endpoint(&path),
            params.clone(),
        );
        let now = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (status, template) = match logged.endpoint {
            Endpoint::Token => {
                let grant = logged.grant.clone().unwrap_or(Grant::Other(String::new()));
                let tenant = logged.tenant().to_owned();
                let req = TokenRequest {
                    tenant: &tenant,
                    params: &params,
                    now,
                };
                with_faults(&mut state, &grant, &params, |s| {
                    grants::token(s, &grant, &req)
                })
            }
            Endpoint::ManagedIdentity => {
                with_faults(&mut state, &Grant::ManagedIdentity, &params, |s| {
                    managed_identity::token(s, request, &params, now)
                })
            }
            Endpoint::Authorize => authorize(&mut state, &params),
            Endpoint::DeviceCode => json_response(device_code(&mut state, &params, now)),
            Endpoint::InstanceDiscovery => json_response((200, instance_discovery(&params))),
            Endpoint::OpenIdConfiguration => {
                json_response((200, openid_configuration(logged.tenant())))
            }
            Endpoint::Unknown => (
                404,
                ResponseTemplate::new(404)
                    .set_body_string("not an endpoint of the fake identity provider"),
            ),
        };
        let mut logged = logged;
        logged.status = status;
        state.log.push(logged);
        template
    }
}

/// The first scripted fault matching this request, applied; else the normal answer.
fn with_faults(
    state: &mut State,
    grant: &Grant,
    params: &HashMap<String, String>,
    normal: impl FnOnce(&mut State) -> Answer,
) -> Reply {
    let mut delay = None;
    let sends_claims = params.get("claims").is_some_and(|c| !c.is_empty());
    if let Some(i) = state.faults.iter().position(|f| f.matches(grant)) {
        let fault = &mut state.faults[i];
        let kind = fault.kind.clone();
        let satisfied = matches!(kind, FaultKind::Claims(_)) && sends_claims;
        if satisfied {
            state.faults.remove(i);
        } else {
            if let Some(n) = &mut fault.remaining {
                *n -= 1;
            }
            if fault.remaining == Some(0) {
                state.faults.remove(i);
            }
            match kind {
                FaultKind::Status {
                    status,
                    retry_after,
                } => {
                    let mut t = ResponseTemplate::new(status)
                        .set_body_string(
                            "<html><body>Service Unavailable (fake gateway)</body></html>",
                        )
                        .insert_header("content-type", "text/html");
                    if let Some(s) = retry_after {
                        t = t.insert_header("retry-after", s.to_string().as_str());
                    }
                    return (status, t);
                }
                FaultKind::OAuth {
                    status,
                    error,
                    suberror,
                    description,
                    codes,
                } => {
                    let (_, mut body) = oauth_error(
                        status,
                        &error,
                        codes.first().copied().unwrap_or(0),
                        description.as_deref().unwrap_or("Scripted error."),
                        suberror.as_deref(),
                    );
                    if let Some(d) = description {
                        body["error_description"] = json!(d);
                    }
                    body["error_codes"] = json!(codes);
                    return json_response((status, body));
                }
                FaultKind::Claims(claims) => {
                    let (status, mut body) = oauth_error(400, "interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.", Some("basic_action"));
                    body["claims"] = json!(claims);
                    return json_response((status, body));
                }
                FaultKind::Delay(d) => delay = Some(d),
            }
        }
    }
    let (status, template) = json_response(normal(state));
    match delay {
        Some(d) => (status, template.set_delay(d)),
        None => (status, template),
    }
}

/// The authorize endpoint: the user (the `login_hint`'s, else the one signing in) consents at
/// once and is redirected back with a code, or with `access_denied` when sign-ins decline.
fn authorize(state: &mut State, params: &HashMap<String, String>) -> Reply {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let page = |msg: &str| {
        (
            400,
            ResponseTemplate::new(400)
                .set_body_string(format!("AADSTS error page (fake identity provider): {msg}")),
        )
    };
    if !state.apps.contains_key(get("client_id")) {
        return page("AADSTS700016: unknown application");
    }
    let Ok(mut redirect) = Url::parse(get("redirect_uri")) else {
        return page("AADSTS50011: the redirect URI is missing or invalid");
    };
    if get("response_type") != "code" {
        return page("AADSTS900144: response_type must be 'code'");
    }
    let challenge = params.get("code_challenge").cloned();
    if challenge.is_some() && get("code_challenge_method") != "S256" {
        return page("AADSTS501491: code_challenge_method must be S256");
    }
    let user = state
        .user(get("login_hint"))
        .or_else(|| state.signing_in_user())
        .cloned();
    {
        let mut q = redirect.query_pairs_mut();
        match (&user, state.decline_sign_ins) {
            (Some(user), false) => {
                let code = format!("fake-code-{}", state.next_serial());
                state.codes.insert(
                    code.clone(),
                    IssuedCode {
                        username: user.username.clone(),
                        client_id: get("client_id").to_owned(),
                        redirect_uri: get("redirect_uri").to_owned(),
                        challenge,
                        nonce: params.get("nonce").cloned(),
                    },
                );
                q.append_pair("code", &code)
                    .append_pair("client_info", &user_client_info(user));
            }
            _ => {
                q.append_pair("error", "access_denied").append_pair(
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                );
            }
        }
        q.append_pair("state", get("state"));
    }
    (
        302,
        ResponseTemplate::new(302).insert_header("location", redirect.as_str()),
    )
}

fn device_code(state: &mut State, params: &HashMap<String, String>, now: u64) -> Answer {
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    if !state.apps.contains_key(&client_id) {
        return oauth_error(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
            None,
        );
    }
    let serial = state.next_serial();
    let device_code = format!("fake-device-code-{serial}");
    let user_code = format!("FAKE{serial:04}");
    state.device_codes.insert(
        device_code.clone(),
        IssuedDeviceCode {
            client_id,
            scope: params.get("scope").cloned().unwrap_or_default(),
            expires_at: now + DEVICE_CODE_LIFETIME,
            pending_polls: state.device_code_pending_polls,
        },
    );
    (
        200,
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": DEVICE_CODE_LIFETIME,
            "interval": 5,
            "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
        }),
    )
}

fn instance_discovery(params: &HashMap<String, String>) -> Value {
    let tenant = params
        .get("authorization_endpoint")
        .and_then(|a| Url::parse(a).ok())
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next().map(str::to_owned))
        })
        .unwrap_or_else(|| "common".into());
    json!({
        "tenant_discovery_endpoint": format!("https://{ENV}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": ENV,
            "preferred_cache": "login.windows.net",
            "aliases": [ENV, "login.windows.net", "login.microsoft.com", "sts.windows.net"],
        }],
    })
}

fn openid_configuration(tenant: &str) -> Value {
    let base = format!("https://{ENV}/{tenant}");
    let issuer_tenant = match tenant {
        "common" | "organizations" | "consumers" => "{tenantid}",
        t => t,
    };
    json!({
        "issuer": format!("https://{ENV}/{issuer_tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": null,
    })
}
