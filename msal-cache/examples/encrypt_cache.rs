//! Encrypt a plain unified-schema cache file with a passphrase, as `msal` does with
//! `MSAL_CACHE_PASSPHRASE`, e.g. to benchmark the `msal` tool on a large encrypted cache:
//!
//! ```text
//! MSAL_CACHE_PASSPHRASE=... cargo run --release -p msal-cache --example encrypt_cache -- IN.json OUT.bin
//! ```
//!
//! OUT.bin must not exist yet (an existing encrypted cache is never overwritten by this tool).

use msal_cache::{CacheStore, EncryptedFileCache, Partition};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        return Err(
            "usage: encrypt_cache IN.json OUT.bin (passphrase in MSAL_CACHE_PASSPHRASE)".into(),
        );
    };
    if std::path::Path::new(&output).exists() {
        return Err(format!("{output} exists: not overwritten").into());
    }
    let passphrase = std::env::var("MSAL_CACHE_PASSPHRASE")
        .map_err(|_| "set MSAL_CACHE_PASSPHRASE to the passphrase")?;
    let plain = std::fs::read(&input)?;
    let cache = EncryptedFileCache::with_passphrase(&output, passphrase);
    cache
        .modify(Partition::All, None, &mut |_| Ok(plain.clone()))
        .await?;
    eprintln!("encrypted {input} ({} bytes) into {output}", plain.len());
    Ok(())
}
