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
    let strict = options.strict_permissions;
    crate::permissions::check(&path, "token cache file", strict)?;
    if !options.plaintext_cache {
        crate::permissions::check(&key_file_path(&path), "cache key file", strict)?;
    }
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
        let mut store = EncryptedFileCache::with_passphrase(path, passphrase);
        // Argon2id once per session rather than once per command (`session_key.rs`).
        if !options.no_keyring {
            if let Some(kept) = crate::session_key::session_key_store(path, options.verbose)
                .map_err(CliError::Usage)?
            {
                store = store
                    .with_derived_key_store(kept)
                    .map_err(|err| CliError::Other(err.to_string()))?;
            }
        }
        return Ok((Arc::new(store), KeySource::Passphrase));
    }
    let key_path = key_file_path(path);
    let exists = path.exists();
    let existing = match read_key_file(&key_path)? {
        KeyFile::Key(key) => Some((key, false)),
        // An interrupted first run of an older msal (the key is now created atomically).
        KeyFile::Empty if exists => {
            return Err(CliError::Other(format!(
                "the cache key file {} is empty, so the encrypted cache {} cannot be decrypted: \
                 run `msal cache reset` to move the cache aside and start over (the empty key \
                 file is then replaced by the next sign-in)",
                key_path.display(),
                path.display()
            )))
        }
        KeyFile::Empty if policy == KeyPolicy::Existing => {
            return Ok((Arc::new(MemoryCache::new()), KeySource::NoneYet));
        }
        KeyFile::Empty => Some(replace_empty_key_file(&key_path, path)?),
        KeyFile::Missing => None,
    };
    if let Some((key, created)) = existing {
        let source = KeySource::KeyFile {
            path: key_path,
            created,
        };
        return Ok((Arc::new(EncryptedFileCache::with_key(path, key)), source));
    }
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
             set (run `msal cache reset` to move it aside and start over)",
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

/// What is at a key file's path.
enum KeyFile {
    /// No file.
    Missing,
    /// A 0-byte file: what a crash during the first run of an older msal left behind.
    Empty,
    /// A 32-byte key.
    Key([u8; 32]),
}

/// Read a key file. Any length other than 0 or 32 bytes is an error (the file is left as it is).
fn read_key_file(path: &Path) -> Result<KeyFile, CliError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(KeyFile::Empty),
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                CliError::Other(format!(
                    "the cache key file {} does not hold a 32-byte key ({} bytes); it was left \
                     as it is",
                    path.display(),
                    bytes.len()
                ))
            })?;
            Ok(KeyFile::Key(key))
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(KeyFile::Missing),
        Err(err) => Err(CliError::Other(format!(
            "cannot read the cache key file {}: {err}",
            path.display()
        ))),
    }
}

/// A new random key, written and flushed to a temporary file (mode `0600`) in the key file's
/// folder, ready to be linked into place whole: no process ever sees a partly written key.
fn new_key_in_temp_file(path: &Path) -> Result<([u8; 32], tempfile::NamedTempFile), CliError> {
    use rand::RngCore;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    create_private_dir(folder).map_err(|err| {
        CliError::Other(format!(
            "cannot create the folder {}: {err}",
            folder.display()
        ))
    })?;
    let mut key = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut key)
        .map_err(|err| CliError::Other(format!("no random numbers for a cache key: {err}")))?;
    let cannot_write = |err: std::io::Error| {
        CliError::Other(format!(
            "cannot write the cache key file {}: {err}",
            path.display()
        ))
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    // Created 0600 (tempfile's default on Unix) and removed by its drop on any error.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(cannot_write)?;
    temp.write_all(&key)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(cannot_write)?;
    Ok((key, temp))
}

