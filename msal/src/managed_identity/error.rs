//! Managed identity failures: which source was asked, what went wrong, what to check.

use super::source_kind::ManagedIdentitySource;

/// What kind of managed identity failure this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManagedIdentityErrorKind {
    /// No endpoint answered (connection refused, no route): this is probably not the Azure
    /// resource the source serves, or its managed identity endpoint is down.
    Unreachable,
    /// The endpoint answered but does not know the identity (IMDS 400 "Identity not found"):
    /// it is not assigned to this resource, or the id is wrong. Final: not retried.
    IdentityNotFound,
    /// The source serves only the system-assigned identity (Azure Arc, Cloud Shell).
    UserAssignedNotSupported,
    /// The environment or configuration is incomplete or invalid (a missing variable, an
    /// endpoint that is not a URL, a platform the source does not exist on).
    Configuration,
    /// The Azure Arc challenge could not be answered: no usable `WWW-Authenticate` header, or
    /// a key file outside the agent's token folder, too large, not a regular file or unreadable.
    ArcChallenge,
    /// A success status but no usable token: an HTML page, no `access_token`, an `expires_on`
    /// that is not a number or already past. Nothing is cached.
    BadResponse,
    /// The endpoint answered with an error that retrying will not fix.
    Rejected,
    /// The endpoint kept answering 429/5xx (or 404/410 for IMDS), or timing out, until the
    /// retries ran out. Trying again later may succeed.
    Unavailable,
    /// The request could not be sent for another reason (e.g. a transport that refuses it).
    Transport,
}

/// A managed identity failure. Its message names the source, what went wrong and what to
/// check; it never holds a token or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagedIdentityError {
    /// The source that was used.
    pub source: ManagedIdentitySource,
    /// What kind of failure.
    pub kind: ManagedIdentityErrorKind,
    /// The HTTP status of the last answer, when there was one.
    pub status: Option<u16>,
    /// What went wrong and what to check.
    pub message: String,
    /// The last answer's `Retry-After` (identical requests are blocked that long).
    pub(crate) retry_after: Option<std::time::Duration>,
}

impl ManagedIdentityError {
    pub(crate) fn new(
        source: ManagedIdentitySource,
        kind: ManagedIdentityErrorKind,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        ManagedIdentityError {
            source,
            kind,
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == ManagedIdentityErrorKind::Unavailable
    }
}

impl std::fmt::Display for ManagedIdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (HTTP {status})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<ManagedIdentityError> for crate::Error {
    fn from(e: ManagedIdentityError) -> Self {
        crate::Error::ManagedIdentity(Box::new(e))
    }
}
