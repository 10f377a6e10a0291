//! What every credential here shares: scope checks, expiry mapping and error mapping.

use std::time::{Duration, UNIX_EPOCH};

use azure_core::credentials::{AccessToken, Secret};
use azure_core::error::ErrorKind;
use azure_core::time::OffsetDateTime;
use msal::AuthenticationResult;

/// Why a credential of this crate failed, when msal-rs itself did not (its [`msal::Error`] is
/// then the source). Find it with `azure_core::Error::downcast_ref::<CredentialError>()`, or
/// use [`is_sign_in_required`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// A user must sign in (interactively or with a device code) before tokens can be had
    /// silently, and this credential is not allowed to prompt.
    #[error("sign-in required: {message}")]
    SignInRequired {
        /// What happened and what to do (the credential's sign-in hint).
        message: String,
        /// msal-rs's "interaction required" error, when there was one (not when the cache
        /// simply holds no account).
        #[source]
        source: Option<msal::Error>,
    },
    /// The request named a tenant this credential cannot get tokens in.
    #[error("tenant {tenant:?} is not allowed: {reason}")]
    TenantNotAllowed {
        /// The tenant of the request.
        tenant: String,
        /// Why, and how to allow it.
        reason: String,
    },
    /// The request named no scope.
    #[error("no scopes were requested")]
    NoScopes,
    /// A managed identity token is for one resource; the request named several scopes.
    #[error("a managed identity token is for one resource: request exactly one scope, e.g. https://management.azure.com/.default (got {requested})")]
    OneResourceOnly {
        /// How many scopes were requested.
        requested: usize,
    },
    /// No link of a [`ChainedCredential`](crate::ChainedCredential) got a token: what each
    /// link tried, in order (the last one stopped the chain when it was configured but
    /// failed).
    #[error("no credential in the chain got a token; tried: {}", list(attempts))]
    Chain {
        /// Each link tried and what happened there.
        attempts: Vec<ChainAttempt>,
    },
}

/// One link of a [`ChainedCredential`](crate::ChainedCredential) and what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainAttempt {
    /// The link (`environment`, `workload identity`, `managed identity (IMDS)`, ...).
    pub link: String,
    /// What happened (never a secret).
    pub outcome: String,
}

impl ChainAttempt {
    pub(crate) fn new(link: &str, outcome: String) -> Self {
        ChainAttempt {
            link: link.to_owned(),
            outcome,
        }
    }
}

impl std::fmt::Display for ChainAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.link, self.outcome)
    }
}

fn list(attempts: &[ChainAttempt]) -> String {
    attempts
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}. {a}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether an error from a credential of this crate means "a user must sign in first": the
/// credential's [`CredentialError::SignInRequired`], or an msal-rs "interaction required"
/// error. Also true for an Azure SDK error whose source is one.
pub fn is_sign_in_required(error: &azure_core::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if matches!(
            e.downcast_ref::<CredentialError>(),
            Some(CredentialError::SignInRequired { .. })
        ) || e
            .downcast_ref::<msal::Error>()
            .is_some_and(msal::Error::is_ui_required)
        {
            return true;
        }
        source = e.source();
    }
    false
}

pub(crate) fn credential_error(error: CredentialError) -> azure_core::Error {
    azure_core::Error::new(ErrorKind::Credential, error)
}

/// An msal-rs failure as an Azure SDK credential error, the msal error as its source.
pub(crate) fn msal_error(error: msal::Error) -> azure_core::Error {
    let message = format!("msal-rs could not get a token: {error}");
    azure_core::Error::with_error(ErrorKind::Credential, error, message)
}

pub(crate) fn check_scopes(scopes: &[&str]) -> azure_core::Result<()> {
    if scopes.iter().all(|s| s.trim().is_empty()) {
        return Err(credential_error(CredentialError::NoScopes));
    }
    Ok(())
}

/// The token as the Azure SDK sees it: `expires_on` is the real expiry minus `margin` (msal's
/// 5-minute buffer by default), so the SDK's bearer-token policy, which uses a token until
/// `expires_on` (and asks for a new one from 5 minutes before it), never sends a token msal-rs
/// would no longer serve from its cache.
pub(crate) fn access_token(result: AuthenticationResult, margin: Duration) -> AccessToken {
    let reported = result
        .expires_on()
        .checked_sub(margin)
        .unwrap_or(UNIX_EPOCH)
        .max(UNIX_EPOCH);
    tracing::debug!(
        source = ?result.source(),
        scopes = ?result.scopes(),
        correlation_id = %result.correlation_id(),
        "token acquired"
    );
    AccessToken::new(
        Secret::new(result.access_token().to_owned()),
        OffsetDateTime::from(reported),
    )
}
