//! `EncryptedFileCache` on the real file system: round trips, key sources, and every way a file
//! can fail to decrypt (each must leave the file byte-for-byte untouched).

use std::path::{Path, PathBuf};
use std::time::Duration;

use msal_cache::encrypted::EncryptedFileCache;
use msal_cache::{CacheError, CacheStore, Current, Loaded, Partition, StoreVersion};

const ALL: Partition<'static> = Partition::All;
const KEY: [u8; 32] = [0x5a; 32];
const OTHER_KEY: [u8; 32] = [0xa5; 32];
const DOC: &[u8] = br#"{"RefreshToken": {"k": {"secret": "rt-SECRET-TOKEN-0123456789"}}}"#;
const TOKEN: &[u8] = b"rt-SECRET-TOKEN-0123456789";

/// Layout (see the module docs): header, 24-byte nonce, ciphertext, 16-byte tag.
const RAW_HEADER: usize = 10;
const ARGON2_HEADER: usize = 35;
const SALT: std::ops::Range<usize> = 19..35;
const NONCE: usize = 24;
const TAG: usize = 16;

fn temp_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache").join("msal_token_cache.bin");
    (dir, path)
}

/// A passphrase cache with cheap Argon2 parameters so the tests run fast.
fn with_passphrase(path: &Path, passphrase: &str) -> EncryptedFileCache {
    EncryptedFileCache::with_passphrase(path, passphrase)
        .with_argon2_params(64, 1, 1)
        .unwrap()
}

async fn write(cache: &EncryptedFileCache, doc: &[u8]) -> StoreVersion {
    let doc = doc.to_vec();
    cache
        .modify(ALL, None, &mut move |_| Ok(doc.clone()))
        .await
        .unwrap()
}

async fn read(cache: &EncryptedFileCache) -> Vec<u8> {
    match cache.load(ALL, None).await.unwrap() {
        Loaded::Data { bytes, .. } => bytes,
        other => panic!("expected data, got {other:?}"),
    }
}

/// Both `load` and `modify` fail with `Corrupt` naming the file, whose message contains
/// `expected`, the update function never runs, and the file keeps exactly its bytes.
async fn assert_corrupt_and_untouched(cache: &EncryptedFileCache, expected: &str) -> String {
    let path = cache.path().to_path_buf();
    let before = std::fs::read(&path).unwrap();

    let err = cache.load(ALL, None).await.unwrap_err();
    let message = match &err {
        CacheError::Corrupt { location, message } => {
            assert_eq!(location.as_deref(), Some(path.as_path()));
            message.clone()
        }
        other => panic!("expected Corrupt, got {other:?}"),
    };
    assert!(
        message.contains(expected),
        "message {message:?} lacks {expected:?}"
    );

    let mut ran = false;
    let err = cache
        .modify(ALL, None, &mut |_| {
            ran = true;
            Ok(b"{}".to_vec())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Corrupt { .. }), "{err:?}");
    assert!(!ran, "the update ran on undecryptable data");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was changed"
    );
    message
}

