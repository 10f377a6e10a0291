//! Single-flight: concurrent requests for the same refresh share one task and one result.
//!
//! The work runs as a spawned tokio task, so it completes (and its rotated refresh token is
//! written to the cache) even if every caller that asked for it is dropped; an unfinished
//! refresh whose answer is thrown away could cost the user a rotated, single-use refresh token.
//! The map entry is removed by the task itself when it finishes, successful or not. Outside a
//! Tokio runtime (another executor) the work is not spawned but still shared.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared};

use crate::Error;

type Flight<V> = Shared<BoxFuture<'static, Result<V, Error>>>;

/// A map from key to the in-flight task for it.
pub(crate) struct SingleFlight<K, V: Clone> {
    inflight: Mutex<HashMap<K, (u64, Flight<V>)>>,
    generation: AtomicU64,
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new() -> Self {
        SingleFlight {
            inflight: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// Join the task for `key`, or start `work` as that task. `joined` tells which happened.
    pub(crate) fn run<Fut>(
        self: &Arc<Self>,
        key: K,
        work: impl FnOnce() -> Fut,
    ) -> (Flight<V>, bool)
    where
        Fut: Future<Output = Result<V, Error>> + Send + 'static,
    {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, flight)) = map.get(&key) {
            return (flight.clone(), true);
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let this = Arc::clone(self);
        let task_key = key.clone();
        let fut = work();
        let flight = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let handle = runtime.spawn(async move {
                    let out = fut.await;
                    this.finish(&task_key, generation);
                    out
                });
                async move {
                    handle.await.unwrap_or_else(|e| {
                        Err(Error::Internal(format!("refresh task failed: {e}")))
                    })
                }
                .boxed()
            }
            // Outside a Tokio runtime nothing can be spawned: the callers that share the flight
            // drive it themselves (it then stops if they all go away).
            Err(_) => async move {
                let out = fut.await;
                this.finish(&task_key, generation);
                out
            }
            .boxed(),
        }
        .shared();
        map.insert(key, (generation, flight.clone()));
        (flight, false)
    }

    fn finish(&self, key: &K, generation: u64) {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|(g, _)| *g == generation) {
            map.remove(key);
        }
    }

    /// Number of tasks in flight.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_run_and_the_entry_is_removed() {
        let sf: Arc<SingleFlight<&'static str, u32>> = Arc::new(SingleFlight::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
        let mut waiters = Vec::new();
        for _ in 0..64 {
            let (runs, mut gate) = (runs.clone(), gate_rx.clone());
            let (flight, _) = sf.run("k", move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let _ = gate.wait_for(|open| *open).await;
                Ok(7)
            });
            waiters.push(tokio::spawn(flight));
        }
        gate_tx.send(true).unwrap();
        for w in waiters {
            assert_eq!(w.await.unwrap().unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(sf.len(), 0);
    }

    #[tokio::test]
    async fn work_finishes_even_when_every_caller_is_dropped() {
        let sf: Arc<SingleFlight<u8, u8>> = Arc::new(SingleFlight::new());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (flight, joined) = sf.run(1, move || async move {
            tokio::task::yield_now().await;
            let _ = tx.send(());
            Ok(1)
        });
        assert!(!joined);
        drop(flight);
        rx.await.expect("the task ran to completion");
    }

    #[tokio::test]
    async fn errors_are_shared_and_a_later_call_starts_afresh() {
        let sf: Arc<SingleFlight<u8, u8>> = Arc::new(SingleFlight::new());
        let (f, _) = sf.run(1, || async { Err(Error::InvalidArgument("x".into())) });
        assert!(f.await.is_err());
        tokio::task::yield_now().await;
        let (f, joined) = sf.run(1, || async { Ok(2) });
        assert!(!joined);
        assert_eq!(f.await.unwrap(), 2);
    }
}

#[cfg(test)]
mod no_runtime_tests {
    use super::*;

    #[test]
    fn works_without_a_tokio_runtime() {
        let sf: Arc<SingleFlight<u8, u8>> = Arc::new(SingleFlight::new());
        let (a, _) = sf.run(1, || async { Ok(5) });
        let (b, joined) = sf.run(1, || async { Ok(6) });
        assert!(joined);
        let (a, b) = futures::executor::block_on(futures::future::join(a, b));
        assert_eq!((a.unwrap(), b.unwrap()), (5, 5));
        assert_eq!(sf.len(), 0);
    }
}
