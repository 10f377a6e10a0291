//! `SystemBrowser` with openers and browser commands that play the identity provider.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use msal_interactive::{
    AuthorizationRequest, AuthorizationSession, SystemBrowser, WebUi, WebUiError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

const LONG: Duration = Duration::from_secs(120);

fn authorize_url(redirect_uri: &Url, state: &str) -> Url {
    let mut url = Url::parse("https://login.example.com/common/oauth2/v2.0/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", redirect_uri.as_str())
        .append_pair("state", state);
    url
}

/// What the provider does after sign-in: redirect the browser to `redirect_uri` with a code
/// (and whatever `state` it was given).
async fn fake_provider_redirect(authorize_url: Url, code: &str) -> String {
    let param = |name: &str| {
        authorize_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let mut redirect = Url::parse(&param("redirect_uri")).unwrap();
    redirect
        .query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", &param("state"));
    let addr = (
        redirect.host_str().unwrap().to_owned(),
        redirect.port().unwrap(),
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let target = format!("{}?{}", redirect.path(), redirect.query().unwrap());
    stream
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn an_opener_that_performs_the_redirect_completes_the_sign_in() {
    let page = Arc::new(Mutex::new(None::<tokio::task::JoinHandle<String>>));
    let slot = page.clone();
    let ui: Arc<dyn WebUi> = Arc::new(SystemBrowser::new().with_timeout(LONG).with_opener(
        Arc::new(move |url: &Url| {
            let url = url.clone();
            *slot.lock().unwrap() = Some(tokio::spawn(fake_provider_redirect(url, "C0DE")));
            Ok(())
        }),
    ));
    let session = ui.start().await.unwrap();
    let redirect = session.redirect_uri().clone();
    assert_eq!(redirect.scheme(), "http");
    assert_eq!(redirect.host_str(), Some("localhost"));
    assert_ne!(redirect.port(), Some(0));

    let response = session
        .complete(&authorize_url(&redirect, "st4te"), "st4te")
        .await
        .unwrap();
    assert_eq!(response.code, "C0DE");
    let handle = page.lock().unwrap().take().unwrap();
    let page = handle.await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
}

#[tokio::test]
async fn authorize_in_one_step_needs_the_sessions_redirect_uri() {
    let ui = SystemBrowser::new().with_opener(Arc::new(|_: &Url| Ok(())));
    let request = AuthorizationRequest::new(
        Url::parse("https://login.example.com/authorize").unwrap(),
        Url::parse("http://localhost:1/").unwrap(),
        "s",
    );
    // A free port is chosen by `start`, so it cannot be this one.
    assert!(matches!(
        ui.authorize(&request).await,
        Err(WebUiError::RedirectUriMismatch { .. })
    ));
}

#[tokio::test]
async fn an_opener_that_fails_makes_the_ui_unavailable() {
    let ui = SystemBrowser::new().with_opener(Arc::new(|_: &Url| Err("no browser here".into())));
    let session = ui.start().await.unwrap();
    let redirect = session.redirect_uri().clone();
    let e = session
        .complete(&authorize_url(&redirect, "s"), "s")
        .await
        .unwrap_err();
    assert_eq!(e, WebUiError::Unavailable("no browser here".into()));
    // The listener went with the session.
    let addr = (
        redirect.host_str().unwrap().to_owned(),
        redirect.port().unwrap(),
    );
    assert!(TcpStream::connect(addr).await.is_err());
}

/// `with_url_notice` is told the URL before the browser is tried, even when it then fails;
/// without it nothing is told (the library prints nothing itself).
#[tokio::test]
async fn the_url_notice_hears_the_authorization_url_before_the_browser_opens() {
    let heard = Arc::new(Mutex::new(Vec::<String>::new()));
    let ui = SystemBrowser::new()
        .with_opener(Arc::new(|_: &Url| Err("no browser here".into())))
        .with_url_notice({
            let heard = Arc::clone(&heard);
            move |url: &Url| heard.lock().unwrap().push(url.to_string())
        });
    let session = ui.start().await.unwrap();
    let url = authorize_url(session.redirect_uri(), "s");
    let e = session.complete(&url, "s").await.unwrap_err();
    assert!(matches!(e, WebUiError::Unavailable(_)));
    assert_eq!(*heard.lock().unwrap(), vec![url.to_string()]);
}

#[tokio::test]
async fn a_failing_or_missing_browser_command_makes_the_ui_unavailable() {
    for command in ["false", "/nonexistent/browser --new-window"] {
        let ui = SystemBrowser::new()
            .with_timeout(LONG)
            .with_browser_command(command);
        let session = ui.start().await.unwrap();
        let redirect = session.redirect_uri().clone();
        let e = session
            .complete(&authorize_url(&redirect, "s"), "s")
            .await
            .unwrap_err();
        assert!(matches!(e, WebUiError::Unavailable(_)), "{command}: {e:?}");
    }
}

#[tokio::test]
async fn a_browser_command_that_fetches_the_url() {
    let curl = std::process::Command::new("curl")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !curl {
        eprintln!("curl not found: skipping");
        return;
    }
    let ui = SystemBrowser::new()
        .with_timeout(LONG)
        // The first command cannot start, the second can; `%s` is the URL as one argument.
        .with_browser_command("/nonexistent/browser:curl -s -o /dev/null %s");
    let session = ui.start().await.unwrap();
    // This "provider" redirects at once: the authorization URL is the redirect itself.
    let mut url = session.redirect_uri().clone();
    url.query_pairs_mut()
        .append_pair("code", "from-curl")
        .append_pair("state", "s&1");
    let response = session.complete(&url, "s&1").await.unwrap();
    assert_eq!(response.code, "from-curl");
}

#[tokio::test]
async fn times_out_when_the_browser_never_redirects() {
    let ui = SystemBrowser::new()
        .with_timeout(Duration::from_millis(20))
        .with_opener(Arc::new(|_: &Url| Ok(())));
    let session = ui.start().await.unwrap();
    let redirect = session.redirect_uri().clone();
    assert_eq!(
        session
            .complete(&authorize_url(&redirect, "s"), "s")
            .await
            .unwrap_err(),
        WebUiError::TimedOut
    );
}

#[tokio::test]
async fn dropping_a_session_closes_its_listener() {
    let ui = SystemBrowser::new();
    let session: Box<dyn AuthorizationSession> = ui.start().await.unwrap();
    let redirect = session.redirect_uri().clone();
    let addr = (
        redirect.host_str().unwrap().to_owned(),
        redirect.port().unwrap(),
    );
    drop(session);
    assert!(TcpStream::connect(addr).await.is_err());
    assert!(format!("{ui:?}").contains("SystemBrowser"));
}
