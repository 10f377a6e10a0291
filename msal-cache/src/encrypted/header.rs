//! The encrypted file's format: the header (magic, version, key derivation and its Argon2id
//! parameters, salt), sealing and parsing. See [File format](super#file-format).

use std::fmt;

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::CacheError;

/// The first 8 bytes of every encrypted cache file.
pub(super) const MAGIC: &[u8; 8] = b"MSALRSE\0";
/// The format version this code writes and reads.
pub(super) const FORMAT_VERSION: u8 = 1;
/// Key-derivation byte: a raw 32-byte key.
pub(super) const KDF_RAW: u8 = 0;
/// Key-derivation byte: Argon2id from a passphrase.
pub(super) const KDF_ARGON2ID: u8 = 1;
/// Header length with a raw key: magic, version, key derivation.
pub(super) const RAW_HEADER_LEN: usize = 10;
/// Header length with Argon2id: plus m, t, p and the salt.
pub(super) const ARGON2_HEADER_LEN: usize = RAW_HEADER_LEN + 4 + 4 + 1 + SALT_LEN;
pub(super) const SALT_LEN: usize = 16;
pub(super) const NONCE_LEN: usize = 24;
pub(super) const TAG_LEN: usize = 16;
/// Largest Argon2 memory cost accepted from a file header or a caller: 1 GiB.
pub(super) const MAX_M_COST_KIB: u32 = 1024 * 1024;
/// Largest Argon2 time cost accepted from a file header or a caller.
pub(super) const MAX_T_COST: u32 = 100;

/// Argon2id cost parameters, as stored in a file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Argon2Params {
    pub(super) m_cost_kib: u32,
    pub(super) t_cost: u32,
    pub(super) p_cost: u8,
}

impl Argon2Params {
    /// OWASP's recommendation: 19 MiB, 2 passes, 1 lane.
    pub(super) const DEFAULT: Argon2Params = Argon2Params {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// The largest parameters a cache that writes `self` accepts from a file: its own, and
    /// never less than the defaults (so files written with the defaults stay readable by a
    /// cache configured with cheaper parameters, as tests do).
    pub(super) fn at_least_default(self) -> Argon2Params {
        Argon2Params {
            m_cost_kib: self.m_cost_kib.max(Self::DEFAULT.m_cost_kib),
            t_cost: self.t_cost.max(Self::DEFAULT.t_cost),
            p_cost: self.p_cost.max(Self::DEFAULT.p_cost),
        }
    }

    /// The costs in `self` above `limit`, described (`None`: all within it).
    pub(super) fn beyond(self, limit: Argon2Params) -> Option<String> {
        let mut excess = Vec::new();
        if self.m_cost_kib > limit.m_cost_kib {
            excess.push(format!("a memory cost of {} KiB", self.m_cost_kib));
        }
        if self.t_cost > limit.t_cost {
            excess.push(format!("a time cost of {} passes", self.t_cost));
        }
        if self.p_cost > limit.p_cost {
            excess.push(format!("{} lanes", self.p_cost));
        }
        (!excess.is_empty()).then(|| excess.join(" and "))
    }

    /// The argon2 crate's parameters, or why these are refused.
    pub(super) fn to_argon2(self) -> Result<argon2::Params, String> {
        if self.m_cost_kib > MAX_M_COST_KIB {
            return Err(format!(
                "Argon2 memory cost {} KiB is above the limit of {MAX_M_COST_KIB} KiB",
                self.m_cost_kib
            ));
        }
        if self.t_cost > MAX_T_COST {
            return Err(format!(
                "Argon2 time cost {} is above the limit of {MAX_T_COST}",
                self.t_cost
            ));
        }
        argon2::Params::new(
            self.m_cost_kib,
            self.t_cost,
            u32::from(self.p_cost),
            Some(32),
        )
        .map_err(|err| {
            format!(
                "invalid Argon2 parameters (m = {} KiB, t = {}, p = {}): {err}",
                self.m_cost_kib, self.t_cost, self.p_cost
            )
        })
    }
}

impl fmt::Display for Argon2Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "m = {} KiB, t = {}, p = {}",
            self.m_cost_kib, self.t_cost, self.p_cost
        )
    }
}