#[tokio::test]
async fn round_trip_with_key() {
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    assert_eq!(cache.load(ALL, None).await.unwrap(), Loaded::Missing);
    let version = write(&cache, DOC).await;
    assert_eq!(read(&cache).await, DOC);
    assert_eq!(
        cache.load(ALL, Some(version)).await.unwrap(),
        Loaded::Unchanged
    );
    assert_eq!(cache.location(), Some(path.as_path()));

    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[..RAW_HEADER], b"MSALRSE\0\x01\x00");
    assert_eq!(file.len(), RAW_HEADER + NONCE + DOC.len() + TAG);

    // A second instance with the same key reads it; modify sees the plaintext.
    let other = EncryptedFileCache::with_key(&path, KEY);
    other
        .modify(ALL, None, &mut |current| {
            assert_eq!(current, Current::Data(DOC));
            Ok(b"{}".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(read(&cache).await, b"{}");
}

#[tokio::test]
async fn round_trip_with_passphrase_and_a_second_instance() {
    let (_dir, path) = temp_path();
    let cache = with_passphrase(&path, "correct horse battery staple");
    write(&cache, DOC).await;
    assert_eq!(read(&cache).await, DOC);

    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[..10], b"MSALRSE\0\x01\x01");
    assert_eq!(&file[10..14], &64u32.to_le_bytes());
    assert_eq!(&file[14..18], &1u32.to_le_bytes());
    assert_eq!(file[18], 1);
    assert_eq!(file.len(), ARGON2_HEADER + NONCE + DOC.len() + TAG);

    // Another instance, even one configured with other parameters, reads the file with the
    // parameters recorded in its header.
    let second = EncryptedFileCache::with_passphrase(&path, "correct horse battery staple")
        .with_argon2_params(128, 2, 1)
        .unwrap();
    assert_eq!(read(&second).await, DOC);
    second
        .modify(ALL, None, &mut |current| {
            let mut doc = current.data().unwrap().to_vec();
            doc.extend_from_slice(b" ");
            Ok(doc)
        })
        .await
        .unwrap();
    assert_eq!(read(&cache).await.len(), DOC.len() + 1);
    // The rewrite kept the file's parameters.
    assert_eq!(&std::fs::read(&path).unwrap()[10..14], &64u32.to_le_bytes());
}

#[tokio::test]
async fn wrong_key_is_corrupt_and_leaves_the_file() {
    let (_dir, path) = temp_path();
    write(&EncryptedFileCache::with_key(&path, KEY), DOC).await;
    let wrong = EncryptedFileCache::with_key(&path, OTHER_KEY);
    assert_corrupt_and_untouched(&wrong, "authentication failed").await;
    // Still readable with the right key.
    assert_eq!(read(&EncryptedFileCache::with_key(&path, KEY)).await, DOC);
}

#[tokio::test]
async fn an_undecryptable_cache_is_moved_aside_by_quarantine() {
    let (_dir, path) = temp_path();
    write(&EncryptedFileCache::with_key(&path, KEY), DOC).await;
    let original = std::fs::read(&path).unwrap();
    let lost_key = EncryptedFileCache::with_key(&path, OTHER_KEY);
    let err = lost_key.load(ALL, None).await.unwrap_err();
    assert!(
        err.to_string().contains("msal cache reset"),
        "the error names the way out: {err}"
    );

    let aside = lost_key.quarantine().unwrap().expect("moved");
    assert!(!path.exists());
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        original,
        "kept, not deleted"
    );
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("msal_token_cache.bin.corrupt-"), "{name}");
    // The cache starts over with the key at hand.
    write(&lost_key, DOC).await;
    assert_eq!(read(&lost_key).await, DOC);
    assert!(lost_key.quarantine().unwrap().is_some());
    assert_eq!(lost_key.quarantine().unwrap(), None);
}

#[tokio::test]
async fn wrong_passphrase_is_corrupt_and_leaves_the_file() {
    let (_dir, path) = temp_path();
    write(&with_passphrase(&path, "right"), DOC).await;
    let message =
        assert_corrupt_and_untouched(&with_passphrase(&path, "wrong"), "authentication failed")
            .await;
    assert!(message.contains("wrong key or passphrase"), "{message}");
    assert_eq!(read(&with_passphrase(&path, "right")).await, DOC);
}

#[tokio::test]
async fn key_source_mismatch_is_corrupt_and_leaves_the_file() {
    let (_dir, path) = temp_path();
    write(&with_passphrase(&path, "pw"), DOC).await;
    assert_corrupt_and_untouched(
        &EncryptedFileCache::with_key(&path, KEY),
        "protected by a passphrase",
    )
    .await;

    let (_dir, path) = temp_path();
    write(&EncryptedFileCache::with_key(&path, KEY), DOC).await;
    assert_corrupt_and_untouched(&with_passphrase(&path, "pw"), "given a passphrase").await;
}

#[tokio::test]
async fn every_flipped_byte_is_detected() {
    // Raw key: header 0..10, nonce 10..34, ciphertext, tag (last 16).
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    write(&cache, DOC).await;
    let original = std::fs::read(&path).unwrap();
    let len = original.len();
    let positions = [
        0,
        7,
        8,
        9,
        RAW_HEADER,
        RAW_HEADER + 12,
        RAW_HEADER + NONCE - 1,
        RAW_HEADER + NONCE,
        RAW_HEADER + NONCE + 20,
        len - TAG - 1,
        len - TAG,
        len - 1,
    ];
    for at in positions {
        let mut tampered = original.clone();
        tampered[at] ^= 0x01;
        std::fs::write(&path, &tampered).unwrap();
        let message = assert_corrupt_and_untouched(&cache, "").await;
        assert!(!message.is_empty(), "byte {at}");
    }
    // A few messages are specific.
    let mut tampered = original.clone();
    tampered[8] = 7;
    std::fs::write(&path, &tampered).unwrap();
    assert_corrupt_and_untouched(&cache, "unsupported encrypted cache format version 7").await;
    let mut tampered = original.clone();
    tampered[0] = b'X';
    std::fs::write(&path, &tampered).unwrap();
    assert_corrupt_and_untouched(&cache, "bad magic").await;
    let mut tampered = original.clone();
    tampered[len - 1] ^= 0x80;
    std::fs::write(&path, &tampered).unwrap();
    assert_corrupt_and_untouched(&cache, "authentication failed").await;
}

