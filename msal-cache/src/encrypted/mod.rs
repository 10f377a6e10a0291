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
//!   silent token call does not pay for Argon2 again.
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
//! so files written with other parameters stay readable; parameters above 1 GiB of memory or
//! 100 passes are refused as corrupt (a tampered header must not make a reader allocate
//! unbounded memory before the authentication check can fail).
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

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::{CacheError, CacheStore, Current, FileCache, Loaded, Partition, RefreshLock};
use crate::{StoreVersion, UpdateFn};

/// The first 8 bytes of every encrypted cache file.
const MAGIC: &[u8; 8] = b"MSALRSE\0";
/// The format version this code writes and reads.
const FORMAT_VERSION: u8 = 1;
/// Key-derivation byte: a raw 32-byte key.
const KDF_RAW: u8 = 0;
/// Key-derivation byte: Argon2id from a passphrase.
const KDF_ARGON2ID: u8 = 1;
/// Header length with a raw key: magic, version, key derivation.
const RAW_HEADER_LEN: usize = 10;
/// Header length with Argon2id: plus m, t, p and the salt.
const ARGON2_HEADER_LEN: usize = RAW_HEADER_LEN + 4 + 4 + 1 + SALT_LEN;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Largest Argon2 memory cost accepted from a file header or a caller: 1 GiB.
const MAX_M_COST_KIB: u32 = 1024 * 1024;
/// Largest Argon2 time cost accepted from a file header or a caller.
const MAX_T_COST: u32 = 100;

/// Argon2id cost parameters, as stored in a file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Argon2Params {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u8,
}

impl Argon2Params {
    /// OWASP's recommendation: 19 MiB, 2 passes, 1 lane.
    const DEFAULT: Argon2Params = Argon2Params {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// The argon2 crate's parameters, or why these are refused.
    fn to_argon2(self) -> Result<argon2::Params, String> {
        if self.m_cost_kib > MAX_M_COST_KIB {
            return Err(format!(
                "Argon2 memory cost {} KiB is above the limit of {MAX_M_COST_KIB} KiB",
                self.m_cost_kib
            ));
        }
        if self.t_cost > MAX_T_COST {
            return Err(format!(
                "Argon2 time cost {} is above the limit of {MAX_T_COST}",
                self.t_cost
            ));
        }
        argon2::Params::new(
            self.m_cost_kib,
            self.t_cost,
            u32::from(self.p_cost),
            Some(32),
        )
        .map_err(|err| {
            format!(
                "invalid Argon2 parameters (m = {} KiB, t = {}, p = {}): {err}",
                self.m_cost_kib, self.t_cost, self.p_cost
            )
        })
    }
}

/// How a file's key is made, as read from or written to its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kdf {
    Raw,
    Argon2id {
        params: Argon2Params,
        salt: [u8; SALT_LEN],
    },
}

impl Kdf {
    fn header(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(ARGON2_HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(FORMAT_VERSION);
        match self {
            Kdf::Raw => header.push(KDF_RAW),
            Kdf::Argon2id { params, salt } => {
                header.push(KDF_ARGON2ID);
                header.extend_from_slice(&params.m_cost_kib.to_le_bytes());
                header.extend_from_slice(&params.t_cost.to_le_bytes());
                header.push(params.p_cost);
                header.extend_from_slice(salt);
            }
        }
        header
    }
}

/// A parsed file: its key derivation, the header (associated data), the nonce and the sealed
/// document.
struct Sealed<'a> {
    kdf: Kdf,
    header: &'a [u8],
    nonce: XNonce,
    ciphertext: &'a [u8],
}

