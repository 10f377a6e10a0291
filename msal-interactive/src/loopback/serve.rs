//! Serving connections until the redirect with our `state` arrives.
//!
//! Any local process can connect to the listener, as often as it likes, so:
//! - Every connection is accepted at once and read in a task of its own: there is no small cap
//!   on the connections read at once, so idle clients cannot keep the real redirect in the
//!   accept queue (with 32 read at once, 200 idle connections held it back until it was reset).
//! - Each connection has one deadline for its whole request head (the connection timeout), not
//!   one per read, so dripping a byte now and then buys nothing; and at most 16 KiB + 1 of it
//!   is buffered.
//! - At most [`MAX_CONNECTIONS`] connections are open at once; the next one closes the oldest.
//!   A browser sends its request as soon as it connects, so under a flood the real redirect is
//!   among the newest connections, never the oldest, and it is read at once. This bounds memory
//!   (about 1,024 × 17 KiB of buffers at worst) and file descriptors (1,025 with the listener).
//! - A redirect whose `state` is not ours is answered with the failure page and counted, and
//!   the wait goes on: a process that guesses the port cannot end the user's sign-in. If the
//!   deadline passes with only such redirects, the wait ends with
//!   [`WebUiError::StateMismatch`] instead of [`WebUiError::TimedOut`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::http::{self, HeadError};
use crate::web_ui::{AuthorizationResponse, WebUiError};

/// The most connections open at once; a new one beyond this closes the oldest.
const MAX_CONNECTIONS: usize = 1024;

/// What every connection needs to know.
pub(super) struct Context {
    /// The redirect path.
    pub(super) path: String,
    /// The `state` of the request; any other is refused and the wait goes on.
    pub(super) expected_state: String,
    /// The whole response sent to a redirect with a foreign `state`.
    pub(super) foreign_state_page: Vec<u8>,
    /// How long one connection may take to send its whole request head.
    pub(super) connection_timeout: Duration,
}

/// The redirect that ends the wait: its connection, to answer, and what it said.
pub(super) struct Redirect {
    pub(super) stream: TcpStream,
    pub(super) result: Result<AuthorizationResponse, WebUiError>,
}

/// Accept and read connections until one is a `GET` of the redirect path whose query carries
/// `expected_state` (a code, or the provider's error), or until `deadline`.
pub(super) async fn serve_until_redirect(
    listener: &TcpListener,
    context: Context,
    deadline: Option<Instant>,
) -> Result<Redirect, WebUiError> {
    let context = Arc::new(context);
    let foreign = Arc::new(AtomicUsize::new(0));
    let mut connections: JoinSet<Option<Redirect>> = JoinSet::new();
    // In accept order; finished ones are pruned when the cap is reached.
    let mut open: VecDeque<AbortHandle> = VecDeque::new();
    let expired = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    loop {
        tokio::select! {
            () = &mut expired => {
                let foreign = foreign.load(Ordering::Relaxed);
                if foreign > 0 {
                    tracing::warn!(foreign, "only redirects with a foreign state came before the deadline");
                    return Err(WebUiError::StateMismatch);
                }
                tracing::debug!("loopback redirect wait timed out");
                return Err(WebUiError::TimedOut);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if open.len() >= MAX_CONNECTIONS {
                        open.retain(|c| !c.is_finished());
                        if open.len() >= MAX_CONNECTIONS {
                            close_oldest(&mut open);
                        }
                    }
                    let task = read_connection(stream, Arc::clone(&context), Arc::clone(&foreign));
                    open.push_back(connections.spawn(task));
                }
                Err(e) => {
                    // E.g. too many open files: free one and back off instead of spinning.
                    tracing::debug!(error = %e, "accepting a connection failed");
                    close_oldest(&mut open);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(joined) = connections.join_next() => {
                if let Ok(Some(redirect)) = joined {
                    return Ok(redirect);
                }
            }
        }
    }
}

fn close_oldest(open: &mut VecDeque<AbortHandle>) {
    if let Some(oldest) = open.pop_front() {
        tracing::debug!("too many loopback connections: closing the oldest");
        oldest.abort();
    }
}

/// Read one request; answer anything that is not the redirect with our `state` (counting
/// foreign states in `foreign`), and hand that redirect back.
async fn read_connection(
    mut stream: TcpStream,
    context: Arc<Context>,
    foreign: Arc<AtomicUsize>,
) -> Option<Redirect> {
    let timeout = context.connection_timeout;
    let read = tokio::time::timeout(timeout, http::read_request(&mut stream)).await;
    let reply = match read {
        Err(_) => {
            tracing::debug!("closing a loopback connection that sent no request in time");
            return None;
        }
        Ok(Err(HeadError::Closed)) => return None,
        Ok(Err(HeadError::LineTooLong)) => http::plain(414, "URI Too Long", &[]),
        Ok(Err(HeadError::HeadTooLarge)) => {
            http::plain(431, "Request Header Fields Too Large", &[])
        }
        Ok(Err(HeadError::Malformed)) => http::plain(400, "Bad Request", &[]),
        Ok(Ok(request)) if request.path != context.path => http::plain(404, "Not Found", &[]),
        Ok(Ok(request)) if request.method != "GET" => {
            http::plain(405, "Method Not Allowed", &[("Allow", "GET")])
        }
        Ok(Ok(request)) => match request.query.filter(|q| !q.is_empty()) {
            None => http::plain(400, "Bad Request", &[]),
            Some(query) => {
                match AuthorizationResponse::from_redirect_query(&query, &context.expected_state) {
                    Err(WebUiError::StateMismatch) => {
                        foreign.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("refused a redirect with a foreign state; still waiting");
                        context.foreign_state_page.clone()
                    }
                    result => return Some(Redirect { stream, result }),
                }
            }
        },
    };
    http::respond_and_close(stream, &reply, timeout).await;
    None
}
