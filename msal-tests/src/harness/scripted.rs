//! A transport answering from a script, with no sockets (device code polling in virtual time).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use msal::http::{HttpClient, HttpError};
use serde_json::Value;
use tokio::time::Instant;

/// A request a [`ScriptedTransport`] answered: when (Tokio's clock, so virtual time in a paused
/// test), its path and its body.
pub type SeenRequest = (Instant, String, String);

/// Answers requests in order from a script of `(status, JSON body)` and records each request.
/// A request past the end of the script panics: the test expected fewer.
#[derive(Clone, Default)]
pub struct ScriptedTransport {
    answers: Arc<Mutex<VecDeque<(u16, Value)>>>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
}

impl ScriptedTransport {
    /// A transport giving these answers in order.
    pub fn new(answers: Vec<(u16, Value)>) -> Self {
        ScriptedTransport {
            answers: Arc::new(Mutex::new(answers.into())),
            seen: Arc::default(),
        }
    }

    /// The requests answered so far, in order.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// The bodies of the requests answered so far, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.seen().into_iter().map(|(_, _, body)| body).collect()
    }
}

#[async_trait::async_trait]
impl HttpClient for ScriptedTransport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let body = String::from_utf8_lossy(request.body()).into_owned();
        self.seen.lock().expect("not poisoned").push((
            Instant::now(),
            request.uri().path().to_owned(),
            body,
        ));
        let (status, json) = self
            .answers
            .lock()
            .expect("not poisoned")
            .pop_front()
            .expect("the script ran out of answers");
        Ok(http::Response::builder()
            .status(status)
            .body(json.to_string().into_bytes())
            .expect("a status and a body make a response"))
    }
}
