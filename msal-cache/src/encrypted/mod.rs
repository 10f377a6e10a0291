//! [`EncryptedFileCache`]: a token cache kept in a file encrypted with XChaCha20-Poly1305.
//!
//! It wraps a [`FileCache`], so it writes the same way (a temporary file renamed over the cache
//! file, mode `0600` on Unix, symbolic links refused) and takes part in the same locking; it only
//! adds encryption: [`load`](CacheStore::load) decrypts what the file store read, and
//! [`modify`](CacheStore::modify) decrypts the current file before handing it to the update
//! function and encrypts what that returns.
//!
//! # Keys
//!
//! * [`EncryptedFileCache::with_key`]: a 32-byte key the application supplies (from its own
//!   secret store, a KMS, an environment variable...).
//! * [`EncryptedFileCache::with_passphrase`]: a key derived from a passphrase with Argon2id.
//!   Each file has its own random 16-byte salt, made when the file is first written and kept by
//!   later writes, so the derived key is computed once per salt and then cached in memory: a
//!   silent token call does not pay for Argon2 again. A short-lived process can also keep the
//!   derived key between runs, for a bounded time, in a [`DerivedKeyStore`] of its choice
//!   ([`EncryptedFileCache::with_derived_key_store`]).
//! * `EncryptedFileCache::with_os_keyring` (cargo feature `keyring`): a random key kept in the
//!   OS keyring, created on first use.
//!
//! On a headless Linux machine (a server, a container, CI) `with_key` and `with_passphrase` need
//! no keyring, no D-Bus and no desktop session.
//!
//! # Why XChaCha20-Poly1305
//!
//! It is an AEAD (encryption and authentication in one), fast in pure Rust everywhere, and its
//! 192-bit nonce is large enough to be chosen at random for every write with no realistic chance
//! of ever repeating. That matters here: several processes write the same file with the same key
//! and share no counter, so a cipher with 96-bit nonces (AES-GCM, ChaCha20-Poly1305) would need
//! nonce bookkeeping across processes to stay safe.
//!
//! # Why Argon2id, and its parameters
//!
//! Argon2id is the password hash recommended by RFC 9106 and OWASP: memory-hard, so guessing
//! passphrases on GPUs or ASICs is expensive. The defaults are OWASP's first recommendation,
//! 19 MiB of memory (`m = 19456` KiB), 2 passes (`t = 2`) and 1 lane (`p = 1`): tens of
//! milliseconds once per process. [`EncryptedFileCache::with_argon2_params`] changes them for new
//! files. The parameters a file was written with are stored in its header and used to read it,
//! so files written with other (cheaper) parameters stay readable. A header asking for more than
//! the cache itself writes (its [`with_argon2_params`](EncryptedFileCache::with_argon2_params),
//! or the defaults if those are lower) is refused as [`CacheError::Corrupt`] before any key
//! derivation, and the file is left as it is: a tampered header must not make every load
//! allocate a gigabyte and run a hundred passes (minutes) before the authentication check can
//! fail. A file written with larger parameters is read by a cache configured with them.
//!
//! The passphrase is used as its UTF-8 bytes, with no Unicode normalization.
//!
//! # File format
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0      | 8    | magic `b"MSALRSE\0"` |
//! | 8      | 1    | format version, `1` |
//! | 9      | 1    | key derivation: `0` = raw 32-byte key (caller or OS keyring), `1` = Argon2id passphrase |
//! | 10     | 4    | *Argon2id only:* memory cost in KiB, `u32` little-endian |
//! | 14     | 4    | *Argon2id only:* time cost (passes), `u32` little-endian |
//! | 18     | 1    | *Argon2id only:* parallelism (lanes), `u8` |
//! | 19     | 16   | *Argon2id only:* salt |
//! | H      | 24   | nonce, random for every write (`H` = 10 for a raw key, 35 for Argon2id) |
//! | H + 24 | n+16 | ciphertext of the `n`-byte cache document, then the 16-byte Poly1305 tag |
//!
//! The header (bytes `0..H`) is the AEAD's associated data: changing any byte of it, of the
//! nonce or of the ciphertext makes decryption fail. The plaintext is the unified token cache
//! JSON document that [`FileCache`] would store.
//!
//! # Files that cannot be decrypted are never overwritten
//!
//! A wrong key or passphrase, a modified or truncated file, an unknown format version, or a file
//! that is not an encrypted cache at all (for example a plain JSON cache written by a
//! [`FileCache`] or by MSAL Python) is reported as [`CacheError::Corrupt`] naming the file, and
//! the file is left exactly as it was: in `modify`, the decryption failure aborts the write.
//! An unencrypted cache is never read as if it were one, and never silently replaced.
//!
//! # The `keyring` feature
//!
//! `EncryptedFileCache::with_os_keyring(path, service, account)` reads a base64-encoded 32-byte
//! key from the OS keyring entry `service`/`account`, and creates and stores a random one when
//! the entry does not exist. The keyring is the Linux kernel key store (keyutils: no D-Bus
//! needed), the macOS Keychain or the Windows Credential Manager. Linux kernel keys live in
//! memory: they do not survive a reboot (nor the expiry of the user's persistent keyring, a few
//! days by default), after which the old cache can no longer be decrypted and is reported as
//! such; use a passphrase or your own key where the cache must outlive that. When no keyring can
//! be used, `with_os_keyring` fails with [`CacheError::Store`]; `with_passphrase` and `with_key`
//! are the alternatives.

