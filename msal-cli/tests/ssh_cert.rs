//! `msal ssh-cert` end to end: the built binary against a wiremock OpenID Connect provider on
//! loopback, with a plaintext cache and a clean environment in a temporary folder.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "msal-cli-ssh-client";
const RT: &str = "RT-ssh-secret-123";
const SCOPE: &str = "https://pas.windows.net/CheckMyAccess/Linux/.default";
const CERT: &str = "AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg+fake/cert=";

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

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_msal"));
        cmd.env_clear()
            .env("HOME", self.path("home"))
            .env("XDG_CACHE_HOME", self.path("xdg-cache"))
            .env("MSAL_CLIENT_ID", CLIENT_ID)
            .env("MSAL_OIDC_AUTHORITY", self.server.uri())
            .env("MSAL_NO_KEYRING", "1")
            .args(args)
            .arg("--plaintext-cache")
            .arg("--cache")
            .arg(self.path("c.json"));
        cmd
    }

    /// alice signed in: account and refresh token, no access token.
    fn seed(&self) {
        let env = self.server.uri().trim_start_matches("http://").to_owned();
        let doc = json!({
            "Account": { format!("alice-{env}-"): {
                "home_account_id": "alice", "environment": env, "realm": "",
                "local_account_id": "alice", "username": "alice@example.com",
                "authority_type": "MSSTS" } },
            "RefreshToken": { format!("alice-{env}-refreshtoken-{CLIENT_ID}--"): {
                "credential_type": "RefreshToken", "secret": RT,
                "home_account_id": "alice", "environment": env, "client_id": CLIENT_ID } },
        });
        std::fs::write(self.path("c.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
    }

    async fn token_requests(&self) -> Vec<wiremock::Request> {
        let all = self.server.received_requests().await.unwrap_or_default();
        all.into_iter()
            .filter(|r| r.url.path() == "/token")
            .collect()
    }
}

/// An `ssh-rsa` public key line (the modulus need not be a real key's for the request).
fn public_key_line() -> String {
    let mut blob = Vec::new();
    let n: Vec<u8> = std::iter::once(0)
        .chain((1..=64).map(|i: u8| i.wrapping_mul(37)))
        .collect();
    for field in [&b"ssh-rsa"[..], &[1, 0, 1], &n] {
        blob.extend((field.len() as u32).to_be_bytes());
        blob.extend(field);
    }
    format!("ssh-rsa {} alice@laptop\n", STANDARD.encode(blob))
}

async fn run(cmd: Command) -> Output {
    msal_tests::process::output_within_async(cmd, "the msal binary", Duration::from_secs(120)).await
}

fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `ssh-cert` for `key_arg` again, into `name`, without interaction: the certificate `written`
/// comes from the cache, with no request beyond the one token request made so far.
async fn assert_served_from_the_cache(f: &Fixture, key_arg: &str, name: &str, written: &str) {
    let out_path = f.path(name);
    let out = run(f.command(&[
        "ssh-cert",
        "--public-key",
        key_arg,
        "--no-interaction",
        "-o",
        out_path.to_str().unwrap(),
    ]))
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(out_path).unwrap(), written);
    assert_eq!(f.token_requests().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_cert_writes_the_certificate_beside_the_key_and_caches_it_per_key_id() {
    let f = Fixture::new().await;
    f.seed();
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(format!("refresh_token={RT}")))
        .and(body_string_contains("token_type=ssh-cert"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "ssh-cert", "access_token": CERT, "refresh_token": "RT-rotated",
            "expires_in": 3600, "scope": SCOPE,
        })))
        .mount(&f.server)
        .await;
    let key = f.path("id_rsa.pub");
    std::fs::write(&key, public_key_line()).unwrap();
    let key_arg = key.to_str().unwrap();

    let out = run(f.command(&["ssh-cert", "--public-key", key_arg])).await;
    assert!(out.status.success(), "{}", describe(&out));
    let written = std::fs::read_to_string(f.path("id_rsa-cert.pub")).unwrap();
    assert_eq!(written, format!("ssh-rsa-cert-v01@openssh.com {CERT}\n"));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(CERT),
        "no certificate in logs"
    );

    let requests = f.token_requests().await;
    assert_eq!(requests.len(), 1);
    let form = msal_tests::harness::form(&requests[0]);
    let field = |k: &str| form.get(k).cloned();
    let key_id = field("key_id").expect("key_id is sent");
    let cnf: Value = serde_json::from_str(&field("req_cnf").unwrap()).unwrap();
    assert_eq!(
        (cnf["kid"].as_str(), cnf["e"].as_str()),
        (Some(key_id.as_str()), Some("AQAB"))
    );

    let cache: Value = serde_json::from_slice(&std::fs::read(f.path("c.json")).unwrap()).unwrap();
    let entries: Vec<&Value> = cache["AccessToken"].as_object().unwrap().values().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["token_type"], "ssh-cert");
    assert_eq!(entries[0]["key_id"], key_id.as_str());

    // Again, to another file: from the cache, no request.
    assert_served_from_the_cache(&f, key_arg, "other-cert.pub", &written).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_cert_refuses_a_non_rsa_key_and_needs_a_signed_in_account() {
    let f = Fixture::new().await;
    let key = f.path("id_ed25519.pub");
    std::fs::write(&key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me\n").unwrap();
    let out = run(f.command(&["ssh-cert", "--public-key", key.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ssh-rsa"),
        "{}",
        describe(&out)
    );

    let key = f.path("id_rsa.pub");
    std::fs::write(&key, public_key_line()).unwrap();
    let out = run(f.command(&[
        "ssh-cert",
        "--public-key",
        key.to_str().unwrap(),
        "--no-interaction",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("msal login"),
        "{}",
        describe(&out)
    );
    assert!(f.token_requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_signed_in_ssh_cert_signs_in_with_a_device_code_that_asks_for_the_certificate()
{
    let f = Fixture::new().await;
    let issuer = f.server.uri();
    Mock::given(method("POST"))
        .and(path("/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "ssh-device-code", "user_code": "SSH-CODE",
            "verification_uri": format!("{issuer}/device"), "expires_in": 300, "interval": 1
        })))
        .mount(&f.server)
        .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let id_token = msal_tests::harness::jwt(json!({
        "iss": issuer, "sub": "carol", "aud": CLIENT_ID, "preferred_username": "carol@example.com",
        "iat": now, "exp": now + 3600,
    }));
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("device_code=ssh-device-code"))
        .and(body_string_contains("token_type=ssh-cert"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "ssh-cert", "access_token": CERT, "refresh_token": "RT-carol",
            "expires_in": 3600, "scope": SCOPE, "id_token": id_token,
        })))
        .mount(&f.server)
        .await;
    let key = f.path("id_rsa.pub");
    std::fs::write(&key, public_key_line()).unwrap();
    let key_arg = key.to_str().unwrap();

    let out = run(f.command(&["ssh-cert", "--public-key", key_arg, "--device-code"])).await;
    assert!(out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SSH-CODE") && stderr.contains("Signed in as carol@example.com"),
        "{}",
        describe(&out)
    );
    assert!(!stderr.contains(CERT), "no certificate in logs");
    let written = std::fs::read_to_string(f.path("id_rsa-cert.pub")).unwrap();
    assert_eq!(written, format!("ssh-rsa-cert-v01@openssh.com {CERT}\n"));
    let requests = f.token_requests().await;
    assert_eq!(requests.len(), 1, "one device code poll, answered");
    let form = msal_tests::harness::form(&requests[0]);
    assert!(form.contains_key("req_cnf") && form.contains_key("key_id"));

    // The certificate the sign-in got is cached under the key id: no sign-in, no request.
    assert_served_from_the_cache(&f, key_arg, "again-cert.pub", &written).await;
}
