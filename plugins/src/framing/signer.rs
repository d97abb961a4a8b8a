//! HMAC signing and verification of framed messages, as Heka does it: the HMAC (MD5 or
//! SHA1) of the protobuf message bytes under the key configured for `<signer>_<version>`,
//! compared in constant time.

use engine::DecodeError;
use hmac::{Hmac, Mac};
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use super::Header;

/// The largest digest (SHA1's 20 bytes).
pub const MAX_DIGEST_LEN: usize = 20;

/// The longest signer name [`SigningKey`] accepts, so a signed header always fits its
/// one-byte length.
const MAX_SIGNER_LEN: usize = 127;

/// The HMAC hash function of a signed frame (`Header.HmacHashFunction`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HashFunction {
    /// HMAC-MD5 (16-byte digest), the protocol's default.
    #[default]
    Md5 = 0,
    /// HMAC-SHA1 (20-byte digest).
    Sha1 = 1,
}

impl HashFunction {
    /// The enum value on the wire, `None` for values Heka does not define.
    pub(crate) fn from_wire(v: u64) -> Option<Self> {
        match v {
            0 => Some(HashFunction::Md5),
            1 => Some(HashFunction::Sha1),
            _ => None,
        }
    }

    /// Length of the digest in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            HashFunction::Md5 => 16,
            HashFunction::Sha1 => 20,
        }
    }
}

/// Why a signing key or signer config was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// Config keys are `<signer>_<version>`, e.g. `ops_0`.
    #[error("signer {0:?} is not <name>_<version> with a numeric version")]
    BadName(String),
    /// The name would not fit a frame header.
    #[error("signer name of {0} bytes is longer than 127")]
    TooLong(usize),
}

/// The precomputed HMAC states of one key: cloned per message, so verifying allocates
/// nothing and does not rehash the key.
#[derive(Clone)]
struct Keyed {
    md5: Hmac<Md5>,
    sha1: Hmac<Sha1>,
}

impl Keyed {
    fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
        Keyed {
            md5: <Hmac<Md5> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
            sha1: <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
        }
    }

    /// Writes the HMAC of `msg` into `out` and returns its length.
    fn sign(&self, hash: HashFunction, msg: &[u8], out: &mut [u8; MAX_DIGEST_LEN]) -> usize {
        let n = hash.digest_len();
        match hash {
            HashFunction::Md5 => {
                let mut m = self.md5.clone();
                m.update(msg);
                out[..n].copy_from_slice(&m.finalize().into_bytes());
            }
            HashFunction::Sha1 => {
                let mut m = self.sha1.clone();
                m.update(msg);
                out[..n].copy_from_slice(&m.finalize().into_bytes());
            }
        }
        n
    }

    /// Whether `digest` is the HMAC of `msg`, compared in constant time.
    fn verify(&self, hash: HashFunction, msg: &[u8], digest: &[u8]) -> bool {
        match hash {
            HashFunction::Md5 => {
                let mut m = self.md5.clone();
                m.update(msg);
                m.verify_slice(digest).is_ok()
            }
            HashFunction::Sha1 => {
                let mut m = self.sha1.clone();
                m.update(msg);
                m.verify_slice(digest).is_ok()
            }
        }
    }
}

impl std::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyed(..)")
    }
}

/// A key that signs frames (heka-flood's `--sign`, [`crate::encoders::protobuf`]).
#[derive(Clone, Debug)]
pub struct SigningKey {
    name: String,
    version: u32,
    hash: HashFunction,
    keyed: Keyed,
}

impl SigningKey {
    /// A key for signer `name`, key version `version`, hashing with `hash`.
    ///
    /// # Errors
    ///
    /// [`SignerError::TooLong`] when `name` is over 127 bytes.
    pub fn new(
        name: &str,
        version: u32,
        hash: HashFunction,
        key: &[u8],
    ) -> Result<Self, SignerError> {
        if name.len() > MAX_SIGNER_LEN {
            return Err(SignerError::TooLong(name.len()));
        }
        Ok(SigningKey {
            name: name.to_string(),
            version,
            hash,
            keyed: Keyed::new(key),
        })
    }

    /// The signer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The hash function.
    pub fn hash(&self) -> HashFunction {
        self.hash
    }

    /// Writes the HMAC of `msg` into `out`; returns its length.
    pub fn sign(&self, msg: &[u8], out: &mut [u8; MAX_DIGEST_LEN]) -> usize {
        self.keyed.sign(self.hash, msg, out)
    }
}

/// The keys that verify signed frames, by signer and key version (Heka's `signer` config).
#[derive(Clone, Debug, Default)]
pub struct Signers {
    keys: Vec<(String, u32, Keyed)>,
}

