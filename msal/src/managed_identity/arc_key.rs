//! Azure Arc's challenge: the agent answers the first request with
//! `WWW-Authenticate: Basic realm=<key file>`, and proving we may read that file (which only
//! local administrators and the agent's group can) earns the token. The path comes from
//! whatever answered on the endpoint, so it is checked before anything is read: inside the
//! agent's token folder (after resolving `..` and links), named `*.key`, a regular file, at most
//! 4096 bytes.

use std::io::Read;
use std::path::Path;

use msal_core::Secret;
use zeroize::Zeroizing;

/// The largest key file read (MSAL's bound).
pub(crate) const MAX_KEY_FILE_SIZE: u64 = 4096;

/// Read the key file `challenge_path` names, after checking it against `token_folder`.
/// The error says what is wrong with the path, never the file's content.
pub(crate) fn read_key_file(
    token_folder: Option<&Path>,
    challenge_path: &str,
) -> Result<Secret, String> {
    let Some(token_folder) = token_folder else {
        return Err(
            "Azure Arc is not supported on this platform (no agent token folder is known)".into(),
        );
    };
    let path = Path::new(challenge_path);
    if !path.is_absolute() || path.extension().is_none_or(|e| e != "key") {
        return Err(format!(
            "the challenge names {challenge_path:?}, which is not an absolute path to a .key file"
        ));
    }
    let folder = token_folder.canonicalize().map_err(|e| {
        format!(
            "the agent's token folder {} cannot be resolved ({}): is the Arc agent installed?",
            token_folder.display(),
            e.kind()
        )
    })?;
    let outside = || {
        format!(
            "the challenge names {challenge_path:?}, which is not a file in the agent's token folder {}",
            folder.display()
        )
    };
    // Checked on the path itself first: a link is refused even if it points into the folder.
    let link_meta = std::fs::symlink_metadata(path).map_err(|_| outside())?;
    if !link_meta.file_type().is_file() {
        return Err(format!(
            "the challenge names {challenge_path:?}, which is not a regular file"
        ));
    }
    let resolved = path.canonicalize().map_err(|_| outside())?;
    if resolved.parent() != Some(folder.as_path()) {
        return Err(outside());
    }
    if link_meta.len() > MAX_KEY_FILE_SIZE {
        return Err(format!(
            "the key file {challenge_path:?} is {} bytes, more than the {MAX_KEY_FILE_SIZE} a key file has",
            link_meta.len()
        ));
    }
    let file = std::fs::File::open(&resolved).map_err(|e| {
        format!(
            "the key file {challenge_path:?} cannot be read ({})",
            e.kind()
        )
    })?;
    // The file may have been replaced since the checks: read at most one byte past the bound.
    let mut content = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_SIZE as usize));
    file.take(MAX_KEY_FILE_SIZE + 1)
        .read_to_end(&mut content)
        .map_err(|e| {
            format!(
                "the key file {challenge_path:?} cannot be read ({})",
                e.kind()
            )
        })?;
    if content.len() as u64 > MAX_KEY_FILE_SIZE {
        return Err(format!(
            "the key file {challenge_path:?} grew past {MAX_KEY_FILE_SIZE} bytes while being read"
        ));
    }
    let text = std::str::from_utf8(&content)
        .map_err(|_| format!("the key file {challenge_path:?} is not text"))?
        .trim();
    if text.is_empty() {
        return Err(format!("the key file {challenge_path:?} is empty"));
    }
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_key_files_inside_the_folder_are_read() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("tokens");
        std::fs::create_dir(&folder).unwrap();
        let good = folder.join("a.key");
        std::fs::write(&good, "secret-key\n").unwrap();
        let s = |p: &Path| p.to_str().unwrap().to_owned();
        assert_eq!(
            read_key_file(Some(&folder), &s(&good))
                .unwrap()
                .expose_secret(),
            "secret-key"
        );

        let outside = root.path().join("b.key");
        std::fs::write(&outside, "x").unwrap();
        let big = folder.join("big.key");
        std::fs::write(&big, vec![b'a'; 4097]).unwrap();
        let not_key = folder.join("a.txt");
        std::fs::write(&not_key, "x").unwrap();
        let sub = folder.join("sub.key");
        std::fs::create_dir(&sub).unwrap();
        let dotdot = format!("{}/../b.key", s(&folder));
        let cases = vec![
            (s(&outside), "not a file in the agent's token folder"),
            (dotdot, "not a file in the agent's token folder"),
            (s(&big), "more than the 4096"),
            (s(&not_key), "not an absolute path to a .key file"),
            ("relative.key".to_owned(), "not an absolute path"),
            (s(&sub), "not a regular file"),
            (
                s(&folder.join("missing.key")),
                "not a file in the agent's token folder",
            ),
        ];
        #[cfg(unix)]
        let cases = {
            let mut cases = cases;
            let link = folder.join("link.key");
            std::os::unix::fs::symlink(&outside, &link).unwrap();
            cases.push((s(&link), "not a regular file"));
            cases
        };
        for (path, expected) in cases {
            let e = read_key_file(Some(&folder), &path).unwrap_err();
            assert!(e.contains(expected), "{path}: {e}");
        }
        let e = read_key_file(None, &s(&good)).unwrap_err();
        assert!(e.contains("not supported on this platform"), "{e}");
        let e = read_key_file(Some(&root.path().join("nope")), &s(&good)).unwrap_err();
        assert!(e.contains("cannot be resolved"), "{e}");
    }
}
