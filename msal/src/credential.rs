//! How a confidential client proves who it is at the token endpoint: a client secret, a
//! certificate (a signed client assertion JWT), or an assertion the app supplies (workload
//! identity federation).
//!
//! # Certificates
//!
//! A certificate credential signs a short-lived JWT (RFC 7523) on every token request:
//!
//! | claim | value |
//! |---|---|
//! | `aud` | the token endpoint (Entra requires exactly that) |
//! | `iss`, `sub` | the client id |
//! | `jti` | a new random UUID |
//! | `iat`, `nbf` | now |
//! | `exp` | now + 10 minutes |
//!
//! For Entra ID (including B2C and CIAM) it is signed **PS256** with the certificate's SHA-256
//! thumbprint in the `x5t#S256` header, as current MSAL.NET and MSAL Python do. ADFS and
//! generic OpenID Connect providers get **RS256** with the SHA-1 thumbprint in `x5t`, which
//! they have long accepted. [`ClientCertificate::signature_algorithm`] overrides the choice;
//! [`ClientCertificate::send_x5c`] adds the certificate itself (`x5c`), for Entra's subject
//! name/issuer authentication.
//!
//! Keys are RSA (what Entra accepts for client assertions), read from PEM (PKCS#8 or PKCS#1)
//! or PKCS#12. The key is checked against the certificate when the credential is built: a
//! mismatch fails there, with a clear message, instead of as `invalid_client` at every request.
//!
//! Signing uses `ring`, already in the dependency tree through rustls (no second crypto
//! library); PEM is read with `rustls-pki-types` and the certificate's key checked with
//! `rustls-webpki`, for the same reason. PKCS#12 files are read by `p12-keystore`, the
//! pure-Rust PKCS#12 reader (feature `pkcs12`, on by default).
//!
//! Client secrets and assertions are [`Secret`]s and DER key bytes live in
//! [`zeroize::Zeroizing`] buffers (they are bytes, not text): both are wiped when dropped, and
//! no `Debug` output shows them.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::future::BoxFuture;
use msal_core::{AuthorityKind, Secret};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;

/// How long a client assertion JWT is valid. Short: it is made anew for every request.
pub const ASSERTION_LIFETIME_SECS: u64 = 600;

/// The error an assertion callback returns.
pub type AssertionError = Box<dyn std::error::Error + Send + Sync>;

/// What an [assertion callback](crate::ConfidentialClientApplicationBuilder::client_assertion)
/// is asked for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AssertionRequest {
    /// The client id the assertion is for.
    pub client_id: String,
    /// The token endpoint the assertion will be sent to (its audience).
    pub token_endpoint: String,
}

type AssertionFn =
    dyn Fn(AssertionRequest) -> BoxFuture<'static, Result<String, AssertionError>> + Send + Sync;

/// The JWT signature of a certificate credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtSignature {
    /// PS256 with the SHA-256 thumbprint (`x5t#S256`) for Entra ID, RS256 with the SHA-1
    /// thumbprint (`x5t`) for ADFS and other providers.
    Auto,
    /// RSASSA-PSS with SHA-256, `x5t#S256` header.
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, `x5t` (SHA-1 thumbprint) header.
    Rs256,
}

/// A certificate and its RSA private key, for client assertions. See the
/// [module documentation](self).
#[derive(Clone)]
pub struct ClientCertificate {
    key: Arc<RsaKeyPair>,
    certificate_der: Arc<[u8]>,
    sha1_thumbprint: [u8; 20],
    sha256_thumbprint: [u8; 32],
    signature: JwtSignature,
    send_x5c: bool,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Credential {
        message: message.into(),
        source: None,
    }
}

