//! Issue 19's commands and options, each run through the built binary against the wiremock
//! provider of the parent module's [`Fixture`].

use super::*;

/// `cmd` with `input` on its stdin (the shared runner closes stdin): through `sh`, which pipes
/// the text from an environment variable into the same program, arguments and environment.
fn with_stdin(cmd: &Command, input: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("printf '%s' \"$MSAL_TEST_STDIN\" | exec \"$0\" \"$@\"")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            sh.env(key, value);
        }
    }
    sh.env("MSAL_TEST_STDIN", input);
    sh
}

/// The body of the last request to the token endpoint, decoded enough to search.
async fn last_token_body(f: &Fixture) -> String {
    let requests = f.requests().await;
    let body = requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/token")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .unwrap_or_default();
    body.replace("%3A", ":")
        .replace("%2F", "/")
        .replace("%20", " ")
        .replace('+', " ")
}

/// A token endpoint that redeems the seeded refresh token for `token`.
async fn mount_refresh(f: &Fixture, token: &str, scope: &str) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(format!("refresh_token={RT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": token, "expires_in": 3600, "scope": scope,
        })))
        .mount(&f.server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scope_values_exit_2_with_a_usage_message() {
    let f = Fixture::new().await;
    for args in [
        &["token", "--scope", ""][..],
        &["token", "--scope", "a,b"],
        &["login", "--scope", " "],
        &["token", "--resource", "a b"],
        &["token", "--scope", SCOPE, "--claims", "not json"],
        &["token", "--scope", SCOPE, "--prompt", "sometimes"],
    ] {
        let out = run(f.plain(args)).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        // clap's usage error: which value is wrong, why, and where the help is.
        let err = stderr(&out);
        assert!(
            err.starts_with("error: invalid value") && err.contains("--help"),
            "{args:?}: {err}"
        );
    }
    assert!(f.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_asks_for_its_default_scope_and_output_formats_print_it() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    mount_refresh(&f, "AT-resource", "api://res//.default").await;
    let out = run(f.plain(&["token", "--resource", "api://res/", "--output", "tsv"])).await;
    assert_ok(&out);
    assert!(
        last_token_body(&f).await.contains("api://res//.default"),
        "{}",
        last_token_body(&f).await
    );
    // az's field order: accessToken, expiresOn, expires_on, tenant (null: empty), tokenType...
    let line = stdout(&out);
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(fields[0], "AT-resource", "{line}");
    assert_eq!(
        fields[2].parse::<u64>().unwrap() / 100,
        (now() + 3600) / 100
    );
    assert_eq!((fields[3], fields[4]), ("", "Bearer"), "{line}");

    // Cached now; --output none prints nothing and succeeds.
    let out = run(f.plain(&["token", "--resource", "api://res/", "-o", "none"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    let out = run(f.plain(&["token", "--resource", "api://res/", "-o", "json"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["accessToken"], "AT-resource");
    assert_eq!(f.token_requests().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_credential_prints_a_kubectl_exec_credential() {
    let f = Fixture::new().await;
    let expires = now() + 3600;
    f.seed(expires);
    let out = run(f.plain(&["token", "--scope", SCOPE, "--exec-credential"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(v["kind"], "ExecCredential");
    assert_eq!(v["status"]["token"], AT);
    let stamp = v["status"]["expirationTimestamp"].as_str().unwrap();
    assert!(stamp.ends_with('Z') && stamp.len() == 20, "{stamp}");

    // kubectl without a terminal: no sign-in, exit 3 naming the command to run.
    let mut cmd = f.plain(&["token", "--scope", "api://other/read", "--exec-credential"]);
    cmd.env(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}"#,
    );
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "expired"
        })))
        .mount(&f.server)
        .await;
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_needing_consent_offers_a_sign_in_or_names_the_command() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    f.mount_device_code().await;
    // What the e2e provider answers: the refresh token does not cover the new scope.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(format!("refresh_token={RT}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_scope",
            "error_description": "refresh token missing requested scope"
        })))
        .mount(&f.server)
        .await;
    let other = "api://e2e/read";
    let out = run(f.plain(&["token", "-s", other, "--no-interaction"])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    let cache = f.path("c.json").display().to_string();
    assert!(
        err.contains(&format!(
            "run `msal --plaintext-cache --cache {cache} login --scope {other} --login-hint alice@example.com`"
        )),
        "{err}"
    );
    let out = run(f.plain(&["token", "-s", other, "--device-code", "--no-interaction"])).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("--device-code"), "{}", stderr(&out));

    // Interaction allowed: the sign-in is offered (a device code here: no browser).
    let out = run(f.plain(&["token", "-s", other])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-bob-device\n");
    assert!(stderr(&out).contains(USER_CODE), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_skip_the_cached_token_and_are_sent() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    mount_refresh(&f, "AT-with-claims", SCOPE).await;
    let claims = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let out = run(f.plain(&["token", "-s", SCOPE, "--claims", claims])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "AT-with-claims\n");
    assert!(last_token_body(&f).await.contains("claims="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_prints_the_cached_id_token() {
    let f = Fixture::new().await;
    let doc = f.seed(now() + 3600);
    let cached = doc["IdToken"].as_object().unwrap().values().next().unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run(f.plain(&["id-token"])).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{cached}\n"));
    let out = run(f.plain(&["id-token", "--json"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["idToken"], cached.as_str());
    assert_eq!(v["preferred_username"], "alice@example.com");
    assert_eq!(v["tid"], Value::Null);
    assert!(f.requests().await.is_empty());

    // Nobody signed in and no interaction: exit 3 with the command.
    std::fs::remove_file(f.path("c.json")).unwrap();
    let out = run(f.plain(&["id-token", "--no-interaction"])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("login --scope openid"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_non_zero_when_nobody_is_signed_in() {
    let f = Fixture::new().await;
    let out = run(f.plain(&["status"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("signed in: nobody"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("msal login"), "{}", stderr(&out));

    f.seed(now() + 3600);
    let out = run(f.plain(&["status"])).await;
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains(&format!("client:    {CLIENT_ID}")), "{text}");
    assert!(text.contains("signed in: alice@example.com"), "{text}");
    let out = run(f.plain(&["status", "--json"])).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["signedIn"], true);
    assert_eq!(v["profile"], Value::Null);
    assert_eq!(v["accounts"][0]["username"], "alice@example.com");
    assert!(f.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_scripts_need_no_configuration() {
    let f = Fixture::new().await;
    for (shell, marker) in [
        ("bash", "complete"),
        ("zsh", "#compdef msal"),
        ("fish", "complete -c msal"),
    ] {
        let mut cmd = f.command(&["completion", shell]);
        cmd.env_remove("MSAL_CLIENT_ID");
        let out = run(cmd).await;
        assert_ok(&out);
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}");
        assert!(
            script.contains("git-credential") && script.contains("exec-credential"),
            "{shell}"
        );
    }
    let out = run(f.command(&["completion", "tcsh"])).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_credential_answers_git_with_a_token() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let get = with_stdin(
        &f.plain(&["git-credential", "--scope", SCOPE, "get"]),
        "protocol=https\nhost=dev.azure.com\npath=org/repo\n\n",
    );
    let out = run(get).await;
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.starts_with("username=alice@example.com\n"), "{text}");
    assert!(text.contains(&format!("\npassword={AT}\n")), "{text}");
    assert!(text.contains("\npassword_expiry_utc="), "{text}");
    assert!(!stderr(&out).contains(AT));

    // Not https: nothing, so git asks its other helpers.
    let http = with_stdin(
        &f.plain(&["git-credential", "--scope", SCOPE, "get"]),
        "protocol=http\nhost=example.com\n\n",
    );
    let out = run(http).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    // store and erase are read and ignored; a malformed request is an error that hides it.
    for action in ["store", "erase"] {
        let out = run(with_stdin(
            &f.plain(&["git-credential", action]),
            "protocol=https\nhost=x\npassword=p\n\n",
        ))
        .await;
        assert_ok(&out);
        assert_eq!(stdout(&out), "");
    }
    let out = run(with_stdin(
        &f.plain(&["git-credential", "get"]),
        "hunter2\n",
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    assert!(f.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_give_defaults_and_a_default_account() {
    let f = Fixture::new().await;
    f.seed(now() + 3600);
    let config = f.path("config.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"dev\"\n[profiles.dev]\nclient_id = \"{CLIENT_ID}\"\n\
             oidc_authority = \"{}\"\ncache = \"{}\"\nplaintext_cache = true\n\
             account = \"alice@example.com\"\n[profiles.other]\nclient_id = \"nobody\"\n",
            f.server.uri(),
            f.path("c.json").display()
        ),
    )
    .unwrap();
    // The environment's client id loses to the profile's; the default profile is used.
    let mut cmd = f.command(&["token", "-s", SCOPE]);
    cmd.env("MSAL_CLIENT_ID", "wrong-client")
        .env("MSAL_CONFIG", &config);
    let out = run(cmd).await;
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{AT}\n"));

    let mut cmd = f.command(&["--profile", "dev", "status"]);
    cmd.env("MSAL_CONFIG", &config);
    let out = run(cmd).await;
    assert_ok(&out);
    assert!(stdout(&out).contains("profile:   dev"), "{}", stdout(&out));

    // A command-line option wins over the profile.
    let mut cmd = f.command(&["--profile", "dev", "--client-id", "nobody", "status"]);
    cmd.env("MSAL_CONFIG", &config);
    let out = run(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "nobody signed in to that client"
    );

    let mut cmd = f.command(&["--profile", "missing", "status"]);
    cmd.env("MSAL_CONFIG", &config);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("profiles: dev, other"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&config, "[profiles.dev]\nclientid = \"typo\"\n").unwrap();
    let mut cmd = f.command(&["--profile", "dev", "status"]);
    cmd.env("MSAL_CONFIG", &config);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("clientid"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_replaces_the_authority_s_tenant() {
    let f = Fixture::new().await;
    let mut cmd = f.plain(&[
        "status",
        "--authority",
        "https://login.microsoftonline.com/organizations",
        "--tenant",
        "contoso.onmicrosoft.com",
    ]);
    cmd.env_remove("MSAL_OIDC_AUTHORITY");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("login.microsoftonline.com/contoso.onmicrosoft.com"),
        "{}",
        stdout(&out)
    );
    // A generic OpenID Connect provider has no tenants.
    let out = run(f.plain(&["status", "--tenant", "contoso.com"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_inspect_json_has_nulls_and_no_secret() {
    let f = Fixture::new().await;
    let doc = f.seed(now() + 3600);
    let mut cmd = f.plain(&["cache", "inspect", "--json"]);
    cmd.env_remove("MSAL_CLIENT_ID");
    let out = run(cmd).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["exists"], true);
    assert_eq!(v["counts"]["accessTokens"], 1);
    let account = &v["accounts"][0];
    assert_eq!(account["username"], "alice@example.com");
    assert_eq!(account["tenants"], json!([]));
    assert_eq!(account["accessTokens"][0]["scopes"], json!([SCOPE]));
    assert_eq!(account["accessTokens"][0]["tenant"], Value::Null);
    assert_eq!(account["refreshTokens"][0]["clientId"], CLIENT_ID);
    for section in ["AccessToken", "RefreshToken", "IdToken"] {
        for entry in doc[section].as_object().unwrap().values() {
            let secret = entry["secret"].as_str().unwrap();
            assert!(
                !stdout(&out).contains(&secret[..12]),
                "{section} secret shown"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_on_is_in_local_time_as_az_prints_it() {
    let f = Fixture::new().await;
    let expires = now() + 3600;
    f.seed(expires);
    let mut cmd = f.plain(&["token", "-s", SCOPE, "-o", "json"]);
    // POSIX TZ: "IST-5:30" is 5 h 30 min east of UTC.
    cmd.env("TZ", "IST-5:30");
    let out = run(cmd).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let local = (expires + 5 * 3600 + 30 * 60) % 86_400;
    let clock = format!(
        " {:02}:{:02}:{:02}.000000",
        local / 3600,
        (local % 3600) / 60,
        local % 60
    );
    let on = v["expiresOn"].as_str().unwrap();
    assert!(on.ends_with(&clock), "{on} should end with {clock}");
    assert_eq!(v["expires_on"], expires);
}
