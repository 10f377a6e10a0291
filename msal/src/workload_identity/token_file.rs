//! The federated token file (`AZURE_FEDERATED_TOKEN_FILE`): the Kubernetes service account
//! token the kubelet projects into the pod and rotates (by default at 80% of its hour), read
//! as the client assertion of each token request.
//!
//! Read again whenever the file changed (modification time, length or, on Unix, inode: the
//! kubelet swaps a symlink, so a rotation is a new inode), at least every
//! [`REREAD_AFTER_SECS`], and never used past the JWT's `exp`. The file is small and local
//! (a tmpfs volume), and it is read only when a token request goes to the network, so it is
//! read synchronously.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use zeroize::Zeroizing;

use super::error::WorkloadIdentityError;

/// How long a token read from the file is reused while the file looks unchanged.
pub(crate) const REREAD_AFTER_SECS: u64 = 300;

/// A token this close to its `exp` is read again (the kubelet has rotated it by then).
const EXPIRY_MARGIN_SECS: u64 = 60;

/// The largest token file read: a service account token is about 1 KB.
pub(crate) const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// What identifies one version of the file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Version {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

struct Cached {
    token: Zeroizing<String>,
    version: Version,
    read_at: u64,
    exp: Option<u64>,
}

/// The token file and the token last read from it.
pub(crate) struct FederatedTokenFile {
    path: PathBuf,
    cached: Mutex<Option<Cached>>,
}

impl FederatedTokenFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        FederatedTokenFile {
            path,
            cached: Mutex::new(None),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The assertion to send now (Unix seconds `now`).
    pub(crate) fn assertion(&self, now: u64) -> Result<Zeroizing<String>, WorkloadIdentityError> {
        let unreadable = |reason: String| WorkloadIdentityError::TokenFileUnreadable {
            path: self.path.clone(),
            reason,
        };
        let meta = std::fs::metadata(&self.path).map_err(|e| unreadable(io_reason(&e)))?;
        if !meta.is_file() {
            return Err(unreadable("it is not a regular file".into()));
        }
        if meta.len() > MAX_TOKEN_FILE_BYTES {
            return Err(unreadable(format!(
                "it holds {} bytes, more than the {MAX_TOKEN_FILE_BYTES} a token can take",
                meta.len()
            )));
        }
        let version = Version {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: inode(&meta),
        };
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref() {
            let fresh = c.version == version
                && now < c.read_at.saturating_add(REREAD_AFTER_SECS)
                && c.exp
                    .is_none_or(|exp| now.saturating_add(EXPIRY_MARGIN_SECS) < exp);
            if fresh {
                return Ok(c.token.clone());
            }
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(&self.path).map_err(|e| unreadable(io_reason(&e)))?,
        );
        let token = Zeroizing::new(text.trim().to_owned());
        if token.is_empty() {
            *cached = None;
            return Err(WorkloadIdentityError::TokenFileEmpty {
                path: self.path.clone(),
            });
        }
        let exp = jwt_exp(&token);
        if let Some(exp) = exp.filter(|exp| *exp <= now) {
            *cached = None;
            return Err(WorkloadIdentityError::TokenExpired {
                path: self.path.clone(),
                expired_at: exp,
            });
        }
        *cached = Some(Cached {
            token: token.clone(),
            version,
            read_at: now,
            exp,
        });
        Ok(token)
    }
}

impl std::fmt::Debug for FederatedTokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederatedTokenFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why the file cannot be read, without the OS's wording varying by platform for the common
/// cases.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// The `exp` claim of a JWT (unverified: only to know when to read the file again), or
/// `None` when the token is not a JWT with a numeric `exp`.
fn jwt_exp(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    exp.as_u64().or_else(|| {
        exp.as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(exp: u64) -> String {
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.sig",
            part(serde_json::json!({"alg": "RS256"})),
            part(serde_json::json!({"exp": exp, "sub": "system:serviceaccount:ns:sa"}))
        )
    }

    #[test]
    fn exp_is_read_from_a_jwt_and_nothing_else() {
        assert_eq!(jwt_exp(&jwt(1234)), Some(1234));
        assert_eq!(jwt_exp("not-a-jwt"), None);
        assert_eq!(jwt_exp("a.!!!.c"), None);
        assert_eq!(jwt_exp("a.e30.c"), None); // {}
    }

    #[test]
    fn reread_when_changed_or_when_near_exp_and_not_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, jwt(10_000)).unwrap();
        let file = FederatedTokenFile::new(path.clone());
        assert_eq!(*file.assertion(1_000).unwrap(), jwt(10_000));
        // Replaced by a new file (as the kubelet does): read again.
        let next = dir.path().join("token.new");
        std::fs::write(&next, jwt(20_000)).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(*file.assertion(1_001).unwrap(), jwt(20_000));
        // Past the cached token's exp: read again, and an expired token is an error.
        std::fs::write(&path, jwt(20_000)).unwrap();
        let e = file.assertion(30_000).unwrap_err();
        assert!(
            matches!(
                e,
                WorkloadIdentityError::TokenExpired {
                    expired_at: 20_000,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn missing_empty_and_oversized_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let file = FederatedTokenFile::new(path.clone());
        assert!(matches!(
            file.assertion(1).unwrap_err(),
            WorkloadIdentityError::TokenFileUnreadable { .. }
        ));
        std::fs::write(&path, " \n").unwrap();
        assert!(matches!(
            file.assertion(1).unwrap_err(),
            WorkloadIdentityError::TokenFileEmpty { .. }
        ));
        std::fs::write(&path, vec![b'a'; MAX_TOKEN_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            file.assertion(1).unwrap_err(),
            WorkloadIdentityError::TokenFileUnreadable { .. }
        ));
    }
}
