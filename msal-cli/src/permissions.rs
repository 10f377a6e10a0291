//! The token cache and key files are the user's alone (Unix): a file another user owns is
//! refused, never read or taken over (it could be a trap: tokens written into a file someone
//! else can read, or a cache planted to feed us their tokens); a file the group or others may
//! read or write gets a warning naming the `chmod` that fixes it, or is refused with
//! `--strict-permissions` / `MSAL_STRICT_PERMISSIONS`.

use std::path::Path;

use crate::error::CliError;

/// Check the file at `path` (`what`: "token cache file", "cache key file"), if it exists.
#[cfg(unix)]
pub(crate) fn check(path: &Path, what: &str, strict: bool) -> Result<(), CliError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        // A missing file is made by msal (mode 0600); an unreadable one fails where it is read.
        Err(_) => return Ok(()),
    };
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        return Err(CliError::Other(format!(
            "the {what} {} is owned by another user (uid {}, you are uid {me}); msal does not use \
             or take over another user's file: check --cache / MSAL_CACHE, or have its owner \
             remove it",
            path.display(),
            metadata.uid()
        )));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let problem = format!(
        "the {what} {} can be read or written by other users (mode {mode:03o})",
        path.display()
    );
    let fix = format!("chmod 600 {}", path.display());
    if strict {
        return Err(CliError::Other(format!(
            "{problem}; refused (--strict-permissions): run `{fix}`"
        )));
    }
    eprintln!("msal: warning: {problem}: run `{fix}`");
    Ok(())
}

/// No owners or modes to check on this platform.
#[cfg(not(unix))]
pub(crate) fn check(_path: &Path, _what: &str, _strict: bool) -> Result<(), CliError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_missing_and_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        assert!(check(&path, "token cache file", true).is_ok(), "missing");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check(&path, "token cache file", true).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(check(&path, "token cache file", false).is_ok(), "a warning");
        let err = check(&path, "token cache file", true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mode 640") && err.contains("chmod 600"),
            "{err}"
        );
    }
}