impl ClientCertificate {
    /// The certificate (PEM, `BEGIN CERTIFICATE`; the first one is used, the rest of a chain is
    /// ignored) and its private key (PEM, PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1
    /// `BEGIN RSA PRIVATE KEY`). Both may be the same bytes, a file holding both.
    pub fn from_pem(certificate_pem: &[u8], private_key_pem: &[u8]) -> Result<Self, Error> {
        let certificate = CertificateDer::pem_slice_iter(certificate_pem)
            .next()
            .ok_or_else(|| invalid("no PEM certificate (BEGIN CERTIFICATE) found"))?
            .map_err(|e| invalid(format!("the certificate PEM is malformed: {e}")))?;
        // Key bytes are held in buffers wiped on drop.
        let key = PrivateKeyDer::from_pem_slice(private_key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                invalid("no PEM private key (BEGIN PRIVATE KEY / BEGIN RSA PRIVATE KEY) found")
            }
            e => invalid(format!("the private key PEM is malformed: {e}")),
        })?;
        let key_pair = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => {
                return Err(invalid(
                    "the private key is not an RSA key (client assertions are signed with RSA)",
                ))
            }
        }
        .map_err(|e| invalid(format!("the private key is not a usable RSA key: {e}")))?;
        Self::new(key_pair, certificate.as_ref())
    }

    /// A DER certificate and its RSA private key as PKCS#8 DER.
    pub fn from_der(certificate_der: &[u8], private_key_pkcs8_der: &[u8]) -> Result<Self, Error> {
        let key_pair = RsaKeyPair::from_pkcs8(private_key_pkcs8_der)
            .map_err(|e| invalid(format!("the private key is not a usable RSA key: {e}")))?;
        Self::new(key_pair, certificate_der)
    }

    /// A PKCS#12 (`.pfx`/`.p12`) file holding the certificate and its private key, and its
    /// password. The first key with a matching certificate is used.
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12(pkcs12: &[u8], password: &str) -> Result<Self, Error> {
        use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
        let store =
            KeyStore::from_pkcs12(pkcs12, password, Pkcs12ImportPolicy::Strict).map_err(|e| {
                invalid(format!(
                    "the PKCS#12 file could not be read (wrong password?): {e}"
                ))
            })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| invalid("the PKCS#12 file holds no private key with its certificate"))?;
        let certificate = chain
            .certs()
            .first()
            .ok_or_else(|| invalid("the PKCS#12 file holds no certificate for its key"))?;
        let key = Zeroizing::new(chain.key().as_der().to_vec());
        Self::from_der(certificate.as_der(), &key)
    }

    fn new(key: RsaKeyPair, certificate_der: &[u8]) -> Result<Self, Error> {
        check_key_matches(&key, certificate_der)?;
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, certificate_der);
        let mut sha1_thumbprint = [0u8; 20];
        sha1_thumbprint.copy_from_slice(sha1.as_ref());
        Ok(ClientCertificate {
            key: Arc::new(key),
            certificate_der: certificate_der.into(),
            sha1_thumbprint,
            sha256_thumbprint: Sha256::digest(certificate_der).into(),
            signature: JwtSignature::Auto,
            send_x5c: false,
        })
    }

    /// Choose the JWT signature instead of deciding by authority (default
    /// [`JwtSignature::Auto`]).
    pub fn signature_algorithm(mut self, signature: JwtSignature) -> Self {
        self.signature = signature;
        self
    }

    /// Send the certificate in the assertion's `x5c` header (default false): needed for Entra
    /// apps that authenticate with the certificate's subject name and issuer.
    pub fn send_x5c(mut self, send: bool) -> Self {
        self.send_x5c = send;
        self
    }

    /// The certificate's SHA-1 thumbprint in upper-case hex, as the Azure portal shows it.
    pub fn thumbprint(&self) -> String {
        hex::encode_upper(self.sha1_thumbprint)
    }

    /// Sign a client assertion for `client_id` to present at `token_endpoint` at `now` (Unix
    /// seconds), for an authority of kind `kind`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        token_endpoint: &str,
        kind: AuthorityKind,
        now: u64,
    ) -> Result<Secret, Error> {
        let pss = match self.signature {
            JwtSignature::Ps256 => true,
            JwtSignature::Rs256 => false,
            _ => matches!(
                kind,
                AuthorityKind::Aad | AuthorityKind::B2c | AuthorityKind::Ciam
            ),
        };
        let mut header = serde_json::Map::new();
        header.insert("alg".into(), (if pss { "PS256" } else { "RS256" }).into());
        header.insert("typ".into(), "JWT".into());
        if pss {
            header.insert(
                "x5t#S256".into(),
                URL_SAFE_NO_PAD.encode(self.sha256_thumbprint).into(),
            );
        } else {
            header.insert(
                "x5t".into(),
                URL_SAFE_NO_PAD.encode(self.sha1_thumbprint).into(),
            );
        }
        if self.send_x5c {
            header.insert(
                "x5c".into(),
                vec![STANDARD.encode(&self.certificate_der)].into(),
            );
        }
        let claims = serde_json::json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(ASSERTION_LIFETIME_SECS),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::Value::Object(header).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        let algorithm: &'static dyn ring::signature::RsaEncoding = if pss {
            &RSA_PSS_SHA256
        } else {
            &RSA_PKCS1_SHA256
        };
        self.key
            .sign(
                algorithm,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| invalid("signing the client assertion failed"))?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// Sign a probe with the key and verify it with the certificate's public key: the cheapest
