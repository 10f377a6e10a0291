//! The passphrase-derived key of the encrypted cache, kept for a bounded time where the
//! platform keeps session secrets, so that only the first `msal` command of a session pays
//! for Argon2id (about 50 ms) and the next ones answer from a warm cache in a few
//! milliseconds.
//!
//! On Linux the key goes into the kernel's session keyring (keyutils, as `ssh-agent`-like
//! tools and `systemd-ask-password --keyname` do): kernel memory, never on disk, never in
//! swap, gone at logout or reboot. The key is a `user` key described
//! `msal-rs:cache-key:{absolute cache path}:{how it was derived}` (no secret in the
//! description), readable only by its possessors (the processes of this login session: other
//! sessions of the same user, other users and root's processes outside the session do not
//! possess it), with a timeout: `MSAL_CACHE_KEY_TIMEOUT` seconds after it was derived (default
//! 600, like `gpg-agent`; `0` keeps nothing). It is created with a placeholder, given its timeout and
//! permissions, and only then filled, so a crash never leaves the key without a timeout.
//!
//! Where there is no such keyring (other platforms, or a container whose seccomp profile
//! forbids the keyutils calls), or with `--no-keyring`/`MSAL_NO_KEYRING`, nothing is kept and
//! each command derives the key again: slower, never wrong.

use std::path::Path;
use std::sync::Arc;

use msal_cache::DerivedKeyStore;

/// How long a derived key is kept unless `MSAL_CACHE_KEY_TIMEOUT` says otherwise: 10 minutes,
/// `gpg-agent`'s default cache TTL.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 600;
/// The environment variable overriding [`DEFAULT_TIMEOUT_SECS`] (seconds; `0` keeps nothing).
pub(crate) const TIMEOUT_VAR: &str = "MSAL_CACHE_KEY_TIMEOUT";
/// The longest timeout accepted: a day. A key kept longer is a key on the machine for good.
const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

/// The store for the cache at `cache_path`, or `None` when nothing may be kept (timeout 0) or
/// there is nowhere to keep it. An unparsable timeout is a usage error.
/// With `verbose`, each use says on stderr whether the key came from the keyring or was derived
/// and kept (never the key).
pub(crate) fn session_key_store(
    cache_path: &Path,
    verbose: bool,
) -> Result<Option<Arc<dyn DerivedKeyStore>>, String> {
    let timeout = match std::env::var(TIMEOUT_VAR) {
        Err(std::env::VarError::NotPresent) => DEFAULT_TIMEOUT_SECS,
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|secs| *secs <= MAX_TIMEOUT_SECS)
            .ok_or_else(|| {
                format!("{TIMEOUT_VAR} must be a number of seconds from 0 to {MAX_TIMEOUT_SECS}")
            })?,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!("{TIMEOUT_VAR} is not valid UTF-8"))
        }
    };
    if timeout == 0 {
        if verbose {
            eprintln!("msal: {TIMEOUT_VAR}=0: the cache key is derived (Argon2id) on every run");
        }
        return Ok(None);
    }
    let absolute = std::path::absolute(cache_path).unwrap_or_else(|_| cache_path.to_path_buf());
    Ok(platform::open(&absolute, timeout, verbose))
}

#[cfg(target_os = "linux")]
mod platform {
    use std::path::Path;
    use std::sync::Arc;

    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
    use msal_cache::DerivedKeyStore;
    use zeroize::Zeroizing;

    /// The session keyring, as a [`DerivedKeyStore`].
    pub(crate) struct SessionKeyring {
        /// `None` when the keyring cannot be used: every call then does nothing.
        ring: Option<KeyRing>,
        /// `msal-rs:cache-key:{path}:`; the key's id follows.
        prefix: String,
        timeout_secs: usize,
        /// Say on stderr what happened to the key (never the key).
        verbose: bool,
    }

    pub(super) fn open(
        cache_path: &Path,
        timeout_secs: u64,
        verbose: bool,
    ) -> Option<Arc<dyn DerivedKeyStore>> {
        let ring = match KeyRing::from_special_id(KeyRingIdentifier::Session, false) {
            Ok(ring) => ring,
            Err(err) => {
                if verbose {
                    eprintln!(
                        "msal: no session keyring ({err:?}): the cache key is derived (Argon2id) \
                         on every run"
                    );
                }
                return None;
            }
        };
        let mut store = SessionKeyring::new(Some(ring), cache_path, timeout_secs);
        store.verbose = verbose;
        Some(Arc::new(store))
    }

    impl SessionKeyring {
        pub(crate) fn new(ring: Option<KeyRing>, cache_path: &Path, timeout_secs: u64) -> Self {
            SessionKeyring {
                ring,
                prefix: format!("msal-rs:cache-key:{}:", cache_path.display()),
                timeout_secs: usize::try_from(timeout_secs).unwrap_or(usize::MAX),
                verbose: false,
            }
        }

        fn description(&self, id: &str) -> String {
            format!("{}{id}", self.prefix)
        }
    }