#[tokio::test]
async fn every_flipped_byte_is_detected_with_a_passphrase() {
    // Argon2id: parameters 10..19, salt 19..35, nonce 35..59, ciphertext, tag.
    let (_dir, path) = temp_path();
    let cache = with_passphrase(&path, "pw");
    write(&cache, DOC).await;
    let original = std::fs::read(&path).unwrap();
    let len = original.len();
    // m_cost's two high bytes and t_cost's upper bytes would ask for huge costs: those are
    // refused before deriving (checked separately below); these positions stay cheap.
    let positions = [
        9,
        10,
        14,
        18,
        SALT.start,
        SALT.end - 1,
        ARGON2_HEADER,
        ARGON2_HEADER + NONCE - 1,
        ARGON2_HEADER + NONCE,
        len - TAG,
        len - 1,
    ];
    for at in positions {
        let mut tampered = original.clone();
        tampered[at] ^= 0x01;
        std::fs::write(&path, &tampered).unwrap();
        assert_corrupt_and_untouched(&cache, "").await;
    }
    for (at, expected) in [(13, "memory cost"), (17, "time cost")] {
        let mut tampered = original.clone();
        tampered[at] ^= 0x80;
        std::fs::write(&path, &tampered).unwrap();
        assert_corrupt_and_untouched(&cache, expected).await;
    }
    std::fs::write(&path, &original).unwrap();
    assert_eq!(read(&cache).await, DOC);
}

/// A header tampered to ask for 1 GiB and 100 passes (what the old limits accepted: minutes
/// per load) is refused before any key derivation, the file left as it was.
#[test]
fn a_header_asking_for_huge_argon2_costs_is_refused_at_once() {
    let (_dir, path) = temp_path();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = with_passphrase(&path, "pw");
    runtime.block_on(write(&cache, DOC));
    let mut tampered = std::fs::read(&path).unwrap();
    tampered[10..14].copy_from_slice(&(1024u32 * 1024).to_le_bytes());
    tampered[14..18].copy_from_slice(&100u32.to_le_bytes());
    std::fs::write(&path, &tampered).unwrap();

    // On its own thread, so a reader that does run Argon2 fails this test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let message = runtime.block_on(assert_corrupt_and_untouched(&cache, "memory cost"));
        let _ = tx.send(message);
    });
    let message = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("refused without running Argon2 with the header's costs");
    assert!(
        message.contains("1048576 KiB") && message.contains("100 passes"),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), tampered);
}

#[tokio::test]
async fn argon2_costs_above_the_caches_own_are_refused_unless_configured() {
    let (_dir, path) = temp_path();
    // Written with 3 passes: more than the defaults (2) and than a (64, 1, 1) cache writes.
    let costly = EncryptedFileCache::with_passphrase(&path, "pw")
        .with_argon2_params(64, 3, 1)
        .unwrap();
    write(&costly, DOC).await;
    let message = assert_corrupt_and_untouched(&with_passphrase(&path, "pw"), "time cost").await;
    assert!(message.contains("with_argon2_params"), "{message}");
    // The cache configured as the writer was reads it.
    assert_eq!(read(&costly).await, DOC);
}

