//! The results of recent silent cache hits, ready to hand out again.
//!
//! An app asks for the same token before every call it makes. Serving that from the cache
//! means normalising the request, three index probes (access token, ID token, account) and
//! building the result; with the result shared ([`AuthenticationResult`] is one reference
//! count), the second and later hits of a request need none of it: one probe here, keyed by
//! the request as the caller wrote it, and the expiry checked against the clock.
//!
//! # Why this is safe
//!
//! - An entry is tied to the *generation* of the in-memory cache it was built from (every
//!   copy the app installs, after a write or a reload from the store, has a new one) and is
//!   used only while that generation is current. Whatever the cache says now is what the
//!   full lookup would find now. Writes also empty the memo, so a signed-out account's tokens
//!   do not stay in memory here.
//! - The key is the request exactly as given: for a user's token the home account id,
//!   environment, tenant, the tenant the request named (`.tenant(..)`, so a guest tenant's
//!   token is never served for the home tenant or the reverse) and scopes in order; for an app token (client credentials) the
//!   request's tenant and scopes. The full lookup's answer depends on nothing else once the
//!   generation is fixed. A request spelled differently simply misses and takes the full path.
//! - Only plain requests use it: no `force_refresh`, no claims; a token inside the expiry
//!   buffer, or past its `refresh_on`, goes the full path, which refreshes it.
//!
//! # Bounds
//!
//! [`SLOTS`] direct-mapped slots: a colliding request replaces the entry, so memory is bounded
//! whatever the number of users, and a service whose requests outnumber the slots loses
//! nothing but the shortcut (its misses cost what every hit cost without the memo).

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use msal_core::Account;

use crate::result::TokenData;

/// Slots in the memo. A power of two; 256 covers the accounts and scope sets a desktop app or
/// a busy API's hottest users ask for, at 2 KiB of pointers.
pub(crate) const SLOTS: usize = 256;

/// A memoised hit: the shared result and what decides whether it may still be served.
pub(crate) struct MemoEntry {
    generation: u64,
    key: OwnedKey,
    pub(crate) expires_on: u64,
    pub(crate) refresh_on: Option<u64>,
    pub(crate) token: Arc<TokenData>,
}

/// A request as the caller wrote it.
#[derive(Clone, Copy)]
pub(crate) enum MemoKey<'a> {
    /// A user's token (`acquire_token_silent`).
    User {
        account: &'a Account,
        scopes: &'a [String],
        /// The tenant the request named, if any.
        tenant: Option<&'a str>,
    },
    /// An app token (`acquire_token_for_client`), with the request's own tenant if it set one.
    App {
        tenant: Option<&'a str>,
        scopes: &'a [String],
    },
}

/// A [`MemoKey`] kept in an entry.
enum OwnedKey {
    User {
        home_account_id: String,
        environment: String,
        tenant_id: String,
        request_tenant: Option<String>,
        scopes: Vec<String>,
    },
    App {
        tenant: Option<String>,
        scopes: Vec<String>,
    },
}