mod header;
mod kept_key;
mod key;

pub use self::kept_key::DerivedKeyStore;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use zeroize::Zeroizing;

use self::header::{parse, seal, Argon2Params, Kdf};
#[cfg(feature = "keyring")]
use self::key::keyring_key;
use self::key::KeySource;
use crate::{CacheError, CacheStore, Current, FileCache, Loaded, Partition, RefreshLock};
use crate::{StoreVersion, UpdateFn};

/// A [`CacheStore`] keeping the token cache in a file encrypted with XChaCha20-Poly1305. See the
/// [module documentation](self) for the key sources, the file format and the guarantees.
///
/// Cloning is cheap; clones share the file store's in-process lock and the derived-key cache.
///
/// ```
/// use msal_cache::encrypted::EncryptedFileCache;
/// use msal_cache::{CacheStore, Loaded, Partition};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("token_cache.bin");
/// let cache = EncryptedFileCache::with_passphrase(&path, "correct horse battery staple");
/// # let cache = cache.with_argon2_params(64, 1, 1)?; // keep the doctest fast
/// cache.modify(Partition::All, None, &mut |_| Ok(b"{}".to_vec())).await?;
/// let Loaded::Data { bytes, .. } = cache.load(Partition::All, None).await? else { panic!() };
/// assert_eq!(bytes, b"{}");
/// # Ok::<(), msal_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct EncryptedFileCache {
    inner: FileCache,
    key: Arc<KeySource>,
}

impl EncryptedFileCache {
    /// A cache at `path` encrypted with the caller's 32-byte `key`. Does no I/O.
    ///
    /// Generate the key with a cryptographic random number generator and keep it secret; the
    /// cache keeps its copy in memory that is wiped when the last clone is dropped.
    pub fn with_key(path: impl Into<PathBuf>, key: [u8; 32]) -> EncryptedFileCache {
        EncryptedFileCache::new(path, KeySource::Raw(Zeroizing::new(key)))
    }

    /// A cache at `path` encrypted with a key derived from `passphrase` with Argon2id (OWASP's
    /// parameters: 19 MiB, 2 passes, 1 lane; see [`with_argon2_params`](Self::with_argon2_params)).
    /// Does no I/O and no key derivation: the key is derived on first use, once per file salt.
    ///
    /// An empty passphrase is refused at first use with [`CacheError::Store`].
    pub fn with_passphrase(
        path: impl Into<PathBuf>,
        passphrase: impl Into<String>,
    ) -> EncryptedFileCache {
        EncryptedFileCache::new(
            path,
            KeySource::Passphrase {
                passphrase: Zeroizing::new(passphrase.into()),
                params: Argon2Params::DEFAULT,
                derived: Mutex::new(None),
                kept: None,
            },
        )
    }

    /// Keep keys derived from the passphrase in `store` as well as in memory, and look there
    /// before running Argon2: a process that starts once per token (a command-line tool) then
    /// derives the key once per file, not once per run. See [`DerivedKeyStore`] for what this
    /// changes in what protects the cache.
    ///
    /// Fails with [`CacheError::Store`] when this cache does not use a passphrase.
    pub fn with_derived_key_store(
        self,
        store: Arc<dyn DerivedKeyStore>,
    ) -> Result<EncryptedFileCache, CacheError> {
        let KeySource::Passphrase {
            passphrase, params, ..
        } = &*self.key
        else {
            return Err(CacheError::store(
                "a derived-key store applies only to a cache protected by a passphrase",
            ));
        };
        let key = KeySource::Passphrase {
            passphrase: passphrase.clone(),
            params: *params,
            derived: Mutex::new(None),
            kept: Some(store),
        };
        Ok(EncryptedFileCache {
            inner: self.inner,
            key: Arc::new(key),
        })
    }

