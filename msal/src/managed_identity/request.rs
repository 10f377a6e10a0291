//! Each source's token request: method, api-version, the user-assigned id's parameter name,
//! headers. Recorded from MSAL Python (see `shared/spec/managed-identity.md`).

use super::source::ManagedIdentitySource;
use msal_core::{ManagedIdentityId, Secret};

use super::error::{ManagedIdentityError, ManagedIdentityErrorKind};
use super::source::SourceConfig;

/// What one token request asks.
pub(crate) struct TokenRequest<'a> {
    pub config: &'a SourceConfig,
    pub id: &'a ManagedIdentityId,
    pub resource: &'a str,
    /// Hex SHA-256 of the token a claims challenge replaces (Service Fabric).
    pub token_sha256_to_refresh: Option<&'a str>,
    /// Sent as `xms_cc` (Service Fabric).
    pub client_capabilities: &'a [String],
    pub correlation_id: &'a str,
}

/// The query parameter names of a user-assigned id (client id, resource id, object id).
fn id_parameter(
    source: ManagedIdentitySource,
    id: &ManagedIdentityId,
) -> Option<(&'static str, &str)> {
    use ManagedIdentitySource::*;
    let names = match source {
        Imds => ["client_id", "msi_res_id", "object_id"],
        // App Service calls the resource id `mi_res_id`.
        AppService => ["client_id", "mi_res_id", "object_id"],
        // Azure ML's 2017 API spells the client id `clientid` (MSAL Python's workaround).
        MachineLearning => ["clientid", "msi_res_id", "object_id"],
        // Service Fabric's identity is configured in the cluster; Arc and Cloud Shell have
        // only the system-assigned one (rejected before a request is built).
        ServiceFabric | AzureArc | CloudShell => return None,
    };
    match id {
        ManagedIdentityId::UserAssignedClientId(v) => Some((names[0], v)),
        ManagedIdentityId::UserAssignedResourceId(v) => Some((names[1], v)),
        ManagedIdentityId::UserAssignedObjectId(v) => Some((names[2], v)),
        _ => None,
    }
}

/// Build the request; `arc_authorization` is the key file's content for Arc's second leg.
pub(crate) fn build(
    req: &TokenRequest<'_>,
    arc_authorization: Option<&str>,
) -> Result<http::Request<Vec<u8>>, ManagedIdentityError> {
    use ManagedIdentitySource::*;
    let source = req.config.source;
    let mut url = req.config.endpoint.clone();
    let api_version = match source {
        Imds => "2018-02-01",
        AppService => "2019-08-01",
        MachineLearning => "2017-09-01",
        ServiceFabric => "2019-07-01-preview",
        AzureArc => "2020-06-01",
        CloudShell => "",
    };
    let mut body = Vec::new();
    if source == CloudShell {
        // Cloud Shell takes a form POST (MSAL.NET's shape).
        body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("resource", req.resource)
            .finish()
            .into_bytes();
    } else {
        let mut query = url.query_pairs_mut();
        query.append_pair("api-version", api_version);
        query.append_pair("resource", req.resource);
        if let Some((name, value)) = id_parameter(source, req.id) {
            query.append_pair(name, value);
        }
        if source == ServiceFabric {
            if let Some(hash) = req.token_sha256_to_refresh {
                query.append_pair("token_sha256_to_refresh", hash);
            }
            if !req.client_capabilities.is_empty() {
                query.append_pair("xms_cc", &req.client_capabilities.join(","));
            }
        }
    }
    let secret = req.config.secret.as_ref().map(Secret::expose_secret);
    let mut builder = http::Request::builder()
        .method(if source == CloudShell { "POST" } else { "GET" })
        .uri(url.as_str());
    builder = match source {
        Imds => builder
            .header("Metadata", "true")
            .header("x-ms-client-request-id", req.correlation_id),
        AppService => builder
            .header("X-IDENTITY-HEADER", secret.unwrap_or_default())
            .header("Metadata", "true"),
        MachineLearning => builder.header("secret", secret.unwrap_or_default()),
        ServiceFabric => builder.header("Secret", secret.unwrap_or_default()),
        AzureArc => {
            let builder = builder.header("Metadata", "true");
            match arc_authorization {
                Some(key) => builder.header("Authorization", format!("Basic {key}")),
                None => builder,
            }
        }
        CloudShell => builder
            .header("Metadata", "true")
            .header("Content-Type", "application/x-www-form-urlencoded"),
    };
    builder.body(body).map_err(|_| {
        ManagedIdentityError::new(
            source,
            ManagedIdentityErrorKind::Configuration,
            None,
            format!("the request to {source} cannot be built: the endpoint, the identity header or secret, or the Arc key file holds characters an HTTP request cannot carry"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed_identity::environment::ManagedIdentityEnvironment;
    use crate::managed_identity::source::configure;

    fn request_for(
        source: ManagedIdentitySource,
        vars: &[(&str, &str)],
    ) -> Result<http::Request<Vec<u8>>, ManagedIdentityError> {
        let env = ManagedIdentityEnvironment::from_vars(vars.iter().copied());
        let config = configure(source, &env).unwrap();
        build(
            &TokenRequest {
                config: &config,
                id: &ManagedIdentityId::SystemAssigned,
                resource: "https://r/",
                token_sha256_to_refresh: None,
                client_capabilities: &[],
                correlation_id: "corr-1",
            },
            None,
        )
    }

    #[test]
    fn imds_sends_the_correlation_id() {
        let r = request_for(ManagedIdentitySource::Imds, &[]).unwrap();
        assert_eq!(r.headers()["x-ms-client-request-id"], "corr-1");
        assert_eq!(r.headers()["Metadata"], "true");
    }

    #[test]
    fn a_header_value_a_request_cannot_carry_is_an_error_not_a_panic() {
        let e = request_for(
            ManagedIdentitySource::AppService,
            &[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/t"),
                ("IDENTITY_HEADER", "bad\nheader-secret"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.kind, ManagedIdentityErrorKind::Configuration);
        assert!(!e.message.contains("header-secret"), "{e}");
    }
}
