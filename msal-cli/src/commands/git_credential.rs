//! `msal git-credential get|store|erase`: a git credential helper.
//!
//! git runs the helper with the action as its last argument and writes the request on its
//! stdin as `key=value` lines ending with a blank line or the end of input (see
//! gitcredentials(7)). For `get`, msal answers `username=`, `password=` (an access token, as
//! Azure DevOps and other Entra ID-protected git servers accept it) and
//! `password_expiry_utc=`; for any protocol other than https it answers nothing, so git goes on
//! to its other helpers. `store` and `erase` are read and ignored: the tokens live in msal's
//! own cache (`msal logout` removes them), and what git would store is a short-lived token.
//!
//! Nothing git sends is ever echoed in an error (it may hold a password).

use std::io::Read;

use crate::cli::{GitAction, GitCredentialArgs, GlobalOptions, AZURE_DEVOPS_SCOPE};
use crate::commands::token::{acquire, Want};
use crate::error::CliError;
use crate::output::{display_name, print_stdout, unix_seconds};

/// The most git's request may hold (a few short lines in practice).
const MAX_INPUT: u64 = 64 * 1024;

/// A parsed credential request: its `key=value` attributes in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    attributes: Vec<(String, String)>,
}

impl Request {
    /// The first value of an attribute.
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse git's request: `key=value` lines up to a blank line or the end. A line without `=`
/// is an error that names its number, never its text.
pub(crate) fn parse_request(text: &str) -> Result<Request, CliError> {
    let mut request = Request::default();
    for (number, line) in text.lines().enumerate() {
        if line.is_empty() {
            break;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| {
            CliError::Other(format!(
                "git sent a malformed credential request (line {} is not key=value)",
                number + 1
            ))
        })?;
        request.attributes.push((key.to_owned(), value.to_owned()));
    }
    Ok(request)
}

/// Run the helper.
pub(crate) async fn run(global: &GlobalOptions, args: &GitCredentialArgs) -> Result<(), CliError> {
    let mut input = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT)
        .read_to_string(&mut input)
        .map_err(|err| CliError::Other(format!("cannot read git's request on stdin: {err}")))?;
    let request = parse_request(&input)?;
    drop(input);
    if args.action != GitAction::Get {
        return Ok(());
    }
    if request.get("protocol").is_some_and(|p| p != "https") {
        return Ok(());
    }
    let scopes = if args.scope.is_empty() {
        vec![AZURE_DEVOPS_SCOPE.to_owned()]
    } else {
        args.scope.clone()
    };
    let result = acquire(
        global,
        &Want {
            scopes: &scopes,
            account: args.account.as_deref(),
            no_interaction: args.no_interaction,
            device_code: args.device_code,
            ..Want::default()
        },
    )
    .await?;
    // The username git has (from the URL) is kept; the servers read only the token.
    let username = match (request.get("username"), result.account()) {
        (Some(name), _) if !name.is_empty() => name.to_owned(),
        (_, Some(account)) => display_name(account).to_owned(),
        (_, None) => "msal".to_owned(),
    };
    print_stdout(&format!(
        "username={}\npassword={}\npassword_expiry_utc={}\n",
        username.replace('\n', ""),
        result.access_token(),
        unix_seconds(result.expires_on())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_up_to_the_blank_line() {
        let r = parse_request("protocol=https\nhost=dev.azure.com\npath=a=b\n\nignored\n").unwrap();
        assert_eq!(r.get("protocol"), Some("https"));
        assert_eq!(r.get("path"), Some("a=b"));
        assert_eq!(r.get("ignored"), None);
        assert_eq!(parse_request("").unwrap(), Request::default());
    }

    #[test]
    fn a_malformed_line_is_an_error_that_does_not_repeat_it() {
        let err = parse_request("protocol=https\nhunter2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
