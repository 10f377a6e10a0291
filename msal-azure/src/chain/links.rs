//! Building each link of a [`ChainedCredential`](super::ChainedCredential) from the
//! environment: which variables configure it, and why it is skipped when they do not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use msal::cache::{CacheStore, EncryptedFileCache, FileCache};
use msal::http::HttpClient;
use msal::{
    ClientCertificate, ConfidentialClientApplication, ManagedIdentityApplication,
    ManagedIdentityEnvironment, ManagedIdentityId, ManagedIdentityRetryPolicy,
    ManagedIdentitySource, PublicClientApplication, WorkloadIdentityEnvironment,
};

use crate::{
    ConfidentialClientCredential, Interaction, ManagedIdentityCredential, PublicClientCredential,
    WorkloadIdentityCredential,
};

/// The variables the chain reads (besides the managed identity sources' own).
pub(crate) const VARIABLES: &[&str] = &[
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "MSAL_CLIENT_ID",
    "MSAL_AUTHORITY",
    "MSAL_OIDC_AUTHORITY",
    "MSAL_CACHE",
    "MSAL_CACHE_PASSPHRASE",
];

/// The msal CLI's default authority (work and school accounts).
const CLI_DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/organizations";

/// One link: ready to ask, not configured here (skipped), or configured but unusable (the
/// chain stops there rather than fall back to another identity).
pub(crate) enum Link {
    Ready {
        name: String,
        credential: Arc<dyn TokenCredential>,
        /// For IMDS: how long the first request may take before the link counts as absent.
        probe: Option<Duration>,
    },
    Skipped {
        name: String,
        reason: String,
    },
    Broken {
        name: String,
        reason: String,
    },
}

/// What the links are built from.
pub(crate) struct Inputs {
    pub vars: HashMap<String, String>,
    /// `None`: the process environment (with the Arc agent's detection).
    pub managed_identity_environment: Option<ManagedIdentityEnvironment>,
    pub managed_identity: Option<ManagedIdentityId>,
    pub managed_identity_retry: ManagedIdentityRetryPolicy,
    pub imds_probe: Duration,
    pub http: Option<Arc<dyn HttpClient>>,
    pub developer_app: Option<PublicClientApplication>,
    pub cli_cache_dir: Option<PathBuf>,
}

impl Inputs {
    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Set the transport, when one was given, on any msal builder.
macro_rules! with_http {
    ($builder:expr, $inputs:expr) => {
        match &$inputs.http {
            Some(http) => $builder.http_client(Arc::clone(http)),
            None => $builder,
        }
    };
}

/// `environment`: a client secret or certificate, as azure_identity's `EnvironmentCredential`
/// reads them.
pub(crate) fn environment(inputs: &Inputs) -> Link {
    let name = "environment".to_owned();
    let (Some(tenant), Some(client_id)) =
        (inputs.var("AZURE_TENANT_ID"), inputs.var("AZURE_CLIENT_ID"))
    else {
        return Link::Skipped {
            name,
            reason: "AZURE_TENANT_ID and AZURE_CLIENT_ID are not both set".into(),
        };
    };
    let host = inputs.var("AZURE_AUTHORITY_HOST");
    let authority = format!(
        "{}/{tenant}",
        host.unwrap_or(msal::workload_identity::DEFAULT_AUTHORITY_HOST)
            .trim_end_matches('/')
    );
    let mut builder = ConfidentialClientApplication::builder(client_id).authority(&authority);
    if host.is_some() {
        builder = builder.instance_discovery(false);
    }
    builder = if let Some(secret) = inputs.var("AZURE_CLIENT_SECRET") {
        builder.client_secret(secret)
    } else if let Some(path) = inputs.var("AZURE_CLIENT_CERTIFICATE_PATH") {
        match certificate(
            Path::new(path),
            inputs.var("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
        ) {
            Ok(certificate) => builder.certificate(certificate),
            Err(reason) => return Link::Broken { name, reason },
        }
    } else {
        return Link::Skipped {
            name,
            reason: "neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set".into(),
        };
    };
    match with_http!(builder, inputs).build() {
        Ok(app) => Link::Ready {
            name,
            credential: Arc::new(ConfidentialClientCredential::new(app)),
            probe: None,
        },
        Err(e) => Link::Broken {
            name,
            reason: e.to_string(),
        },
    }
}

/// A certificate file: PKCS#12 (`.pfx`, `.p12`) or PEM holding the certificate and its key.
fn certificate(path: &Path, password: Option<&str>) -> Result<ClientCertificate, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "AZURE_CLIENT_CERTIFICATE_PATH {} cannot be read: {e}",
            path.display()
        )
    })?;
    let pkcs12 = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pfx") || e.eq_ignore_ascii_case("p12"));
    let certificate = match pkcs12 {
        true => ClientCertificate::from_pkcs12(&bytes, password.unwrap_or_default()),
        false => ClientCertificate::from_pem(&bytes, &bytes),
    };
    certificate.map_err(|e| format!("AZURE_CLIENT_CERTIFICATE_PATH {}: {e}", path.display()))
}

/// `workload identity`: `AZURE_FEDERATED_TOKEN_FILE` with the client and tenant.
pub(crate) fn workload_identity(inputs: &Inputs) -> Link {
    let name = "workload identity".to_owned();
    let environment = WorkloadIdentityEnvironment::from_vars(
        inputs.vars.iter().map(|(k, v)| (k.clone(), v.clone())),
    );
    if !environment.is_configured() {
        return Link::Skipped {
            name,
            reason:
                "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID are not all set"
                    .into(),
        };
    }
    let app = ConfidentialClientApplication::workload_identity(environment)
        .and_then(|builder| with_http!(builder, inputs).build());
    match app {
        Ok(app) => Link::Ready {
            name,
            credential: Arc::new(WorkloadIdentityCredential::new(app)),
            probe: None,
        },
        Err(e) => Link::Broken {
            name,
            reason: e.to_string(),
        },
    }
}