#[tokio::test]
async fn truncated_files_are_corrupt_and_left_alone() {
    for (passphrase, header) in [(false, RAW_HEADER), (true, ARGON2_HEADER)] {
        let (_dir, path) = temp_path();
        let cache = if passphrase {
            with_passphrase(&path, "pw")
        } else {
            EncryptedFileCache::with_key(&path, KEY)
        };
        write(&cache, DOC).await;
        let original = std::fs::read(&path).unwrap();
        let lengths = [
            0,
            1,
            8,
            9,
            header,
            header + NONCE,
            header + NONCE + TAG - 1,
            original.len() - TAG,
            original.len() - 1,
        ];
        for len in lengths {
            std::fs::write(&path, &original[..len]).unwrap();
            let message = assert_corrupt_and_untouched(&cache, "").await;
            // Cut inside the structure: "truncated"; cut inside the ciphertext: the tag fails.
            let expected = if len < header + NONCE + TAG {
                "truncated"
            } else {
                "authentication failed"
            };
            assert!(message.contains(expected), "length {len}: {message}");
        }
    }
}

#[tokio::test]
async fn plain_json_cache_is_never_read_or_overwritten() {
    let (_dir, path) = temp_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, DOC).unwrap();
    let message = assert_corrupt_and_untouched(
        &EncryptedFileCache::with_key(&path, KEY),
        "not an msal-rs encrypted cache",
    )
    .await;
    assert!(message.contains("unencrypted JSON"), "{message}");
    assert_corrupt_and_untouched(
        &with_passphrase(&path, "pw"),
        "not an msal-rs encrypted cache",
    )
    .await;
    // The error never repeats the file's contents.
    assert!(!message.contains("rt-SECRET"), "{message}");
}

#[cfg(unix)]
#[tokio::test]
async fn file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_path();
    write(&EncryptedFileCache::with_key(&path, KEY), DOC).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_is_refused() {
    let (dir, path) = temp_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    let err = cache.modify(ALL, None, &mut |_| Ok(DOC.to_vec())).await;
    assert!(
        matches!(err, Err(CacheError::SymlinkRefused { .. })),
        "{err:?}"
    );
    assert!(!target.exists());
}

#[tokio::test]
async fn salt_is_kept_across_writes_while_the_nonce_changes() {
    let (_dir, path) = temp_path();
    let cache = with_passphrase(&path, "pw");
    write(&cache, DOC).await;
    let first = std::fs::read(&path).unwrap();
    write(&cache, DOC).await;
    let second = std::fs::read(&path).unwrap();
    // A fresh instance (empty key cache) rewriting the file also keeps the salt.
    write(&with_passphrase(&path, "pw"), DOC).await;
    let third = std::fs::read(&path).unwrap();

    assert_eq!(first[..ARGON2_HEADER], second[..ARGON2_HEADER]);
    assert_eq!(first[SALT], third[SALT]);
    let nonce = ARGON2_HEADER..ARGON2_HEADER + NONCE;
    assert_ne!(first[nonce.clone()], second[nonce.clone()]);
    assert_ne!(second[nonce.clone()], third[nonce]);
    assert_ne!(first[ARGON2_HEADER..], second[ARGON2_HEADER..]);

    // A new file gets a new salt.
    let (_dir2, other_path) = temp_path();
    write(&with_passphrase(&other_path, "pw"), DOC).await;
    assert_ne!(std::fs::read(&other_path).unwrap()[SALT], first[SALT]);
}

#[tokio::test]
async fn nonce_changes_with_a_raw_key_too() {
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    write(&cache, DOC).await;
    let first = std::fs::read(&path).unwrap();
    write(&cache, DOC).await;
    let second = std::fs::read(&path).unwrap();
    assert_eq!(first[..RAW_HEADER], second[..RAW_HEADER]);
    assert_ne!(
        first[RAW_HEADER..RAW_HEADER + NONCE],
        second[RAW_HEADER..RAW_HEADER + NONCE]
    );
}

