//! SSH certificates (MSAL.NET `WithSSHCertificateAuthenticationScheme`, MSAL Python
//! `data={"token_type": "ssh-cert", "key_id": .., "req_cnf": ..}`): the identity provider signs
//! the user's SSH public key; the "access token" is the certificate.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::key::RsaPublicJwk;
use crate::Error;

/// An SSH certificate request: the public key to certify and the id it is cached under.
///
/// ```
/// # fn main() -> Result<(), msal::Error> {
/// # let line = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAwDhpw== me@host";
/// let ssh = msal::SshCertificateRequest::from_openssh_public_key("my-key", line)?;
/// # let _ = ssh;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SshCertificateRequest {
    pub(crate) key_id: String,
    pub(crate) req_cnf: String,
}

impl SshCertificateRequest {
    /// Certify this RSA public key; tokens are cached under `key_id` (which also goes into the
    /// `req_cnf` JWK's `kid`, as MSAL Python's and the Azure CLI's requests have it).
    pub fn new(key_id: impl Into<String>, public_key: &RsaPublicJwk) -> Result<Self, Error> {
        let key_id = key_id.into();
        if key_id.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "an SSH certificate request needs a key id".into(),
            ));
        }
        let req_cnf = public_key.with_kid_json(&key_id);
        Ok(SshCertificateRequest { key_id, req_cnf })
    }

    /// Certify the RSA key of an OpenSSH public key line (`ssh-rsa AAAA... comment`, as in
    /// `~/.ssh/id_rsa.pub`). Other key types are refused: Entra certifies RSA keys.
    pub fn from_openssh_public_key(key_id: impl Into<String>, line: &str) -> Result<Self, Error> {
        Self::new(key_id, &parse_openssh_rsa(line)?)
    }

    /// The key id tokens are cached under.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl RsaPublicJwk {
    /// The RSA key of an OpenSSH public key line (`ssh-rsa AAAA... comment`). Fails with
    /// [`Error::InvalidArgument`] on anything else.
    pub fn from_openssh_public_key(line: &str) -> Result<Self, Error> {
        parse_openssh_rsa(line)
    }
}

/// The modulus and exponent of an `ssh-rsa` public key line (RFC 4253 section 6.6:
/// `string "ssh-rsa", mpint e, mpint n`).
pub(crate) fn parse_openssh_rsa(line: &str) -> Result<RsaPublicJwk, Error> {
    let bad = |why: &str| Error::InvalidArgument(format!("not an OpenSSH RSA public key: {why}"));
    let mut fields = line.split_ascii_whitespace();
    let kind = fields.next().ok_or_else(|| bad("empty"))?;
    if kind != "ssh-rsa" {
        return Err(bad("only ssh-rsa keys can be certified"));
    }
    let blob = STANDARD
        .decode(fields.next().ok_or_else(|| bad("no key data"))?)
        .map_err(|_| bad("the key data is not base64"))?;
    let mut rest = blob.as_slice();
    let mut next = || -> Result<&[u8], Error> {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("truncated"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > tail.len() {
            return Err(bad("truncated"));
        }
        let (field, tail) = tail.split_at(len);
        rest = tail;
        Ok(field)
    };
    if next()? != b"ssh-rsa" {
        return Err(bad("the key data is not an ssh-rsa key"));
    }
    let e = next()?;
    let n = next()?;
    RsaPublicJwk::from_components(n, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh_string(b: &[u8]) -> Vec<u8> {
        let mut v = (b.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn openssh_rsa_lines_parse_and_garbage_is_refused() {
        let mut blob = ssh_string(b"ssh-rsa");
        blob.extend(ssh_string(&[1, 0, 1]));
        blob.extend(ssh_string(&[0, 0xc3, 0x5a, 0x11]));
        let line = format!("ssh-rsa {} me@host", STANDARD.encode(&blob));
        let jwk = parse_openssh_rsa(&line).unwrap();
        assert_eq!((jwk.exponent_b64(), jwk.modulus_b64()), ("AQAB", "w1oR"));
        let req = SshCertificateRequest::from_openssh_public_key("k1", &line).unwrap();
        let cnf: serde_json::Value = serde_json::from_str(&req.req_cnf).unwrap();
        assert_eq!(cnf["kid"], "k1");
        assert_eq!(cnf["kty"], "RSA");
        let truncated = format!("ssh-rsa {}", STANDARD.encode(&blob[..blob.len() - 2]));
        for bad in [
            "",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x",
            "ssh-rsa",
            "ssh-rsa !!!",
            truncated.as_str(),
        ] {
            assert!(parse_openssh_rsa(bad).is_err(), "{bad}");
        }
        assert!(SshCertificateRequest::new(" ", &jwk).is_err());
    }
}
