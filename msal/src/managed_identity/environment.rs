//! Where a managed identity app reads its configuration: the process environment, or a map
//! the caller gives (tests, and apps that know where they run), so that nothing ever has to
//! change the process environment to point msal-rs somewhere else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The variables the sources are detected and configured from.
const VARIABLES: &[&str] = &[
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZUREPS_HOST_ENVIRONMENT",
    "ProgramFiles",
    "ProgramData",
];

/// The environment a [`ManagedIdentityApplication`](crate::ManagedIdentityApplication) is
/// configured from: variables such as `IDENTITY_ENDPOINT`, and where the Azure Arc agent
/// lives.
///
/// The default is [`from_process`](Self::from_process). Tests (and apps that know where they
/// run) pass [`from_vars`](Self::from_vars) to the builder's
/// [`environment`](crate::ManagedIdentityApplicationBuilder::environment) instead of changing
/// the process environment. `Debug` prints the variables' names, never their values (some are
/// secrets).
#[derive(Clone)]
pub struct ManagedIdentityEnvironment {
    vars: HashMap<String, String>,
    arc_agent: Option<PathBuf>,
    arc_token_folder: Option<PathBuf>,
}

impl ManagedIdentityEnvironment {
    /// The process environment, and the Arc agent where it is installed
    /// (`/opt/azcmagent/bin/himds` on Linux, `%ProgramFiles%\AzureConnectedMachineAgent\himds.exe`
    /// on Windows) with its token folder (`/var/opt/azcmagent/tokens`,
    /// `%ProgramData%\AzureConnectedMachineAgent\Tokens`).
    pub fn from_process() -> Self {
        let vars = VARIABLES
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)))
            .collect::<HashMap<_, _>>();
        let mut env = ManagedIdentityEnvironment {
            vars,
            arc_agent: None,
            arc_token_folder: None,
        };
        if cfg!(target_os = "linux") {
            env.arc_agent = Some("/opt/azcmagent/bin/himds".into());
            env.arc_token_folder = Some("/var/opt/azcmagent/tokens".into());
        } else if cfg!(windows) {
            env.arc_agent = env
                .var("ProgramFiles")
                .map(|p| Path::new(p).join(r"AzureConnectedMachineAgent\himds.exe"));
            env.arc_token_folder = env
                .var("ProgramData")
                .map(|p| Path::new(p).join(r"AzureConnectedMachineAgent\Tokens"));
        }
        env
    }

    /// Exactly these variables, and no Arc agent installed (unless
    /// [`arc_agent`](Self::arc_agent) says otherwise).
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        ManagedIdentityEnvironment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            arc_agent: None,
            arc_token_folder: None,
        }
    }

    /// The file whose presence means the Azure Arc agent is installed.
    pub fn arc_agent(mut self, path: impl Into<PathBuf>) -> Self {
        self.arc_agent = Some(path.into());
        self
    }

    /// The folder the Azure Arc agent writes its challenge key files to; a challenge naming a
    /// file anywhere else is refused.
    pub fn arc_token_folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.arc_token_folder = Some(folder.into());
        self
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Whether the Arc agent is installed (a `stat` of its binary: the one file-system access
    /// detection makes).
    pub(crate) fn arc_agent_installed(&self) -> bool {
        self.arc_agent.as_deref().is_some_and(Path::is_file)
    }

    pub(crate) fn arc_token_folder_path(&self) -> Option<&Path> {
        self.arc_token_folder.as_deref()
    }
}

impl Default for ManagedIdentityEnvironment {
    fn default() -> Self {
        Self::from_process()
    }
}

impl std::fmt::Debug for ManagedIdentityEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("ManagedIdentityEnvironment")
            .field("variables_set", &names)
            .field("arc_agent", &self.arc_agent)
            .field("arc_token_folder", &self.arc_token_folder)
            .finish()
    }
}
