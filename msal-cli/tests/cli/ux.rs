//! Issue 19's first hour: errors that name the step and URL, no progress noise off a terminal,
//! the browser URL line, the stale-token warning, the cache and key files' permissions, Ctrl-C
//! during a sign-in and a cache checked before any interaction. Each through the built binary
//! against the parent module's [`Fixture`].

use std::collections::BTreeMap;

use msal_tests::process::Supervised;

use super::*;

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Fixture {
    /// A discovery document (preferred over the fixture's) whose token endpoint is `token`.
    async fn discovery_with_token_endpoint(&self, token: &str) {
        let issuer = self.server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": token,
                "device_authorization_endpoint": format!("{issuer}/devicecode"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    async fn device_code_requests(&self) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r.url.path() == "/devicecode")
            .count()
    }

    /// Every file under the fixture's folder, with its bytes.
    fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

// ------------------------------------------------------------ 1. errors name the step and URL

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_failures_name_the_step_and_the_url() {
    let f = Fixture::new().await;
    // The token endpoint is a closed port: the refresh of an expired token gets no answer.
    let token_url = format!("http://127.0.0.1:{}/token", closed_port());
    f.discovery_with_token_endpoint(&token_url).await;
    f.seed(now() - 60);
    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // One line, no spinner or retry noise (stderr is not a terminal), no secret.
    assert_eq!(
        stderr(&out),
        format!("msal: error: token request to {token_url}: connection refused\n")
    );
    assert_eq!(stdout(&out), "");
    assert!(!stderr(&out).contains(RT));

    // The provider itself is a closed port: discovery fails, and says where it went.
    let issuer = format!("http://127.0.0.1:{}", closed_port());
    let mut cmd = f.plain(&["login", "--device-code"]);
    cmd.env("MSAL_OIDC_AUTHORITY", &issuer);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "msal: error: discovery document request to \
             {issuer}/.well-known/openid-configuration: connection refused\n"
        )
    );
}

// ------------------------------------------------- 2. progress only on a terminal; the URL line

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_prints_the_url_to_open_and_no_spinner_off_a_terminal() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    // A browser command that fails: the URL line first, then the device code fallback.
    let mut cmd = f.plain(&["login", "--scope", SCOPE]);
    cmd.env("BROWSER", "/bin/false");
    let out = run(cmd).await;
    assert_ok(&out);
    let err = stderr(&out);
    let prefix = format!("If no browser opens, go to: {}/authorize?", f.server.uri());
    let url_line = err
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no URL line in:\n{err}"));
    assert!(
        url_line.contains(&format!("client_id={CLIENT_ID}")),
        "{url_line}"
    );
    assert!(err.contains("using a device code"), "{err}");
    assert!(err.contains(USER_CODE), "{err}");
    assert!(err.contains("Signed in as bob@example.com"), "{err}");
    // Not a terminal: no spinner, countdown or carriage-return redraws at all.
    assert!(
        !err.contains('\r') && !err.contains('\u{1b}') && !err.contains("requesting a token"),
        "{err:?}"
    );
}

/// `cmd` run on a pseudo-terminal by `script` (util-linux), its output (stdout and stderr, as
/// the terminal showed them) captured; `None` where `script` is not installed.
fn on_a_terminal(cmd: &Command) -> Option<Command> {
    let available = Command::new("script")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        return None;
    }
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let mut script = Command::new("script");
    script
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            script.env(key, value);
        }
    }
    // A terminal's own variable (indicatif draws nothing on a terminal it knows nothing of).
    script.env("TERM", "xterm");
    Some(script)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_retries_and_the_device_code_countdown_are_shown() {
    let f = Fixture::new().await;
    let mut cmd = f.plain(&["login", "--device-code"]);
    let issuer = format!("http://127.0.0.1:{}", closed_port());
    cmd.env("MSAL_OIDC_AUTHORITY", &issuer);
    let Some(tty) = on_a_terminal(&cmd) else {
        eprintln!("no `script` here to make a terminal; skipped");
        return;
    };
    let out = run(tty).await;
    let shown = stdout(&out);
    assert!(
        shown.contains("reading the provider's configuration from 127.0.0.1:"),
        "{shown:?}"
    );
    assert!(
        shown.contains("did not answer; retrying in 1s (attempt 2 of 2)…"),
        "{shown:?}"
    );
    assert!(
        shown.contains(&format!(
            "msal: error: discovery document request to {issuer}/.well-known/openid-configuration: connection refused"
        )),
        "{shown:?}"
    );

    f.mount_device_code().await;
    let Some(tty) = on_a_terminal(&f.plain(&["login", "--device-code", "--scope", SCOPE])) else {
        return;
    };
    let out = run(tty).await;
    let shown = stdout(&out);
    assert!(shown.contains(USER_CODE), "{shown:?}");
    assert!(
        shown.contains("waiting for you to sign in… (the code expires in 4:5"),
        "{shown:?}"
    );
    assert!(shown.contains("Signed in as bob@example.com"), "{shown:?}");
}

