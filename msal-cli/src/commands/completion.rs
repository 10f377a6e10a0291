//! `msal completion <shell>`: a completion script, generated from the command line's
//! definition by `clap_complete` (so it always matches this build's options).

use clap::CommandFactory;

use crate::cli::{Cli, CompletionArgs};
use crate::error::CliError;

/// Print the script on stdout. Needs no client id, cache or network.
pub(crate) fn run(args: &CompletionArgs) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "msal", &mut out);
    let mut out = String::from_utf8(out)
        .map_err(|_| CliError::Other("the completion script is not UTF-8".into()))?;
    // print_stdout adds the final newline.
    if out.ends_with('\n') {
        out.pop();
    }
    crate::output::print_stdout(&out)
}
