//! `msal completion <shell>`: a completion script, generated from the command line's
//! definition by `clap_complete` (so it always matches this build's options).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::CliError;

/// `msal completion`.
#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. Load it with e.g.
    /// `source <(msal completion bash)`, `msal completion zsh > "${fpath[1]}/_msal"` or
    /// `msal completion fish > ~/.config/fish/completions/msal.fish`.
    #[arg(value_enum)]
    pub shell: Shell,
}

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