impl MemoKey<'_> {
    fn hash(&self, state: &foldhash::quality::RandomState) -> u64 {
        let mut h = state.build_hasher();
        match self {
            MemoKey::User {
                account,
                scopes,
                tenant,
            } => {
                0u8.hash(&mut h);
                account.home_account_id.hash(&mut h);
                account.environment.hash(&mut h);
                account.tenant_id.hash(&mut h);
                tenant.hash(&mut h);
                scopes.hash(&mut h);
            }
            MemoKey::App { tenant, scopes } => {
                1u8.hash(&mut h);
                tenant.hash(&mut h);
                scopes.hash(&mut h);
            }
        }
        h.finish()
    }

    fn matches(&self, key: &OwnedKey) -> bool {
        match (self, key) {
            (
                MemoKey::User {
                    account,
                    scopes,
                    tenant,
                },
                OwnedKey::User {
                    home_account_id,
                    environment,
                    tenant_id,
                    request_tenant,
                    scopes: kept,
                },
            ) => {
                *home_account_id == account.home_account_id
                    && *environment == account.environment
                    && *tenant_id == account.tenant_id
                    && request_tenant.as_deref() == *tenant
                    && kept == scopes
            }
            (
                MemoKey::App { tenant, scopes },
                OwnedKey::App {
                    tenant: kept_tenant,
                    scopes: kept,
                },
            ) => kept_tenant.as_deref() == *tenant && kept == scopes,
            _ => false,
        }
    }

    fn keep(self) -> OwnedKey {
        match self {
            MemoKey::User {
                account,
                scopes,
                tenant,
            } => OwnedKey::User {
                home_account_id: account.home_account_id.clone(),
                environment: account.environment.clone(),
                tenant_id: account.tenant_id.clone(),
                request_tenant: tenant.map(str::to_owned),
                scopes: scopes.to_vec(),
            },
            MemoKey::App { tenant, scopes } => OwnedKey::App {
                tenant: tenant.map(str::to_owned),
                scopes: scopes.to_vec(),
            },
        }
    }
}

/// See the [module documentation](self).
pub(crate) struct HitMemo {
    hasher: foldhash::quality::RandomState,
    slots: Box<[ArcSwapOption<MemoEntry>]>,
}

impl HitMemo {
    pub(crate) fn new() -> Self {
        HitMemo {
            hasher: foldhash::quality::RandomState::default(),
            slots: (0..SLOTS).map(|_| ArcSwapOption::empty()).collect(),
        }
    }

    fn slot(&self, key: &MemoKey<'_>) -> &ArcSwapOption<MemoEntry> {
        // SLOTS is a power of two; the hash is uniform, so its low bits pick the slot.
        &self.slots[(key.hash(&self.hasher) as usize) & (SLOTS - 1)]
    }

    /// The entry for `key` built from cache generation `generation`, if there is one.
    /// Lock-free: readers on many threads touch no shared counter until they clone the token.
    pub(crate) fn get(
        &self,
        generation: u64,
        key: &MemoKey<'_>,
    ) -> Option<(u64, Option<u64>, Arc<TokenData>)> {
        let guard = self.slot(key).load();
        let entry = guard.as_ref()?;
        (entry.generation == generation && key.matches(&entry.key))
            .then(|| (entry.expires_on, entry.refresh_on, Arc::clone(&entry.token)))
    }

    /// Remember a hit served from generation `generation`.
    pub(crate) fn put(
        &self,
        generation: u64,
        key: &MemoKey<'_>,
        expires_on: u64,
        refresh_on: Option<u64>,
        token: Arc<TokenData>,
    ) {
        self.slot(key).store(Some(Arc::new(MemoEntry {
            generation,
            key: key.keep(),
            expires_on,
            refresh_on,
            token,
        })));
    }

