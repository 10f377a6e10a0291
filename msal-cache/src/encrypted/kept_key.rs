//! [`DerivedKeyStore`]: somewhere outside the process to keep a key derived from a passphrase,
//! so that a short-lived process (a command-line tool run once per token) does not run Argon2
//! on every start.

use zeroize::Zeroizing;

/// Keeps keys that [`EncryptedFileCache::with_passphrase`](super::EncryptedFileCache) derived,
/// between processes, for a bounded time: for example the Linux kernel's session keyring (the
/// `msal` tool does this), or a platform's agent. Set it with
/// [`EncryptedFileCache::with_derived_key_store`](super::EncryptedFileCache::with_derived_key_store).
///
/// Each key is named by an `id` that says how it was derived, `argon2id-m{KiB}-t{passes}-p{lanes}-{salt in hex}`:
/// the salt is random per cache file, so the id names one file's key. The id holds nothing
/// secret and nothing derived from the passphrase.
///
/// It is an optimisation, so it cannot fail the cache: `get` answers `None` when it has no key
/// (or cannot be read), and `put` and `forget` do their best. A key from `get` that does not
/// decrypt the file is forgotten and derived again from the passphrase.
///
/// What it changes: while a key is kept, a process that can read it decrypts the cache without
/// the passphrase, and the cache does not check the passphrase it was given against it (a
/// passphrase check that cost less than Argon2 would let whoever reads the kept key guess the
/// passphrase cheaply). Keep keys only where no one but the user's own session can read them,
/// and only for a bounded time.
pub trait DerivedKeyStore: Send + Sync {
    /// The key kept under `id`, if there is one.
    fn get(&self, id: &str) -> Option<Zeroizing<[u8; 32]>>;
    /// Keep `key` under `id`, replacing any other.
    fn put(&self, id: &str, key: &[u8; 32]);
    /// Drop the key kept under `id` (it did not decrypt the file).
    fn forget(&self, id: &str);
}
