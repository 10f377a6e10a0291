//! The built-in stores against their contract, on the real file system (no mocks).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use msal_cache::{CacheError, CacheStore, FileCache, Loaded, MemoryCache, Partition};

const ALL: Partition<'static> = Partition::All;

/// Unwrap a `Loaded::Data`.
fn data(loaded: Loaded) -> (Vec<u8>, msal_cache::StoreVersion) {
    match loaded {
        Loaded::Data { bytes, version } => (bytes, version),
        other => panic!("expected data, got {other:?}"),
    }
}

/// Append `line` to whatever is stored.
fn append(current: Option<&[u8]>, line: &str) -> Vec<u8> {
    let mut bytes = current.map(<[u8]>::to_vec).unwrap_or_default();
    bytes.extend_from_slice(line.as_bytes());
    bytes
}

/// Panics if `folder` (recursively) holds any leftover temporary file.
fn assert_no_temp_files(folder: &Path) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file left behind: {name}"
        );
        if entry.file_type().unwrap().is_dir() {
            assert_no_temp_files(&entry.path());
        }
    }
}

// ---------------------------------------------------------------- MemoryCache

#[tokio::test]
async fn memory_missing_then_data_then_unchanged() {
    let cache = MemoryCache::new();
    assert_eq!(cache.load(ALL, None).await.unwrap(), Loaded::Missing);
    assert_eq!(cache.snapshot(), None);

    let version = cache
        .modify(ALL, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap();
    let (bytes, loaded_version) = data(cache.load(ALL, None).await.unwrap());
    assert_eq!((bytes.as_slice(), loaded_version), (&b"{}"[..], version));
    assert_eq!(
        cache.load(ALL, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );
    // Partitions are ignored by a whole-document store.
    assert_eq!(
        cache
            .load(Partition::Account("uid.utid"), Some(version))
            .await
            .unwrap(),
        Loaded::Unchanged
    );

    let newer = cache
        .modify(ALL, None, &mut |current| Ok(append(current.data(), "x")))
        .await
        .unwrap();
    assert_ne!(newer, version);
    let (bytes, _) = data(cache.load(ALL, Some(version)).await.unwrap());
    assert_eq!(bytes, b"{}x");
}

#[tokio::test]
async fn memory_clones_share_storage() {
    let first = MemoryCache::from_bytes(b"a".to_vec());
    let second = first.clone();
    second
        .modify(ALL, None, &mut |current| Ok(append(current.data(), "b")))
        .await
        .unwrap();
    assert_eq!(first.snapshot().as_deref(), Some(&b"ab"[..]));
    let (bytes, _) = data(first.load(ALL, None).await.unwrap());
    assert_eq!(bytes, b"ab");
}

#[tokio::test]
async fn memory_update_error_leaves_data_untouched() {
    let cache = MemoryCache::from_bytes(b"kept".to_vec());
    let (_, version) = data(cache.load(ALL, None).await.unwrap());
    let err = cache
        .modify(ALL, None, &mut |_| {
            Err(CacheError::corrupt(None, "bad json"))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err:?}");
    assert_eq!(cache.snapshot().as_deref(), Some(&b"kept"[..]));
    assert_eq!(
        cache.load(ALL, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );
}

// ---------------------------------------------------------------- FileCache

#[tokio::test]
async fn file_missing_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::new(dir.path().join("nope").join("cache.json"));
    assert_eq!(cache.load(ALL, None).await.unwrap(), Loaded::Missing);
    assert!(
        !dir.path().join("nope").exists(),
        "load must not create anything"
    );
}

#[tokio::test]
async fn file_modify_creates_private_file_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("a").join("b");
    let path = folder.join("cache.json");
    let cache = FileCache::new(&path);

    let version = cache
        .modify(ALL, None, &mut |current| {
            assert_eq!(current, msal_cache::Current::Missing);
            Ok(b"{\"AccessToken\":{}}".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"AccessToken\":{}}");
    assert_eq!(
        cache.load(ALL, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
    }
    assert_no_temp_files(dir.path());
}

#[cfg(unix)]
#[tokio::test]
async fn file_modify_narrows_wider_permissions_to_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    std::fs::write(&path, b"{}").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    FileCache::new(&path)
        .modify(ALL, None, &mut |current| Ok(append(current.data(), " ")))
        .await
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_no_temp_files(dir.path());
}

#[tokio::test]
async fn file_load_returns_bytes_then_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    std::fs::write(&path, b"{\"Account\":{}}").unwrap();
    let cache = FileCache::new(&path);

    let (bytes, version) = data(cache.load(ALL, None).await.unwrap());
    assert_eq!(bytes, b"{\"Account\":{}}");
    assert_eq!(
        cache.load(ALL, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );
    // Any other known version gets the data again.
    let other = msal_cache::StoreVersion::new(version.tag().wrapping_add(1));
    let (again, same_version) = data(cache.load(ALL, Some(other)).await.unwrap());
    assert_eq!((again, same_version), (bytes, version));
}

#[tokio::test]
async fn file_external_rewrite_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let cache = FileCache::new(&path);
    let version = cache
        .modify(ALL, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap();

    // Another program (MSAL Python, say) rewrites the file in place.
    std::fs::write(&path, b"{\"RefreshToken\":{}}").unwrap();
    let (bytes, new_version) = data(cache.load(ALL, Some(version)).await.unwrap());
    assert_eq!(bytes, b"{\"RefreshToken\":{}}");
    assert_ne!(new_version, version);
    assert_eq!(
        cache.load(ALL, Some(new_version)).await.unwrap(),
        Loaded::Unchanged
    );
}

#[tokio::test]
async fn file_modify_receives_current_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    std::fs::write(&path, b"one\n").unwrap();
    let cache = FileCache::new(&path);

    cache
        .modify(ALL, None, &mut |current| {
            assert_eq!(current, msal_cache::Current::Data(b"one\n"));
            Ok(append(current.data(), "two\n"))
        })
        .await
        .unwrap();
    let version = cache
        .modify(ALL, None, &mut |current| {
            Ok(append(current.data(), "three\n"))
        })
        .await
        .unwrap();
    let (bytes, loaded_version) = data(cache.load(ALL, None).await.unwrap());
    assert_eq!(bytes, b"one\ntwo\nthree\n");
    assert_eq!(loaded_version, version);
    assert_no_temp_files(dir.path());
}

#[tokio::test]
async fn file_update_error_leaves_file_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    std::fs::write(&path, b"not json at all").unwrap();
    let before = std::fs::symlink_metadata(&path).unwrap();
    let cache = FileCache::new(&path);
    let (_, version) = data(cache.load(ALL, None).await.unwrap());

    let err = cache
        .modify(ALL, None, &mut |_| {
            Err(CacheError::corrupt(Some(path.clone()), "expected value"))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not json at all");
    let after = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
    assert_eq!(
        cache.load(ALL, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );
    assert_no_temp_files(dir.path());
}

#[tokio::test]
async fn file_update_error_on_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let cache = FileCache::new(&path);
    cache
        .modify(ALL, None, &mut |_| Err(CacheError::store("no")))
        .await
        .unwrap_err();
    assert!(!path.exists());
    assert_no_temp_files(dir.path());
}

#[cfg(unix)]
#[tokio::test]
async fn file_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.json");
    std::fs::write(&target, b"target bytes").unwrap();
    let link = dir.path().join("cache.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let cache = FileCache::new(&link);

    let err = cache
        .modify(ALL, None, &mut |_| Ok(b"evil".to_vec()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CacheError::SymlinkRefused { path } if path == &link),
        "{err:?}"
    );
    let err = cache.load(ALL, None).await.unwrap_err();
    assert!(matches!(err, CacheError::SymlinkRefused { .. }), "{err:?}");

    assert_eq!(std::fs::read(&target).unwrap(), b"target bytes");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    // A dangling link is refused too, and its target is not created.
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("nowhere.json"), &dangling).unwrap();
    let err = FileCache::new(&dangling)
        .modify(ALL, None, &mut |_| Ok(b"evil".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::SymlinkRefused { .. }), "{err:?}");
    assert!(!dir.path().join("nowhere.json").exists());
    assert_no_temp_files(dir.path());
}

#[tokio::test]
async fn file_parent_is_a_regular_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    let cache = FileCache::new(blocker.join("cache.json"));

    let err = cache
        .modify(ALL, None, &mut |_| Ok(b"{}".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Io { .. }), "{err:?}");
    #[cfg(unix)]
    {
        let err = cache.load(ALL, None).await.unwrap_err();
        assert!(matches!(err, CacheError::Io { .. }), "{err:?}");
    }
    assert_eq!(std::fs::read(&blocker).unwrap(), b"x");
    assert_no_temp_files(dir.path());
}

#[test]
fn file_concurrent_modifies_keep_every_line() {
    const THREADS: usize = 8;
    const WRITES: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let cache = FileCache::new(&path);

    let handles: Vec<_> =
        (0..THREADS)
            .map(|thread| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    for write in 0..WRITES {
                        let line = format!("{thread}-{write}\n");
                        runtime
                            .block_on(cache.modify(ALL, None, &mut |current| {
                                Ok(append(current.data(), &line))
                            }))
                            .unwrap();
                    }
                })
            })
            .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let lines: HashSet<&str> = text.lines().collect();
    assert_eq!(text.lines().count(), THREADS * WRITES);
    assert_eq!(lines.len(), THREADS * WRITES);
    for thread in 0..THREADS {
        for write in 0..WRITES {
            assert!(lines.contains(format!("{thread}-{write}").as_str()));
        }
    }
    assert_no_temp_files(dir.path());
}

