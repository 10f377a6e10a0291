//! Azure region auto-detection for confidential clients (MSAL.NET
//! `WithAzureRegion(ConfidentialClientApplication.AttemptRegionDiscovery)`).
//!
//! The region comes from, in order:
//! 1. the `REGION_NAME` variable (Azure Functions and App Service set it, e.g. `West US 2`;
//!    spaces are dropped and it is lowercased, as MSAL.NET does);
//! 2. the Azure Instance Metadata Service: `GET http://169.254.169.254/metadata/instance/compute/location?format=text&api-version=2021-01-01`
//!    with `Metadata: true`, bounded by [`IMDS_TIMEOUT`] and never retried (off Azure nothing
//!    answers there, and every token request would otherwise pay for it). The host comes from
//!    `AZURE_POD_IDENTITY_AUTHORITY_HOST` when set, as for managed identity, so tests point it at
//!    loopback.
//!
//! When neither gives a region, requests go to the global endpoint and a `warn` event says so.
//! The answer (a region or none) is kept for the life of the process, per IMDS endpoint: one
//! probe per process, whatever the number of applications, as in MSAL.NET. Concurrent first
//! requests share that one probe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::http::HttpClient;

/// How long the IMDS region probe may take (MSAL.NET's 2 seconds).
pub const IMDS_TIMEOUT: Duration = Duration::from_secs(2);

/// IMDS, unless `AZURE_POD_IDENTITY_AUTHORITY_HOST` names another host.
const IMDS_HOST: &str = "http://169.254.169.254";
const LOCATION_PATH: &str =
    "/metadata/instance/compute/location?format=text&api-version=2021-01-01";

/// The variables detection reads.
const VARIABLES: [&str; 2] = ["REGION_NAME", "AZURE_POD_IDENTITY_AUTHORITY_HOST"];

/// The region setting of a confidential client.
#[derive(Debug, Clone)]
pub(crate) enum AzureRegion {
    /// A region the app named.
    Fixed(String),
    /// Detect it on the first app-token request that needs the network.
    AutoDetect(Arc<RegionDetector>),
}

impl AzureRegion {
    /// The region requests go to, detecting it first if needed (`None`: the global endpoint).
    pub(crate) async fn resolve(&self, http: &dyn HttpClient) -> Option<String> {
        match self {
            AzureRegion::Fixed(region) => Some(region.clone()),
            AzureRegion::AutoDetect(detector) => detector.region(http).await,
        }
    }
}

/// Finds the Azure region this process runs in.
#[derive(Debug)]
pub(crate) struct RegionDetector {
    region_name: Option<String>,
    imds_url: String,
}

type ProbeCell = Arc<OnceCell<Option<String>>>;

/// What IMDS answered, per endpoint, for the life of the process.
fn probes() -> &'static Mutex<HashMap<String, ProbeCell>> {
    static PROBES: OnceLock<Mutex<HashMap<String, ProbeCell>>> = OnceLock::new();
    PROBES.get_or_init(Default::default)
}

impl RegionDetector {
    /// A detector reading `vars` (`None`: the process environment).
    pub(crate) fn new(vars: Option<&HashMap<String, String>>) -> Self {
        let var = |name: &str| -> Option<String> {
            match vars {
                Some(vars) => vars.get(name).cloned(),
                None => std::env::var(name).ok(),
            }
            .filter(|v| !v.trim().is_empty())
        };
        let host = var(VARIABLES[1]).unwrap_or_else(|| IMDS_HOST.to_owned());
        RegionDetector {
            region_name: var(VARIABLES[0]),
            imds_url: format!("{}{LOCATION_PATH}", host.trim().trim_end_matches('/')),
        }
    }

    /// The region, or `None` for the global endpoint.
    pub(crate) async fn region(&self, http: &dyn HttpClient) -> Option<String> {
        if let Some(name) = &self.region_name {
            match normalise_region(name) {
                Some(region) => return Some(region),
                None => tracing::warn!("REGION_NAME is not an Azure region name; asking IMDS"),
            }
        }
        let cell = {
            let mut map = probes().lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(self.imds_url.clone()).or_default())
        };
        cell.get_or_init(|| self.probe(http)).await.clone()
    }

    async fn probe(&self, http: &dyn HttpClient) -> Option<String> {
        // Tokio's timer needs a runtime; outside one (futures driven by the caller) the
        // transport's own timeout is the bound, as for the engine's other waits.
        let outcome = if tokio::runtime::Handle::try_current().is_ok() {
            match tokio::time::timeout(IMDS_TIMEOUT, self.ask_imds(http)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("IMDS did not answer within {IMDS_TIMEOUT:?}")),
            }
        } else {
            self.ask_imds(http).await
        };
        match outcome {
            Ok(region) => {
                tracing::info!(region = %region, "Azure region detected from IMDS");
                Some(region)
            }
            Err(reason) => {
                tracing::warn!(
                    reason = %reason,
                    "Azure region auto-detection failed (no REGION_NAME, no answer from IMDS); \
                     using the global endpoint"
                );
                None
            }
        }
    }

    async fn ask_imds(&self, http: &dyn HttpClient) -> Result<String, String> {
        let request = http::Request::get(&self.imds_url)
            .header("Metadata", "true")
            .body(Vec::new())
            .map_err(|e| format!("the IMDS URL is unusable ({e})"))?;
        let response = http
            .send(request)
            .await
            .map_err(|e| format!("IMDS could not be reached ({e})"))?;
        if !response.status().is_success() {
            return Err(format!("IMDS answered HTTP {}", response.status().as_u16()));
        }
        let body = String::from_utf8_lossy(response.body());
        normalise_region(&body).ok_or_else(|| "IMDS answered something that is not a region".into())
    }
}

/// `West US 2` -> `westus2`; `None` unless what is left is a region name (letters, digits, `-`).
pub(crate) fn normalise_region(text: &str) -> Option<String> {
    let region: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_normalised_as_msal_net_does() {
        assert_eq!(normalise_region("West US 2").as_deref(), Some("westus2"));
        assert_eq!(normalise_region(" eastus\n").as_deref(), Some("eastus"));
        for bad in ["", "  ", "west/us", "a.b", "<html>"] {
            assert_eq!(normalise_region(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_imds_host_comes_from_the_environment() {
        let vars = HashMap::from([(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(),
            "http://127.0.0.1:9/".to_owned(),
        )]);
        let d = RegionDetector::new(Some(&vars));
        assert_eq!(
            d.imds_url,
            "http://127.0.0.1:9/metadata/instance/compute/location?format=text&api-version=2021-01-01"
        );
        let d = RegionDetector::new(Some(&HashMap::new()));
        assert!(d.imds_url.starts_with("http://169.254.169.254/"));
    }
}
