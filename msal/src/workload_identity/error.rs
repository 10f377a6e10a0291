//! Why workload identity cannot be used.

use std::path::PathBuf;

/// Why workload identity cannot be used. None holds a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadIdentityError {
    /// A variable workload identity needs is not set (or empty).
    #[error("{0} is not set: workload identity needs AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (the Azure Workload Identity webhook sets them in pods whose service account is annotated with azure.workload.identity/client-id)")]
    MissingVariable(&'static str),
    /// The federated token file cannot be read.
    #[error("the federated token file {} cannot be read: {reason}", path.display())]
    TokenFileUnreadable {
        /// The file (`AZURE_FEDERATED_TOKEN_FILE`).
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The federated token file is empty.
    #[error("the federated token file {} is empty", path.display())]
    TokenFileEmpty {
        /// The file (`AZURE_FEDERATED_TOKEN_FILE`).
        path: PathBuf,
    },
    /// The token in the file has expired: the kubelet has not rotated it.
    #[error("the federated token in {} expired at {expired_at} (Unix seconds) and has not been rotated: check the pod's service account token projection", path.display())]
    TokenExpired {
        /// The file (`AZURE_FEDERATED_TOKEN_FILE`).
        path: PathBuf,
        /// The token's `exp`.
        expired_at: u64,
    },
}
