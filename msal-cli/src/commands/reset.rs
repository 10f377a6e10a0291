//! `msal cache reset`: move an unreadable (or unwanted) token cache aside.

use msal_cache::FileCache;

use crate::cli::GlobalOptions;
use crate::config::cache_path;
use crate::error::CliError;
use crate::output::print_stdout;

/// Move the cache file aside to `{cache}.corrupt-{UTC time}` (never deleting it) and print the
/// new path; the next sign-in starts a new cache. Works on any cache file of this user,
/// readable or not, plain or encrypted, and needs no key, passphrase or client id; another
/// user's file is refused, as every command refuses it. The key file stays: the new cache is
/// encrypted with the same key.
pub(super) async fn run(global: &GlobalOptions) -> Result<(), CliError> {
    let path = cache_path(global)?;
    crate::permissions::check(&path, "token cache file", global.strict_permissions)?;
    match FileCache::new(&path).quarantine()? {
        Some(aside) => {
            eprintln!(
                "msal: moved the token cache {} aside to {}; sign in again to start a new one",
                path.display(),
                aside.display()
            );
            print_stdout(&aside.display().to_string())
        }
        None => {
            eprintln!(
                "msal: no token cache at {}: nothing to reset",
                path.display()
            );
            Ok(())
        }
    }
}
