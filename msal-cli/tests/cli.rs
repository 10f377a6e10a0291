//! The `msal` binary end to end, against a wiremock OpenID Connect provider on loopback.
//!
//! Every run starts from an empty environment (`env_clear`) with `HOME` and `XDG_CACHE_HOME`
//! inside a temporary folder and `MSAL_NO_KEYRING` set, so nothing touches the real user's cache,
//! keyring or browser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "msal-cli-test-client";
const AT: &str = "AT-secret-0123456789";
const RT: &str = "RT-secret-9876543210";
const SCOPE: &str = "api://x/read";
const USER_CODE: &str = "WDJB-MJHT";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// An unsigned ID token (msal-rs does not check signatures).
fn id_token(sub: &str, username: &str, issuer: &str) -> String {
    let claims = json!({
        "iss": issuer, "sub": sub, "aud": CLIENT_ID, "preferred_username": username,
        "name": "Test User", "iat": now(), "exp": now() + 3600,
    });
    format!(
        "{}.{}.sig",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims.to_string())
    )
}

/// A wiremock provider, a temporary home, and how to run `msal` there.
struct Fixture {
    server: MockServer,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let server = MockServer::start().await;
        let issuer = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "device_authorization_endpoint": format!("{issuer}/devicecode"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Fixture { server, dir }
    }

    /// The cache's environment: `127.0.0.1:<port>`.
    fn environment(&self) -> String {
        self.server.uri().trim_start_matches("http://").to_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The default user cache folder of the runs (`$XDG_CACHE_HOME`).
    fn xdg_cache(&self) -> PathBuf {
        self.path("xdg-cache")
    }

    /// `msal` with a clean environment: client id and OIDC authority set, HOME in the temp dir.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_msal"));
        cmd.env_clear()
            .env("HOME", self.path("home"))
            .env("XDG_CACHE_HOME", self.xdg_cache())
            .env("MSAL_CLIENT_ID", CLIENT_ID)
            .env("MSAL_OIDC_AUTHORITY", self.server.uri())
            // Builds with the `keyring` feature: never touch the real OS keyring.
            .env("MSAL_NO_KEYRING", "1")
            .args(args);
        cmd
    }

    /// `msal` with a plaintext cache at `c.json`.
    fn plain(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(args);
        cmd.arg("--plaintext-cache")
            .arg("--cache")
            .arg(self.path("c.json"));
        cmd
    }

    async fn requests(&self) -> Vec<wiremock::Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    async fn token_requests(&self) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r.url.path() == "/token")
            .count()
    }

    /// A plaintext cache `c.json` with alice signed in: account, ID token, refresh token and an
    /// access token for `SCOPE` expiring at `at_expires_on`.
    fn seed(&self, at_expires_on: u64) -> Value {
        let env = self.environment();
        let doc = json!({
            "Account": {
                format!("alice-{env}-"): {
                    "home_account_id": "alice", "environment": env, "realm": "",
                    "local_account_id": "alice", "username": "alice@example.com",
                    "authority_type": "MSSTS"
                }
            },
            "IdToken": {
                format!("alice-{env}-idtoken-{CLIENT_ID}--"): {
                    "credential_type": "IdToken",
                    "secret": id_token("alice", "alice@example.com", &self.server.uri()),
                    "home_account_id": "alice", "environment": env, "realm": "",
                    "client_id": CLIENT_ID
                }
            },
            "RefreshToken": {
                format!("alice-{env}-refreshtoken-{CLIENT_ID}--"): {
                    "credential_type": "RefreshToken", "secret": RT,
                    "home_account_id": "alice", "environment": env, "client_id": CLIENT_ID
                }
            },
            "AccessToken": {
                format!("alice-{env}-accesstoken-{CLIENT_ID}--{SCOPE}"): {
                    "credential_type": "AccessToken", "secret": AT,
                    "home_account_id": "alice", "environment": env, "client_id": CLIENT_ID,
                    "realm": "", "target": SCOPE, "token_type": "Bearer",
                    "cached_at": now().to_string(), "expires_on": at_expires_on.to_string(),
                    "extended_expires_on": at_expires_on.to_string()
                }
            },
            "AppMetadata": {}
        });
        std::fs::write(self.path("c.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
        // As msal writes it: the user's alone (a wider mode gets a warning on stderr).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let private = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(self.path("c.json"), private).unwrap();
        }
        doc
    }

    /// The device code endpoint, and a token endpoint that answers `authorization_pending`
    /// once, then signs bob in.
    async fn mount_device_code(&self) {
        let issuer = self.server.uri();
        Mock::given(method("POST"))
            .and(path("/devicecode"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "the-device-code", "user_code": USER_CODE,
                "verification_uri": format!("{issuer}/device"),
                "expires_in": 300, "interval": 1
            })))
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("device_code=the-device-code"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "authorization_pending",
                "error_description": "the user has not signed in yet"
            })))
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("device_code=the-device-code"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "access_token": "AT-bob-device",
                "refresh_token": "RT-bob-device", "expires_in": 3600,
                "scope": format!("{SCOPE} openid profile offline_access"),
                "id_token": id_token("bob", "bob@example.com", &issuer),
            })))
            .mount(&self.server)
            .await;
    }
}

