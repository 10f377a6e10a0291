//! Scripted faults and answers: what the fake does instead of (or before) answering normally.

use std::time::Duration;

use super::log::Grant;

/// A scripted answer for the next matching token requests, queued with
/// [`FakeEntra::fault`](super::FakeEntra::fault). Faults apply in the order queued; a fault
/// whose count is used up is dropped.
///
/// ```
/// # use msal_tests::kit::{Fault, Grant};
/// # use std::time::Duration;
/// // The next 2 token requests get 503 (msal-rs retries once, so one call fails).
/// let outage = Fault::status(503).times(2);
/// // Refreshes answer `invalid_grant` with the suberror `bad_token`.
/// let revoked = Fault::oauth_error("invalid_grant").suberror("bad_token").only(Grant::RefreshToken);
/// // The next request takes 3 s, then gets its normal answer.
/// let slow = Fault::delay(Duration::from_secs(3));
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) remaining: Option<usize>,
    pub(crate) grant: Option<Grant>,
}

#[derive(Debug, Clone)]
pub(crate) enum FaultKind {
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    OAuth {
        status: u16,
        error: String,
        suberror: Option<String>,
        description: Option<String>,
        codes: Vec<u32>,
    },
    Claims(String),
    Delay(Duration),
}

impl Fault {
    fn new(kind: FaultKind) -> Self {
        Fault {
            kind,
            remaining: Some(1),
            grant: None,
        }
    }

    /// Answer with this HTTP status and a body that is not an OAuth message (what a gateway
    /// in front of Entra sends: msal-rs treats a 5xx or 429 like this as transient).
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status {
            status,
            retry_after: None,
        })
    }

    /// The same status fault, with a `Retry-After` of `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let FaultKind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(seconds);
        }
        self
    }

    /// Answer 400 with this OAuth error (`invalid_grant`, `invalid_client`, ...).
    pub fn oauth_error(error: impl Into<String>) -> Self {
        Self::new(FaultKind::OAuth {
            status: 400,
            error: error.into(),
            suberror: None,
            description: None,
            codes: Vec::new(),
        })
    }

    /// The same OAuth error with this `suberror` (`bad_token`, `basic_action`, ...).
    pub fn suberror(mut self, value: impl Into<String>) -> Self {
        if let FaultKind::OAuth { suberror, .. } = &mut self.kind {
            *suberror = Some(value.into());
        }
        self
    }

    /// The same OAuth error with this `error_description` and AADSTS `error_codes`.
    pub fn described(mut self, text: impl Into<String>, error_codes: &[u32]) -> Self {
        if let FaultKind::OAuth {
            description, codes, ..
        } = &mut self.kind
        {
            *description = Some(text.into());
            *codes = error_codes.to_vec();
        }
        self
    }

    /// The same OAuth error with another HTTP status (400 by default).
    pub fn with_status(mut self, value: u16) -> Self {
        if let FaultKind::OAuth { status, .. } = &mut self.kind {
            *status = value;
        }
        self
    }

    /// A claims challenge (Conditional Access asking for more, e.g. MFA): matching requests
    /// without a `claims` parameter get `interaction_required` (AADSTS50076, suberror
    /// `basic_action`) carrying `claims` (a JSON object, as text); the first request that
    /// sends a `claims` parameter satisfies the challenge and gets its normal answer. Unlike
    /// the other faults it lasts until satisfied unless [`times`](Self::times) bounds it.
    pub fn claims_challenge(claims: impl Into<String>) -> Self {
        Fault {
            remaining: None,
            ..Self::new(FaultKind::Claims(claims.into()))
        }
    }

    /// Wait `delay` (real time) before the normal answer.
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay(delay))
    }

    /// Apply to the next `n` matching requests (1 unless set).
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Apply to every matching request, for as long as the fake lives.
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    /// Apply only to requests of this grant (token requests of any grant otherwise).
    pub fn only(mut self, grant: Grant) -> Self {
        self.grant = Some(grant);
        self
    }

    pub(crate) fn matches(&self, grant: &Grant) -> bool {
        self.remaining != Some(0) && self.grant.as_ref().is_none_or(|g| g == grant)
    }
}