/// How a file's key is made, as read from or written to its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kdf {
    Raw,
    Argon2id {
        params: Argon2Params,
        salt: [u8; SALT_LEN],
    },
}

impl Kdf {
    pub(super) fn header(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(ARGON2_HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(FORMAT_VERSION);
        match self {
            Kdf::Raw => header.push(KDF_RAW),
            Kdf::Argon2id { params, salt } => {
                header.push(KDF_ARGON2ID);
                header.extend_from_slice(&params.m_cost_kib.to_le_bytes());
                header.extend_from_slice(&params.t_cost.to_le_bytes());
                header.push(params.p_cost);
                header.extend_from_slice(salt);
            }
        }
        header
    }
}

/// A parsed file: its key derivation, the header (associated data), the nonce and the sealed
/// document.
pub(super) struct Sealed<'a> {
    pub(super) kdf: Kdf,
    pub(super) header: &'a [u8],
    pub(super) nonce: XNonce,
    pub(super) ciphertext: &'a [u8],
}

/// Split an encrypted file into its parts; the error is the message for [`CacheError::Corrupt`].
pub(super) fn parse(bytes: &[u8]) -> Result<Sealed<'_>, String> {
    const TRUNCATED: &str = "the encrypted cache is truncated";
    if bytes.is_empty() {
        return Err(format!("{TRUNCATED} (the file is empty)"));
    }
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        return Err(if matches!(first, Some(b'{') | Some(b'[')) {
            "not an msal-rs encrypted cache (bad magic): it looks like an unencrypted JSON \
             cache, which an EncryptedFileCache neither reads nor overwrites; move it away or \
             migrate it"
                .to_owned()
        } else {
            "not an msal-rs encrypted cache (bad magic)".to_owned()
        });
    }
    if bytes.len() < RAW_HEADER_LEN {
        return Err(format!("{TRUNCATED} (inside the header)"));
    }
    let version = bytes[8];
    if version != FORMAT_VERSION {
        return Err(format!(
            "unsupported encrypted cache format version {version} (this msal-rs reads version \
             {FORMAT_VERSION})"
        ));
    }
    let (kdf, header_len) = match bytes[9] {
        KDF_RAW => (Kdf::Raw, RAW_HEADER_LEN),
        KDF_ARGON2ID => {
            if bytes.len() < ARGON2_HEADER_LEN {
                return Err(format!("{TRUNCATED} (inside the header)"));
            }
            let u32_at = |at: usize| {
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            let mut salt = [0; SALT_LEN];
            salt.copy_from_slice(&bytes[19..ARGON2_HEADER_LEN]);
            let params = Argon2Params {
                m_cost_kib: u32_at(10),
                t_cost: u32_at(14),
                p_cost: bytes[18],
            };
            (Kdf::Argon2id { params, salt }, ARGON2_HEADER_LEN)
        }
        other => return Err(format!("unknown key derivation {other} in the header")),
    };
    if bytes.len() < header_len + NONCE_LEN + TAG_LEN {
        return Err(format!(
            "{TRUNCATED} ({} bytes, shorter than the header, nonce and tag)",
            bytes.len()
        ));
    }
    let (header, rest) = bytes.split_at(header_len);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| TRUNCATED.to_owned())?;
    Ok(Sealed {
        kdf,
        header,
        nonce: XNonce::from(nonce),
        ciphertext,
    })
}

