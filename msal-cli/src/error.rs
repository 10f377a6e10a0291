//! The tool's errors and their exit codes.

use std::fmt;

/// Why a command failed. `Display` is the one line printed after `msal: error: `; it never
/// holds a token (the facade's and the cache's errors carry none).
#[derive(Debug)]
pub(crate) enum CliError {
    /// Bad or missing configuration (exit code 2, like clap's usage errors).
    Usage(String),
    /// A token could only be had by signing in, which was not allowed (exit code 3).
    InteractionRequired(String),
    /// The facade failed.
    Msal(msal::Error),
    /// The token cache could not be opened or read.
    Cache(msal_cache::CacheError),
    /// The user pressed Ctrl-C during a sign-in (exit code 130, as a shell reports SIGINT).
    Cancelled,
    /// Anything else.
    Other(String),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::InteractionRequired(_) => 3,
            CliError::Cancelled => 130,
            _ => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::InteractionRequired(m) | CliError::Other(m) => {
                f.write_str(m)
            }
            CliError::Cancelled => f.write_str("sign-in cancelled"),
            // A request that got no answer is told by its step and URL (the progress module
            // kept the facade's event); anything else as the facade says it.
            CliError::Msal(e) => match crate::progress::explain(e) {
                Some(explained) => f.write_str(&explained),
                None => write!(f, "{e}"),
            },
            // The cache's messages name the cache already ("token cache ...", "cache file ...").
            CliError::Cache(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<msal::Error> for CliError {
    fn from(e: msal::Error) -> Self {
        CliError::Msal(e)
    }
}

impl From<msal_cache::CacheError> for CliError {
    fn from(e: msal_cache::CacheError) -> Self {
        CliError::Cache(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_errors_are_not_prefixed_twice() {
        let err = CliError::Cache(msal_cache::CacheError::corrupt(
            Some("/x/c.bin".into()),
            "bad magic",
        ));
        let text = err.to_string();
        assert!(
            text.starts_with("token cache /x/c.bin is unreadable"),
            "{text}"
        );
        assert!(text.contains("msal cache reset"), "{text}");
    }
}
