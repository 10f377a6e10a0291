//! Where the key comes from (a raw key, a passphrase through Argon2id, the OS keyring), and
//! deriving it once per file salt.

#[cfg(feature = "keyring")]
use std::fmt;
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::Generate;
use zeroize::Zeroizing;

use super::header::{random_failed, Argon2Params, Kdf, SALT_LEN};
use super::{DerivedKeyStore, EncryptedFileCache};
use crate::CacheError;

/// A key derived from a passphrase, remembered with the salt and parameters it was derived for.
pub(super) struct Derived {
    params: Argon2Params,
    salt: [u8; SALT_LEN],
    key: Zeroizing<[u8; 32]>,
    /// Taken from the `DerivedKeyStore` rather than derived here.
    from_store: bool,
}

/// Where the key comes from. Never printed.
pub(super) enum KeySource {
    Raw(Zeroizing<[u8; 32]>),
    Passphrase {
        passphrase: Zeroizing<String>,
        /// Parameters for new files.
        params: Argon2Params,
        /// The last derived key, so a silent call does not run Argon2 again.
        derived: Mutex<Option<Derived>>,
        /// Where derived keys are also kept between processes, if anywhere.
        kept: Option<Arc<dyn DerivedKeyStore>>,
    },
    #[cfg(feature = "keyring")]
    Keyring {
        key: Zeroizing<[u8; 32]>,
        /// The keyring had no key, so a new one was made: an existing file cannot be read.
        created: bool,
    },
}

impl KeySource {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            KeySource::Raw(_) => "key",
            KeySource::Passphrase { .. } => "passphrase (Argon2id)",
            #[cfg(feature = "keyring")]
            KeySource::Keyring { .. } => "OS keyring",
        }
    }
}

