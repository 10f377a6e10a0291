//! `msal token --managed-identity` and `msal token --workload-identity`: tokens for a service
//! running on Azure, with no sign-in. Nothing is written to the token cache file (the app token
//! lives in this process only; the sources cache on their side).

use msal::{
    ConfidentialClientApplication, ManagedIdentityApplication, ManagedIdentityId,
    WorkloadIdentityEnvironment,
};

use crate::cli::{GlobalOptions, TokenArgs};
use crate::error::CliError;
use crate::output::report_source;

/// The scopes as one list (each `--scope` may hold several, space-separated; `--resource`
/// gives `<resource>/.default`).
fn scopes(args: &TokenArgs) -> Vec<String> {
    args.scopes()
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// `msal token --managed-identity`.
pub(super) async fn managed_identity(
    global: &GlobalOptions,
    args: &TokenArgs,
) -> Result<(), CliError> {
    let scopes = scopes(args);
    let [resource] = &scopes[..] else {
        return Err(CliError::Usage(
            "a managed identity token is for one resource: give exactly one --scope, e.g. https://management.azure.com/.default".into(),
        ));
    };
    let client_id = global
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let id = match (client_id, &args.object_id, &args.resource_id) {
        (None, None, None) => ManagedIdentityId::SystemAssigned,
        (Some(c), None, None) => ManagedIdentityId::UserAssignedClientId(c.to_owned()),
        (None, Some(o), None) => ManagedIdentityId::UserAssignedObjectId(o.clone()),
        (None, None, Some(r)) => ManagedIdentityId::UserAssignedResourceId(r.clone()),
        _ => {
            return Err(CliError::Usage(
                "name the user-assigned identity once: --client-id (or MSAL_CLIENT_ID), --object-id or --resource-id".into(),
            ))
        }
    };
    let app = ManagedIdentityApplication::builder(id).build()?;
    if global.verbose {
        eprintln!(
            "msal: managed identity {:?} from {}",
            app.managed_identity(),
            app.source()
        );
    }
    let result = app
        .acquire_token_for_managed_identity(resource)
        .force_refresh(args.force_refresh)
        .await?;
    if global.verbose {
        report_source(&result);
    }
    super::token_output::print_token(&result, args)
}

/// `msal token --workload-identity`.
pub(super) async fn workload_identity(
    global: &GlobalOptions,
    args: &TokenArgs,
) -> Result<(), CliError> {
    let app = ConfidentialClientApplication::workload_identity(
        WorkloadIdentityEnvironment::from_process(),
    )?
    .build()?;
    if global.verbose {
        eprintln!(
            "msal: workload identity {} at {}",
            app.client_id(),
            app.authority().canonical_url()
        );
    }
    let result = app
        .acquire_token_for_client(scopes(args))
        .force_refresh(args.force_refresh)
        .await?;
    if global.verbose {
        report_source(&result);
    }
    super::token_output::print_token(&result, args)
}