/// `managed identity`: the source detected from the environment (IMDS when nothing else
/// matches), user-assigned when `AZURE_CLIENT_ID` is set (as azure_identity's
/// `DefaultAzureCredential` does) unless an id was given.
pub(crate) fn managed_identity(inputs: &Inputs) -> Link {
    let id =
        inputs
            .managed_identity
            .clone()
            .unwrap_or_else(|| match inputs.var("AZURE_CLIENT_ID") {
                Some(client_id) => ManagedIdentityId::UserAssignedClientId(client_id.to_owned()),
                None => ManagedIdentityId::SystemAssigned,
            });
    let environment = inputs
        .managed_identity_environment
        .clone()
        .unwrap_or_else(ManagedIdentityEnvironment::from_process);
    let builder = ManagedIdentityApplication::builder(id)
        .environment(environment)
        .retry_policy(inputs.managed_identity_retry.clone());
    match with_http!(builder, inputs).build() {
        Ok(app) => {
            let source = app.source();
            Link::Ready {
                name: format!("managed identity ({source})"),
                probe: (source == ManagedIdentitySource::Imds).then_some(inputs.imds_probe),
                credential: Arc::new(ManagedIdentityCredential::new(app)),
            }
        }
        Err(e) => Link::Skipped {
            name: "managed identity".into(),
            reason: e.to_string(),
        },
    }
}

/// `developer account`: the account signed in with the msal CLI (`msal login`), from its token
/// cache; never prompts.
pub(crate) fn developer(inputs: &Inputs) -> Link {
    let name = "developer account (msal CLI)".to_owned();
    let credential = |app: PublicClientApplication| Link::Ready {
        name: name.clone(),
        credential: Arc::new(
            PublicClientCredential::builder(app)
                .interaction(Interaction::Fail)
                .sign_in_hint("sign in with `msal login`")
                .build(),
        ),
        probe: None,
    };
    if let Some(app) = &inputs.developer_app {
        return credential(app.clone());
    }
    let Some(client_id) = inputs.var("MSAL_CLIENT_ID") else {
        return Link::Skipped {
            name,
            reason: "MSAL_CLIENT_ID (the msal CLI's client id) is not set".into(),
        };
    };
    let store = match cli_cache(inputs) {
        Ok(store) => store,
        Err(Absent::Skip(reason)) => return Link::Skipped { name, reason },
        Err(Absent::Broken(reason)) => return Link::Broken { name, reason },
    };
    let mut builder = PublicClientApplication::builder(client_id).cache(store);
    builder = match (
        inputs.var("MSAL_OIDC_AUTHORITY"),
        inputs.var("MSAL_AUTHORITY"),
    ) {
        (Some(issuer), _) => builder.oidc_authority(issuer),
        (None, Some(authority)) => builder.authority(authority),
        (None, None) => builder.authority(CLI_DEFAULT_AUTHORITY),
    };
    match with_http!(builder, inputs).build() {
        Ok(app) => credential(app),
        Err(e) => Link::Broken {
            name,
            reason: e.to_string(),
        },
    }
}

enum Absent {
    Skip(String),
    Broken(String),
}

/// The msal CLI's token cache, opened as the CLI opens it: `MSAL_CACHE` or
/// `{user cache dir}/msal-rs/msal_token_cache.{bin,json}`; a `.json` file is plain, any other
/// encrypted with `MSAL_CACHE_PASSPHRASE` or the key file `{cache}.key` (a key in the OS
/// keyring is not read).
fn cli_cache(inputs: &Inputs) -> Result<Arc<dyn CacheStore>, Absent> {
    let path = match inputs.var("MSAL_CACHE") {
        Some(path) => PathBuf::from(path),
        None => {
            let Some(dir) = inputs.cli_cache_dir.clone().or_else(dirs::cache_dir) else {
                return Err(Absent::Skip(
                    "no user cache folder and MSAL_CACHE is not set".into(),
                ));
            };
            let dir = dir.join("msal-rs");
            let bin = dir.join("msal_token_cache.bin");
            match bin.exists() {
                true => bin,
                false => dir.join("msal_token_cache.json"),
            }
        }
    };
    if !path.is_file() {
        return Err(Absent::Skip(format!(
            "no msal CLI token cache at {} (sign in with `msal login`)",
            path.display()
        )));
    }
    if path.extension().is_some_and(|e| e == "json") {
        return Ok(Arc::new(FileCache::new(&path)));
    }
    if let Some(passphrase) = inputs.var("MSAL_CACHE_PASSPHRASE") {
        return Ok(Arc::new(EncryptedFileCache::with_passphrase(
            &path,
            passphrase.to_owned(),
        )));
    }
    let mut key_path = path.as_os_str().to_owned();
    key_path.push(".key");
    let key_path = PathBuf::from(key_path);
    match std::fs::read(&key_path) {
        Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(key) => Ok(Arc::new(EncryptedFileCache::with_key(&path, key))),
            Err(_) => Err(Absent::Broken(format!(
                "the cache key file {} does not hold a 32-byte key",
                key_path.display()
            ))),
        },
        Err(_) => Err(Absent::Skip(format!(
            "the encrypted cache {} has no key file {} and MSAL_CACHE_PASSPHRASE is not set (a key in the OS keyring is not read here)",
            path.display(),
            key_path.display()
        ))),
    }
}