impl EncryptedFileCache {
    /// The key for a file whose header says `kdf`.
    pub(super) fn key_for(&self, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, CacheError> {
        match (&*self.key, kdf) {
            (KeySource::Raw(key), Kdf::Raw) => Ok(key.clone()),
            #[cfg(feature = "keyring")]
            (KeySource::Keyring { key, .. }, Kdf::Raw) => Ok(key.clone()),
            (KeySource::Passphrase { params: own, .. }, Kdf::Argon2id { params, salt }) => {
                // Before any work: a header may have been tampered with to ask for a huge cost
                // (1 GiB and 100 passes is minutes per load), and the tag that would expose
                // the tampering can only be checked with the derived key.
                if let Some(excess) = params.beyond(own.at_least_default()) {
                    return Err(self.corrupt(format!(
                        "the header asks Argon2 for {excess}, more than this cache writes ({}); \
                         refused without deriving a key (a tampered header, or a file written \
                         with larger EncryptedFileCache::with_argon2_params: open it with those)",
                        own.at_least_default()
                    )));
                }
                self.derive(*params, *salt)
            }
            (KeySource::Passphrase { .. }, Kdf::Raw) => Err(self.corrupt(
                "the cache is encrypted with a key (the application's or the OS keyring's), but \
                 this EncryptedFileCache was given a passphrase",
            )),
            (_, Kdf::Argon2id { .. }) => Err(self.corrupt(
                "the cache is protected by a passphrase, but this EncryptedFileCache was given a \
                 key",
            )),
        }
    }

    /// The Argon2id key for `salt` and `params`, from the in-memory cache when it has it.
    pub(super) fn derive(
        &self,
        params: Argon2Params,
        salt: [u8; SALT_LEN],
    ) -> Result<Zeroizing<[u8; 32]>, CacheError> {
        let KeySource::Passphrase {
            passphrase,
            derived,
            kept,
            ..
        } = &*self.key
        else {
            return Err(CacheError::store("no passphrase to derive a key from"));
        };
        // Held while deriving, so concurrent calls derive once rather than each.
        let mut derived = derived
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = derived.as_ref() {
            if known.params == params && known.salt == salt {
                return Ok(known.key.clone());
            }
        }
        let id = kept_key_id(params, &salt);
        if let Some(key) = kept.as_ref().and_then(|store| store.get(&id)) {
            *derived = Some(Derived {
                params,
                salt,
                key: key.clone(),
                from_store: true,
            });
            return Ok(key);
        }
        if passphrase.is_empty() {
            return Err(CacheError::store(
                "the passphrase of the encrypted token cache is empty",
            ));
        }
        let argon2_params = params
            .to_argon2()
            .map_err(|message| self.corrupt(message))?;
        let argon2 = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2_params,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        argon2
            .hash_password_into(passphrase.as_bytes(), &salt, &mut key[..])
            .map_err(|err| CacheError::store(format!("Argon2 key derivation failed: {err}")))?;
        *derived = Some(Derived {
            params,
            salt,
            key: key.clone(),
            from_store: false,
        });
        if let Some(store) = kept {
            store.put(&id, &key);
        }
        Ok(key)
    }

    /// When the key for `kdf` came from the `DerivedKeyStore`, forget it there and here and
    /// answer `true` (the caller derives it again); otherwise `false`.
    pub(super) fn forget_kept_key(&self, kdf: &Kdf) -> bool {
        let (
            KeySource::Passphrase {
                derived,
                kept: Some(store),
                ..
            },
            Kdf::Argon2id { params, salt },
        ) = (&*self.key, kdf)
        else {
            return false;
        };
        let mut derived = derived
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let from_store = derived.as_ref().is_some_and(|known| {
            known.from_store && known.params == *params && known.salt == *salt
        });
        if from_store {
            *derived = None;
            store.forget(&kept_key_id(*params, salt));
        }
        from_store
    }

    /// The key derivation and key for a new file (a fresh salt), or for rewriting one whose
    /// header was not read, `Current::Unchanged` (`keep_salt`: the last derived salt when there
    /// is one, which is that file's).
    pub(super) fn key_for_new_file(
        &self,
        keep_salt: bool,
    ) -> Result<(Kdf, Zeroizing<[u8; 32]>), CacheError> {
        match &*self.key {
            KeySource::Raw(key) => Ok((Kdf::Raw, key.clone())),
            #[cfg(feature = "keyring")]
            KeySource::Keyring { key, .. } => Ok((Kdf::Raw, key.clone())),
            KeySource::Passphrase {
                params, derived, ..
            } => {
                let last = if keep_salt {
                    derived
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .as_ref()
                        .map(|known| (known.params, known.salt))
                } else {
                    None
                };
                let (params, salt) = match last {
                    Some(last) => last,
                    None => (
                        *params,
                        <[u8; SALT_LEN]>::try_generate().map_err(random_failed)?,
                    ),
                };
                let key = self.derive(params, salt)?;
                Ok((Kdf::Argon2id { params, salt }, key))
            }
        }
    }
}

/// The name of a derived key in a `DerivedKeyStore`: how it was derived, nothing secret.
pub(super) fn kept_key_id(params: Argon2Params, salt: &[u8; SALT_LEN]) -> String {
    use std::fmt::Write as _;
    let mut id = format!(
        "argon2id-m{}-t{}-p{}-",
        params.m_cost_kib, params.t_cost, params.p_cost
    );
    for byte in salt {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

/// Fetch the cache key from the OS keyring, creating it when absent; `true` when created.
#[cfg(feature = "keyring")]
pub(super) fn keyring_key(
    service: &str,
    account: &str,
) -> Result<(Zeroizing<[u8; 32]>, bool), CacheError> {
    use base64::Engine as _;
    let unavailable = |err: &dyn fmt::Display| {
        CacheError::store(format!(
            "the OS keyring is unavailable for the token cache key ({service}/{account}): {err}; \
             use EncryptedFileCache::with_passphrase or with_key instead"
        ))
    };
    let decode = |encoded: &str| -> Result<Zeroizing<[u8; 32]>, CacheError> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap_or_default(),
        );
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(CacheError::store(format!(
                "the OS keyring entry {service}/{account} does not hold a base64-encoded 32-byte \
                 key; it was left as it is"
            )));
        }
        key.copy_from_slice(&bytes);
        Ok(key)
    };
    let entry = keyring::Entry::new(service, account).map_err(|err| unavailable(&err))?;
    match entry.get_password() {
        Ok(encoded) => return decode(&Zeroizing::new(encoded)).map(|key| (key, false)),
        Err(keyring::Error::NoEntry) => {}
        Err(keyring::Error::BadEncoding(_)) => return decode("").map(|key| (key, false)),
        Err(err) => return Err(unavailable(&err)),
    }
    let fresh = Zeroizing::new(<[u8; 32]>::try_generate().map_err(random_failed)?);
    let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&fresh[..]));
    entry
        .set_password(&encoded)
        .map_err(|err| unavailable(&format_args!("storing a new key failed ({err})")))?;
    // Read back what is stored: when another process created a key at the same moment, both
    // then use the one that won.
    let stored = Zeroizing::new(entry.get_password().map_err(|err| {
        unavailable(&format_args!(
            "a new key was stored but could not be read back ({err})"
        ))
    })?);
    Ok((decode(&stored)?, true))
}