// ---------------------------------------------------------------- trait objects

#[tokio::test]
async fn stores_work_as_shared_trait_objects() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn CacheStore>> = vec![
        Arc::new(MemoryCache::new()),
        Arc::new(FileCache::new(dir.path().join("cache.json"))),
    ];
    // `Arc<dyn CacheStore>` is itself a `CacheStore` (blanket impl): use it generically.
    async fn round_trip(store: impl CacheStore) {
        let version = store
            .modify(ALL, None, &mut |current| Ok(append(current.data(), "x")))
            .await
            .unwrap();
        assert_eq!(
            store.load(ALL, Some(version)).await.unwrap(),
            Loaded::Unchanged
        );
    }
    for store in stores {
        assert_eq!(store.load(ALL, None).await.unwrap(), Loaded::Missing);
        round_trip(Arc::clone(&store)).await;
        round_trip(Box::new(Arc::clone(&store)) as Box<dyn CacheStore>).await;
        let (bytes, _) = data(store.load(ALL, None).await.unwrap());
        assert_eq!(bytes, b"xx");
    }
    assert_no_temp_files(dir.path());
}

/// The file name of a quarantined cache, checked against `{name}.corrupt-YYYYMMDDTHHMMSSZ[-n]`.
fn assert_quarantine_name(aside: &Path, cache: &Path) {
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    let expected_start = format!("{}.corrupt-", cache.file_name().unwrap().to_string_lossy());
    let stamp = name
        .strip_prefix(&expected_start)
        .unwrap_or_else(|| panic!("{name}"));
    let stamp = stamp.split('-').next().unwrap();
    assert_eq!(stamp.len(), 16, "{name}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{name}"
    );
    assert_eq!(aside.parent(), cache.parent(), "moved within its folder");
}

