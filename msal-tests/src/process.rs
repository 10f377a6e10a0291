//! Child processes the tests start, with every wait bounded.
//!
//! A test that waits on another process (the end-to-end identity provider, the headless
//! browser, the `msal` binary, a cache worker) must never hang the suite: each wait here has a
//! deadline, and when it passes the process is killed and the panic message carries what the
//! process wrote on stderr, so a CI log says why instead of stopping at a silent line.
//!
//! ```
//! use std::process::Command;
//! use std::time::Duration;
//! use msal_tests::process::Supervised;
//!
//! let mut cmd = Command::new("sh");
//! cmd.args(["-c", "echo starting >&2; echo READY; sleep 30"]);
//! let mut child = Supervised::spawn(cmd, "example server");
//! assert_eq!(child.read_line(Duration::from_secs(10)).unwrap(), "READY");
//! // Dropping it kills the process.
//! ```

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// How much of a process's stderr is kept for the failure message (its end).
const STDERR_KEPT: usize = 64 * 1024;

/// A child process whose stdout lines and stderr are collected by threads, so that no read or
/// wait can block the test past a deadline. The process is killed when this is dropped.
pub struct Supervised {
    name: String,
    child: Child,
    lines: Option<Receiver<std::io::Result<String>>>,
    stdout_thread: Option<JoinHandle<()>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_thread: Option<JoinHandle<()>>,
}

/// Why a bounded wait on a [`Supervised`] process failed. Its `Display` names the process and
/// ends with the process's stderr.
#[derive(Debug)]
pub struct ProcessError {
    message: String,
}

impl std::fmt::Display for ProcessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProcessError {}