    /// Change the Argon2id parameters used for files this cache creates: memory cost in KiB,
    /// time cost (passes) and parallelism (lanes). Existing files keep the parameters recorded
    /// in their header. Lower values than the defaults weaken the protection against passphrase
    /// guessing; they are meant for tests.
    ///
    /// Fails with [`CacheError::Store`] when the parameters are invalid (`t_cost` 0, `p_cost` 0,
    /// `m_cost_kib` below 8 × `p_cost`, or above the limits of 1 GiB and 100 passes), or when
    /// this cache does not use a passphrase.
    pub fn with_argon2_params(
        self,
        m_cost_kib: u32,
        t_cost: u32,
        p_cost: u8,
    ) -> Result<EncryptedFileCache, CacheError> {
        let new_params = Argon2Params {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        new_params.to_argon2().map_err(CacheError::store)?;
        let KeySource::Passphrase {
            passphrase, kept, ..
        } = &*self.key
        else {
            return Err(CacheError::store(
                "Argon2 parameters apply only to a cache protected by a passphrase",
            ));
        };
        let key = KeySource::Passphrase {
            passphrase: passphrase.clone(),
            params: new_params,
            derived: Mutex::new(None),
            kept: kept.clone(),
        };
        Ok(EncryptedFileCache {
            inner: self.inner,
            key: Arc::new(key),
        })
    }

    /// A cache at `path` encrypted with a random key kept in the OS keyring entry
    /// `service`/`account` (base64), created and stored there when the entry does not exist.
    ///
    /// Reads (and possibly writes) the keyring now. Fails with [`CacheError::Store`] when the
    /// keyring cannot be used or the entry does not hold a base64 32-byte key; use
    /// [`with_passphrase`](Self::with_passphrase) or [`with_key`](Self::with_key) instead there.
    /// See the [module documentation](self#the-keyring-feature) for the platforms' keyrings.
    #[cfg(feature = "keyring")]
    pub fn with_os_keyring(
        path: impl Into<PathBuf>,
        service: &str,
        account: &str,
    ) -> Result<EncryptedFileCache, CacheError> {
        let (key, created) = keyring_key(service, account)?;
        Ok(EncryptedFileCache::new(
            path,
            KeySource::Keyring { key, created },
        ))
    }

    fn new(path: impl Into<PathBuf>, key: KeySource) -> EncryptedFileCache {
        EncryptedFileCache {
            inner: FileCache::new(path),
            key: Arc::new(key),
        }
    }

    /// The path of the encrypted cache file.
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// Move the encrypted cache file aside to `{file name}.corrupt-{UTC time}`, so that the
    /// next write starts a new cache: the recovery from a file that cannot be decrypted (a lost
    /// key or passphrase, a damaged or tampered file). Returns the new path, or `None` when
    /// there is no file. Nothing is deleted; see [`FileCache::quarantine`].
    pub fn quarantine(&self) -> Result<Option<PathBuf>, CacheError> {
        self.inner.quarantine()
    }

    /// How long a write waits for another process holding the file's lock before failing with
    /// [`CacheError::LockTimeout`] (see [`FileCache::with_lock_timeout`]).
    pub fn with_lock_timeout(self, timeout: std::time::Duration) -> EncryptedFileCache {
        EncryptedFileCache {
            inner: self.inner.with_lock_timeout(timeout),
            key: self.key,
        }
    }

    fn corrupt(&self, message: impl Into<String>) -> CacheError {
        CacheError::corrupt(Some(self.inner.path().to_path_buf()), message)
    }

    /// Decrypt a whole file; also returns its key derivation and key, to write it back with.
    #[allow(clippy::type_complexity)]
    fn open(
        &self,
        bytes: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, Kdf, Zeroizing<[u8; 32]>), CacheError> {
        let sealed = parse(bytes).map_err(|message| self.corrupt(message))?;
        let decrypt = |key: &Zeroizing<[u8; 32]>| {
            XChaCha20Poly1305::new((&**key).into()).decrypt(
                &sealed.nonce,
                Payload {
                    msg: sealed.ciphertext,
                    aad: sealed.header,
                },
            )
        };
        let key = self.key_for(&sealed.kdf)?;
        let (plaintext, key) = match decrypt(&key) {
            Ok(plaintext) => (plaintext, key),
            // A key kept by a DerivedKeyStore that does not fit (stale, or damaged): forget
            // it and derive from the passphrase, which is the authority.
            Err(_) if self.forget_kept_key(&sealed.kdf) => {
                let key = self.key_for(&sealed.kdf)?;
                let plaintext =
                    decrypt(&key).map_err(|_| self.corrupt(self.authentication_failed()))?;
                (plaintext, key)
            }
            Err(_) => return Err(self.corrupt(self.authentication_failed())),
        };
        Ok((Zeroizing::new(plaintext), sealed.kdf, key))
    }

    fn authentication_failed(&self) -> String {
        let message = "authentication failed: wrong key or passphrase, or the file was modified";
        #[cfg(feature = "keyring")]
        if let KeySource::Keyring { created: true, .. } = &*self.key {
            return format!(
                "{message} (the OS keyring held no key for this cache, so a new one was made: \
                 the key this file was encrypted with is gone; Linux kernel keys do not survive \
                 a reboot. Delete the file to start over)"
            );
        }
        message.to_owned()
    }
}

impl fmt::Debug for EncryptedFileCache {
    /// Prints the path and the kind of key source only, never a key or passphrase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedFileCache")
            .field("path", &self.inner.path())
            .field("key_source", &self.key.kind())
            .finish()
    }
}

