//! The server stores of the bench, filled with `n` accounts (a row or key each) when their test
//! server is configured: `MSAL_TEST_POSTGRES_URL` (`scripts/postgres.sh start`) and
//! `MSAL_TEST_REDIS_URL` (`scripts/redis-server.sh start`). Without one, its rows are skipped
//! with a note. Every run uses a key prefix of its own and removes its rows when done.

use msal_cache::{CacheStore, Partition};

use super::account_json;
use super::common::hid;

/// A filled server store and how to empty it again.
pub(crate) struct Remote {
    pub(crate) name: &'static str,
    pub(crate) store: Box<dyn CacheStore>,
    /// The store's row keys (prefix included), for the clean-up.
    keys: Vec<String>,
    kind: Kind,
}

enum Kind {
    #[cfg(feature = "postgres")]
    Postgres(String),
    #[cfg(feature = "redis")]
    Redis(String),
}

fn prefix(n: usize) -> String {
    format!("bench:{}:{n}:", std::process::id())
}

/// Every configured server store, each holding `n` accounts.
pub(crate) fn filled(rt: &tokio::runtime::Runtime, n: usize) -> Vec<Remote> {
    let mut stores = Vec::new();
    #[cfg(feature = "postgres")]
    match std::env::var("MSAL_TEST_POSTGRES_URL") {
        Ok(url) => stores.push(rt.block_on(postgres_with(url, n))),
        Err(_) => eprintln!("MSAL_TEST_POSTGRES_URL is not set: PostgresCache skipped"),
    }
    #[cfg(feature = "redis")]
    match std::env::var("MSAL_TEST_REDIS_URL") {
        Ok(url) => stores.push(rt.block_on(redis_with(url, n))),
        Err(_) => eprintln!("MSAL_TEST_REDIS_URL is not set: RedisCache skipped"),
    }
    let _ = (rt, n);
    stores
}

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix}{}", Partition::Account(&hid(i)).key()))
        .collect()
}

#[cfg(feature = "postgres")]
async fn postgres_with(url: String, n: usize) -> Remote {
    let prefix = prefix(n);
    // Connecting creates the table.
    let store = msal_cache::PostgresCache::connect(&url)
        .await
        .unwrap()
        .key_prefix(&prefix);
    let (raw, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let keys = keys(&prefix, n);
    for (c, chunk) in keys.chunks(2_000).enumerate() {
        let data: Vec<Vec<u8>> = (0..chunk.len())
            .map(|j| account_json(c * 2_000 + j))
            .collect();
        raw.execute(
            "INSERT INTO msal_cache (partition, version, data) \
             SELECT k, 1, d FROM unnest($1::text[], $2::bytea[]) AS t(k, d)",
            &[&chunk, &data],
        )
        .await
        .unwrap();
    }
    raw.batch_execute("ANALYZE msal_cache").await.unwrap();
    Remote {
        name: "PostgresCache",
        store: Box::new(store),
        keys,
        kind: Kind::Postgres(url),
    }
}

#[cfg(feature = "redis")]
async fn redis_with(url: String, n: usize) -> Remote {
    let prefix = prefix(n);
    let store = msal_cache::RedisCache::new(&url)
        .unwrap()
        .key_prefix(&prefix)
        .ttl_from_token_expiry(false);
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys = keys(&prefix, n);
    for (c, chunk) in keys.chunks(2_000).enumerate() {
        let mut pipe = redis::pipe();
        for (j, key) in chunk.iter().enumerate() {
            pipe.hset_multiple(
                key,
                &[("d", account_json(c * 2_000 + j)), ("v", b"1".to_vec())],
            )
            .ignore();
        }
        let () = pipe.query_async(&mut conn).await.unwrap();
    }
    Remote {
        name: "RedisCache",
        store: Box::new(store),
        keys,
        kind: Kind::Redis(url),
    }
}

impl Remote {
    /// Remove every row or key the bench made.
    pub(crate) fn clear(self, rt: &tokio::runtime::Runtime) {
        match self.kind {
            #[cfg(feature = "postgres")]
            Kind::Postgres(url) => rt.block_on(async {
                let (raw, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                for chunk in self.keys.chunks(10_000) {
                    raw.execute(
                        "DELETE FROM msal_cache WHERE partition = ANY($1)",
                        &[&chunk],
                    )
                    .await
                    .unwrap();
                }
            }),
            #[cfg(feature = "redis")]
            Kind::Redis(url) => rt.block_on(async {
                let mut conn = redis::Client::open(url.as_str())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap();
                for chunk in self.keys.chunks(10_000) {
                    let () = redis::cmd("UNLINK")
                        .arg(chunk)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                }
            }),
        }
    }
}