/// Run a command off the async runtime (the mock server keeps serving), bounded: a command that
/// hangs fails the test with its stderr.
async fn run(cmd: Command) -> Output {
    msal_tests::process::output_within_async(cmd, "the msal binary", Duration::from_secs(120)).await
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_from_the_cache_prints_the_token_alone_and_makes_no_request() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));
    assert_eq!(stderr(&out), "");
    assert!(f.requests().await.is_empty(), "no HTTP request at all");

    // --verbose: logs and the token's source on stderr, still only the token on stdout.
    let out = run(f.plain(&["token", "--scope", SCOPE, "-v"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));
    assert!(
        stderr(&out).contains("from the token cache"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(AT), "the token is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_json_has_the_az_like_fields() {
    let f = Fixture::new().await;
    let expires = now() + 3600;
    f.seed(expires);
    let out = run(f.plain(&[
        "token",
        "--scope",
        SCOPE,
        "--json",
        "--account",
        "alice@example.com",
    ]))
    .await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["accessToken"], AT);
    assert_eq!(v["expiresOnUnix"], expires);
    // az's shape: expires_on in Unix seconds, expiresOn in local time without a zone.
    assert_eq!(v["expires_on"], expires);
    let on = v["expiresOn"].as_str().unwrap();
    assert!(on.len() == 26 && on.as_bytes()[10] == b' ', "{on}");
    let utc = v["expiresOnUtc"].as_str().unwrap();
    assert!(utc.ends_with('Z') && utc.len() == 20, "{utc}");
    assert_eq!(v["tenant"], Value::Null);
    assert_eq!(v["tokenType"], "Bearer");
    assert_eq!(v["scopes"], json!([SCOPE]));
    assert_eq!(v["account"]["username"], "alice@example.com");
    assert_eq!(v["account"]["homeAccountId"], "alice");
    assert_eq!(v["account"]["tenantId"], Value::Null, "null, not \"\"");
    assert_eq!(v["source"], "cache");
    assert!(f.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_with_one_token_request() {
    let f = Fixture::new().await;
    f.seed(now() - 60);
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(format!("refresh_token={RT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "AT-refreshed", "refresh_token": "RT-rotated",
            "expires_in": 3600, "scope": SCOPE,
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    let out = run(f.plain(&["token", "--scope", SCOPE, "--account", "alice"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-refreshed\n");
    assert_eq!(f.token_requests().await, 1);

    // Cached now: served again with no further request; the JSON says where it came from.
    let out = run(f.plain(&["token", "--scope", SCOPE, "--json"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["accessToken"].as_str(), v["source"].as_str()),
        (Some("AT-refreshed"), Some("cache"))
    );
    assert_eq!(f.token_requests().await, 1);

    // --force-refresh redeems the rotated refresh token.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("refresh_token=RT-rotated"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "AT-forced", "expires_in": 3600, "scope": SCOPE,
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    let out = run(f.plain(&["token", "--scope", SCOPE, "--force-refresh", "--json"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["accessToken"].as_str(), v["source"].as_str()),
        (Some("AT-forced"), Some("identity_provider"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lists_the_cached_account_with_no_network() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let out = run(f.plain(&["accounts"])).await;
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("alice@example.com\talice\t{}\n", f.environment())
    );
    let out = run(f.plain(&["accounts", "--json"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v,
        json!([{"username": "alice@example.com", "homeAccountId": "alice",
            "environment": f.environment(), "tenantId": null}])
    );
    assert!(f.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_inspect_summarizes_without_any_secret() {
    let f = Fixture::new().await;
    let doc = f.seed(now() + 54 * 60 + 30);
    // No client id needed.
    let mut cmd = f.plain(&["cache", "inspect"]);
    cmd.env_remove("MSAL_CLIENT_ID");
    let out = run(cmd).await;
    assert_ok(&out);
    let text = stdout(&out);
    for expected in [
        "kind:  plain JSON",
        "1 access token · 1 refresh token · 1 ID token · 1 account",
        "account alice@example.com",
        "home account id: alice",
        &format!("environment:     {}", f.environment()),
        &format!("refresh token:   yes (client {CLIENT_ID})"),
        // An OpenID Connect provider has no tenants: no "realm (none)".
        &format!("{SCOPE}: client {CLIENT_ID}, expires in 54 min"),
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("realm") && !text.contains("(none)"),
        "{text}"
    );
    let all = text + &stderr(&out);
    for section in ["AccessToken", "RefreshToken", "IdToken"] {
        for secret in doc[section].as_object().unwrap().values() {
            let secret = secret["secret"].as_str().unwrap();
            assert!(!all.contains(secret), "{section} secret shown");
            // Nor any recognizable part of it.
            assert!(
                !all.contains(&secret[..12]),
                "{section} secret prefix shown"
            );
        }
    }
    assert!(f.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_removes_the_account() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let out = run(f.plain(&["logout"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("Signed out alice@example.com"),
        "{}",
        stderr(&out)
    );
    let out = run(f.plain(&["accounts"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    let stored = std::fs::read_to_string(f.path("c.json")).unwrap();
    assert!(
        !stored.contains(RT) && !stored.contains(AT),
        "tokens removed"
    );
    // An unknown account is an error.
    let out = run(f.plain(&["logout", "--account", "nobody@example.com"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("msal: error: "),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_interaction_with_an_empty_cache_exits_3_and_creates_nothing() {
    let f = Fixture::new().await;
    let out = run(f.plain(&["token", "--scope", SCOPE, "--no-interaction"])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with("msal: error: ") && err.contains("--no-interaction"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // The default encrypted cache: no key file is made for a run that cannot write tokens.
    let out = run(f.command(&["token", "--scope", SCOPE, "--no-interaction"])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        !f.xdg_cache().exists(),
        "nothing written in the user's cache folder"
    );

    // A seeded cache whose refresh token the provider refuses: also exit 3.
    f.seed(now() - 60);
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "the refresh token expired"
        })))
        .mount(&f.server)
        .await;
    let out = run(f.plain(&["token", "--scope", SCOPE, "--no-interaction"])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!stderr(&out).contains(RT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let f = Fixture::new().await;
    let mut cmd = f.plain(&["accounts"]);
    cmd.env_remove("MSAL_CLIENT_ID");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("MSAL_CLIENT_ID"), "{}", stderr(&out));

    let out = run(f.plain(&["token"])).await; // --scope is required
    assert_eq!(out.status.code(), Some(2));
    let out = run(f.plain(&[
        "accounts",
        "--authority",
        "https://login.microsoftonline.com/common",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "--authority conflicts with the OIDC authority"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_login_signs_in_and_shows_the_code_on_stderr() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let out = run(f.plain(&["login", "--device-code"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains(USER_CODE), "{err}");
    assert!(err.contains("Signed in as bob@example.com"), "{err}");
    let device = f.requests().await;
    let device = device
        .iter()
        .find(|r| r.url.path() == "/devicecode")
        .unwrap();
    let body = String::from_utf8_lossy(&device.body);
    assert!(
        body.contains("offline_access") && body.contains("openid"),
        "{body}"
    );
    assert_eq!(f.token_requests().await, 2, "pending, then success");

    let out = run(f.plain(&["accounts"])).await;
    assert_ok(&out);
    assert!(
        stdout(&out).starts_with("bob@example.com\tbob\t"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signs_in_with_a_device_code_when_nobody_is_signed_in() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    // No browser here (no DISPLAY, no BROWSER): the device code flow, without being asked.
    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert!(stderr(&out).contains(USER_CODE), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passphrase_encrypts_the_cache() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let cache = f.path("c.bin");
    let with_passphrase = |args: &[&str]| {
        let mut cmd = f.command(args);
        cmd.arg("--cache")
            .arg(&cache)
            .env("MSAL_CACHE_PASSPHRASE", "correct horse battery staple");
        cmd
    };
    let out = run(with_passphrase(&[
        "login",
        "--device-code",
        "--scope",
        SCOPE,
    ]))
    .await;
    assert_ok(&out);
    let requests = f.requests().await.len();

    let out = run(with_passphrase(&["token", "--scope", SCOPE, "-v"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert!(
        stderr(&out).contains("MSAL_CACHE_PASSPHRASE"),
        "key source named with -v"
    );
    assert_eq!(f.requests().await.len(), requests, "a cache hit");

    assert_not_plaintext(&cache);
    assert!(
        !f.path("c.bin.key").exists(),
        "no key file with a passphrase"
    );

    // Without the passphrase (and no key file) the cache cannot be read; it is left alone.
    let before = std::fs::read(&cache).unwrap();
    let mut cmd = f.command(&["accounts", "--cache"]);
    cmd.arg(&cache);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot be opened"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&cache).unwrap(), before);
    let mut cmd = f.command(&["token", "--scope", SCOPE, "--cache"]);
    cmd.arg(&cache);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(!f.path("c.bin.key").exists(), "no useless new key is made");
    assert_eq!(std::fs::read(&cache).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_passphrase_a_private_key_file_is_made_beside_the_default_cache() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let out = run(f.command(&["login", "--device-code", "--scope", SCOPE])).await;
    assert_ok(&out);
    let cache = f.xdg_cache().join("msal-rs").join("msal_token_cache.bin");
    let key_file = f
        .xdg_cache()
        .join("msal-rs")
        .join("msal_token_cache.bin.key");
    assert!(cache.exists(), "the default cache location");
    let key = std::fs::read(&key_file).unwrap();
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    assert_not_plaintext(&cache);

    let requests = f.requests().await.len();
    let out = run(f.command(&["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert_eq!(f.requests().await.len(), requests, "a cache hit");
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        key,
        "the key file is kept"
    );

    let out = run(f.command(&["cache", "inspect"])).await;
    assert_ok(&out);
    assert!(
        stdout(&out).contains("encrypted (key: key file"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("account bob@example.com"),
        "{}",
        stdout(&out)
    );

    // A damaged key file is an error and is never replaced.
    std::fs::write(&key_file, b"not a key").unwrap();
    let out = run(f.command(&["token", "--scope", SCOPE])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("32-byte key"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&key_file).unwrap(), b"not a key");
}

#[track_caller]
fn assert_not_plaintext(cache: &Path) {
    let bytes = std::fs::read(cache).unwrap();
    assert!(bytes.starts_with(b"MSALRSE\0"), "an encrypted cache file");
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("AT-bob-device") && !text.contains("bob@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_accounts_need_a_choice() {
    let f = Fixture::new().await;
    let mut doc = f.seed(now() + 3600);
    let env = f.environment();
    doc["Account"]["bob"] = json!({
        "home_account_id": "bob", "environment": env, "realm": "", "local_account_id": "bob",
        "username": "bob@example.com", "authority_type": "MSSTS"
    });
    doc["RefreshToken"]["bob"] = json!({
        "credential_type": "RefreshToken", "secret": "RT-bob", "home_account_id": "bob",
        "environment": env, "client_id": CLIENT_ID
    });
    std::fs::write(f.path("c.json"), serde_json::to_vec(&doc).unwrap()).unwrap();

    let out = run(f.plain(&["token", "--scope", SCOPE])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--account"), "{}", stderr(&out));
    let out = run(f.plain(&["token", "--scope", SCOPE, "--account", "ALICE@example.com"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));

    let out = run(f.plain(&["logout"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--all"), "{}", stderr(&out));
    let out = run(f.plain(&["logout", "--account", "bob"])).await;
    assert_ok(&out);
    let out = run(f.plain(&["accounts"])).await;
    assert_eq!(stdout(&out), format!("alice@example.com\talice\t{env}\n"));
    let out = run(f.plain(&["logout", "--all"])).await;
    assert_ok(&out);
    let out = run(f.plain(&["accounts"])).await;
    assert_eq!(stdout(&out), "");
    assert!(f.requests().await.is_empty());
}

/// `msal` with the encrypted cache at `c.bin` (key file `c.bin.key`).
fn encrypted(f: &Fixture, args: &[&str]) -> Command {
    let mut cmd = f.command(args);
    cmd.arg("--cache").arg(f.path("c.bin"));
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_reset_moves_an_unreadable_cache_aside() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    assert_ok(&run(encrypted(&f, &["login", "--device-code"])).await);
    std::fs::write(f.path("c.bin"), b"garbage, not an encrypted cache").unwrap();

    // Refused and left alone; the error names the way out.
    let out = run(encrypted(&f, &["accounts"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("msal cache reset"),
        "{}",
        stderr(&out)
    );

    // Needs no client id.
    let mut cmd = encrypted(&f, &["cache", "reset"]);
    cmd.env_remove("MSAL_CLIENT_ID");
    let out = run(cmd).await;
    assert_ok(&out);
    let aside = PathBuf::from(stdout(&out).trim_end());
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("c.bin.corrupt-"), "{name}");
    assert_eq!(aside.parent(), Some(f.dir.path()));
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        b"garbage, not an encrypted cache",
        "moved, not deleted"
    );
    assert!(!f.path("c.bin").exists());
    assert!(f.path("c.bin.key").exists(), "the key file is kept");

    // The cache starts over.
    let out = run(encrypted(&f, &["accounts"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    assert_ok(&run(encrypted(&f, &["login", "--device-code"])).await);
    let out = run(encrypted(&f, &["accounts"])).await;
    assert!(
        stdout(&out).starts_with("bob@example.com"),
        "{}",
        stdout(&out)
    );

    // Reset is idempotent once nothing is left.
    std::fs::remove_file(f.path("c.bin")).unwrap();
    let out = run(encrypted(&f, &["cache", "reset"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("nothing to reset"),
        "{}",
        stderr(&out)
    );
}

/// Parallel first runs per round, and rounds (each in a fresh folder).
const FIRST_RUNS: usize = 64;
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_first_runs_all_succeed_with_one_key() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    for round in 0..ROUNDS {
        let folder = f.path(&format!("round-{round}"));
        let cache = folder.join("c.bin");
        let runs: Vec<_> = (0..FIRST_RUNS)
            .map(|_| {
                let mut cmd = f.command(&["login", "--device-code", "-v"]);
                cmd.arg("--cache").arg(&cache);
                msal_tests::process::Supervised::spawn(cmd, "a first run of msal")
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            runs.into_iter()
                .map(|run| {
                    run.finish(Duration::from_secs(120))
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        let failed: Vec<_> = outputs.iter().filter(|o| !o.status.success()).collect();
        assert!(
            failed.is_empty(),
            "round {round}: {} of {FIRST_RUNS} first runs failed, e.g.: {}",
            failed.len(),
            stderr(failed[0])
        );
        let creators = outputs
            .iter()
            .filter(|o| stderr(o).contains("(key: new key file"))
            .count();
        assert_eq!(creators, 1, "round {round}: exactly one run made the key");
        assert_eq!(std::fs::read(key_of(&cache)).unwrap().len(), 32);
        // Every run wrote the cache with that one key: it decrypts.
        let mut cmd = f.command(&["accounts"]);
        cmd.arg("--cache").arg(&cache);
        let out = run(cmd).await;
        assert_ok(&out);
        assert!(
            stdout(&out).starts_with("bob@example.com"),
            "{}",
            stdout(&out)
        );
        let leftovers: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

fn key_of(cache: &Path) -> PathBuf {
    let mut name = cache.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_key_file_next_to_no_cache_is_recovered() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    // What a crash during an older msal's first run left behind.
    std::fs::write(f.path("c.bin.key"), b"").unwrap();
    let out = run(encrypted(&f, &["login", "--device-code"])).await;
    assert_ok(&out);
    assert!(
        stderr(&out).contains("was empty") && stderr(&out).contains("new key"),
        "says what it did: {}",
        stderr(&out)
    );
    let key = std::fs::read(f.path("c.bin.key")).unwrap();
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.path("c.bin.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let out = run(encrypted(&f, &["token", "--scope", SCOPE])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");

    // An empty key next to an existing cache cannot be recovered: a clear error, both kept.
    std::fs::write(f.path("c.bin.key"), b"").unwrap();
    let before = std::fs::read(f.path("c.bin")).unwrap();
    let out = run(encrypted(&f, &["token", "--scope", SCOPE])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is empty") && stderr(&out).contains("msal cache reset"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(f.path("c.bin")).unwrap(), before);
    assert_eq!(std::fs::read(f.path("c.bin.key")).unwrap(), b"");
}

// ------------------------------------------------- managed identity and workload identity

const TENANT: &str = "72f9a1b0-dddd-4eee-9fff-222222222222";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

impl Fixture {
    /// `msal` with a clean environment and only `vars` (no client id or authority of the
    /// public client). IMDS is always pointed at the fake, so no run can reach the real
    /// 169.254.169.254.
    fn service(&self, vars: &[(&str, String)], args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_msal"));
        cmd.env_clear()
            .env("HOME", self.path("home"))
            .env("XDG_CACHE_HOME", self.xdg_cache())
            .env("MSAL_NO_KEYRING", "1")
            .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", self.server.uri())
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .args(args);
        cmd
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_managed_identity_asks_imds_for_the_resource() {
    let f = Fixture::new().await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "MI-token-0123", "expires_in": "3599",
            "expires_on": (now() + 3599).to_string(), "resource": "https://vault.azure.net",
            "token_type": "Bearer",
        })))
        .mount(&f.server)
        .await;
    let out = run(f.service(
        &[],
        &["token", "--managed-identity", "--scope", VAULT_SCOPE],
    ))
    .await;
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "MI-token-0123");
    let out = run(f.service(
        &[],
        &[
            "token",
            "--managed-identity",
            "--client-id",
            "cid-7",
            "--scope",
            VAULT_SCOPE,
            "--json",
        ],
    ))
    .await;
    assert_ok(&out);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["accessToken"], "MI-token-0123");
    assert_eq!(doc["account"], Value::Null);
    let requests = f.requests().await;
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.headers.get("metadata").unwrap(), "true");
    }
    let query = |r: &wiremock::Request| -> Vec<(String, String)> {
        r.url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    assert_eq!(
        query(&requests[0]),
        [
            ("api-version".to_owned(), "2018-02-01".to_owned()),
            ("resource".to_owned(), "https://vault.azure.net".to_owned())
        ]
    );
    assert!(query(&requests[1]).contains(&("client_id".to_owned(), "cid-7".to_owned())));
    // A managed identity token is for one resource.
    let out = run(f.service(
        &[],
        &[
            "token",
            "--managed-identity",
            "--scope",
            VAULT_SCOPE,
            "--scope",
            "https://graph.microsoft.com/.default",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("one resource"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_workload_identity_sends_the_federated_token_file() {
    let f = Fixture::new().await;
    let uri = f.server.uri();
    Mock::given(method("GET"))
        .and(path(format!(
            "/{TENANT}/v2.0/.well-known/openid-configuration"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": format!("{uri}/{TENANT}/v2.0"),
            "authorization_endpoint": format!("{uri}/{TENANT}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{uri}/{TENANT}/oauth2/v2.0/token"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .and(body_string_contains("client_assertion=projected-sa-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "WI-token-4567", "token_type": "Bearer", "expires_in": 3600,
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    let token_file = f.path("azure-identity-token");
    let vars = [
        ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("AZURE_AUTHORITY_HOST", uri.clone()),
    ];
    // No token file yet: a clear error, nothing sent.
    let out = run(f.service(
        &vars,
        &["token", "--workload-identity", "--scope", VAULT_SCOPE],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("federated token file") && stderr(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&token_file, "projected-sa-token\n").unwrap();
    let out = run(f.service(
        &vars,
        &["token", "--workload-identity", "--scope", VAULT_SCOPE],
    ))
    .await;
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "WI-token-4567");
    // Without the variables: which one is missing.
    let out = run(f.service(
        &[],
        &["token", "--workload-identity", "--scope", VAULT_SCOPE],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("AZURE_CLIENT_ID is not set"),
        "{}",
        stderr(&out)
    );
}

// The commands and options of issue 19 (az-like options, exec-credential, git helper, ...).
#[path = "cli/commands.rs"]
mod commands;

// Issue 19's first hour: errors naming the step and URL, progress, the stale-token warning,
// file permissions, Ctrl-C, the cache read before any interaction.
#[path = "cli/ux.rs"]
mod ux;

/// With a passphrase, the Argon2id key is derived by the first command and kept in the session
/// keyring (Linux keyutils) for `MSAL_CACHE_KEY_TIMEOUT` seconds; the next command takes it from
/// there. With the timeout 0, or `--no-keyring`, or no keyring at all, every command derives it
/// and still reads the cache. (The keys this test keeps expire after 30 s.)
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passphrase_key_is_derived_once_and_kept_in_the_session_keyring() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    let cache = f.path("kept.bin");
    let with_passphrase = |args: &[&str], timeout: &str| {
        let mut cmd = f.command(args);
        cmd.env_remove("MSAL_NO_KEYRING")
            .arg("--cache")
            .arg(&cache)
            .arg("-v")
            .env("MSAL_CACHE_PASSPHRASE", "correct horse battery staple")
            .env("MSAL_CACHE_KEY_TIMEOUT", timeout);
        cmd
    };
    let out = run(with_passphrase(
        &["login", "--device-code", "--scope", SCOPE],
        "30",
    ))
    .await;
    assert_ok(&out);
    if stderr(&out).contains("no session keyring") {
        eprintln!("no keyutils here: the derive-each-run fallback is what ran");
        return;
    }
    assert!(
        stderr(&out).contains("derived (Argon2id) and kept in the session keyring for 30 s"),
        "{}",
        stderr(&out)
    );

    let out = run(with_passphrase(&["token", "--scope", SCOPE], "30")).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert!(
        stderr(&out).contains("came from the session keyring (no Argon2id)"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("correct horse"),
        "no passphrase in the output"
    );

    // Timeout 0: nothing is taken from or kept in the keyring; the key is derived again.
    let out = run(with_passphrase(&["token", "--scope", SCOPE], "0")).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert!(
        stderr(&out).contains("derived (Argon2id) on every run")
            && !stderr(&out).contains("session keyring ("),
        "{}",
        stderr(&out)
    );
    // --no-keyring: the same, with no word about the keyring.
    let mut cmd = with_passphrase(&["token", "--scope", SCOPE, "--no-keyring"], "30");
    cmd.env("MSAL_NO_KEYRING", "1");
    let out = run(cmd).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert!(
        !stderr(&out).contains("session keyring"),
        "{}",
        stderr(&out)
    );

    // A timeout that is not a number of seconds is a usage error (exit 2), not a silent default.
    let out = run(with_passphrase(&["token", "--scope", SCOPE], "ten")).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("MSAL_CACHE_KEY_TIMEOUT"),
        "{}",
        stderr(&out)
    );
}

/// `msal token --json` says how the token was obtained (`acquisition`: sign_in, cache,
/// refresh), and stderr tells a refresh from a sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_json_tells_a_sign_in_a_cache_hit_and_a_refresh_apart() {
    let f = Fixture::new().await;
    f.mount_device_code().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("refresh_token=RT-bob-device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "AT-bob-refreshed", "expires_in": 3600,
            "scope": SCOPE,
        })))
        .mount(&f.server)
        .await;
    let acquisition = |out: &Output| {
        let v: Value = serde_json::from_str(&stdout(out)).unwrap();
        (
            v["accessToken"].as_str().map(str::to_owned),
            v["acquisition"].as_str().map(str::to_owned),
        )
    };
    let out = run(f.plain(&["token", "--device-code", "--scope", SCOPE, "--json"])).await;
    assert_ok(&out);
    assert_eq!(
        acquisition(&out),
        (Some("AT-bob-device".into()), Some("sign_in".into()))
    );
    assert!(stderr(&out).contains("(a sign-in)"), "{}", stderr(&out));

    let out = run(f.plain(&["token", "--scope", SCOPE, "--json"])).await;
    assert_ok(&out);
    assert_eq!(
        acquisition(&out),
        (Some("AT-bob-device".into()), Some("cache".into()))
    );

    let out = run(f.plain(&["token", "--scope", SCOPE, "--force-refresh", "--json", "-v"])).await;
    assert_ok(&out);
    assert_eq!(
        acquisition(&out),
        (Some("AT-bob-refreshed".into()), Some("refresh".into()))
    );
    assert!(
        stderr(&out).contains("from the identity provider (a refresh)"),
        "{}",
        stderr(&out)
    );
}
