//! The managed identity sources, as a type: what errors and results name.

/// Where managed identity tokens come from: chosen from the environment, in MSAL's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManagedIdentitySource {
    /// The Azure Instance Metadata Service of a VM, scale set, AKS node or Container Instance.
    Imds,
    /// App Service, Azure Functions and Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
    AppService,
    /// An Azure Arc-enabled server (the Arc agent's local endpoint).
    AzureArc,
    /// Azure Cloud Shell (`MSI_ENDPOINT` alone).
    CloudShell,
    /// Service Fabric (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`).
    ServiceFabric,
    /// Azure Machine Learning compute (`MSI_ENDPOINT` + `MSI_SECRET`).
    MachineLearning,
}

impl ManagedIdentitySource {
    /// A readable name, as error messages use it.
    pub fn name(self) -> &'static str {
        match self {
            ManagedIdentitySource::Imds => "IMDS",
            ManagedIdentitySource::AppService => "App Service",
            ManagedIdentitySource::AzureArc => "Azure Arc",
            ManagedIdentitySource::CloudShell => "Cloud Shell",
            ManagedIdentitySource::ServiceFabric => "Service Fabric",
            ManagedIdentitySource::MachineLearning => "Azure Machine Learning",
        }
    }
}

impl std::fmt::Display for ManagedIdentitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