#[tokio::test]
async fn unchanged_passes_through_load_and_modify() {
    for passphrase in [false, true] {
        let (_dir, path) = temp_path();
        let cache = if passphrase {
            with_passphrase(&path, "pw")
        } else {
            EncryptedFileCache::with_key(&path, KEY)
        };
        let version = write(&cache, DOC).await;
        let salt_before = std::fs::read(&path).unwrap();
        assert_eq!(
            cache.load(ALL, Some(version)).await.unwrap(),
            Loaded::Unchanged
        );

        let mut seen = None;
        let newer = cache
            .modify(ALL, Some(version), &mut |current| {
                seen = Some(format!("{current:?}"));
                Ok(b"{\"v\": 2}".to_vec())
            })
            .await
            .unwrap();
        assert_eq!(seen.as_deref(), Some("Unchanged"));
        assert_ne!(newer, version);
        assert_eq!(read(&cache).await, b"{\"v\": 2}");
        if passphrase {
            // The rewrite without reading the header still kept the salt.
            assert_eq!(std::fs::read(&path).unwrap()[SALT], salt_before[SALT]);
        }
        // A stale version gets the decrypted data.
        cache
            .modify(ALL, Some(version), &mut |current| {
                assert_eq!(current, Current::Data(b"{\"v\": 2}"));
                Ok(DOC.to_vec())
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn missing_is_passed_to_the_update() {
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    cache
        .modify(ALL, None, &mut |current| {
            assert_eq!(current, Current::Missing);
            Ok(DOC.to_vec())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn update_error_writes_nothing() {
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    write(&cache, DOC).await;
    let before = std::fs::read(&path).unwrap();
    let err = cache
        .modify(ALL, None, &mut |_| Err(CacheError::store("nope")))
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Store { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn ciphertext_does_not_contain_the_plaintext() {
    for passphrase in [false, true] {
        let (_dir, path) = temp_path();
        let cache = if passphrase {
            with_passphrase(&path, "pw")
        } else {
            EncryptedFileCache::with_key(&path, KEY)
        };
        write(&cache, DOC).await;
        let file = std::fs::read(&path).unwrap();
        assert!(!file.windows(TOKEN.len()).any(|w| w == TOKEN));
        assert!(!file.windows(6).any(|w| w == b"Refres"));
    }
}

#[tokio::test]
async fn debug_shows_no_secret() {
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, [0x41; 32]);
    let debug = format!("{cache:?}");
    assert!(debug.contains("msal_token_cache.bin"), "{debug}");
    assert!(
        !debug.contains("65, 65") && !debug.contains("AAAA"),
        "{debug}"
    );
    let cache = with_passphrase(&path, "my-secret-passphrase");
    let debug = format!("{cache:?}");
    assert!(!debug.contains("my-secret-passphrase"), "{debug}");
    assert!(debug.contains("passphrase"), "{debug}");
}

#[tokio::test]
async fn refresh_lock_is_the_file_caches() {
    let (_dir, path) = temp_path();
    let cache = EncryptedFileCache::with_key(&path, KEY);
    // FileCache coordinates refreshes across processes; the wrapper forwards it.
    let lock = cache.lock_refresh(ALL).await.unwrap();
    assert!(lock.is_some());
}

#[tokio::test]
async fn clones_share_the_store() {
    let (_dir, path) = temp_path();
    let cache = with_passphrase(&path, "pw");
    let clone = cache.clone();
    write(&clone, DOC).await;
    assert_eq!(read(&cache).await, DOC);
}

#[tokio::test]
async fn works_as_a_trait_object() {
    let (_dir, path) = temp_path();
    let store: std::sync::Arc<dyn CacheStore> =
        std::sync::Arc::new(EncryptedFileCache::with_key(&path, KEY));
    store
        .modify(ALL, None, &mut |_| Ok(DOC.to_vec()))
        .await
        .unwrap();
    assert!(matches!(
        store.load(ALL, None).await.unwrap(),
        Loaded::Data { .. }
    ));
}

/// Passes both where an OS keyring works (round trip) and where none does (the documented
/// `Store` error).
#[cfg(feature = "keyring")]
#[tokio::test]
async fn os_keyring_works_or_fails_clearly() {
    let (_dir, path) = temp_path();
    let service = format!("msal-rs-test-{}", std::process::id());
    match EncryptedFileCache::with_os_keyring(&path, &service, "cache-key") {
        Ok(cache) => {
            eprintln!("OS keyring available: round trip");
            write(&cache, DOC).await;
            // A second instance finds the same key in the keyring.
            let again = EncryptedFileCache::with_os_keyring(&path, &service, "cache-key").unwrap();
            assert_eq!(read(&again).await, DOC);
            let debug = format!("{again:?}");
            assert!(debug.contains("OS keyring"), "{debug}");
            if let Ok(entry) = keyring::Entry::new(&service, "cache-key") {
                let _ = entry.delete_credential();
            }
        }
        Err(CacheError::Store { message }) => {
            eprintln!("OS keyring unavailable: {message}");
            assert!(message.contains("keyring is unavailable"), "{message}");
            assert!(message.contains("with_passphrase"), "{message}");
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
}