#[async_trait::async_trait]
impl CacheStore for EncryptedFileCache {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        match self.inner.load(partition, known).await? {
            Loaded::Data { bytes, version } => {
                let (mut plaintext, _, _) = self.open(&bytes)?;
                Ok(Loaded::Data {
                    bytes: std::mem::take(&mut *plaintext),
                    version,
                })
            }
            other => Ok(other),
        }
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        let mut encrypting = |current: Current<'_>| -> Result<Vec<u8>, CacheError> {
            let (new_plaintext, kdf, key) = match current {
                Current::Data(ciphertext) => {
                    // A file we cannot decrypt fails here, which aborts the write.
                    let (plaintext, kdf, key) = self.open(ciphertext)?;
                    (Zeroizing::new(update(Current::Data(&plaintext))?), kdf, key)
                }
                other => {
                    let new_plaintext = Zeroizing::new(update(other)?);
                    let keep_salt = other == Current::Unchanged;
                    let (kdf, key) = self.key_for_new_file(keep_salt)?;
                    (new_plaintext, kdf, key)
                }
            };
            seal(&key, &kdf, &new_plaintext)
        };
        self.inner.modify(partition, known, &mut encrypting).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        self.inner.lock_refresh(partition).await
    }

    fn location(&self) -> Option<&Path> {
        self.inner.location()
    }
}

#[cfg(test)]
mod tests {
    use super::header::SALT_LEN;
    use super::*;