#[tokio::test]
async fn file_quarantine_moves_the_file_aside_and_the_next_write_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let cache = FileCache::new(&path);
    assert_eq!(cache.quarantine().unwrap(), None, "nothing to move");

    // A file the facade cannot parse: its update function refuses to touch it.
    cache
        .modify(ALL, None, &mut |_| Ok(b"\x00 not a cache".to_vec()))
        .await
        .unwrap();
    let refuse = |_: msal_cache::Current<'_>| -> Result<Vec<u8>, CacheError> {
        Err(CacheError::corrupt(Some(path.clone()), "not JSON"))
    };
    let err = cache.modify(ALL, None, &mut { refuse }).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("msal cache reset") && message.contains("FileCache::quarantine"),
        "the error names the way out: {message}"
    );

    let aside = cache.quarantine().unwrap().expect("moved");
    assert_quarantine_name(&aside, &path);
    assert!(!path.exists());
    assert_eq!(std::fs::read(&aside).unwrap(), b"\x00 not a cache");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&aside).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    assert_eq!(cache.load(ALL, None).await.unwrap(), Loaded::Missing);
    cache
        .modify(ALL, None, &mut |current| {
            assert!(current.data().is_none(), "a new cache");
            Ok(b"{}".to_vec())
        })
        .await
        .unwrap();

    // A second quarantine in the same second never replaces the first.
    let again = cache.quarantine().unwrap().expect("moved");
    assert_ne!(again, aside);
    assert_quarantine_name(&again, &path);
    assert_eq!(std::fs::read(&aside).unwrap(), b"\x00 not a cache");
    assert_eq!(std::fs::read(&again).unwrap(), b"{}");
    assert_no_temp_files(dir.path());
}

#[cfg(unix)]
#[tokio::test]
async fn file_quarantine_leaves_a_symlink_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.json");
    std::fs::write(&target, b"{}").unwrap();
    let path = dir.path().join("cache.json");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let err = FileCache::new(&path).quarantine().unwrap_err();
    assert!(matches!(err, CacheError::SymlinkRefused { .. }), "{err:?}");
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"{}");
}
