// Module map: cli (arguments), commands/ (one file per command), config (apps and caches from
// options and the environment), output (formatting results), error (exit codes), progress
// (the facade's events on stderr: spinner, countdown, warnings), permissions (cache and key
// file owners and modes).

//! # `msal`: sign in and get access tokens from the command line
//!
//! A small tool on top of the msal-rs facade, for scripts and terminals, in the spirit of
//! `az login` / `az account get-access-token`:
//!
//! ```text
//! msal login [--scope S]... [--device-code] [--login-hint H]
//! msal token --scope S [--scope S2]... [--account A] [--json] [--force-refresh] [--no-interaction]
//! msal token --managed-identity [--client-id ID | --object-id ID | --resource-id ID] --scope S [--json]
//! msal token --workload-identity --scope S [--json]
//! msal accounts [--json]
//! msal logout [--account A | --all]
//! msal token --resource R [--tenant T] [--output json|tsv|none] [--claims JSON] [--prompt P]
//! msal token --scope S --exec-credential      # a kubeconfig `exec` plugin
//! msal id-token [--account A] [--json]
//! msal status [--json]
//! msal git-credential get|store|erase         # a git credential helper
//! msal completion bash|zsh|fish
//! msal cache inspect [--json]
//! msal cache reset
//! ```
//!
//! Global options `--tenant T` (an Entra ID tenant instead of the authority's), `--profile P`
//! (defaults from a named profile of the config file, `--config`; its format is in the
//! `profiles` module and the README).
//!
//! `--managed-identity` asks the managed identity endpoint of the Azure resource it runs on (the
//! source detected from the environment, as [`msal::managed_identity`] describes; one scope,
//! sent as its resource); `--workload-identity` uses the `AZURE_*` variables the AKS webhook
//! sets ([`msal::workload_identity`]). Neither signs in nor touches the cache file.
//!
//! **stdout carries only the result** (the access token alone on one line, or JSON); progress,
//! prompts (the device code) and errors go to stderr, so `TOKEN=$(msal token --scope ...)` works.
//!
//! ## Configuration
//! Every global option also reads an environment variable:
//!
//! | option | variable | default |
//! |---|---|---|
//! | `--client-id` | `MSAL_CLIENT_ID` | none; required by every command but `cache inspect` |
//! | `--authority` | `MSAL_AUTHORITY` | `https://login.microsoftonline.com/organizations` |
//! | `--oidc-authority` | `MSAL_OIDC_AUTHORITY` | none (any OpenID Connect issuer; excludes `--authority`) |
//! | `--cache` | `MSAL_CACHE` | `{user cache folder}/msal-rs/msal_token_cache.bin` (`.json` with `--plaintext-cache`) |
//!
//! The user cache folder is `$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on
//! macOS and `%LOCALAPPDATA%` on Windows.
//!
//! ## The token cache and its key
//! By default the cache is an encrypted file (XChaCha20-Poly1305). Its key comes from, in order:
//! 1. `MSAL_CACHE_PASSPHRASE`: a key derived from the passphrase with Argon2id. Protects the
//!    cache against anyone without the passphrase, including other processes of the same user
//!    that do not have it. Argon2id costs about 50 ms, so on Linux the first command derives
//!    the key and keeps it in the kernel's session keyring for `MSAL_CACHE_KEY_TIMEOUT`
//!    seconds (default 600; `0`, `--no-keyring` or `MSAL_NO_KEYRING` keep nothing): kernel
//!    memory, never on disk, readable only by processes of this login session, gone at
//!    logout, reboot or the timeout. While it is kept, a process of the same session can
//!    decrypt the cache without the passphrase (as `sudo` does not ask again for a few
//!    minutes), and the passphrase given is not checked against it: a cheap check would let
//!    whoever reads the kept key guess the passphrase cheaply. Where there is no session
//!    keyring (other platforms, containers whose seccomp profile forbids keyutils), each
//!    command derives the key. `-v` says which happened; `keyctl show @s` lists the kept keys
//!    (`msal-rs:cache-key:{cache path}:...`) and `keyctl purge user msal-rs:` drops them.
//! 2. An existing key file `{cache}.key` (so a cache keeps working when the tool is rebuilt).
//! 3. With the cargo feature `keyring`, unless `--no-keyring`/`MSAL_NO_KEYRING` is set: the OS
//!    keyring (service `msal-rs`, account = the absolute cache path), when it can be used. Protects against copies of the disk or home folder; not against
//!    programs running as the same user.
//! 4. A random 32-byte key file `{cache}.key`, created with mode `0600` when neither it nor the
//!    cache exists, and never overwritten (an unreadable or malformed key file is an error, never
//!    replaced; an encrypted cache with no key is an error, not a reason to make one). The key is
//!    written to a temporary file and linked into place whole, so parallel first runs share one
//!    key and none reads a partial file; a 0-byte key file next to no cache (left by a crash of
//!    an older msal) is replaced by a new key, with a message on stderr. A copied or
//!    backed-up cache file alone is then useless; it does not protect against anyone who can read
//!    the user's files (the same OS user, root).
//!
//! `msal cache reset` is the way out of a cache that can no longer be read (damaged, or
//! encrypted with a lost key or passphrase), which msal never overwrites: it moves the file aside
//! to `{cache}.corrupt-{UTC time}` (nothing is deleted), prints that path, and the next sign-in
//! starts a new cache.
//!
//! `--verbose` names the key source used on stderr. `--plaintext-cache` uses a plain unified-JSON
//! file instead (mode `0600`), e.g. to share it with MSAL Python, .NET or Node.
//!
//! ## Signing in
//! `login`, and `token` when no token can be had silently, sign in with the system browser (it
//! honours `$BROWSER`) and a loopback redirect, or with the device code flow when `--device-code`
//! or `--no-browser` is given, when no browser can be shown (no display, an SSH session) or when
//! opening it fails. `login` with no `--scope` asks for the OpenID Connect scopes only
//! (`openid profile offline_access`). `token` is silent-first: a cached access token valid for
//! more than 5 minutes, else the cached refresh token, else a sign-in (or exit code 3 with
//! `--no-interaction`). It drives silent and interactive steps itself rather than calling the
//! facade's all-in-one `acquire_token`, to offer `--no-interaction` and `--no-browser` and to say
//! on stderr when the user is asked to sign in.
//!
//! ## Profiles
//! A config file with named profiles (format and precedence in the README and the `profiles`
//! module): `{user config folder}/msal-rs/config.toml`, or `--config` / `MSAL_CONFIG`; the profile
//! is `--profile` / `MSAL_PROFILE`, else the file's `default_profile`. A profile sets
//! `client_id`, `authority` or `oidc_authority`, `tenant`, `cache`, `plaintext_cache` and a default
//! `account`. Command-line options win over the profile, the profile over environment variables.
//!
//! ## Choices
//! - `token --output json` (and `--json`) leads with `az account get-access-token`'s fields in its
//!   order: `expiresOn` in local time as az prints it (`2024-05-01 14:00:00.000000`),
//!   `expires_on` in Unix seconds, `tenant`; `expiresOnUtc` keeps the RFC 3339 value that
//!   `expiresOn` used to hold. az's `subscription` has no meaning here and is left out. `-o tsv`
//!   prints the top-level values in that order, as az does.
//! - `--resource R` asks for `R/.default` exactly as az builds it (a trailing slash is kept).
//! - `--tenant` replaces the Entra ID authority's tenant in the application's authority (the
//!   `tenant` module; to become the facade's per-request tenant); it is refused with
//!   `--oidc-authority` and ADFS.
//! - A silent failure with `invalid_scope` or `consent_required` (a scope the refresh token cannot
//!   cover) is treated like "interaction required": a sign-in for the scopes is offered.
//! - `git-credential` answers `get` for https only; `store` and `erase` are ignored (the tokens
//!   live in msal's cache). Its default scope is Azure DevOps'.
//! - `--exec-credential` honours `KUBERNETES_EXEC_INFO`'s `interactive: false` as
//!   `--no-interaction` and answers in the `apiVersion` kubectl sent (v1 or v1beta1).
//! - `status` exits 1 when nobody is signed in, after printing the status.
//! - `cache inspect` names the schema's realm "tenant", and shows none for providers without
//!   tenants (any OpenID Connect provider but Entra ID).
//!
//! ## What stderr shows
//! - A request that got no answer names its step and URL (no query string), e.g. `msal: error:
//!   token request to https://.../token: connection refused` (the facade's
//!   `Event::RequestFailed`, kept by the `progress` module).
//! - Only when stderr is a terminal: a spinner while a request is out and while it is retried,
//!   and the device code's remaining time (`indicatif`). Otherwise no spinner output at all;
//!   `-v` prints retries as plain lines.
//! - A browser sign-in always prints `If no browser opens, go to: <url>`
//!   (`SystemBrowser::with_url_notice`).
//! - `msal: warning: the identity provider is unreachable; using a token that expires in N min`
//!   when the facade serves a cached token inside the refresh buffer because the refresh
//!   failed (`Event::StaleTokenServed`).
//! - A cache or key file others may read or write: a warning naming `chmod 600 <path>`, or
//!   exit 1 with `--strict-permissions` / `MSAL_STRICT_PERMISSIONS`; one owned by another user
//!   is refused (Unix; the `permissions` module).
//! - Ctrl-C during a sign-in: `msal: sign-in cancelled`, exit 130; a key file this run made is
//!   removed when no cache was written with it.
//! - `login` reads the cache before any interaction, so an unreadable cache fails before a
//!   browser or device code (and is left untouched).
//!
//! ## Exit codes
//! `0` success; `1` any error; `2` usage (bad options, no client id); `3` interaction required
//! but not allowed (`token --no-interaction`); `130` a sign-in cancelled with Ctrl-C. Errors are
//! one line on stderr, `msal: error: ...`, and never contain a token.

mod cli;
mod commands;
mod config;
mod error;
mod output;
mod permissions;
mod profiles;
mod progress;
mod session_key;
mod tenant;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // First, while this is the only thread (see the function).
    output::init_local_offset();
    let matches = cli::Cli::command().get_matches();
    let mut cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    if let Err(err) = profiles::apply(&mut cli.global, &matches) {
        eprintln!("msal: error: {err}");
        return ExitCode::from(err.exit_code());
    }
    if cli.global.verbose {
        init_tracing();
    }
    progress::init(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("msal: error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(commands::run(cli));
    progress::clear();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err @ error::CliError::Cancelled) => {
            eprintln!("msal: {err}");
            ExitCode::from(err.exit_code())
        }
        Err(err) => {
            eprintln!("msal: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Debug logs of the msal crates (which log no tokens and no personal data) on stderr.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::new(
        "warn,msal=debug,msal_core=debug,msal_cache=debug,msal_http=debug,msal_interactive=debug,msal_cli=debug",
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}