// ------------------------------------------------------------------ 3. the stale-token warning

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_inside_the_buffer_served_while_the_provider_is_down_comes_with_a_warning() {
    let f = Fixture::new().await;
    // 3 minutes left: inside the 5-minute buffer, so msal tries to refresh first.
    f.seed(now() + 180);
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .mount(&f.server)
        .await;
    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));
    let warning = "msal: warning: the identity provider is unreachable; using a token that \
                   expires in 2 min\n";
    assert_eq!(stderr(&out), warning);
    assert_eq!(f.token_requests().await, 1, "the refresh was tried");

    // Connection refused at the token endpoint: the same warning.
    let f = Fixture::new().await;
    f.seed(now() + 180);
    let token_url = format!("http://127.0.0.1:{}/token", closed_port());
    f.discovery_with_token_endpoint(&token_url).await;
    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));
    assert_eq!(stderr(&out), warning);
}

// ------------------------------------------------------- 4. cache and key file permissions

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_cache_file_is_warned_about_or_refused_with_strict_permissions() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let cache = f.path("c.json");
    chmod(&cache, 0o644);
    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));
    let shown = cache.display();
    assert_eq!(
        stderr(&out),
        format!(
            "msal: warning: the token cache file {shown} can be read or written by other users \
             (mode 644): run `chmod 600 {shown}`\n"
        )
    );
    // --strict-permissions, or its variable: refused, exit 1, the fix named; nothing printed.
    let mut by_env = f.plain(&["token", "--scope", SCOPE]);
    by_env.env("MSAL_STRICT_PERMISSIONS", "1");
    for cmd in [
        f.plain(&["token", "--scope", SCOPE, "--strict-permissions"]),
        by_env,
    ] {
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
        assert_eq!(
            stderr(&out),
            format!(
                "msal: error: the token cache file {shown} can be read or written by other \
                 users (mode 644); refused (--strict-permissions): run `chmod 600 {shown}`\n"
            )
        );
    }
    chmod(&cache, 0o600);
    let out = run(f.plain(&["token", "--scope", SCOPE, "--strict-permissions"])).await;
    assert_ok(&out);
    assert_eq!(stderr(&out), "");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_key_file_is_warned_about_or_refused_with_strict_permissions() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let encrypted = |args: &[&str]| {
        let mut cmd = f.command(args);
        cmd.arg("--cache").arg(f.path("c.bin"));
        cmd
    };
    assert_ok(&run(encrypted(&["login", "--device-code", "--scope", SCOPE])).await);
    let key = f.path("c.bin.key");
    chmod(&key, 0o604);
    let out = run(encrypted(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    let shown = key.display();
    assert_eq!(
        stderr(&out),
        format!(
            "msal: warning: the cache key file {shown} can be read or written by other users \
             (mode 604): run `chmod 600 {shown}`\n"
        )
    );
    let out = run(encrypted(&[
        "token",
        "--scope",
        SCOPE,
        "--strict-permissions",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cache key file"), "{}", stderr(&out));
}

/// A cache or key file another user owns is refused, never read or taken over. Making one
/// takes root (`chown`); elsewhere the test says so and passes.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_or_key_file_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let cache = f.path("c.json");
    if std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).is_err() {
        eprintln!("not root: cannot give a file to another user here; skipped");
        return;
    }
    assert_eq!(std::fs::metadata(&cache).unwrap().uid(), 65534);
    let before = std::fs::read(&cache).unwrap();
    for args in [
        &["token", "--scope", SCOPE][..],
        &["login", "--device-code"],
        &["logout", "--all"],
        &["cache", "reset"],
    ] {
        let out = run(f.plain(args)).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "msal: error: the token cache file {} is owned by another user (uid 65534",
                cache.display()
            )),
            "{err}"
        );
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(std::fs::read(&cache).unwrap(), before, "left as it was");
    assert_eq!(std::fs::metadata(&cache).unwrap().uid(), 65534);
    assert!(f.requests().await.is_empty(), "nothing was sent");

    // The key file of an encrypted cache, likewise.
    let key = f.path("k.bin.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    chmod(&key, 0o600);
    std::os::unix::fs::chown(&key, Some(65534), Some(65534)).unwrap();
    let mut cmd = f.command(&["token", "--scope", SCOPE]);
    cmd.arg("--cache").arg(f.path("k.bin"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "the cache key file {} is owned by another user",
            key.display()
        )),
        "{}",
        stderr(&out)
    );
}