/// Create a key file with a random key (mode `0600`), atomically and never replacing a file:
/// the key is linked into place whole, so when several first runs race, one wins and the others
/// read its key. `true` when this call created it.
fn create_key_file(path: &Path) -> Result<([u8; 32], bool), CliError> {
    let (key, temp) = new_key_in_temp_file(path)?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok((key, true)),
        Err(err) if err.error.kind() == ErrorKind::AlreadyExists => match read_key_file(path)? {
            KeyFile::Key(key) => Ok((key, false)),
            KeyFile::Empty => Err(CliError::Other(format!(
                "the cache key file {} is empty; it was left as it is",
                path.display()
            ))),
            KeyFile::Missing => Err(CliError::Other(format!(
                "the cache key file {} vanished while being created",
                path.display()
            ))),
        },
        Err(err) => Err(CliError::Other(format!(
            "cannot create the cache key file {}: {}",
            path.display(),
            err.error
        ))),
    }
}

/// How long the recovery of an empty key file waits for the cache's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Replace a 0-byte key file that sits next to no cache (an older msal crashed while creating
/// it) with a new key. Done under the cache's write lock, which every writer of the cache
/// holds, and only after checking again under it that the key file is still empty and there is
/// still no cache: two runs recovering at once end up with one key, and a key that encrypted a
/// cache is never replaced. `true` when this call made the key.
fn replace_empty_key_file(key_path: &Path, cache: &Path) -> Result<([u8; 32], bool), CliError> {
    let lock_path = FileCache::new(cache).lock_path();
    let locked = |err: std::io::Error| {
        CliError::Other(format!(
            "cannot lock the token cache ({}): {err}",
            lock_path.display()
        ))
    };
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(locked)?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CliError::Other(format!(
                    "the token cache is locked by another process ({}); try again",
                    lock_path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(locked(err)),
        }
    }
    match read_key_file(key_path)? {
        KeyFile::Key(key) => Ok((key, false)), // another run recovered it first
        _ if cache.exists() => Err(CliError::Other(format!(
            "the cache key file {} is empty or missing and the encrypted cache {} exists: run \
             `msal cache reset` to move the cache aside and start over",
            key_path.display(),
            cache.display()
        ))),
        KeyFile::Missing => create_key_file(key_path),
        KeyFile::Empty => {
            let (key, temp) = new_key_in_temp_file(key_path)?;
            temp.persist(key_path).map_err(|err| {
                CliError::Other(format!(
                    "cannot replace the empty cache key file {}: {}",
                    key_path.display(),
                    err.error
                ))
            })?;
            eprintln!(
                "msal: the cache key file {} was empty (left by an interrupted first run) and \
                 there is no cache yet: it now holds a new key",
                key_path.display()
            );
            Ok((key, true))
        }
    }
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
    let mut builder = PublicClientApplication::builder(client_id(options)?)
        .cache(Arc::clone(&cache.store))
        .on_event(crate::progress::observe)
        .web_ui(
            msal::SystemBrowser::new()
                .with_url_notice(|url| crate::progress::browser_url(url.as_str())),
        );
    builder = match (&options.oidc_authority, &options.authority) {
        (Some(_), _) if options.tenant.is_some() => {
            return Err(CliError::Usage(
                "--tenant is for Entra ID authorities, not --oidc-authority".into(),
            ))
        }
        (Some(issuer), _) => builder.oidc_authority(issuer),
        (None, authority) => {
            let authority = authority.as_deref().unwrap_or(DEFAULT_AUTHORITY);
            match &options.tenant {
                Some(tenant) => {
                    builder.authority(&crate::tenant::authority_for_tenant(authority, tenant)?)
                }
                None => builder.authority(authority),
            }
        }
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

    /// Threads racing to create one key file: every one gets the same key, none reads a
    /// partly written file (the old create-then-write failed this now and then).
    #[test]
    fn racing_creators_all_get_the_one_key() {
        const THREADS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        for round in 0..300 {
            let path = dir.path().join(format!("c{round}.bin.key"));
            let barrier = std::sync::Barrier::new(THREADS);
            let results: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            create_key_file(&path).map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let keys: Vec<_> = results
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| panic!("round {round}: {e}")))
                .collect();
            assert_eq!(keys.iter().filter(|(_, created)| *created).count(), 1);
            assert!(keys.iter().all(|(key, _)| *key == keys[0].0));
        }
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
