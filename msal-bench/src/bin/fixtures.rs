//! `msal-bench-fixtures --accounts N --out FILE [--expires-on UNIX]`: write a deterministic
//! unified-schema cache of N accounts to FILE (and its metadata to FILE.meta.json).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use msal_bench::fixtures;

/// Write a deterministic unified-schema token cache (MSAL Python dialect).
#[derive(Parser)]
#[command(name = "msal-bench-fixtures")]
struct Args {
    /// Number of signed-in accounts.
    #[arg(long)]
    accounts: usize,
    /// Where to write the cache; its metadata goes to `<out>.meta.json`.
    #[arg(long)]
    out: PathBuf,
    /// `expires_on` of every access token (Unix seconds); default 2100-01-01.
    #[arg(long, default_value_t = fixtures::DEFAULT_EXPIRES_ON)]
    expires_on: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let t = Instant::now();
    let size = fixtures::write_unified_cache_file(&args.out, args.accounts, args.expires_on)?;
    eprintln!(
        "wrote {} accounts, {:.1} MB, to {} in {:.1} s",
        args.accounts,
        size as f64 / 1e6,
        args.out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