    /// Forget everything (the cache changed).
    pub(crate) fn clear(&self) {
        for slot in self.slots.iter() {
            // A load first: most slots are empty, and a store on each would cost a swap.
            if slot.load().is_some() {
                slot.store(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn token(secret: &str) -> Arc<TokenData> {
        Arc::new(TokenData {
            access_token: secret.into(),
            token_type: "Bearer".into(),
            expires_on: SystemTime::UNIX_EPOCH,
            refresh_on: None,
            scopes: vec!["User.Read".into()],
            account: None,
            id_token: None,
            tenant_id: None,
        })
    }

    fn account(hid: &str, tenant: &str) -> Account {
        let mut a = Account::new(hid, "login.microsoftonline.com", "user@contoso.com");
        a.tenant_id = tenant.into();
        a
    }

    #[test]
    fn an_entry_serves_only_its_generation_and_its_exact_request() {
        let memo = HitMemo::new();
        let alice = account("uid.utid", "utid");
        let scopes = vec!["User.Read".to_owned()];
        let key = MemoKey::User {
            account: &alice,
            scopes: &scopes,
            tenant: None,
        };
        memo.put(7, &key, 100, Some(50), token("at-alice"));

        let (expires_on, refresh_on, t) = memo.get(7, &key).expect("same generation, same request");
        assert_eq!((expires_on, refresh_on), (100, Some(50)));
        assert_eq!(t.access_token, "at-alice");
        assert!(
            memo.get(8, &key).is_none(),
            "another generation of the cache"
        );

        let other_scopes = vec!["Mail.Read".to_owned()];
        let upper = vec!["user.read".to_owned()];
        let other_tenant = account("uid.utid", "other");
        let bob = account("uid2.utid", "utid");
        for key in [
            MemoKey::User {
                account: &alice,
                scopes: &other_scopes,
                tenant: None,
            },
            MemoKey::User {
                account: &alice,
                scopes: &upper,
                tenant: None,
            },
            MemoKey::User {
                account: &other_tenant,
                scopes: &scopes,
                tenant: None,
            },
            // The same account and scopes, for a tenant the request named.
            MemoKey::User {
                account: &alice,
                scopes: &scopes,
                tenant: Some("fabrikam.com"),
            },
            MemoKey::User {
                account: &bob,
                scopes: &scopes,
                tenant: None,
            },
        ] {
            assert!(memo.get(7, &key).is_none());
        }
    }

    #[test]
    fn a_named_tenants_entry_is_never_served_for_the_home_tenant_or_the_reverse() {
        let memo = HitMemo::new();
        let alice = account("uid.utid", "utid");
        let scopes = vec!["User.Read".to_owned()];
        let key = |tenant| MemoKey::User {
            account: &alice,
            scopes: &scopes,
            tenant,
        };
        memo.put(1, &key(Some("guest-tid")), 100, None, token("at-guest"));
        assert!(
            memo.get(1, &key(None)).is_none(),
            "home served a guest token"
        );
        assert!(memo.get(1, &key(Some("other-tid"))).is_none());
        memo.put(1, &key(None), 100, None, token("at-home"));
        let guest = memo.get(1, &key(Some("guest-tid")));
        assert!(guest.is_none_or(|(_, _, t)| t.access_token == "at-guest"));
        let home = memo.get(1, &key(None));
        assert!(home.is_some_and(|(_, _, t)| t.access_token == "at-home"));
    }

    #[test]
    fn clear_forgets_every_entry() {
        let memo = HitMemo::new();
        let scopes = vec!["User.Read".to_owned()];
        let accounts: Vec<_> = (0..64)
            .map(|i| account(&format!("uid{i}.utid"), "utid"))
            .collect();
        for a in &accounts {
            let key = MemoKey::User {
                account: a,
                scopes: &scopes,
                tenant: None,
            };
            memo.put(1, &key, 100, None, token("at"));
        }
        memo.clear();
        assert!(memo.slots.iter().all(|s| s.load().is_none()));
    }

    #[test]
    fn colliding_requests_replace_each_other_and_memory_stays_bounded() {
        let memo = HitMemo::new();
        let scopes = vec!["User.Read".to_owned()];
        let accounts: Vec<_> = (0..SLOTS * 4)
            .map(|i| account(&format!("uid{i}.utid"), "utid"))
            .collect();
        for a in &accounts {
            let key = MemoKey::User {
                account: a,
                scopes: &scopes,
                tenant: None,
            };
            memo.put(1, &key, 100, None, token("at"));
        }
        let kept = memo.slots.iter().filter(|s| s.load().is_some()).count();
        assert!(kept <= SLOTS);
        // Whatever survived answers for its own request only.
        let served = accounts
            .iter()
            .filter(|a| {
                memo.get(
                    1,
                    &MemoKey::User {
                        account: a,
                        scopes: &scopes,
                        tenant: None,
                    },
                )
                .is_some()
            })
            .count();
        assert_eq!(served, kept);
    }
}
