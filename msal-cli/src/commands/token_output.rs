//! How `msal token` prints a token (shared by the user, managed-identity and
//! workload-identity paths): the token alone, `--output`/`--json`, or `--exec-credential`.

use msal::AuthenticationResult;

use crate::cli::TokenArgs;
use crate::commands::exec_credential;
use crate::error::CliError;
use crate::output::{print_result_as, OutputFormat};

/// Print a token in the format the options ask for.
pub(super) fn print_token(result: &AuthenticationResult, args: &TokenArgs) -> Result<(), CliError> {
    if args.exec_credential {
        return exec_credential::print(result);
    }
    let format = if args.json {
        Some(OutputFormat::Json)
    } else {
        args.output
    };
    print_result_as(result, format)
}
