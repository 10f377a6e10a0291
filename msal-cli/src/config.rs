//! Building the token cache and the application from the options.
//!
//! The default cache is an [`EncryptedFileCache`]; its key comes from, in order,
//! `MSAL_CACHE_PASSPHRASE`, an existing key file `{cache}.key`, the OS keyring (cargo feature
//! `keyring`) and finally a new random key file `{cache}.key` (mode `0600`, created once, never
//! overwritten). See the crate documentation for what each protects against.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use msal::PublicClientApplication;
use msal_cache::{CacheStore, EncryptedFileCache, FileCache, MemoryCache};

use crate::cli::GlobalOptions;
use crate::error::CliError;

/// The authority used when neither `--authority` nor `--oidc-authority` is given: Entra ID,
/// work and school accounts.
pub(crate) const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/organizations";
/// The environment variable holding the passphrase of the encrypted cache.
pub(crate) const PASSPHRASE_VAR: &str = "MSAL_CACHE_PASSPHRASE";
/// The folder under the user's cache folder that holds the default cache.
const CACHE_FOLDER: &str = "msal-rs";
/// The OS keyring service the cache key is kept under (feature `keyring`).
#[cfg(feature = "keyring")]
const KEYRING_SERVICE: &str = "msal-rs";

/// Whether opening the cache may create a key (a command that writes tokens) or must only use
/// an existing one (commands that read or remove).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPolicy {
    /// Create a key file when there is no key and no cache file yet.
    Create,
    /// Never create a key; without one a missing cache reads as empty.
    Existing,
}

/// Where the key of the encrypted cache comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `MSAL_CACHE_PASSPHRASE`, through Argon2id.
    Passphrase,
    /// A key file; `created` when this run made it.
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// Whether this run created it.
        created: bool,
    },
    /// The OS keyring.
    #[cfg(feature = "keyring")]
    Keyring,
    /// No key yet and no cache file: nothing to decrypt (read-only commands).
    NoneYet,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Passphrase => write!(f, "passphrase from {PASSPHRASE_VAR} (Argon2id)"),
            KeySource::KeyFile {
                path,
                created: true,
            } => write!(f, "new key file {}", path.display()),
            KeySource::KeyFile { path, .. } => write!(f, "key file {}", path.display()),
            #[cfg(feature = "keyring")]
            KeySource::Keyring => write!(f, "OS keyring"),
            KeySource::NoneYet => f.write_str("none yet (no cache file)"),
        }
    }
}

/// The kind of cache file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CacheKind {
    /// Encrypted with XChaCha20-Poly1305.
    Encrypted(KeySource),
    /// Plain unified-schema JSON.
    Plain,
}

impl std::fmt::Display for CacheKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheKind::Encrypted(key) => write!(f, "encrypted (key: {key})"),
            CacheKind::Plain => f.write_str("plain JSON (unencrypted)"),
        }
    }
}

/// An opened token cache.
pub(crate) struct OpenedCache {
    /// The cache file.
    pub path: PathBuf,
    /// Its kind and key source.
    pub kind: CacheKind,
    /// The store the application uses.
    pub store: Arc<dyn CacheStore>,
}

/// The cache file: `--cache`/`MSAL_CACHE`, else in the user's cache folder.
pub(crate) fn cache_path(options: &GlobalOptions) -> Result<PathBuf, CliError> {
    if let Some(path) = &options.cache {
        return Ok(path.clone());
    }
    let base = dirs::cache_dir().ok_or_else(|| {
        CliError::Usage(
            "the user's cache folder is unknown (no HOME?): pass --cache or set MSAL_CACHE".into(),
        )
    })?;
    let file = if options.plaintext_cache {
        "msal_token_cache.json"
    } else {
        "msal_token_cache.bin"
    };
    Ok(base.join(CACHE_FOLDER).join(file))
}

