//! A [`WebUi`] that signs in against the fake without a browser: msal-interactive's real
//! loopback listener, and an "opener" that does what a browser would.

use std::sync::Arc;
use std::time::Duration;

use msal::http::{HttpClient, ReqwestHttpClient};
use msal::{SystemBrowser, WebUi, WebUiError};
use msal_interactive::AuthorizationSession;
use url::Url;

use crate::harness::LoopbackTransport;

/// How long a browserless sign-in may take before it fails with [`WebUiError::TimedOut`].
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(10);

/// Interactive sign-in without a browser, from [`FakeEntra::web_ui`](super::FakeEntra::web_ui).
///
/// It is the real [`SystemBrowser`] (a loopback listener on a free port, `state` checked) whose
/// "browser" follows the authorize URL to the fake, takes the redirect it answers (a code, or
/// `error=access_denied` when sign-ins decline) and delivers it to the listener, as a browser
/// would. The user who signs in is the `login_hint`'s, else the one set with
/// [`FakeEntra::sign_in_as`](super::FakeEntra::sign_in_as). A sign-in fails after 10 s.
#[derive(Clone, Debug)]
pub struct BrowserlessWebUi {
    inner: SystemBrowser,
}

impl BrowserlessWebUi {
    pub(crate) fn new(transport: LoopbackTransport) -> Self {
        let opener = move |url: &Url| -> Result<(), String> {
            let handle = tokio::runtime::Handle::try_current()
                .map_err(|_| "the browserless web UI needs a Tokio runtime".to_owned())?;
            handle.spawn(follow(transport.clone(), url.clone()));
            Ok(())
        };
        BrowserlessWebUi {
            inner: SystemBrowser::new()
                .with_timeout(SIGN_IN_TIMEOUT)
                .with_opener(Arc::new(opener)),
        }
    }
}

/// What the browser does: GET the authorize URL (at the fake), then GET the redirect it answers
/// (at the loopback listener). A fake that answers with an error page, not a redirect, gets
/// its text delivered as an OAuth error so the sign-in fails at once, with it.
async fn follow(to_fake: LoopbackTransport, authorize: Url) {
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let redirect_uri = authorize
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let page = match get(&to_fake, authorize.as_str()).await {
        Ok(response) => {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            match location {
                Some(location) => Ok(location),
                None => Err(String::from_utf8_lossy(response.body()).into_owned()),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    let target = match page {
        Ok(location) => location,
        Err(text) => match Url::parse(&redirect_uri) {
            Ok(mut u) => {
                u.query_pairs_mut()
                    .append_pair("error", "server_error")
                    .append_pair("error_description", &text)
                    .append_pair("state", &state);
                u.to_string()
            }
            Err(_) => return,
        },
    };
    // The listener is on loopback; nothing else is ever reached.
    let direct = ReqwestHttpClient::new().with_timeout(Duration::from_secs(5));
    let _ = get(&direct, &target).await;
}

async fn get(
    client: &dyn HttpClient,
    url: &str,
) -> Result<http::Response<Vec<u8>>, msal::http::HttpError> {
    let request = http::Request::get(url)
        .body(Vec::new())
        .expect("a URL makes a request");
    client.send(request).await
}

#[async_trait::async_trait]
impl WebUi for BrowserlessWebUi {
    async fn start(&self) -> Result<Box<dyn AuthorizationSession>, WebUiError> {
        self.inner.start().await
    }
}