impl Supervised {
    /// Start `command` with stdout and stderr piped (stdin closed). `name` says what the process
    /// is in failure messages. Panics, with the reason, when the program cannot be started.
    pub fn spawn(mut command: Command, name: &str) -> Supervised {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name} ({command:?}): {e}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_thread = child.stderr.take().map(|mut pipe| {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut kept = stderr.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > STDERR_KEPT {
                        let excess = kept.len() - STDERR_KEPT;
                        kept.drain(..excess);
                    }
                }
            })
        });
        let (tx, rx) = mpsc::channel();
        let stdout_thread = child.stdout.take().map(|pipe| {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        });
        Supervised {
            name: name.to_owned(),
            child,
            lines: Some(rx),
            stdout_thread,
            stderr,
            stderr_thread,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the process wrote on stderr so far (its last 64 KiB).
    pub fn stderr(&self) -> String {
        let kept = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&kept).into_owned()
    }

    /// The next line of stdout (without its line ending), waiting at most `timeout`. On a
    /// timeout, end of output or a read error the process is killed and the error says which,
    /// with the process's stderr.
    pub fn read_line(&mut self, timeout: Duration) -> Result<String, ProcessError> {
        let received = match &self.lines {
            Some(lines) => lines.recv_timeout(timeout),
            None => Err(RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(self.fail(&format!("reading its stdout failed: {e}"))),
            Err(RecvTimeoutError::Timeout) => {
                Err(self.fail(&format!("printed no line within {timeout:?}; killed it")))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self
                    .child
                    .wait_timeout(Duration::from_secs(5))
                    .ok()
                    .flatten();
                Err(self.fail(&format!(
                    "closed its stdout without the expected line (exit status: {})",
                    status.map_or_else(|| "still running".into(), |s| s.to_string())
                )))
            }
        }
    }

    /// Every stdout line still to come, as the process prints them, until it exits; then its
    /// exit status. Bounded by `timeout` overall.
    pub fn finish(mut self, timeout: Duration) -> Result<Output, ProcessError> {
        let deadline = Instant::now() + timeout;
        let status = match self.child.wait_timeout(timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                return Err(self.fail(&format!("did not exit within {timeout:?}; killed it")))
            }
            Err(e) => return Err(self.fail(&format!("waiting for it failed: {e}"))),
        };
        let mut stdout = Vec::new();
        if let Some(lines) = self.lines.take() {
            // The pipe closes when the process exits (unless a grandchild holds it): take what
            // is there, within what is left of the deadline.
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match lines.recv_timeout(left.max(Duration::from_millis(100))) {
                    Ok(Ok(line)) => {
                        stdout.extend_from_slice(line.as_bytes());
                        stdout.push(b'\n');
                    }
                    Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {
                        return Err(self.fail(&format!(
                            "exited ({status}) but its stdout stayed open past {timeout:?}"
                        )))
                    }
                }
            }
        }
        // The stderr pipe closes when the process exits (unless a grandchild holds it): let
        // its reader take the last bytes, within what is left of the deadline.
        self.wait_for_stderr(deadline.saturating_duration_since(Instant::now()));
        self.join_threads();
        let stderr = self.stderr().into_bytes();
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Kill the process (SIGKILL) and collect what it had printed.
    pub fn kill_and_finish(mut self, timeout: Duration) -> Output {
        let _ = self.child.kill();
        self.finish(timeout).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Kill the process and build the error for `what` went wrong, with its stderr.
    fn fail(&mut self, what: &str) -> ProcessError {
        let _ = self.child.kill();
        let _ = self.child.wait_timeout(Duration::from_secs(5));
        // Give the stderr thread a moment to take the last bytes.
        self.wait_for_stderr(Duration::from_secs(2));
        ProcessError {
            message: format!(
                "{} (pid {}) {what}\n--- its stderr ---\n{}--- end of its stderr ---",
                self.name,
                self.child.id(),
                self.stderr()
            ),
        }
    }

    /// Wait (at most `bound`) for the stderr reader to reach the end of the pipe.
    fn wait_for_stderr(&mut self, bound: Duration) {
        let deadline = Instant::now() + bound;
        if let Some(thread) = &self.stderr_thread {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    fn join_threads(&mut self) {
        for thread in [self.stdout_thread.take(), self.stderr_thread.take()]
            .into_iter()
            .flatten()
        {
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait_timeout(Duration::from_secs(5));
    }
}

/// Run `command` to completion within `timeout`, with stdin closed, and return its output. On
/// a timeout the process is killed and this panics with what it wrote on stderr.
pub fn output_within(command: Command, name: &str, timeout: Duration) -> Output {
    Supervised::spawn(command, name)
        .finish(timeout)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`output_within`] for a process whose success the test requires: panics with its stdout and
/// stderr unless it exits 0.
pub fn run_ok(command: Command, name: &str, timeout: Duration) -> Output {
    let out = output_within(command, name, timeout);
    assert!(
        out.status.success(),
        "{name} failed ({}):\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`output_within`] from async code: the waiting happens on a blocking thread, so the
/// runtime keeps serving the test's mock servers meanwhile.
pub async fn output_within_async(command: Command, name: &str, timeout: Duration) -> Output {
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || output_within(command, &name, timeout))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn a_process_that_never_prints_fails_in_time_with_its_stderr() {
        let started = Instant::now();
        let mut child = Supervised::spawn(
            sh("echo 'listening failed: EADDRINUSE' >&2; sleep 60"),
            "silent server",
        );
        let e = child.read_line(Duration::from_millis(500)).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
        let message = e.to_string();
        assert!(message.contains("silent server"), "{message}");
        assert!(message.contains("printed no line within"), "{message}");
        assert!(message.contains("EADDRINUSE"), "{message}");
    }

    #[test]
    fn a_process_that_exits_without_its_line_says_so() {
        let mut child = Supervised::spawn(sh("echo 'no node_modules' >&2; exit 3"), "provider");
        let message = child
            .read_line(Duration::from_secs(30))
            .unwrap_err()
            .to_string();
        assert!(message.contains("closed its stdout"), "{message}");
        assert!(message.contains("exit status: 3"), "{message}");
        assert!(message.contains("no node_modules"), "{message}");
    }

    #[test]
    fn lines_then_output_are_collected() {
        let mut child = Supervised::spawn(sh("echo one; echo two; echo err >&2"), "printer");
        assert_eq!(child.read_line(Duration::from_secs(30)).unwrap(), "one");
        let out = child.finish(Duration::from_secs(30)).unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "two\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    }

    #[test]
    fn a_process_that_does_not_exit_is_killed_at_the_deadline() {
        let started = Instant::now();
        let e = Supervised::spawn(sh("echo 'stuck in a loop' >&2; sleep 60"), "worker")
            .finish(Duration::from_millis(500))
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(e.contains("did not exit within"), "{e}");
        assert!(e.contains("stuck in a loop"), "{e}");
    }

    #[test]
    fn the_last_stderr_line_before_exit_is_always_collected() {
        // More than a pipe's buffer, so the reader is still copying when the process exits.
        for _ in 0..20 {
            let out = output_within(
                sh("head -c 200000 /dev/zero | tr '\\0' x >&2; echo; echo 'msal: error: last line' >&2; exit 1"),
                "writer",
                Duration::from_secs(30),
            );
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                stderr.ends_with("msal: error: last line\n"),
                "{:?}",
                &stderr[stderr.len().saturating_sub(40)..]
            );
        }
    }

    #[test]
    fn stderr_keeps_its_end_only() {
        let out = output_within(
            sh("head -c 200000 /dev/zero | tr '\\0' x >&2; echo END >&2"),
            "chatty",
            Duration::from_secs(30),
        );
        assert!(out.stderr.len() <= STDERR_KEPT);
        assert!(String::from_utf8_lossy(&out.stderr).ends_with("END\n"));
    }
}
