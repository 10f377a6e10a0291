//! The config file and its named profiles.
//!
//! `{user config dir}/msal-rs/config.toml` (`$XDG_CONFIG_HOME` or `~/.config` on Linux,
//! `~/Library/Application Support` on macOS, `%APPDATA%` on Windows), or `--config` /
//! `MSAL_CONFIG`:
//!
//! ```toml
//! default_profile = "work"            # used when no --profile / MSAL_PROFILE is given
//!
//! [profiles.work]
//! client_id = "00000000-0000-0000-0000-000000000000"
//! authority = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
//! account = "alice@contoso.com"       # the default account of token, id-token, logout
//!
//! [profiles.home]
//! client_id = "..."
//! oidc_authority = "https://accounts.example.com"
//! tenant = "..."                      # as --tenant
//! cache = "/home/alice/.cache/msal-home.json"
//! plaintext_cache = true
//! ```
//!
//! Precedence: command-line options, then the profile, then environment variables, then the
//! built-in defaults. Unknown keys are errors (a typo never silently does nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::Deserialize;

use crate::cli::GlobalOptions;
use crate::error::CliError;

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// The profile used when none is named.
    default_profile: Option<String>,
    /// The profiles by name.
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile: defaults for the global options, and a default account.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    client_id: Option<String>,
    authority: Option<String>,
    oidc_authority: Option<String>,
    tenant: Option<String>,
    cache: Option<PathBuf>,
    plaintext_cache: Option<bool>,
    account: Option<String>,
}

/// The config file's path: `--config`/`MSAL_CONFIG`, else in the user's config folder.
pub(crate) fn config_path(options: &GlobalOptions) -> Option<PathBuf> {
    options
        .config
        .clone()
        .or_else(|| dirs::config_dir().map(|d| d.join("msal-rs").join("config.toml")))
}

/// Fill the options the command line left unset from the chosen profile (`--profile`,
/// `MSAL_PROFILE` or the file's `default_profile`). No config file and no profile named is
/// fine; a named profile that is missing, or a file that is not valid, is a usage error.
pub(crate) fn apply(options: &mut GlobalOptions, matches: &ArgMatches) -> Result<(), CliError> {
    let Some(path) = config_path(options) else {
        return Ok(());
    };
    let file = match read(&path)? {
        Some(file) => file,
        None if options.profile.is_some() => {
            return Err(CliError::Usage(format!(
                "no profile {:?}: there is no config file {}",
                options.profile.as_deref().unwrap_or_default(),
                path.display()
            )))
        }
        None => return Ok(()),
    };
    let Some(name) = options.profile.clone().or(file.default_profile.clone()) else {
        return Ok(());
    };
    let profile = file.profiles.get(&name).ok_or_else(|| {
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        CliError::Usage(format!(
            "no profile {name:?} in {} (profiles: {})",
            path.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
    })?;
    if profile.authority.is_some() && profile.oidc_authority.is_some() {
        return Err(CliError::Usage(format!(
            "profile {name:?} in {} sets both authority and oidc_authority: keep one",
            path.display()
        )));
    }
    let from_command_line =
        |id: &str| matches!(matches.value_source(id), Some(ValueSource::CommandLine));
    let take = |id: &str, target: &mut Option<String>, value: &Option<String>| {
        if value.is_some() && !from_command_line(id) {
            target.clone_from(value);
        }
    };
    take("client_id", &mut options.client_id, &profile.client_id);
    take("tenant", &mut options.tenant, &profile.tenant);
    // The two authorities exclude each other: one from the command line keeps both of the
    // profile's out; otherwise the profile's replaces either from the environment.
    let cli_authority = from_command_line("authority") || from_command_line("oidc_authority");
    if !cli_authority && (profile.authority.is_some() || profile.oidc_authority.is_some()) {
        options.authority.clone_from(&profile.authority);
        options.oidc_authority.clone_from(&profile.oidc_authority);
    }
    if profile.cache.is_some() && !from_command_line("cache") {
        options.cache.clone_from(&profile.cache);
    }
    if let (Some(plain), false) = (
        profile.plaintext_cache,
        from_command_line("plaintext_cache"),
    ) {
        options.plaintext_cache = plain;
    }
    options.default_account.clone_from(&profile.account);
    options.profile = Some(name);
    Ok(())
}

/// Read and parse the config file; `None` when there is none.
fn read(path: &Path) -> Result<Option<ConfigFile>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(CliError::Usage(format!(
                "cannot read the config file {}: {err}",
                path.display()
            )))
        }
    };
    toml::from_str(&text).map(Some).map_err(|err| {
        CliError::Usage(format!(
            "the config file {} is not valid: {}",
            path.display(),
            err.message()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_parses_and_unknown_keys_are_refused() {
        let file: ConfigFile = toml::from_str(
            "default_profile = \"w\"\n[profiles.w]\nclient_id = \"c\"\naccount = \"a@b\"\n",
        )
        .unwrap();
        assert_eq!(file.default_profile.as_deref(), Some("w"));
        assert_eq!(file.profiles["w"].account.as_deref(), Some("a@b"));
        assert!(toml::from_str::<ConfigFile>("[profiles.w]\nclient = \"c\"\n").is_err());
    }
}