// ------------------------------------------------------------- 5. Ctrl-C during a sign-in

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_sign_in_exits_130_and_leaves_no_file_behind() {
    let f = Fixture::new().await;
    let issuer = f.server.uri();
    Mock::given(method("POST"))
        .and(path("/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "the-device-code", "user_code": USER_CODE,
            "verification_uri": format!("{issuer}/device"), "expires_in": 300, "interval": 1
        })))
        .mount(&f.server)
        .await;
    // The user never finishes signing in.
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "authorization_pending", "error_description": "not yet"
        })))
        .mount(&f.server)
        .await;
    let before = f.files();
    let mut cmd = f.command(&["login", "--device-code", "--scope", SCOPE]);
    cmd.arg("--cache").arg(f.path("c.bin"));
    let out = tokio::task::spawn_blocking(move || {
        let child = Supervised::spawn(cmd, "msal login");
        // The device code is on stderr once the flow is waiting for the user.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !child.stderr().contains(USER_CODE) {
            if std::time::Instant::now() > deadline {
                let said = child.stderr();
                drop(child);
                panic!("no device code within 60 s; msal said:\n{said}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let a poll or two happen, then interrupt it as a terminal's Ctrl-C would.
        std::thread::sleep(Duration::from_millis(1500));
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        child
            .finish(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).ends_with("msal: sign-in cancelled\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    assert!(f.token_requests().await >= 1, "it was polling");
    // No key file, no cache, no temporary or lock file: the folder is as it was.
    assert_eq!(
        f.files().keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
}

// --------------------------------------------- 6. the cache is read before any interaction

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_cache_fails_before_any_sign_in_and_is_left_as_it_is() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let cache = f.path("c.bin");
    std::fs::write(&cache, b"this is not an encrypted msal cache").unwrap();
    std::fs::write(f.path("c.bin.key"), [7u8; 32]).unwrap();
    #[cfg(unix)]
    {
        chmod(&cache, 0o600);
        chmod(&f.path("c.bin.key"), 0o600);
    }
    let before = std::fs::read(&cache).unwrap();
    for args in [
        &["login", "--device-code"][..],
        &["token", "--device-code", "--scope", SCOPE],
    ] {
        let mut cmd = f.command(args);
        cmd.arg("--cache").arg(&cache);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "msal: error: token cache {} is unreadable",
                cache.display()
            )) && err.contains("msal cache reset"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(USER_CODE), "no device code shown: {err}");
    }
    assert_eq!(f.device_code_requests().await, 0, "no sign-in was started");
    assert_eq!(
        std::fs::read(&cache).unwrap(),
        before,
        "the file is untouched"
    );

    // A cache encrypted with another passphrase: the same, before any device code.
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let with_passphrase = |passphrase: &str| {
        let mut cmd = f.command(&["login", "--device-code", "--scope", SCOPE]);
        cmd.arg("--cache")
            .arg(f.path("p.bin"))
            .env("MSAL_CACHE_PASSPHRASE", passphrase);
        cmd
    };
    assert_ok(&run(with_passphrase("the right one")).await);
    let requests = f.device_code_requests().await;
    let before = std::fs::read(f.path("p.bin")).unwrap();
    let out = run(with_passphrase("a wrong one")).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("msal cache reset") && !stderr(&out).contains(USER_CODE),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.device_code_requests().await, requests);
    assert_eq!(std::fs::read(f.path("p.bin")).unwrap(), before);
}
