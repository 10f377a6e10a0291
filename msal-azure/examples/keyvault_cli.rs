// A command-line tool that reads a Key Vault secret as the signed-in user. The first run signs
// in (the browser, or a device code where there is none: SSH, containers); the tokens go to an
// encrypted file, so later runs are silent until the refresh token expires (90 days of
// inactivity).
//
//     KEYVAULT_CLI_CLIENT_ID=<app registration id> \
//     KEYVAULT_CLI_TENANT=<tenant id or domain> \
//     KEYVAULT_CLI_PASSPHRASE=<passphrase protecting the token cache> \
//     cargo run -p msal-azure --example keyvault_cli -- https://<vault>.vault.azure.net/ <secret>
//
// The app registration needs "Allow public client flows" (for the device code) and the
// redirect URI `http://localhost`, and the user the Key Vault "Secrets User" role.
// (Plain comments, not crate docs: msal-azure's crate docs show this file as it is.)
#![allow(missing_docs)]

use std::sync::Arc;

use azure_core::http::{ClientOptions, Transport};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use msal::cache::EncryptedFileCache;
use msal::PublicClientApplication;
use msal_azure::{Interaction, PublicClientCredential};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(vault_url), Some(secret_name)) = (args.next(), args.next()) else {
        return Err("usage: keyvault_cli <vault url> <secret name>".into());
    };
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));

    // The token cache: one encrypted file in the user's cache folder, shared by every run.
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let cache_path = std::path::Path::new(&home).join(".cache/keyvault-cli/msal-cache.bin");
    let cache = EncryptedFileCache::with_passphrase(cache_path, env("KEYVAULT_CLI_PASSPHRASE")?);

    let app = PublicClientApplication::builder(env("KEYVAULT_CLI_CLIENT_ID")?)
        .authority(&format!(
            "https://login.microsoftonline.com/{}",
            env("KEYVAULT_CLI_TENANT")?
        ))
        .cache(cache)
        // Where no browser can be opened, sign in with a device code instead.
        .device_code_fallback(|info| {
            eprintln!(
                "To sign in, open {} and enter the code {}",
                info.verification_uri, info.user_code
            )
        })
        .build()?;
    // Silent first: a cached token, else the cached refresh token; a sign-in only when needed.
    let credential = PublicClientCredential::new(app, Interaction::Interactive);

    let options = SecretClientOptions {
        client_options: ClientOptions {
            // Continuous access evaluation: pass the vault's claims challenges to the credential.
            per_try_policies: vec![credential.claims_challenge_policy()],
            // This example builds azure_core without its own HTTP client (see `transport`
            // below); with azure_core's default features, leave `transport` unset.
            transport: Some(Transport::new(Arc::new(transport::Reqwest::default()))),
            ..ClientOptions::default()
        },
        ..SecretClientOptions::default()
    };
    let client = SecretClient::new(&vault_url, Arc::new(credential), Some(options))?;

    let secret = client.get_secret(&secret_name, None).await?.into_model()?;
    println!("{}", secret.value.unwrap_or_default());
    Ok(())
}

/// An `azure_core` HTTP client on reqwest 0.12, the version msal-rs already uses, so that the
/// program carries one HTTP stack (azure_core's default features bring reqwest 0.13).
mod transport {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use azure_core::error::ErrorKind;
    use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
    use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};

    #[derive(Debug, Default)]
    pub(crate) struct Reqwest(reqwest::Client);

    #[async_trait]
    impl HttpClient for Reqwest {
        async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
            let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
                .map_err(|e| azure_core::Error::new(ErrorKind::Other, e))?;
            let mut builder = self.0.request(method, request.url().as_str());
            for (name, value) in request.headers().iter() {
                builder = builder.header(name.as_str(), value.as_str());
            }
            match request.body() {
                Body::Bytes(bytes) => builder = builder.body(bytes.to_vec()),
                Body::SeekableStream(_) => {
                    return Err(azure_core::Error::with_message(
                        ErrorKind::Other,
                        "streamed request bodies are not supported by this example transport",
                    ))
                }
            }
            let response = builder
                .send()
                .await
                .map_err(|e| azure_core::Error::new(ErrorKind::Io, e))?;
            let status = StatusCode::from(response.status().as_u16());
            let headers: HashMap<HeaderName, HeaderValue> = response
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    let value = value.to_str().ok()?.to_owned();
                    Some((HeaderName::from(name.as_str().to_owned()), value.into()))
                })
                .collect();
            let body = response
                .bytes()
                .await
                .map_err(|e| azure_core::Error::new(ErrorKind::Io, e))?;
            Ok(AsyncRawResponse::from_bytes(
                status,
                Headers::from(headers),
                body,
            ))
        }
    }
}