/// Split an encrypted file into its parts; the error is the message for [`CacheError::Corrupt`].
fn parse(bytes: &[u8]) -> Result<Sealed<'_>, String> {
    const TRUNCATED: &str = "the encrypted cache is truncated";
    if bytes.is_empty() {
        return Err(format!("{TRUNCATED} (the file is empty)"));
    }
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        return Err(if matches!(first, Some(b'{') | Some(b'[')) {
            "not an msal-rs encrypted cache (bad magic): it looks like an unencrypted JSON \
             cache, which an EncryptedFileCache neither reads nor overwrites; move it away or \
             migrate it"
                .to_owned()
        } else {
            "not an msal-rs encrypted cache (bad magic)".to_owned()
        });
    }
    if bytes.len() < RAW_HEADER_LEN {
        return Err(format!("{TRUNCATED} (inside the header)"));
    }
    let version = bytes[8];
    if version != FORMAT_VERSION {
        return Err(format!(
            "unsupported encrypted cache format version {version} (this msal-rs reads version \
             {FORMAT_VERSION})"
        ));
    }
    let (kdf, header_len) = match bytes[9] {
        KDF_RAW => (Kdf::Raw, RAW_HEADER_LEN),
        KDF_ARGON2ID => {
            if bytes.len() < ARGON2_HEADER_LEN {
                return Err(format!("{TRUNCATED} (inside the header)"));
            }
            let u32_at = |at: usize| {
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            let mut salt = [0; SALT_LEN];
            salt.copy_from_slice(&bytes[19..ARGON2_HEADER_LEN]);
            let params = Argon2Params {
                m_cost_kib: u32_at(10),
                t_cost: u32_at(14),
                p_cost: bytes[18],
            };
            (Kdf::Argon2id { params, salt }, ARGON2_HEADER_LEN)
        }
        other => return Err(format!("unknown key derivation {other} in the header")),
    };
    if bytes.len() < header_len + NONCE_LEN + TAG_LEN {
        return Err(format!(
            "{TRUNCATED} ({} bytes, shorter than the header, nonce and tag)",
            bytes.len()
        ));
    }
    let (header, rest) = bytes.split_at(header_len);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| TRUNCATED.to_owned())?;
    Ok(Sealed {
        kdf,
        header,
        nonce: XNonce::from(nonce),
        ciphertext,
    })
}