/// `header || nonce || ciphertext+tag`, with a fresh random nonce.
pub(super) fn seal(key: &[u8; 32], kdf: &Kdf, plaintext: &[u8]) -> Result<Vec<u8>, CacheError> {
    let header = kdf.header();
    let nonce = XNonce::try_generate().map_err(random_failed)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .map_err(|_| CacheError::store("encrypting the token cache failed"))?;
    let mut out = header;
    out.reserve(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

pub(super) fn random_failed(err: impl fmt::Display) -> CacheError {
    CacheError::store(format!("the system random number generator failed: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argon2(m: u32, t: u32, p: u8) -> Kdf {
        Kdf::Argon2id {
            params: Argon2Params {
                m_cost_kib: m,
                t_cost: t,
                p_cost: p,
            },
            salt: [7; SALT_LEN],
        }
    }

    #[test]
    fn header_layout_matches_the_documented_table() {
        let raw = Kdf::Raw.header();
        assert_eq!(raw, b"MSALRSE\0\x01\x00");
        assert_eq!(raw.len(), RAW_HEADER_LEN);

        let header = argon2(0x0102_0304, 5, 6).header();
        assert_eq!(header.len(), ARGON2_HEADER_LEN);
        assert_eq!(header.len(), 35);
        assert_eq!(&header[..10], b"MSALRSE\0\x01\x01");
        assert_eq!(&header[10..14], &[4, 3, 2, 1]);
        assert_eq!(&header[14..18], &[5, 0, 0, 0]);
        assert_eq!(header[18], 6);
        assert_eq!(&header[19..35], &[7; 16]);
    }

    #[test]
    fn sealed_files_parse_back() {
        let key = [9u8; 32];
        for kdf in [Kdf::Raw, argon2(64, 1, 1)] {
            let file = seal(&key, &kdf, b"{}").unwrap();
            let header_len = kdf.header().len();
            assert_eq!(file.len(), header_len + NONCE_LEN + 2 + TAG_LEN);
            let sealed = parse(&file).unwrap();
            assert_eq!(sealed.kdf, kdf);
            assert_eq!(sealed.header, &kdf.header()[..]);
            assert_eq!(&sealed.nonce[..], &file[header_len..header_len + NONCE_LEN]);
            assert_eq!(sealed.ciphertext.len(), 2 + TAG_LEN);
        }
    }

    #[test]
    fn parse_errors_are_specific() {
        let err = |bytes: &[u8]| parse(bytes).err().unwrap();
        assert!(err(b"").contains("truncated"), "{}", err(b""));
        assert!(err(b"MSAL").contains("truncated"));
        assert!(err(b"MSALRSE\0\x01").contains("truncated"));
        assert!(err(b"MSALRSE\0\x01\x01").contains("truncated"));
        assert!(err(b"MSALRSE\0\x01\x00").contains("truncated"));
        assert!(err(b"hello, world").contains("bad magic"));
        assert!(err(b"  {\"AccessToken\": {}}").contains("unencrypted JSON"));
        let mut future = seal(&[1; 32], &Kdf::Raw, b"{}").unwrap();
        future[8] = 7;
        assert_eq!(
            err(&future),
            "unsupported encrypted cache format version 7 (this msal-rs reads version 1)"
        );
        future[8] = 1;
        future[9] = 9;
        assert!(err(&future).contains("unknown key derivation 9"));
    }

    #[test]
    fn argon2_params_are_bounded() {
        assert!(Argon2Params::DEFAULT.to_argon2().is_ok());
        let too_much = Argon2Params {
            m_cost_kib: MAX_M_COST_KIB + 1,
            ..Argon2Params::DEFAULT
        };
        assert!(too_much
            .to_argon2()
            .unwrap_err()
            .contains("above the limit"));
        let too_long = Argon2Params {
            t_cost: MAX_T_COST + 1,
            ..Argon2Params::DEFAULT
        };
        assert!(too_long
            .to_argon2()
            .unwrap_err()
            .contains("above the limit"));
        let no_lanes = Argon2Params {
            p_cost: 0,
            ..Argon2Params::DEFAULT
        };
        assert!(no_lanes.to_argon2().is_err());
    }
}
