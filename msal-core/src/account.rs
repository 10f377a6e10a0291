//! Accounts: who a set of cached tokens belongs to.

/// A signed-in account, as listed from the cache.
///
/// `home_account_id` (`{uid}.{utid}` on Entra, the `sub` claim elsewhere) identifies the user
/// across tenants; `environment` is the host the account signed in at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Account {
    /// The account's id across tenants: `{uid}.{utid}` on Entra ID.
    pub home_account_id: String,
    /// The host the account was signed in at (`login.microsoftonline.com`).
    pub environment: String,
    /// The sign-in name (`preferred_username`, else `upn`, else `email`; may be empty).
    pub username: String,
    /// The account's object id in `tenant_id` (`oid`, else `sub`).
    pub local_account_id: String,
    /// The tenant the account entry was written for (the cache entry's `realm`).
    pub tenant_id: String,
    /// Display name, when the ID token had one.
    pub name: Option<String>,
}

impl Account {
    /// An account with the given identifiers and nothing else; mostly for tests and tools.
    pub fn new(
        home_account_id: impl Into<String>,
        environment: impl Into<String>,
        username: impl Into<String>,
    ) -> Self {
        Account {
            home_account_id: home_account_id.into(),
            environment: environment.into(),
            username: username.into(),
            local_account_id: String::new(),
            tenant_id: String::new(),
            name: None,
        }
    }

    /// The home tenant: the part of `home_account_id` after the last `.` (Entra's `utid`).
    pub fn home_tenant_id(&self) -> Option<&str> {
        self.home_account_id
            .rsplit_once('.')
            .map(|(_, utid)| utid)
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_tenant_is_the_utid() {
        assert_eq!(Account::new("u.t", "e", "n").home_tenant_id(), Some("t"));
        assert_eq!(Account::new("subject", "e", "n").home_tenant_id(), None);
    }
}