/// The key file of an encrypted cache: `{cache}.key`.
pub(crate) fn key_file_path(cache: &Path) -> PathBuf {
    let mut name = cache.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Open the token cache the options describe.
pub(crate) fn open_cache(
    options: &GlobalOptions,
    policy: KeyPolicy,
) -> Result<OpenedCache, CliError> {
    let path = cache_path(options)?;
    let opened = if options.plaintext_cache {
        OpenedCache {
            store: Arc::new(FileCache::new(&path)),
            kind: CacheKind::Plain,
            path,
        }
    } else {
        let (store, key) = encrypted_store(&path, policy, options)?;
        OpenedCache {
            store,
            kind: CacheKind::Encrypted(key),
            path,
        }
    };
    if options.verbose {
        eprintln!(
            "msal: token cache {} ({})",
            opened.path.display(),
            opened.kind
        );
    }
    Ok(opened)
}

fn encrypted_store(
    path: &Path,
    policy: KeyPolicy,
    options: &GlobalOptions,
) -> Result<(Arc<dyn CacheStore>, KeySource), CliError> {
    if let Some(passphrase) = std::env::var_os(PASSPHRASE_VAR) {
        let passphrase = passphrase
            .into_string()
            .map_err(|_| CliError::Usage(format!("{PASSPHRASE_VAR} is not valid UTF-8")))?;
        if passphrase.is_empty() {
            return Err(CliError::Usage(format!(
                "{PASSPHRASE_VAR} is set but empty: unset it to use a key file or the keyring"
            )));
        }
        let store = EncryptedFileCache::with_passphrase(path, passphrase);
        return Ok((Arc::new(store), KeySource::Passphrase));
    }
    let key_path = key_file_path(path);
    if let Some(key) = read_key_file(&key_path)? {
        let source = KeySource::KeyFile {
            path: key_path,
            created: false,
        };
        return Ok((Arc::new(EncryptedFileCache::with_key(path, key)), source));
    }
    let exists = path.exists();
    if policy == KeyPolicy::Existing && !exists {
        // Nothing is stored yet, so there is nothing to decrypt: an empty cache, and no key
        // made (not even in the keyring) by a command that only reads or removes.
        return Ok((Arc::new(MemoryCache::new()), KeySource::NoneYet));
    }
    #[cfg(feature = "keyring")]
    if !options.no_keyring {
        let account = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        match EncryptedFileCache::with_os_keyring(
            path,
            KEYRING_SERVICE,
            &account.display().to_string(),
        ) {
            Ok(store) => return Ok((Arc::new(store), KeySource::Keyring)),
            Err(err) if options.verbose => {
                eprintln!(
                    "msal: the OS keyring cannot hold the cache key ({err}); using a key file"
                )
            }
            Err(_) => {}
        }
    }
    #[cfg(not(feature = "keyring"))]
    let _ = options.no_keyring;
    if exists {
        // A new key could never decrypt an existing file: refuse rather than make one.
        return Err(CliError::Other(format!(
            "the encrypted cache {} cannot be opened: no key file {} and {PASSPHRASE_VAR} is not \
             set (delete the cache file to start over)",
            path.display(),
            key_path.display()
        )));
    }
    let (key, created) = create_key_file(&key_path)?;
    let source = KeySource::KeyFile {
        path: key_path,
        created,
    };
    Ok((Arc::new(EncryptedFileCache::with_key(path, key)), source))
}

/// The key in an existing key file; `None` when there is no key file.
fn read_key_file(path: &Path) -> Result<Option<[u8; 32]>, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                CliError::Other(format!(
                    "the cache key file {} does not hold a 32-byte key ({} bytes); it was left \
                     as it is",
                    path.display(),
                    bytes.len()
                ))
            })?;
            Ok(Some(key))
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(CliError::Other(format!(
            "cannot read the cache key file {}: {err}",
            path.display()
        ))),
    }
}

/// Create a key file with a random key (mode `0600`, never replacing a file); when another
/// process created it first, use that one. `true` when this call created it.
fn create_key_file(path: &Path) -> Result<([u8; 32], bool), CliError> {
    use rand::RngCore;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent).map_err(|err| {
            CliError::Other(format!(
                "cannot create the folder {}: {err}",
                parent.display()
            ))
        })?;
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut key)
        .map_err(|err| CliError::Other(format!("no random numbers for a cache key: {err}")))?;
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut file = match open.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            return match read_key_file(path)? {
                Some(key) => Ok((key, false)),
                None => Err(CliError::Other(format!(
                    "the cache key file {} vanished while being created",
                    path.display()
                ))),
            };
        }
        Err(err) => {
            return Err(CliError::Other(format!(
                "cannot create the cache key file {}: {err}",
                path.display()
            )))
        }
    };
    if let Err(err) = file.write_all(&key).and_then(|()| file.sync_all()) {
        // This run created the file and it holds no usable key: remove it.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(CliError::Other(format!(
            "cannot write the cache key file {}: {err}",
            path.display()
        )));
    }
    Ok((key, true))
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// The application (client) id, required by every command but `cache inspect`.
pub(crate) fn client_id(options: &GlobalOptions) -> Result<&str, CliError> {
    options
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            CliError::Usage("no client id: pass --client-id or set MSAL_CLIENT_ID".into())
        })
}

/// Build the application over an opened cache.
pub(crate) fn build_app(
    options: &GlobalOptions,
    cache: &OpenedCache,
) -> Result<PublicClientApplication, CliError> {
    let mut builder =
        PublicClientApplication::builder(client_id(options)?).cache(Arc::clone(&cache.store));
    builder = match (&options.oidc_authority, &options.authority) {
        (Some(issuer), _) => builder.oidc_authority(issuer),
        (None, Some(authority)) => builder.authority(authority),
        (None, None) => builder.authority(DEFAULT_AUTHORITY),
    };
    let app = builder.build()?;
    if options.verbose {
        eprintln!(
            "msal: client {} at {}",
            app.client_id(),
            app.authority().canonical_url()
        );
    }
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_the_cache() {
        assert_eq!(
            key_file_path(Path::new("/x/c.bin")),
            PathBuf::from("/x/c.bin.key")
        );
    }

    #[test]
    fn a_key_file_is_created_once_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("c.bin.key");
        let (key, created) = create_key_file(&path).unwrap();
        assert!(created);
        let (again, created) = create_key_file(&path).unwrap();
        assert!(!created);
        assert_eq!(key, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        std::fs::write(&path, b"short").unwrap();
        let err = create_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("32-byte"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
