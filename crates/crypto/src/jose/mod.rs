//! JWS and JWK as Keycloak writes and reads them, on aws-lc-rs keys that are parsed once.
//!
//! A [`SigningKey`] holds a parsed aws-lc-rs key pair (or HMAC key) next to its `kid` and
//! algorithm; callers build it once per realm key and share it behind an `Arc`, because parsing
//! a PKCS#8 document costs more than some signatures. [`SigningKey::sign`] makes a compact JWS
//! whose header is Keycloak's, member for member and in the same order:
//! `{"alg":"RS256","typ":"JWT","kid":"..."}`.
//!
//! [`decode`] splits a compact JWS without trusting it; [`Jws::verify_with`] checks it against a
//! [`VerifyingKey`] (from a JWK, an X.509 `SubjectPublicKeyInfo`, or an HMAC secret). A key
//! verifies only the algorithms of its own type, so a token cannot pick a weaker reading of a
//! key by naming another `alg` (an RSA public key is never used as an HMAC secret).
//!
//! What follows Keycloak 26 exactly:
//!
//! - `kid` of an asymmetric key: base64url (no padding) of SHA-256 over the public key's X.509
//!   `SubjectPublicKeyInfo` DER, Keycloak's `KeyUtils.createKeyId(publicKey)`. Keycloak gives
//!   HMAC keys a random UUID kept in the key's configuration; here an HMAC key's default kid is
//!   derived from the secret (see [`SigningKey::kid`]) and [`SigningKey::with_kid`] sets a
//!   stored one.
//! - JWKs (`JWKBuilder`): RSA `kid kty alg use n e` plus `x5c x5t x5t#S256` when a certificate
//!   is given; EC `kid kty alg use crv x y` (`crv` is `P-256`, `P-384` or `P-521`, coordinates
//!   left-padded to the field size) plus the certificate members; OKP `kid kty alg use crv x`
//!   (`crv` `Ed25519`) and never a certificate. `use` is `sig`. `n` and `e` carry no leading
//!   zero byte. `x5t` is base64url SHA-1 and `x5t#S256` base64url SHA-256 of the certificate
//!   DER. HMAC keys are never published.
//! - Generated keys: RSA 2048 bits; ES256/384/512 on P-256/P-384/P-521; EdDSA on Ed25519.
//! - Self-signed certificates (`CertificateUtils.generateV1SelfSignedCertificate`): subject and
//!   issuer `CN=<realm name>` (cut to 64 characters), serial number the creation time in
//!   milliseconds, valid from 100 seconds before creation for 10 calendar years.
//! - `at_hash` and `c_hash` (`HashUtils.accessTokenHash`): the left half of the hash the
//!   signature algorithm uses, base64url; SHA-512 for EdDSA on Ed25519.
//!
//! Where it differs: Keycloak signs every certificate with SHA-256, while an EC certificate here
//! is signed with the curve's own hash (SHA-384 for P-384, SHA-512 for P-521), the pairs rcgen
//! offers (it has no P-384 with SHA-256); rcgen writes an X.509 v3 certificate with no extensions where Keycloak
//! writes v1. RSA keys under 2048 bits are refused (aws-lc-rs's floor), for signing and
//! verifying. Generated HMAC secrets are as long as the hash output (RFC 7518's minimum), where
//! Keycloak's `hmac-generated` provider makes 64 bytes whatever the algorithm.
//!
//! Whole compact JWS per second on one thread (header, encoding and signature of a 250-byte
//! payload), release build, `taskset -c 0 cargo run --release -p gatehouse-crypto --example
//! sign_speed` on the two-core development machine (AMD EPYC, `nproc` 2, load average 4 from
//! other builds, so lower bounds):
//!
//! | alg   | sign     | decode + verify |
//! |-------|----------|-----------------|
//! | RS256 | 3,900–4,070 | 61,000–64,000 |
//! | PS256 | 3,830–3,950 | 54,000–61,000 |
//! | ES256 | 65,000–66,000 | 21,600–24,400 |
//! | EdDSA | 108,000–115,000 | 25,000–33,700 |
//! | HS256 | 900,000–1,150,000 | 700,000–870,000 |
//!
//! RS256 matches the ~4,100/s DESIGN.md measured for aws-lc-rs with a parsed key (jsonwebtoken,
//! which parses the key on every call, managed ~1,550/s).
//!
//! Invariants: no I/O, no logging, no global state. Error messages and `Debug` output name at
//! most an algorithm and a key id; never key material, secrets or token contents.

