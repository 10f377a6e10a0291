//! `msal ssh-cert`: an OpenSSH certificate for a public key, signed by Entra ID for the
//! signed-in account (what `az ssh cert` does), silent-first like `msal token`.

use std::path::{Path, PathBuf};

use msal::{RsaPublicJwk, SshCertificateRequest};

use crate::cli::{GlobalOptions, SshCertArgs};
use crate::commands::{find_account, names};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;

/// Get the certificate (cached, else through the account's refresh token) and write it.
/// Never signs in: with no usable account it fails with exit code 3 and says to `msal login`.
pub(crate) async fn run(global: &GlobalOptions, args: &SshCertArgs) -> Result<(), CliError> {
    let line = std::fs::read_to_string(&args.public_key)
        .map_err(|e| CliError::Other(format!("cannot read {}: {e}", args.public_key.display())))?;
    let jwk = RsaPublicJwk::from_openssh_public_key(&line)?;
    let key_id = args.key_id.clone().unwrap_or_else(|| jwk.thumbprint());
    let request = SshCertificateRequest::new(key_id, &jwk)?;

    let cache = open_cache(global, KeyPolicy::Existing)?;
    let app = build_app(global, &cache)?;
    let accounts = app.accounts().await?;
    let login = || format!("run `msal login --scope {}` first", args.scope.join(" "));
    let account = match &args.account {
        Some(wanted) => find_account(&accounts, wanted).cloned().ok_or_else(|| {
            CliError::InteractionRequired(format!("{wanted} is not signed in; {}", login()))
        })?,
        None if accounts.len() > 1 => {
            return Err(CliError::Usage(format!(
                "several accounts are signed in ({}): choose one with --account",
                names(&accounts)
            )))
        }
        None => accounts.into_iter().next().ok_or_else(|| {
            CliError::InteractionRequired(format!("no account is signed in; {}", login()))
        })?,
    };
    let result = app
        .acquire_token_silent(&args.scope, &account)
        .ssh_certificate(request)
        .await
        .map_err(|e| match e.is_ui_required() {
            true => CliError::InteractionRequired(format!("{e}; {}", login())),
            false => e.into(),
        })?;
    let certificate = result.access_token();
    // The answer goes into a one-line file ssh parses: nothing but base64 may go in it.
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    if certificate.is_empty() || !certificate.chars().all(is_b64) {
        return Err(CliError::Other(
            "the identity provider's SSH certificate is not base64".into(),
        ));
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| certificate_path(&args.public_key));
    std::fs::write(
        &output,
        format!("ssh-rsa-cert-v01@openssh.com {certificate}\n"),
    )
    .map_err(|e| CliError::Other(format!("cannot write {}: {e}", output.display())))?;
    eprintln!("msal: SSH certificate written to {}", output.display());
    Ok(())
}

/// `id_rsa.pub` -> `id_rsa-cert.pub` (where ssh looks for a key's certificate).
fn certificate_path(public_key: &Path) -> PathBuf {
    let name = public_key
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".pub").unwrap_or(&name);
    public_key.with_file_name(format!("{stem}-cert.pub"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_goes_where_ssh_looks() {
        assert_eq!(
            certificate_path(Path::new("/h/.ssh/id_rsa.pub")),
            Path::new("/h/.ssh/id_rsa-cert.pub")
        );
        assert_eq!(
            certificate_path(Path::new("key")),
            Path::new("key-cert.pub")
        );
    }
}
