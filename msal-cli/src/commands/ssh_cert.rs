//! `msal ssh-cert`: an OpenSSH certificate for a public key, signed by Entra ID for the
//! signed-in account (what `az ssh cert` does), silent-first like `msal token`.

use std::path::{Path, PathBuf};

use msal::{Account, AuthenticationResult, PublicClientApplication};
use msal::{RsaPublicJwk, SshCertificateRequest};

use crate::cli::{GlobalOptions, SshCertArgs};
use crate::commands::{choose_account, report_signed_in, sign_in, SignIn};
use crate::config::{build_app, open_cache, KeyPolicy};
use crate::error::CliError;

/// Get the certificate (cached, else through the account's refresh token, else from a
/// sign-in that asks for it) and write it. With `--no-interaction`, no sign-in: exit code 3
/// and the `msal login` command to run.
pub(crate) async fn run(global: &GlobalOptions, args: &SshCertArgs) -> Result<(), CliError> {
    let line = std::fs::read_to_string(&args.public_key)
        .map_err(|e| CliError::Other(format!("cannot read {}: {e}", args.public_key.display())))?;
    let jwk = RsaPublicJwk::from_openssh_public_key(&line)?;
    let key_id = args.key_id.clone().unwrap_or_else(|| jwk.thumbprint());
    let request = SshCertificateRequest::new(key_id, &jwk)?;

    // Without interaction nothing can be written unless a key exists already: create none.
    let policy = if args.no_interaction {
        KeyPolicy::Existing
    } else {
        KeyPolicy::Create
    };
    let cache = open_cache(global, policy)?;
    let app = build_app(global, &cache)?;
    let wanted = args
        .account
        .as_deref()
        .or(global.default_account.as_deref());
    let why = match choose_account(&app, wanted).await? {
        Some(account) => match silent(&app, args, &account, &request).await? {
            Ok(result) => return write_certificate(args, &result),
            Err(why) => why,
        },
        None => match wanted {
            Some(wanted) => format!("{wanted} is not signed in"),
            None => "no account is signed in".to_owned(),
        },
    };
    if args.no_interaction {
        return Err(CliError::InteractionRequired(format!(
            "{why}; run `msal login --scope {}` first",
            args.scope.join(" ")
        )));
    }
    let result = sign_in(
        &app,
        global,
        &cache,
        SignIn {
            scopes: &args.scope,
            device_code: args.device_code,
            login_hint: wanted.filter(|a| a.contains('@')),
            ssh_certificate: Some(request),
            ..SignIn::default()
        },
    )
    .await?;
    report_signed_in(&result);
    write_certificate(args, &result)
}

/// The certificate without interaction, or (inner `Err`) why a sign-in is needed.
async fn silent(
    app: &PublicClientApplication,
    args: &SshCertArgs,
    account: &Account,
    request: &SshCertificateRequest,
) -> Result<Result<AuthenticationResult, String>, CliError> {
    match app
        .acquire_token_silent(&args.scope, account)
        .ssh_certificate(request.clone())
        .await
    {
        Ok(result) => Ok(Ok(result)),
        Err(e) if e.is_ui_required() => Ok(Err(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Write the certificate in `result` where `args` says (beside the key by default).
fn write_certificate(args: &SshCertArgs, result: &AuthenticationResult) -> Result<(), CliError> {
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
