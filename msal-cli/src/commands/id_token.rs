//! `msal id-token`: the ID token of the signed-in account.
//!
//! The cached ID token while it is valid for more than 5 minutes; else, with `--scope`, a new
//! one from the refresh token (a silent request for those scopes, which returns one), else
//! from a sign-in (or exit code 3 with `--no-interaction`). Printed on stdout only.

use msal::{Account, AuthenticationResult, PublicClientApplication};
use msal_cache::{Loaded, Partition, TokenCache};
use msal_core::id_token::IdTokenClaims;
use serde_json::json;

use crate::cli::{GlobalOptions, IdTokenArgs};
use crate::commands::consent::login_command;
use crate::commands::{report_signed_in, sign_in, SignIn};
use crate::config::{build_app, open_cache, KeyPolicy, OpenedCache};
use crate::error::CliError;
use crate::output::{az_local_time, now_unix, or_null, print_json, print_stdout};

/// An ID token valid for less than this is renewed, as access tokens are.
const MIN_VALIDITY_SECS: u64 = 5 * 60;

/// Print the ID token.
pub(crate) async fn run(global: &GlobalOptions, args: &IdTokenArgs) -> Result<(), CliError> {
    let policy = if args.no_interaction {
        KeyPolicy::Existing
    } else {
        KeyPolicy::Create
    };
    let cache = open_cache(global, policy)?;
    let app = build_app(global, &cache)?;
    let wanted = args
        .account
        .as_deref()
        .or(global.default_account.as_deref());
    let accounts = app.accounts().await?;
    let account = match wanted {
        Some(wanted) => super::find_account(&accounts, wanted).cloned(),
        None if accounts.len() > 1 => {
            return Err(CliError::Other(format!(
                "several accounts are signed in ({}): choose one with --account",
                super::names(&accounts)
            )))
        }
        None => accounts.into_iter().next(),
    };
    if let Some(account) = &account {
        if let Some(token) = cached_id_token(&cache, &app, account).await? {
            return print_id_token(&token, args.json);
        }
        if !args.scope.is_empty() {
            let result = app
                .acquire_token_silent(&args.scope, account)
                .force_refresh(true)
                .await;
            match result {
                Ok(result) => return print_from(&result, args.json),
                Err(err) if super::consent::needs_sign_in(&err) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    let login_hint = account
        .as_ref()
        .map(|a| a.username.as_str())
        .filter(|u| !u.is_empty())
        .or(wanted);
    let scopes: Vec<String> = if args.scope.is_empty() {
        super::login::DEFAULT_LOGIN_SCOPES
            .map(str::to_owned)
            .to_vec()
    } else {
        args.scope.clone()
    };
    if args.no_interaction {
        let command = login_command(global, &scopes, args.device_code, login_hint);
        return Err(CliError::InteractionRequired(format!(
            "no valid ID token is cached; interaction is required but --no-interaction was \
             given: run `{command}`"
        )));
    }
    let result = sign_in(
        &app,
        global,
        &cache,
        SignIn {
            scopes: &scopes,
            device_code: args.device_code,
            login_hint,
            ..SignIn::default()
        },
    )
    .await?;
    report_signed_in(&result);
    print_from(&result, args.json)
}

/// The account's cached ID token for this client, if it is valid for 5 minutes more.
async fn cached_id_token(
    cache: &OpenedCache,
    app: &PublicClientApplication,
    account: &Account,
) -> Result<Option<String>, CliError> {
    let bytes = match cache.store.load(Partition::All, None).await? {
        Loaded::Data { bytes, .. } => bytes,
        Loaded::Missing | Loaded::Unchanged => return Ok(None),
    };
    let parsed = TokenCache::from_json(&bytes)?;
    let entry = parsed.id_token(
        &account.home_account_id,
        &account.environment,
        app.client_id(),
        &account.tenant_id,
    );
    Ok(entry
        .map(|e| e.secret.expose_secret().to_owned())
        .filter(|jwt| expires_on(jwt).is_some_and(|exp| exp > now_unix() + MIN_VALIDITY_SECS)))
}

/// The `exp` claim, in Unix seconds.
fn expires_on(jwt: &str) -> Option<u64> {
    let exp = IdTokenClaims::decode(jwt).ok()?.exp?;
    (exp.is_finite() && exp >= 0.0).then_some(exp as u64)
}

/// Print the ID token of a fresh result.
fn print_from(result: &AuthenticationResult, json: bool) -> Result<(), CliError> {
    let token = result.id_token().ok_or_else(|| {
        CliError::Other("the identity provider sent no ID token (was `openid` refused?)".into())
    })?;
    print_id_token(token, json)
}

/// Print an ID token alone, or as JSON with its identifying claims.
fn print_id_token(token: &str, json: bool) -> Result<(), CliError> {
    if !json {
        return print_stdout(token);
    }
    let claims = IdTokenClaims::decode(token).unwrap_or_default();
    let text = |v: &Option<String>| or_null(v.as_deref().unwrap_or_default());
    let exp = expires_on(token);
    print_json(&json!({
        "idToken": token,
        "expiresOn": exp.map(az_local_time),
        "expires_on": exp,
        "iss": text(&claims.iss),
        "sub": text(&claims.sub),
        "tid": text(&claims.tid),
        "preferred_username": text(&claims.preferred_username),
        "name": text(&claims.name),
        "email": text(&claims.email),
    }))
}