/// complete proof that they belong together, without parsing the certificate ourselves.
fn check_key_matches(key: &RsaKeyPair, certificate_der: &[u8]) -> Result<(), Error> {
    let der = CertificateDer::from(certificate_der);
    let certificate = webpki::EndEntityCert::try_from(&der).map_err(|e| {
        invalid(format!(
            "the certificate is not a valid X.509 certificate: {e}"
        ))
    })?;
    let probe = b"msal-rs: does this key belong to this certificate?";
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        probe,
        &mut signature,
    )
    .map_err(|_| invalid("the private key cannot sign"))?;
    certificate
        .verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, probe, &signature)
        .map_err(|_| {
            invalid("the private key does not belong to the certificate (its public key differs)")
        })
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint())
            .field("signature", &self.signature)
            .field("send_x5c", &self.send_x5c)
            .finish_non_exhaustive()
    }
}

/// How a confidential client authenticates.
#[derive(Clone)]
pub(crate) enum ClientCredential {
    Secret(Arc<Secret>),
    Certificate(ClientCertificate),
    Assertion(Arc<AssertionFn>),
    /// Workload identity federation: the token in `AZURE_FEDERATED_TOKEN_FILE`.
    FederatedTokenFile(Arc<crate::workload_identity::token_file::FederatedTokenFile>),
}

// Hand-written because the assertion callback has no `Debug`; the secret redacts itself.
impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(secret) => fmt::Debug::fmt(secret, f),
            ClientCredential::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
            ClientCredential::Assertion(_) => f.write_str("Assertion(callback)"),
            ClientCredential::FederatedTokenFile(file) => f
                .debug_tuple("FederatedTokenFile")
                .field(&file.path())
                .finish(),
        }
    }
}

impl ClientCredential {
    pub(crate) fn assertion_callback<F, Fut>(callback: F) -> Self
    where
        F: Fn(AssertionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, AssertionError>> + Send + 'static,
    {
        ClientCredential::Assertion(Arc::new(move |request| Box::pin(callback(request))))
    }

    /// The form fields that authenticate a request to `token_endpoint`.
    pub(crate) async fn form_fields(
        &self,
        client_id: &str,
        token_endpoint: &str,
        kind: AuthorityKind,
        now: u64,
    ) -> Result<Vec<(&'static str, Secret)>, Error> {
        const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
        let assertion = match self {
            ClientCredential::Secret(secret) => {
                return Ok(vec![("client_secret", Secret::clone(secret))]);
            }
            ClientCredential::Certificate(certificate) => {
                certificate.assertion(client_id, token_endpoint, kind, now)?
            }
            ClientCredential::Assertion(callback) => {
                let request = AssertionRequest {
                    client_id: client_id.to_owned(),
                    token_endpoint: token_endpoint.to_owned(),
                };
                let assertion = callback(request).await.map_err(|e| Error::Credential {
                    message: "the client assertion callback failed".into(),
                    source: Some(crate::error::SharedError::new(e)),
                })?;
                if assertion.trim().is_empty() {
                    return Err(invalid("the client assertion callback returned nothing"));
                }
                Secret::new(assertion)
            }
            ClientCredential::FederatedTokenFile(file) => {
                Secret::new(file.assertion(now)?.as_str())
            }
        };
        Ok(vec![
            ("client_assertion_type", Secret::new(JWT_BEARER)),
            ("client_assertion", assertion),
        ])
    }
}
