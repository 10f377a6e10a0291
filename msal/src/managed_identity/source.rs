//! Which source serves tokens here, and where it is: detection from the environment in MSAL's
//! order, and each source's endpoint and secret.

use std::path::PathBuf;

use msal_core::Secret;
use url::Url;

use super::environment::ManagedIdentityEnvironment;
use super::error::{ManagedIdentityError, ManagedIdentityErrorKind};
pub use super::source_kind::ManagedIdentitySource;

/// IMDS, unless `AZURE_POD_IDENTITY_AUTHORITY_HOST` names another host.
const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// The Arc agent's endpoint when `IDENTITY_ENDPOINT` does not say.
const ARC_ENDPOINT: &str = "http://localhost:40342/metadata/identity/oauth2/token";
/// Cloud Shell's endpoint when `MSI_ENDPOINT` does not say.
const CLOUD_SHELL_ENDPOINT: &str = "http://localhost:50342/oauth2/token";

/// A source's configuration, resolved once when the app is built.
#[derive(Clone)]
pub(crate) struct SourceConfig {
    pub source: ManagedIdentitySource,
    pub endpoint: Url,
    /// `IDENTITY_HEADER` (App Service, Service Fabric) or `MSI_SECRET` (Machine Learning).
    pub secret: Option<Secret>,
    /// Azure Arc: where challenge key files must be.
    pub arc_token_folder: Option<PathBuf>,
}

/// The source this environment provides, in MSAL Python's order: Service Fabric, App Service,
/// Machine Learning, Azure Arc, Cloud Shell, and IMDS when nothing else is found.
pub(crate) fn detect(env: &ManagedIdentityEnvironment) -> ManagedIdentitySource {
    let has = |name: &str| env.var(name).is_some();
    if has("IDENTITY_ENDPOINT") && has("IDENTITY_HEADER") {
        if has("IDENTITY_SERVER_THUMBPRINT") {
            ManagedIdentitySource::ServiceFabric
        } else {
            ManagedIdentitySource::AppService
        }
    } else if has("MSI_ENDPOINT") && has("MSI_SECRET") {
        ManagedIdentitySource::MachineLearning
    } else if (has("IDENTITY_ENDPOINT") && has("IMDS_ENDPOINT")) || env.arc_agent_installed() {
        ManagedIdentitySource::AzureArc
    } else if has("MSI_ENDPOINT")
        || env
            .var("AZUREPS_HOST_ENVIRONMENT")
            .is_some_and(|v| v.starts_with("cloud-shell"))
    {
        ManagedIdentitySource::CloudShell
    } else {
        ManagedIdentitySource::Imds
    }
}