    #[test]
    fn debug_names_the_key_source_only() {
        let cache = EncryptedFileCache::with_key("/tmp/c.bin", [0x41; 32]);
        assert_eq!(
            format!("{cache:?}"),
            r#"EncryptedFileCache { path: "/tmp/c.bin", key_source: "key" }"#
        );
        let cache = EncryptedFileCache::with_passphrase("/tmp/c.bin", "hunter2");
        let debug = format!("{cache:?}");
        assert!(debug.contains("passphrase (Argon2id)"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn argon2_params_need_a_passphrase_cache() {
        let err = EncryptedFileCache::with_key("/tmp/c.bin", [0; 32])
            .with_argon2_params(64, 1, 1)
            .unwrap_err();
        assert!(matches!(err, CacheError::Store { .. }), "{err:?}");
        let err = EncryptedFileCache::with_passphrase("/tmp/c.bin", "x")
            .with_argon2_params(64, 0, 1)
            .unwrap_err();
        assert!(matches!(err, CacheError::Store { .. }), "{err:?}");
    }

    #[test]
    fn derived_keys_are_cached_per_salt_and_params() {
        let cache = EncryptedFileCache::with_passphrase("/tmp/c.bin", "pw")
            .with_argon2_params(64, 1, 1)
            .unwrap();
        let params = Argon2Params {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        };
        let a = cache.derive(params, [1; SALT_LEN]).unwrap();
        assert_eq!(*cache.derive(params, [1; SALT_LEN]).unwrap(), *a);
        let b = cache.derive(params, [2; SALT_LEN]).unwrap();
        assert_ne!(*a, *b);
        let c = cache
            .derive(
                Argon2Params {
                    t_cost: 2,
                    ..params
                },
                [2; SALT_LEN],
            )
            .unwrap();
        assert_ne!(*b, *c);
    }

    /// A `DerivedKeyStore` in memory that counts what it was asked.
    #[derive(Default)]
    struct Kept {
        keys: Mutex<std::collections::HashMap<String, [u8; 32]>>,
        puts: std::sync::atomic::AtomicUsize,
        forgets: std::sync::atomic::AtomicUsize,
    }

    impl DerivedKeyStore for Kept {
        fn get(&self, id: &str) -> Option<Zeroizing<[u8; 32]>> {
            self.keys
                .lock()
                .unwrap()
                .get(id)
                .copied()
                .map(Zeroizing::new)
        }
        fn put(&self, id: &str, key: &[u8; 32]) {
            self.puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.keys.lock().unwrap().insert(id.to_owned(), *key);
        }
        fn forget(&self, id: &str) {
            self.forgets
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.keys.lock().unwrap().remove(id);
        }
    }

    fn passphrase_cache(path: &Path, passphrase: &str, kept: &Arc<Kept>) -> EncryptedFileCache {
        EncryptedFileCache::with_passphrase(path, passphrase)
            .with_argon2_params(64, 1, 1)
            .unwrap()
            .with_derived_key_store(Arc::clone(kept) as Arc<dyn DerivedKeyStore>)
            .unwrap()
    }

    /// A second process (a new `EncryptedFileCache`) takes the key the first one derived from
    /// the store instead of running Argon2: shown by a cache with the wrong passphrase reading
    /// the file while the key is kept, and failing once it is not.
    #[tokio::test]
    async fn derived_keys_are_kept_in_the_store_between_instances() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let kept = Arc::new(Kept::default());
        let first = passphrase_cache(&path, "right", &kept);
        first
            .modify(Partition::All, None, &mut |_| Ok(b"{}".to_vec()))
            .await
            .unwrap();
        assert_eq!(kept.puts.load(std::sync::atomic::Ordering::SeqCst), 1);
        let id = kept.keys.lock().unwrap().keys().next().cloned().unwrap();
        assert!(id.starts_with("argon2id-m64-t1-p1-"), "{id}");
        assert_eq!(id.len(), "argon2id-m64-t1-p1-".len() + 2 * SALT_LEN);

        let second = passphrase_cache(&path, "typo", &kept);
        let Loaded::Data { bytes, .. } = second.load(Partition::All, None).await.unwrap() else {
            panic!("no data")
        };
        assert_eq!(bytes, b"{}");
        assert_eq!(kept.puts.load(std::sync::atomic::Ordering::SeqCst), 1);

        kept.keys.lock().unwrap().clear();
        let third = passphrase_cache(&path, "typo", &kept);
        let err = third.load(Partition::All, None).await.unwrap_err();
        assert!(matches!(err, CacheError::Corrupt { .. }), "{err:?}");
    }

    /// A kept key that does not decrypt the file is forgotten and the key derived again from
    /// the passphrase: the file is read, and the store then holds the right key.
    #[tokio::test]
    async fn a_stale_kept_key_is_forgotten_and_derived_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let kept = Arc::new(Kept::default());
        passphrase_cache(&path, "right", &kept)
            .modify(Partition::All, None, &mut |_| Ok(b"{\"a\":1}".to_vec()))
            .await
            .unwrap();
        let id = kept.keys.lock().unwrap().keys().next().cloned().unwrap();
        let right = kept.keys.lock().unwrap()[&id];
        kept.keys.lock().unwrap().insert(id.clone(), [7; 32]);

        let cache = passphrase_cache(&path, "right", &kept);
        let Loaded::Data { bytes, .. } = cache.load(Partition::All, None).await.unwrap() else {
            panic!("no data")
        };
        assert_eq!(bytes, b"{\"a\":1}");
        assert_eq!(kept.forgets.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(kept.keys.lock().unwrap()[&id], right);
    }

    #[test]
    fn a_derived_key_store_needs_a_passphrase_cache() {
        let err = EncryptedFileCache::with_key("/tmp/c.bin", [0; 32])
            .with_derived_key_store(Arc::new(Kept::default()))
            .unwrap_err();
        assert!(matches!(err, CacheError::Store { .. }), "{err:?}");
    }

    #[test]
    fn empty_passphrase_is_refused() {
        let cache = EncryptedFileCache::with_passphrase("/tmp/c.bin", "");
        let err = cache.key_for_new_file(false).unwrap_err();
        assert!(matches!(err, CacheError::Store { .. }), "{err:?}");
    }
}