    impl DerivedKeyStore for SessionKeyring {
        fn get(&self, id: &str) -> Option<Zeroizing<[u8; 32]>> {
            let key = self.ring?.search(&self.description(id)).ok()?;
            let mut buffer = Zeroizing::new([0u8; 33]);
            // 33 bytes: a payload of any other length than 32 is not ours; ignore it.
            match key.read(&mut *buffer) {
                Ok(32) => {
                    let mut out = Zeroizing::new([0u8; 32]);
                    out.copy_from_slice(&buffer[..32]);
                    if self.verbose {
                        eprintln!(
                            "msal: the cache key came from the session keyring (no Argon2id)"
                        );
                    }
                    Some(out)
                }
                _ => None,
            }
        }

        fn put(&self, id: &str, key: &[u8; 32]) {
            let Some(ring) = self.ring else { return };
            // A placeholder first (the kernel refuses an empty payload): the timeout and the
            // permissions are set before the key is there.
            let Ok(entry) = ring.add_key(&self.description(id), &[0u8; 1]) else {
                if self.verbose {
                    eprintln!("msal: the session keyring refused the cache key; not kept");
                }
                return;
            };
            let private = KeyPermissionsBuilder::builder()
                .posessor(
                    Permission::VIEW
                        | Permission::READ
                        | Permission::WRITE
                        | Permission::SEARCH
                        | Permission::SETATTR,
                )
                .build();
            let ready = entry
                .set_timeout(self.timeout_secs)
                .and_then(|()| entry.set_perms(private))
                .and_then(|()| entry.update(key));
            if ready.is_err() {
                let _ = entry.invalidate();
                if self.verbose {
                    eprintln!("msal: the session keyring could not bound the cache key; not kept");
                }
            } else if self.verbose {
                eprintln!(
                    "msal: the cache key was derived (Argon2id) and kept in the session keyring \
                     for {} s",
                    self.timeout_secs
                );
            }
        }

        fn forget(&self, id: &str) {
            if let Some(key) = self
                .ring
                .and_then(|ring| ring.search(&self.description(id)).ok())
            {
                let _ = key.invalidate();
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn unique_path(name: &str) -> std::path::PathBuf {
            std::env::temp_dir().join(format!(
                "msal-cli-session-key-test-{}-{name}",
                std::process::id()
            ))
        }

        /// In the process keyring (private to this test process), a kept key reads back, is
        /// replaced by a new one, and is gone once forgotten.
        #[test]
        fn keys_are_kept_replaced_and_forgotten() {
            let Ok(ring) = KeyRing::from_special_id(KeyRingIdentifier::Process, true) else {
                eprintln!("no keyutils here (a seccomp profile?): the fallback test covers it");
                return;
            };
            let store = SessionKeyring::new(Some(ring), &unique_path("kept"), 60);
            assert!(store.get("argon2id-x").is_none());
            store.put("argon2id-x", &[1; 32]);
            assert_eq!(*store.get("argon2id-x").unwrap(), [1; 32]);
            store.put("argon2id-x", &[2; 32]);
            assert_eq!(*store.get("argon2id-x").unwrap(), [2; 32]);
            assert!(
                store.get("argon2id-y").is_none(),
                "keyed by the derivation id"
            );
            store.forget("argon2id-x");
            assert!(store.get("argon2id-x").is_none());
        }

        /// Without a keyring nothing is kept and nothing fails: an encrypted cache behind it
        /// derives its key on each run and still reads what it wrote.
        #[tokio::test]
        async fn without_a_keyring_the_key_is_derived_each_time() {
            use msal_cache::{CacheStore, EncryptedFileCache, Loaded, Partition};
            let store: Arc<dyn DerivedKeyStore> =
                Arc::new(SessionKeyring::new(None, &unique_path("none"), 60));
            store.put("argon2id-x", &[1; 32]);
            assert!(store.get("argon2id-x").is_none());
            store.forget("argon2id-x");

            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.bin");
            let cache = |passphrase: &str| {
                EncryptedFileCache::with_passphrase(&path, passphrase)
                    .with_argon2_params(64, 1, 1)
                    .unwrap()
                    .with_derived_key_store(Arc::clone(&store))
                    .unwrap()
            };
            cache("right")
                .modify(Partition::All, None, &mut |_| Ok(b"{}".to_vec()))
                .await
                .unwrap();
            let Loaded::Data { bytes, .. } =
                cache("right").load(Partition::All, None).await.unwrap()
            else {
                panic!("no data")
            };
            assert_eq!(bytes, b"{}");
            // Nothing kept, so the passphrase is checked every time.
            assert!(cache("wrong").load(Partition::All, None).await.is_err());
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use std::path::Path;
    use std::sync::Arc;

    use msal_cache::DerivedKeyStore;

    /// No session keyring support on this platform yet: the key is derived each run.
    pub(super) fn open(
        _cache_path: &Path,
        _timeout_secs: u64,
        verbose: bool,
    ) -> Option<Arc<dyn DerivedKeyStore>> {
        if verbose {
            eprintln!(
                "msal: no session keyring here: the cache key is derived (Argon2id) on every run"
            );
        }
        None
    }
}