/// The endpoint and secret of `source` from the environment; an error names what is missing.
pub(crate) fn configure(
    source: ManagedIdentitySource,
    env: &ManagedIdentityEnvironment,
) -> Result<SourceConfig, ManagedIdentityError> {
    let missing = |names: &str| {
        ManagedIdentityError::new(
            source,
            ManagedIdentityErrorKind::Configuration,
            None,
            format!("{source} needs the environment variables {names}, which are not set"),
        )
    };
    let secret = |name: &str| env.var(name).map(Secret::new);
    let (endpoint, variable, secret) = match source {
        ManagedIdentitySource::Imds => {
            let host = env
                .var("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                .unwrap_or(IMDS_HOST);
            let url = format!("{}{IMDS_PATH}", host.trim().trim_end_matches('/'));
            (url, "AZURE_POD_IDENTITY_AUTHORITY_HOST", None)
        }
        ManagedIdentitySource::AppService | ManagedIdentitySource::ServiceFabric => {
            let endpoint = env.var("IDENTITY_ENDPOINT");
            let header = secret("IDENTITY_HEADER");
            let (Some(endpoint), Some(header)) = (endpoint, header) else {
                return Err(missing("IDENTITY_ENDPOINT and IDENTITY_HEADER"));
            };
            (
                endpoint.trim().to_owned(),
                "IDENTITY_ENDPOINT",
                Some(header),
            )
        }
        ManagedIdentitySource::MachineLearning => {
            let (Some(endpoint), Some(msi_secret)) =
                (env.var("MSI_ENDPOINT"), secret("MSI_SECRET"))
            else {
                return Err(missing("MSI_ENDPOINT and MSI_SECRET"));
            };
            (endpoint.trim().to_owned(), "MSI_ENDPOINT", Some(msi_secret))
        }
        ManagedIdentitySource::AzureArc => {
            let endpoint = env.var("IDENTITY_ENDPOINT").unwrap_or(ARC_ENDPOINT);
            (endpoint.trim().to_owned(), "IDENTITY_ENDPOINT", None)
        }
        ManagedIdentitySource::CloudShell => {
            let endpoint = env.var("MSI_ENDPOINT").unwrap_or(CLOUD_SHELL_ENDPOINT);
            (endpoint.trim().to_owned(), "MSI_ENDPOINT", None)
        }
    };
    let endpoint = Url::parse(&endpoint)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| {
            ManagedIdentityError::new(
                source,
                ManagedIdentityErrorKind::Configuration,
                None,
                format!("{source}'s endpoint from {variable} is not an http(s) URL: {endpoint:?}"),
            )
        })?;
    Ok(SourceConfig {
        source,
        endpoint,
        secret,
        arc_token_folder: env.arc_token_folder_path().map(PathBuf::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ManagedIdentitySource::*;

    fn env(vars: &[(&str, &str)]) -> ManagedIdentityEnvironment {
        ManagedIdentityEnvironment::from_vars(vars.iter().copied())
    }

    #[test]
    fn detection_follows_msal_order() {
        let all = [
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/t"),
            ("IDENTITY_HEADER", "h"),
            ("IDENTITY_SERVER_THUMBPRINT", "t"),
            ("MSI_ENDPOINT", "http://127.0.0.1:2/t"),
            ("MSI_SECRET", "s"),
            ("IMDS_ENDPOINT", "http://127.0.0.1:3"),
        ];
        assert_eq!(detect(&env(&all)), ServiceFabric);
        assert_eq!(detect(&env(&all[..2])), AppService);
        assert_eq!(
            detect(&env(&all[..2]
                .iter()
                .chain(&all[3..])
                .copied()
                .collect::<Vec<_>>())),
            AppService
        );
        assert_eq!(detect(&env(&all[3..])), MachineLearning);
        assert_eq!(detect(&env(&[all[0], all[5]])), AzureArc);
        assert_eq!(detect(&env(&[all[3]])), CloudShell);
        assert_eq!(
            detect(&env(&[("AZUREPS_HOST_ENVIRONMENT", "cloud-shell/1.0")])),
            CloudShell
        );
        assert_eq!(detect(&env(&[])), Imds);
        assert_eq!(
            detect(&env(&[
                ("IDENTITY_ENDPOINT", "x"),
                ("IDENTITY_HEADER", " ")
            ])),
            Imds,
            "empty is unset"
        );
        let dir = tempfile::tempdir().unwrap();
        let himds = dir.path().join("himds");
        std::fs::write(&himds, b"").unwrap();
        assert_eq!(detect(&env(&[]).arc_agent(&himds)), AzureArc);
        assert_eq!(detect(&env(&[]).arc_agent(dir.path().join("absent"))), Imds);
    }

    #[test]
    fn endpoints_come_from_the_environment() {
        let imds = configure(Imds, &env(&[])).unwrap();
        assert_eq!(
            imds.endpoint.as_str(),
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );
        let pod = configure(
            Imds,
            &env(&[(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                "http://127.0.0.1:8080/",
            )]),
        )
        .unwrap();
        assert_eq!(
            pod.endpoint.as_str(),
            "http://127.0.0.1:8080/metadata/identity/oauth2/token"
        );
        assert_eq!(
            configure(AzureArc, &env(&[])).unwrap().endpoint.as_str(),
            ARC_ENDPOINT
        );
        let e = configure(
            AppService,
            &env(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:1/")]),
        )
        .err()
        .unwrap();
        assert_eq!(e.kind, ManagedIdentityErrorKind::Configuration);
        assert!(e.message.contains("IDENTITY_HEADER"), "{e}");
        let e = configure(
            MachineLearning,
            &env(&[("MSI_ENDPOINT", "not a url"), ("MSI_SECRET", "s")]),
        )
        .err()
        .unwrap();
        assert!(e.message.contains("MSI_ENDPOINT"), "{e}");
        assert!(!e.message.contains('s') || !e.message.contains("\"s\""));
    }
}