impl Signers {
    /// Adds the key for config name `<signer>_<version>` (e.g. `ops_0`, as in Heka's
    /// `[TcpInput.signer.ops_0]`). The signer part may contain `_`; the version is after the
    /// last one.
    ///
    /// # Errors
    ///
    /// [`SignerError::BadName`] when the name has no `_<u32>` suffix.
    pub fn add(&mut self, config_name: &str, hmac_key: &[u8]) -> Result<(), SignerError> {
        let bad = || SignerError::BadName(config_name.to_string());
        let (name, version) = config_name.rsplit_once('_').ok_or_else(bad)?;
        let version: u32 = version.parse().map_err(|_| bad())?;
        self.keys
            .retain(|(n, v, _)| !(n.as_str() == name && *v == version));
        self.keys
            .push((name.to_string(), version, Keyed::new(hmac_key)));
        Ok(())
    }

    /// Whether no signer is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks the signature of a frame: `Ok(false)` when it is unsigned (no `hmac`),
    /// `Ok(true)` when it verifies.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnknownSigner`] when no key is configured for the header's signer and
    /// key version, [`DecodeError::BadSignature`] when the HMAC does not match.
    pub fn verify(&self, header: &Header<'_>, message: &[u8]) -> Result<bool, DecodeError> {
        let Some(digest) = header.hmac else {
            return Ok(false);
        };
        let keyed = self
            .keys
            .iter()
            .find(|(n, v, _)| n.as_bytes() == header.hmac_signer && *v == header.hmac_key_version)
            .map(|(_, _, k)| k)
            .ok_or(DecodeError::UnknownSigner)?;
        if keyed.verify(header.hmac_hash_function, message, digest) {
            Ok(true)
        } else {
            Err(DecodeError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// RFC 2202 test case 2, for both hash functions.
    #[test]
    fn rfc2202_vectors() {
        let k = SigningKey::new("x", 0, HashFunction::Md5, b"Jefe").unwrap();
        let mut out = [0; MAX_DIGEST_LEN];
        let n = k.sign(b"what do ya want for nothing?", &mut out);
        assert_eq!(hex(&out[..n]), "750c783e6ab0b503eaa86e310a5db738");
        let k = SigningKey::new("x", 0, HashFunction::Sha1, b"Jefe").unwrap();
        let n = k.sign(b"what do ya want for nothing?", &mut out);
        assert_eq!(hex(&out[..n]), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn config_names_are_signer_underscore_version() {
        let mut s = Signers::default();
        s.add("ops_0", b"k").unwrap();
        s.add("my_team_12", b"k").unwrap();
        for bad in ["ops", "ops_", "ops_x", "ops_-1"] {
            assert_eq!(s.add(bad, b"k"), Err(SignerError::BadName(bad.into())));
        }
        assert_eq!(s.keys.len(), 2);
        assert_eq!((s.keys[1].0.as_str(), s.keys[1].1), ("my_team", 12));
        assert_eq!(
            SigningKey::new(&"n".repeat(128), 0, HashFunction::Md5, b"k").unwrap_err(),
            SignerError::TooLong(128)
        );
    }

    #[test]
    fn verifies_good_refuses_bad_and_unknown() {
        let mut signers = Signers::default();
        signers.add("ops_1", b"secret").unwrap();
        for hash in [HashFunction::Md5, HashFunction::Sha1] {
            let key = SigningKey::new("ops", 1, hash, b"secret").unwrap();
            let mut digest = [0; MAX_DIGEST_LEN];
            let n = key.sign(b"message", &mut digest);
            let header = Header {
                message_length: 7,
                hmac_hash_function: hash,
                hmac_signer: b"ops",
                hmac_key_version: 1,
                hmac: Some(&digest[..n]),
            };
            assert_eq!(signers.verify(&header, b"message"), Ok(true));
            assert_eq!(
                signers.verify(&header, b"messagE"),
                Err(DecodeError::BadSignature)
            );
            let short = Header {
                hmac: Some(&digest[..n - 1]),
                ..header
            };
            assert_eq!(
                signers.verify(&short, b"message"),
                Err(DecodeError::BadSignature)
            );
            let other_version = Header {
                hmac_key_version: 2,
                ..header
            };
            assert_eq!(
                signers.verify(&other_version, b"message"),
                Err(DecodeError::UnknownSigner)
            );
            let unsigned = Header {
                hmac: None,
                ..header
            };
            assert_eq!(signers.verify(&unsigned, b"message"), Ok(false));
        }
    }
}
