//! [`VerifyingKey`]: a public key (or HMAC secret) parsed once, and the algorithms it accepts.

use std::fmt;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use sha2::Digest as _;

use super::{Algorithm, B64URL, JoseError, jwk, keys};

/// A key that verifies JWS signatures: an RSA, EC or Ed25519 public key, or an HMAC secret.
///
/// Cloning is cheap and shares the parsed key. A key verifies only algorithms of its own type,
/// and only its own algorithm when it has one (from the JWK's `alg`, the curve, or the
/// constructor); anything else is refused as `UnsupportedAlgorithm` before any cryptography.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: Arc<Public>,
}

enum Public {
    /// aws-lc binds a parsed RSA key to one padding and hash, so each of the six RSA algorithms
    /// gets its own, parsed on first use; a key pinned to one algorithm parses only that one.
    Rsa {
        spki: Vec<u8>,
        parsed: Box<[OnceLock<ParsedPublicKey>; 6]>,
    },
    /// The curve fixes the algorithm (P-256 is ES256 and so on).
    Ec(ParsedPublicKey),
    Ed(ParsedPublicKey),
    Hmac(Box<hmac::Key>),
}

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

impl VerifyingKey {
    /// Parses a public JWK: RSA (`n`, `e`), EC (`crv` P-256/P-384/P-521, `x`, `y`) or OKP
    /// (`crv` Ed25519, `x`). Takes `kid` and `alg` when present; without `alg`, an RSA key
    /// accepts any RS*/PS* algorithm and an EC key its curve's. Keys marked `"use":"enc"` and
    /// symmetric (`oct`) JWKs are refused.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<VerifyingKey, JoseError> {
        jwk::parse(jwk)
    }

    /// Picks the key for a JWS from a JWK Set (`{"keys":[...]}`): the first usable key with the
    /// header's `kid` (any kid when the header has none) that accepts `alg`. JWKs that do not
    /// parse are skipped, as a client's set may hold keys of kinds this crate does not read.
    /// `UnknownKey` when none fits.
    pub fn from_jwks(
        jwks: &serde_json::Value,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<VerifyingKey, JoseError> {
        let keys = jwks
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| JoseError::Malformed("JWK Set without a keys array".into()))?;
        keys.iter()
            .filter(|jwk| kid.is_none() || jwk.get("kid").and_then(|k| k.as_str()) == kid)
            .filter_map(|jwk| Self::from_jwk(jwk).ok())
            .find(|key| key.accepts(alg))
            .ok_or_else(|| {
                JoseError::UnknownKey(match kid {
                    Some(kid) => super::bounded(kid),
                    None => format!("no key for {alg}"),
                })
            })
    }

    /// Parses an X.509 `SubjectPublicKeyInfo` (DER) for `alg`. The kid is Keycloak's for that
    /// key: base64url(SHA-256(der)). `UnsupportedAlgorithm` for HS*.
    pub fn from_spki_der(alg: Algorithm, der: &[u8]) -> Result<VerifyingKey, JoseError> {
        if alg.is_symmetric() {
            return Err(JoseError::UnsupportedAlgorithm(format!(
                "{alg} keys have no public key"
            )));
        }
        // aws-lc also takes bare PKCS#1 keys and EC points; refusing them here keeps the kid,
        // which is a hash of exactly these bytes, equal to Keycloak's.
        if !looks_like_spki(der) {
            return Err(JoseError::Key(format!(
                "not an X.509 SubjectPublicKeyInfo for {alg}"
            )));
        }
        let kid = B64URL.encode(sha2::Sha256::digest(der));
        Self::from_public_bytes(alg, der).map(|key| key.with_kid(kid))
    }

    /// `bytes`: SPKI for every type; also an uncompressed point for EC and the 32 raw bytes for
    /// Ed25519 (what JWKs carry).
    pub(super) fn from_public_bytes(
        alg: Algorithm,
        bytes: &[u8],
    ) -> Result<VerifyingKey, JoseError> {
        let rejected = |_| JoseError::Key(format!("not a usable public key for {alg}"));
        let key = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                // aws-lc checks the size only when verifying; checking here makes a 512-bit
                // client key fail at registration instead of on every request.
                let size = signature::RsaSubjectPublicKey::from_der(bytes)
                    .map_err(rejected)?
                    .modulus_len();
                if !(256..=1024).contains(&size) {
                    return Err(JoseError::Key(format!(
                        "RSA keys must have 2048 to 8192 bits, this has {}",
                        size * 8
                    )));
                }
                let parsed: Box<[OnceLock<ParsedPublicKey>; 6]> = Box::default();
                // Parsing the one algorithm now checks the key before it is accepted.
                let first = ParsedPublicKey::new(verification(alg), bytes).map_err(rejected)?;
                if let Some(slot) = rsa_slot(&parsed, alg) {
                    let _ = slot.set(first);
                }
                Public::Rsa {
                    spki: bytes.to_vec(),
                    parsed,
                }
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
                Public::Ec(ParsedPublicKey::new(verification(alg), bytes).map_err(rejected)?)
            }
            Algorithm::EdDSA => {
                Public::Ed(ParsedPublicKey::new(verification(alg), bytes).map_err(rejected)?)
            }
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(JoseError::UnsupportedAlgorithm(format!(
                    "{alg} keys have no public key"
                )));
            }
        };
        Ok(VerifyingKey {
            kid: None,
            alg: Some(alg),
            key: Arc::new(key),
        })
    }

    /// An HMAC key for `alg` (HS256/384/512) from a shared secret; for `client_secret_jwt` the
    /// secret is the client secret's bytes.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<VerifyingKey, JoseError> {
        if !alg.is_symmetric() {
            return Err(JoseError::UnsupportedAlgorithm(format!(
                "{alg} does not take a shared secret"
            )));
        }
        if secret.is_empty() {
            return Err(JoseError::Key(format!("empty {alg} secret")));
        }
        Ok(VerifyingKey {
            kid: None,
            alg: Some(alg),
            key: Arc::new(Public::Hmac(Box::new(hmac::Key::new(
                keys::hmac_alg(alg),
                secret,
            )))),
        })
    }

    /// Unpins the algorithm of an RSA key read from a JWK without `alg`.
    pub(super) fn without_algorithm(mut self) -> VerifyingKey {
        self.alg = None;
        self
    }

    /// The same key under `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> VerifyingKey {
        self.kid = Some(kid.into());
        self
    }

    /// Pins an RSA key without an `alg` to one algorithm. `UnsupportedAlgorithm` when the key
    /// does not accept `alg`.
    pub fn with_algorithm(mut self, alg: Algorithm) -> Result<VerifyingKey, JoseError> {
        self.check_algorithm(alg)?;
        self.alg = Some(alg);
        Ok(self)
    }

    /// The key id, when the JWK had one or the key was built from a signing key or an SPKI.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies, or `None` for an RSA JWK without `alg`.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The JWK `kty` of this key: `RSA`, `EC`, `OKP` or `oct`.
    pub fn key_type(&self) -> &'static str {
        match *self.key {
            Public::Rsa { .. } => "RSA",
            Public::Ec(_) => "EC",
            Public::Ed(_) => "OKP",
            Public::Hmac(_) => "oct",
        }
    }

    /// Whether [`VerifyingKey::verify`] would try `alg` at all.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.check_algorithm(alg).is_ok()
    }

    fn check_algorithm(&self, alg: Algorithm) -> Result<(), JoseError> {
        let fits = match self.alg {
            Some(own) => own == alg,
            None => alg.key_type() == self.key_type(),
        };
        if fits {
            Ok(())
        } else {
            let own = self.alg.map_or(self.key_type(), Algorithm::as_str);
            Err(JoseError::UnsupportedAlgorithm(format!(
                "{alg} does not fit a {own} key"
            )))
        }
    }

    /// Checks `signature` over `signing_input` with `alg`, which must fit this key (no RSA key
    /// verifies HS256, no EC key RS256, and so on). `BadSignature` when it does not verify.
    pub fn verify(
        &self,
        alg: Algorithm,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        self.check_algorithm(alg)?;
        let verified = match &*self.key {
            Public::Rsa { spki, parsed } => {
                let slot = rsa_slot(parsed, alg).ok_or(JoseError::BadSignature)?;
                let key = match slot.get() {
                    Some(key) => key,
                    None => {
                        let key = ParsedPublicKey::new(verification(alg), spki)
                            .map_err(|_| JoseError::Key(format!("RSA key unusable for {alg}")))?;
                        // Another thread may have won the race; either parse is the same key.
                        slot.get_or_init(|| key)
                    }
                };
                key.verify_sig(signing_input, signature)
            }
            Public::Ec(key) | Public::Ed(key) => key.verify_sig(signing_input, signature),
            Public::Hmac(key) => hmac::verify(key, signing_input, signature),
        };
        verified.map_err(|_| JoseError::BadSignature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("kty", &self.key_type())
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn rsa_slot(
    parsed: &[OnceLock<ParsedPublicKey>; 6],
    alg: Algorithm,
) -> Option<&OnceLock<ParsedPublicKey>> {
    RSA_ALGS
        .iter()
        .position(|a| *a == alg)
        .and_then(|i| parsed.get(i))
}

/// aws-lc's verification algorithm for `alg`. RSA takes 2048 to 8192-bit keys; ECDSA the
/// fixed-size `r || s` signatures JWS uses.
fn verification(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED,
        // HMAC never gets here (its keys are not ParsedPublicKeys); Ed25519 is the fallback.
        Algorithm::EdDSA | Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            &signature::ED25519
        }
    }
}

/// A DER SEQUENCE whose first element is itself a SEQUENCE (the AlgorithmIdentifier), which
/// tells an SPKI from a PKCS#1 `RSAPublicKey` (first element an INTEGER) and a bare EC point.
fn looks_like_spki(der: &[u8]) -> bool {
    let Some((&0x30, rest)) = der.split_first() else {
        return false;
    };
    let Some((&len, rest)) = rest.split_first() else {
        return false;
    };
    // Long-form length: 0x8N followed by N length bytes.
    let skip = if len & 0x80 != 0 {
        usize::from(len & 0x7f)
    } else {
        0
    };
    rest.get(skip) == Some(&0x30)
}
