//! Peak memory of a web API serving distinct on-behalf-of callers: every request carries a new
//! incoming assertion, so each one gets a partition of its own in the confidential client's
//! in-memory cache. Prints the process's peak resident set (VmHWM) after each checkpoint.
//!
//!     cargo run --release -p msal-bench --bin msal-bench-obo-memory -- [requests] [max partitions]
//!
//! The token endpoint is in process (no network): it answers every grant at once with a token
//! of realistic size (1.6 KB access token, as Entra issues).

use std::sync::Arc;

use msal::http::{HttpClient, HttpError};
use msal::ConfidentialClientApplication;
use serde_json::json;

const CLIENT: &str = "9f1c3e2a-1111-4a2b-9c3d-0123456789ab";
const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";

/// Answers every token request with a new 1.6 KB access token.
struct InstantTokenEndpoint {
    body: Vec<u8>,
}

#[async_trait::async_trait]
impl HttpClient for InstantTokenEndpoint {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(self.body.clone())
            .expect("a valid response"))
    }
}

/// The peak resident set of this process, in KiB (Linux; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let max_partitions: Option<usize> = args.next().map(|a| a.parse()).transpose()?;
    let body = serde_json::to_vec(&json!({
        "token_type": "Bearer",
        "access_token": "a".repeat(1_600),
        "expires_in": 3600,
        "scope": "https://graph.microsoft.com/User.Read",
    }))?;
    let mut builder = ConfidentialClientApplication::builder(CLIENT)
        .authority(&format!("https://login.microsoftonline.com/{TENANT}"))
        .client_secret("bench-secret")
        .http_client(Arc::new(InstantTokenEndpoint { body }));
    if let Some(max) = max_partitions {
        builder = builder.max_partitions_in_memory(max);
    }
    let app = builder.build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    println!("requests,peak_rss_mib,elapsed_s");
    runtime.block_on(async {
        for i in 1..=requests {
            // A JWT-shaped incoming token of a realistic size, distinct per caller.
            let assertion = format!("eyJhbGciOiJSUzI1NiJ9.{i:0>900}.sig");
            app.acquire_token_on_behalf_of(assertion, ["https://graph.microsoft.com/User.Read"])
                .await?;
            if i.is_power_of_two() || i % 100_000 == 0 || i == requests {
                println!(
                    "{i},{:.1},{:.1}",
                    peak_rss_kib() as f64 / 1024.0,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok::<_, msal::Error>(())
    })?;
    Ok(())
}
