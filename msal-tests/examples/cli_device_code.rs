//! Testing a command-line tool that gets its token silently when it can and falls back to the
//! device code flow when it cannot (first run, revoked session). Run with `cargo test -p
//! msal-tests --example cli_device_code`.

use msal::{AuthenticationResult, Error, PublicClientApplication};

// ---------------------------------------------------------------- the code under test

/// The scopes the tool needs.
pub const SCOPES: [&str; 1] = ["User.Read"];

/// A token for the tool: from the cache (or a refresh) for the first signed-in account, else
/// by device code, telling the user what to do through `say`.
pub async fn token(
    app: &PublicClientApplication,
    say: impl Fn(&str) + Send + Sync + 'static,
) -> Result<AuthenticationResult, Error> {
    if let Some(account) = app.accounts().await?.first() {
        match app.acquire_token_silent(SCOPES, account).await {
            Ok(token) => return Ok(token),
            Err(e) if e.is_ui_required() => {}
            Err(e) => return Err(e),
        }
    }
    app.acquire_token_with_device_code(SCOPES, move |info| {
        say(info.message.as_deref().unwrap_or(&info.user_code))
    })
    .await
}

fn main() {
    println!("an example to run as a test: cargo test -p msal-tests --example cli_device_code");
}

// ---------------------------------------------------------------- its tests

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use msal::cache::FileCache;
    use msal::TokenSource;
    use msal_tests::kit::*;

    /// One run of the tool: a new app on the same cache file, as each process would build.
    async fn run(
        entra: &FakeEntra,
        cache: &std::path::Path,
    ) -> (Result<AuthenticationResult, Error>, Vec<String>) {
        let app = entra
            .public_client(PUBLIC_CLIENT_ID)
            .cache(FileCache::new(cache))
            .build()
            .unwrap();
        let said = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&said);
        let result = token(&app, move |m| sink.lock().unwrap().push(m.to_owned())).await;
        let said = said.lock().unwrap().clone();
        (result, said)
    }

    #[tokio::test]
    async fn first_run_uses_the_device_code_then_the_cache_then_a_refresh() {
        let entra = FakeEntra::start().await;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        entra.device_code_pending_polls(2); // the user takes a moment to type the code

        let (first, said) = run(&entra, &cache).await;
        let first = first.unwrap();
        assert_eq!(first.account().unwrap().username, USERNAME);
        assert_eq!(said.len(), 1);
        assert!(
            said[0].contains("https://microsoft.com/devicelogin"),
            "{said:?}"
        );
        entra.assert_token_requests_for(Grant::DeviceCode, 3);

        entra.clear_log();
        let (second, said) = run(&entra, &cache).await;
        assert_eq!(second.unwrap().source(), TokenSource::Cache);
        assert!(said.is_empty());
        entra.assert_no_requests();

        entra.clock().advance(Duration::from_secs(2 * 3600));
        let (third, said) = run(&entra, &cache).await;
        assert_eq!(third.unwrap().source(), TokenSource::IdentityProvider);
        assert!(said.is_empty(), "a refresh needs no user");
        entra.assert_token_requests(1);
        entra.assert_token_requests_for(Grant::RefreshToken, 1);
    }

    #[tokio::test]
    async fn a_revoked_session_falls_back_to_the_device_code() {
        let entra = FakeEntra::start().await;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        run(&entra, &cache).await.0.unwrap();

        entra.revoke_sessions(USERNAME);
        entra.clock().advance(Duration::from_secs(2 * 3600));
        entra.clear_log();
        let (again, said) = run(&entra, &cache).await;
        assert_eq!(again.unwrap().account().unwrap().username, USERNAME);
        assert_eq!(said.len(), 1, "the user was asked again");
        entra.assert_token_requests_for(Grant::RefreshToken, 1);
        entra.assert_token_requests_for(Grant::DeviceCode, 1);
    }

    #[tokio::test]
    async fn an_outage_is_reported_not_turned_into_a_device_code_prompt() {
        let entra = FakeEntra::start().await;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        run(&entra, &cache).await.0.unwrap();

        entra.fault(Fault::status(503).times(2));
        entra.clock().advance(Duration::from_secs(2 * 3600));
        let (result, said) = run(&entra, &cache).await;
        assert!(result.unwrap_err().is_transient());
        assert!(said.is_empty(), "no prompt for an outage");
    }
}