/// `header || nonce || ciphertext+tag`, with a fresh random nonce.
fn seal(key: &[u8; 32], kdf: &Kdf, plaintext: &[u8]) -> Result<Vec<u8>, CacheError> {
    let header = kdf.header();
    let nonce = XNonce::try_generate().map_err(random_failed)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .map_err(|_| CacheError::store("encrypting the token cache failed"))?;
    let mut out = header;
    out.reserve(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn random_failed(err: impl fmt::Display) -> CacheError {
    CacheError::store(format!("the system random number generator failed: {err}"))
}

/// A key derived from a passphrase, remembered with the salt and parameters it was derived for.
struct Derived {
    params: Argon2Params,
    salt: [u8; SALT_LEN],
    key: Zeroizing<[u8; 32]>,
}

/// Where the key comes from. Never printed.
enum KeySource {
    Raw(Zeroizing<[u8; 32]>),
    Passphrase {
        passphrase: Zeroizing<String>,
        /// Parameters for new files.
        params: Argon2Params,
        /// The last derived key, so a silent call does not run Argon2 again.
        derived: Mutex<Option<Derived>>,
    },
    #[cfg(feature = "keyring")]
    Keyring {
        key: Zeroizing<[u8; 32]>,
        /// The keyring had no key, so a new one was made: an existing file cannot be read.
        created: bool,
    },
}

impl KeySource {
    fn kind(&self) -> &'static str {
        match self {
            KeySource::Raw(_) => "key",
            KeySource::Passphrase { .. } => "passphrase (Argon2id)",
            #[cfg(feature = "keyring")]
            KeySource::Keyring { .. } => "OS keyring",
        }
    }
}

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
            },
        )
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
        let KeySource::Passphrase { passphrase, .. } = &*self.key else {
            return Err(CacheError::store(
                "Argon2 parameters apply only to a cache protected by a passphrase",
            ));
        };
        let key = KeySource::Passphrase {
            passphrase: passphrase.clone(),
            params: new_params,
            derived: Mutex::new(None),
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

    /// The key for a file whose header says `kdf`.
    fn key_for(&self, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, CacheError> {
        match (&*self.key, kdf) {
            (KeySource::Raw(key), Kdf::Raw) => Ok(key.clone()),
            #[cfg(feature = "keyring")]
            (KeySource::Keyring { key, .. }, Kdf::Raw) => Ok(key.clone()),
            (KeySource::Passphrase { .. }, Kdf::Argon2id { params, salt }) => {
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
    fn derive(
        &self,
        params: Argon2Params,
        salt: [u8; SALT_LEN],
    ) -> Result<Zeroizing<[u8; 32]>, CacheError> {
        let KeySource::Passphrase {
            passphrase,
            derived,
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
        });
        Ok(key)
    }

    /// The key derivation and key for a new file (a fresh salt), or for rewriting one whose
    /// header was not read, `Current::Unchanged` (`keep_salt`: the last derived salt when there
    /// is one, which is that file's).
    fn key_for_new_file(&self, keep_salt: bool) -> Result<(Kdf, Zeroizing<[u8; 32]>), CacheError> {
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

    /// Decrypt a whole file; also returns its key derivation and key, to write it back with.
    #[allow(clippy::type_complexity)]
    fn open(
        &self,
        bytes: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, Kdf, Zeroizing<[u8; 32]>), CacheError> {
        let sealed = parse(bytes).map_err(|message| self.corrupt(message))?;
        let key = self.key_for(&sealed.kdf)?;
        let cipher = XChaCha20Poly1305::new((&*key).into());
        let plaintext = cipher
            .decrypt(
                &sealed.nonce,
                Payload {
                    msg: sealed.ciphertext,
                    aad: sealed.header,
                },
            )
            .map_err(|_| self.corrupt(self.authentication_failed()))?;
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

/// Fetch the cache key from the OS keyring, creating it when absent; `true` when created.
#[cfg(feature = "keyring")]
fn keyring_key(service: &str, account: &str) -> Result<(Zeroizing<[u8; 32]>, bool), CacheError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn argon2(m: u32, t: u32, p: u8) -> Kdf {
        Kdf::Argon2id {
            params: Argon2Params {
                m_cost_kib: m,
                t_cost: t,
                p_cost: p,
            },
            salt: [7; SALT_LEN],
        }
    }

    #[test]
    fn header_layout_matches_the_documented_table() {
        let raw = Kdf::Raw.header();
        assert_eq!(raw, b"MSALRSE\0\x01\x00");
        assert_eq!(raw.len(), RAW_HEADER_LEN);

        let header = argon2(0x0102_0304, 5, 6).header();
        assert_eq!(header.len(), ARGON2_HEADER_LEN);
        assert_eq!(header.len(), 35);
        assert_eq!(&header[..10], b"MSALRSE\0\x01\x01");
        assert_eq!(&header[10..14], &[4, 3, 2, 1]);
        assert_eq!(&header[14..18], &[5, 0, 0, 0]);
        assert_eq!(header[18], 6);
        assert_eq!(&header[19..35], &[7; 16]);
    }

    #[test]
    fn sealed_files_parse_back() {
        let key = [9u8; 32];
        for kdf in [Kdf::Raw, argon2(64, 1, 1)] {
            let file = seal(&key, &kdf, b"{}").unwrap();
            let header_len = kdf.header().len();
            assert_eq!(file.len(), header_len + NONCE_LEN + 2 + TAG_LEN);
            let sealed = parse(&file).unwrap();
            assert_eq!(sealed.kdf, kdf);
            assert_eq!(sealed.header, &kdf.header()[..]);
            assert_eq!(&sealed.nonce[..], &file[header_len..header_len + NONCE_LEN]);
            assert_eq!(sealed.ciphertext.len(), 2 + TAG_LEN);
        }
    }

    #[test]
    fn parse_errors_are_specific() {
        let err = |bytes: &[u8]| parse(bytes).err().unwrap();
        assert!(err(b"").contains("truncated"), "{}", err(b""));
        assert!(err(b"MSAL").contains("truncated"));
        assert!(err(b"MSALRSE\0\x01").contains("truncated"));
        assert!(err(b"MSALRSE\0\x01\x01").contains("truncated"));
        assert!(err(b"MSALRSE\0\x01\x00").contains("truncated"));
        assert!(err(b"hello, world").contains("bad magic"));
        assert!(err(b"  {\"AccessToken\": {}}").contains("unencrypted JSON"));
        let mut future = seal(&[1; 32], &Kdf::Raw, b"{}").unwrap();
        future[8] = 7;
        assert_eq!(
            err(&future),
            "unsupported encrypted cache format version 7 (this msal-rs reads version 1)"
        );
        future[8] = 1;
        future[9] = 9;
        assert!(err(&future).contains("unknown key derivation 9"));
    }

    #[test]
    fn argon2_params_are_bounded() {
        assert!(Argon2Params::DEFAULT.to_argon2().is_ok());
        let too_much = Argon2Params {
            m_cost_kib: MAX_M_COST_KIB + 1,
            ..Argon2Params::DEFAULT
        };
        assert!(too_much
            .to_argon2()
            .unwrap_err()
            .contains("above the limit"));
        let too_long = Argon2Params {
            t_cost: MAX_T_COST + 1,
            ..Argon2Params::DEFAULT
        };
        assert!(too_long
            .to_argon2()
            .unwrap_err()
            .contains("above the limit"));
        let no_lanes = Argon2Params {
            p_cost: 0,
            ..Argon2Params::DEFAULT
        };
        assert!(no_lanes.to_argon2().is_err());
    }

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

    #[test]
    fn empty_passphrase_is_refused() {
        let cache = EncryptedFileCache::with_passphrase("/tmp/c.bin", "");
        let err = cache.key_for_new_file(false).unwrap_err();
        assert!(matches!(err, CacheError::Store { .. }), "{err:?}");
    }
}