mod cert;
mod jwk;
mod jws;
mod keys;
mod verify;

#[cfg(test)]
mod test_vectors;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use sha2::Digest as _;

pub use jws::{Jws, decode};
pub use keys::SigningKey;
pub use verify::VerifyingKey;

/// URL-safe base64 without padding, the only encoding JWS allows (RFC 7515 section 2). Decoding
/// refuses padding and non-canonical trailing bits.
pub(crate) const B64URL: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A JWS signature algorithm (RFC 7518 section 3, RFC 8037), by its `alg` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// EdDSA; only Ed25519 is supported.
    EdDSA,
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
}

impl Algorithm {
    /// Every supported algorithm, in Keycloak's usual listing order.
    pub const ALL: [Algorithm; 13] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::EdDSA,
        Self::HS256,
        Self::HS384,
        Self::HS512,
    ];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }

    /// Whether the algorithm is an HMAC, whose key is a shared secret that is never published.
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// The JWK `kty` of keys for this algorithm: `RSA`, `EC`, `OKP` or `oct`.
    pub fn key_type(self) -> &'static str {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                "RSA"
            }
            Self::ES256 | Self::ES384 | Self::ES512 => "EC",
            Self::EdDSA => "OKP",
            Self::HS256 | Self::HS384 | Self::HS512 => "oct",
        }
    }

    /// The hash OIDC's `at_hash` and `c_hash` take for tokens signed with this algorithm.
    fn oidc_hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::RS256 | Self::PS256 | Self::ES256 | Self::HS256 => {
                sha2::Sha256::digest(data).to_vec()
            }
            Self::RS384 | Self::PS384 | Self::ES384 | Self::HS384 => {
                sha2::Sha384::digest(data).to_vec()
            }
            // Keycloak's JavaAlgorithm.getJavaAlgorithmForHash maps EdDSA on Ed25519 to SHA-512.
            Self::RS512 | Self::PS512 | Self::ES512 | Self::HS512 | Self::EdDSA => {
                sha2::Sha512::digest(data).to_vec()
            }
        }
    }
}

impl FromStr for Algorithm {
    type Err = JoseError;

    /// Parses an `alg` value; names are case-sensitive (RFC 7515 section 4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| JoseError::UnsupportedAlgorithm(bounded(s)))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a JOSE object or key could not be used.
///
/// Messages name at most the header's `alg` and `kid`; never key material or token contents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// The token or JWK is not well-formed: part count, base64url, JSON, a missing or mistyped
    /// member, `alg` `none`, or a JWE.
    #[error("malformed JOSE object: {0}")]
    Malformed(String),
    /// The algorithm is not implemented, or does not fit the key it is used with.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// No key with this `kid`; for callers that look keys up by the header's `kid`.
    #[error("unknown key: {0}")]
    UnknownKey(String),
    /// The key cannot be parsed, generated or used.
    #[error("unusable key: {0}")]
    Key(String),
}

/// base64url (no padding) of SHA-256 over `data`: `x5t#S256`, PKCE's S256, and the like.
pub fn thumbprint_sha256_b64url(data: &[u8]) -> String {
    B64URL.encode(sha2::Sha256::digest(data))
}

/// OIDC's `at_hash` / `c_hash` of `data` for a token signed with `alg`: base64url of the left
/// half of the algorithm's hash (OIDC Core 3.1.3.6), as Keycloak's `HashUtils` computes it.
pub fn half_hash(alg: Algorithm, data: &[u8]) -> String {
    let hash = alg.oidc_hash(data);
    B64URL.encode(&hash[..hash.len() / 2])
}

/// A copy of untrusted text short enough for an error message.
fn bounded(s: &str) -> String {
    s.chars().take(32).collect()
}
