//! How much a silent call costs the cache store, pinned for whichever backend
//! `MSAL_TEST_BACKEND` selects: a hit is one `load` answered "unchanged" (no data moved); a
//! refresh adds one more version check under the refresh lock and one `modify` that is handed
//! `Unchanged` (the store neither re-reads nor the facade re-parses the cache).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use msal::cache::{
    CacheError, CacheStore, Current, Loaded, Partition, RefreshLock, StoreVersion, UpdateFn,
};
use msal::TokenSource;
use msal_tests::harness::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[derive(Default)]
struct Counts {
    loads: AtomicUsize,
    loads_unchanged: AtomicUsize,
    modifies: AtomicUsize,
    updates_given_unchanged: AtomicUsize,
    refresh_locks: AtomicUsize,
}

impl Counts {
    fn get(&self) -> [usize; 5] {
        [
            self.loads.load(Ordering::SeqCst),
            self.loads_unchanged.load(Ordering::SeqCst),
            self.modifies.load(Ordering::SeqCst),
            self.updates_given_unchanged.load(Ordering::SeqCst),
            self.refresh_locks.load(Ordering::SeqCst),
        ]
    }
}

/// Counts every call into the store it wraps.
#[derive(Clone)]
struct Counting {
    inner: TestStore,
    counts: Arc<Counts>,
}

#[async_trait::async_trait]
impl CacheStore for Counting {
    async fn load(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
    ) -> Result<Loaded, CacheError> {
        self.counts.loads.fetch_add(1, Ordering::SeqCst);
        let loaded = self.inner.load(partition, known).await?;
        if loaded == Loaded::Unchanged {
            self.counts.loads_unchanged.fetch_add(1, Ordering::SeqCst);
        }
        Ok(loaded)
    }

    async fn modify(
        &self,
        partition: Partition<'_>,
        known: Option<StoreVersion>,
        update: &mut UpdateFn<'_>,
    ) -> Result<StoreVersion, CacheError> {
        self.counts.modifies.fetch_add(1, Ordering::SeqCst);
        let counts = Arc::clone(&self.counts);
        let mut counted = |current: Current<'_>| {
            if current == Current::Unchanged {
                counts
                    .updates_given_unchanged
                    .fetch_add(1, Ordering::SeqCst);
            }
            update(current)
        };
        self.inner.modify(partition, known, &mut counted).await
    }

    async fn lock_refresh(
        &self,
        partition: Partition<'_>,
    ) -> Result<Option<RefreshLock>, CacheError> {
        self.counts.refresh_locks.fetch_add(1, Ordering::SeqCst);
        self.inner.lock_refresh(partition).await
    }
}

#[tokio::test]
async fn a_hit_is_one_unchanged_load_and_a_refresh_one_more_check_and_one_write() {
    let h = Harness::new().await;
    h.seed(&CacheDoc::signed_in_with(
        "rt-1",
        "User.Read email openid profile",
        "at-1",
        T0 + 3600,
    ))
    .await;
    let counts = Arc::new(Counts::default());
    let store = Counting {
        inner: h.cache.clone(),
        counts: Arc::clone(&counts),
    };
    let app = msal::PublicClientApplication::builder(CLIENT_ID)
        .http_client(LoopbackTransport::new(&h.server))
        .clock(h.clock.clone())
        .cache(store)
        .build()
        .unwrap();
    let account = h.account();

    // First call in a new app: one load that reads the data (nothing in memory yet).
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::Cache);
    assert_eq!(counts.get(), [1, 0, 0, 0, 0]);

    // A hit: one load, answered "unchanged".
    app.acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(counts.get(), [2, 1, 0, 0, 0]);

    // A refresh: the hit check, the refresh lock, one more version check under it, and one
    // write that is told the store is unchanged, so nothing is read or parsed again.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "at-2",
            Some("rt-2"),
            "User.Read openid profile email",
            3600,
        )))
        .expect(1)
        .mount(&h.server)
        .await;
    h.clock.advance(std::time::Duration::from_secs(3500));
    let r = app
        .acquire_token_silent(["User.Read"], &account)
        .await
        .unwrap();
    assert_eq!(r.source(), TokenSource::IdentityProvider);
    assert_eq!(counts.get(), [4, 3, 1, 1, 1]);
    assert_eq!(refresh_token_secrets(&h.stored().await), vec!["rt-2"]);
}
