//! [`SigningKey`]: a realm's private key, parsed once into an aws-lc-rs object.

use std::fmt;

use aws_lc_rs::encoding::{AsDer as _, Pkcs8V1Der};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{hmac, rand, rsa};
use base64::Engine as _;
use sha2::Digest as _;

use super::{Algorithm, B64URL, JoseError, VerifyingKey, cert, jwk};

/// A private signing key with its algorithm and key id.
///
/// Build it once (from storage with [`SigningKey::from_der`], or [`SigningKey::generate`]) and
/// share it behind an `Arc`: signing never parses the key again. `Debug` shows the kid and the
/// algorithm only.
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    key: Private,
    /// What `to_der` returns, encoded once when the key is built so that `to_der` cannot fail.
    der: Vec<u8>,
    /// The public half, parsed once; cloning it shares the parsed key.
    public: VerifyingKey,
    /// The X.509 SubjectPublicKeyInfo of an asymmetric key (what the kid hashes).
    spki: Option<Vec<u8>>,
}

pub(super) enum Private {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    /// The secret bytes themselves are `SigningKey::der`.
    Hmac(Box<hmac::Key>),
}

impl SigningKey {
    /// A fresh key for `alg`: RSA 2048 bits for RS*/PS*, P-256/P-384/P-521 for ES256/384/512,
    /// Ed25519 for EdDSA, and a random secret as long as the hash output for HS*.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, JoseError> {
        let failed = |_| JoseError::Key(format!("cannot generate a {alg} key"));
        let key = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                // Keycloak's GeneratedRsaKeyProviderFactory default key size.
                Private::Rsa(RsaKeyPair::generate(rsa::KeySize::Rsa2048).map_err(failed)?)
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
                Private::Ec(EcdsaKeyPair::generate(ecdsa_signing(alg)).map_err(failed)?)
            }
            Algorithm::EdDSA => Private::Ed(Ed25519KeyPair::generate().map_err(failed)?),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let mut secret = vec![0u8; hmac_alg(alg).digest_algorithm().output_len()];
                rand::fill(&mut secret).map_err(failed)?;
                return Self::hmac(alg, secret);
            }
        };
        Self::new(alg, key)
    }

    /// A fresh RSA key of `bits` (2048, 3072 or 4096, as Keycloak's `keySize` offers) for an
    /// RS*/PS* algorithm.
    pub fn generate_rsa(alg: Algorithm, bits: usize) -> Result<SigningKey, JoseError> {
        if alg.key_type() != "RSA" {
            return Err(JoseError::Key(format!("{alg} is not an RSA algorithm")));
        }
        let size = match bits {
            2048 => rsa::KeySize::Rsa2048,
            3072 => rsa::KeySize::Rsa3072,
            4096 => rsa::KeySize::Rsa4096,
            other => {
                return Err(JoseError::Key(format!(
                    "RSA key size {other} is not one of 2048, 3072, 4096"
                )));
            }
        };
        let key = RsaKeyPair::generate(size)
            .map_err(|_| JoseError::Key(format!("cannot generate a {alg} key")))?;
        Self::new(alg, Private::Rsa(key))
    }

    /// A fresh HMAC key of `bytes` random bytes for an HS* algorithm (Keycloak's `secretSize`).
    pub fn generate_hmac(alg: Algorithm, bytes: usize) -> Result<SigningKey, JoseError> {
        if !alg.is_symmetric() || !(16..=512).contains(&bytes) {
            return Err(JoseError::Key(format!(
                "an HMAC secret for {alg} must be 16 to 512 bytes"
            )));
        }
        let mut secret = vec![0u8; bytes];
        rand::fill(&mut secret).map_err(|_| JoseError::Key("no randomness".into()))?;
        Self::hmac(alg, secret)
    }

    /// The key's size in bits: the RSA modulus, the curve's field, or the HMAC secret.
    pub fn size_bits(&self) -> usize {
        match &self.key {
            Private::Rsa(k) => k.public_modulus_len() * 8,
            Private::Ec(_) => match self.alg {
                Algorithm::ES384 => 384,
                Algorithm::ES512 => 521,
                _ => 256,
            },
            Private::Ed(_) => 256,
            Private::Hmac(_) => self.der.len() * 8,
        }
    }

    /// Parses a stored key: PKCS#8 DER for asymmetric algorithms (PKCS#1 `RSAPrivateKey` is
    /// accepted too), the raw secret for HS*. The key must fit `alg`: an RSA key for RS*/PS*,
    /// the curve `alg` names for ES*, Ed25519 for EdDSA.
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<SigningKey, JoseError> {
        let rejected = |_| JoseError::Key(format!("not a usable private key for {alg}"));
        let key = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Private::Rsa(
                // Java writes PKCS#8 (what Keycloak stores); PKCS#1 comes from `openssl genrsa`
                // files pasted into imported realms.
                RsaKeyPair::from_pkcs8(der)
                    .or_else(|_| RsaKeyPair::from_der(der))
                    .map_err(rejected)?,
            ),
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
                Private::Ec(EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), der).map_err(rejected)?)
            }
            Algorithm::EdDSA => Private::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Self::hmac(alg, der.to_vec());
            }
        };
        Self::new(alg, key)
    }

    /// An asymmetric key: every fallible step (encodings, the public half) happens here, once.
    fn new(alg: Algorithm, key: Private) -> Result<SigningKey, JoseError> {
        let failed = |_| JoseError::Key(format!("cannot encode the {alg} key"));
        let der = match &key {
            Private::Rsa(pair) => {
                let doc: Pkcs8V1Der<'_> = pair.as_der().map_err(failed)?;
                doc.as_ref().to_vec()
            }
            Private::Ec(pair) => pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Private::Ed(pair) => pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Private::Hmac(_) => return Err(JoseError::Key(format!("{alg} key is not asymmetric"))),
        };
        let spki = spki_der(&key, alg)?;
        let kid = B64URL.encode(sha2::Sha256::digest(&spki));
        let public = VerifyingKey::from_spki_der(alg, &spki)?.with_kid(kid.clone());
        Ok(SigningKey {
            alg,
            kid,
            key,
            der,
            public,
            spki: Some(spki),
        })
    }

    fn hmac(alg: Algorithm, secret: Vec<u8>) -> Result<SigningKey, JoseError> {
        if secret.is_empty() {
            return Err(JoseError::Key(format!("empty {alg} secret")));
        }
        let kid = hmac_kid(&secret);
        let public = VerifyingKey::hmac(alg, &secret)?.with_kid(kid.clone());
        Ok(SigningKey {
            alg,
            kid,
            key: Private::Hmac(Box::new(hmac::Key::new(hmac_alg(alg), &secret))),
            der: secret,
            public,
            spki: None,
        })
    }

    /// The same key under another kid: the one Keycloak stored with an imported key (HMAC keys
    /// have random UUID kids in Keycloak).
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = kid.into();
        self.public = self.public.with_kid(self.kid.clone());
        self
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER (what Keycloak's realm info publishes
    /// as `public_key`); `None` for HMAC keys, which have no public half.
    pub fn public_key_der(&self) -> Option<&[u8]> {
        self.spki.as_deref()
    }

    /// What [`SigningKey::from_der`] takes back: PKCS#8 v1 DER (also for a key read from
    /// PKCS#1), or the raw HMAC secret.
    pub fn to_der(&self) -> Vec<u8> {
        self.der.clone()
    }

    /// The key id: for asymmetric keys base64url(SHA-256(public key SPKI DER)), Keycloak's
    /// `KeyUtils.createKeyId`; for HMAC keys base64url(SHA-256("gatehouse-hmac-kid:" || secret))
    /// unless [`SigningKey::with_kid`] set another. The secret has the entropy of a key, so the
    /// hash reveals nothing useful, and it keeps the kid stable across `to_der`/`from_der`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public half, with this key's kid and algorithm (for HS*: the same secret).
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }

    /// The public JWK Keycloak publishes at `/protocol/openid-connect/certs` for this key, with
    /// `x5c`, `x5t` and `x5t#S256` when the key's certificate (standard base64 DER, as
    /// [`SigningKey::self_signed_certificate`] returns) is given; certificates are published for
    /// RSA and EC keys only, as in Keycloak. `None` for HMAC keys, which are never published.
    pub fn public_jwk(&self, certificate_der_b64: Option<&str>) -> Option<serde_json::Value> {
        jwk::public_jwk(self, certificate_der_b64)
    }

    /// A self-signed X.509 certificate for this key, base64 (standard, padded) DER, as Keycloak
    /// makes for a generated key: subject and issuer `CN=<common_name>`, valid for 10 years.
    /// `UnsupportedAlgorithm` for HMAC keys.
    pub fn self_signed_certificate(&self, common_name: &str) -> Result<String, JoseError> {
        let der = cert::self_signed(self, common_name)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(der))
    }

    /// A compact JWS of `payload_json` with the header `{"alg":..,"typ":..,"kid":..}` (members
    /// in that order, as Keycloak writes them; `typ` left out when `None`).
    pub fn sign(&self, payload_json: &[u8], typ: Option<&str>) -> Result<String, JoseError> {
        let mut header = String::with_capacity(96);
        header.push_str("{\"alg\":\"");
        header.push_str(self.alg.as_str());
        header.push('"');
        if let Some(typ) = typ {
            header.push_str(",\"typ\":");
            header.push_str(&json_string(typ));
        }
        header.push_str(",\"kid\":");
        header.push_str(&json_string(&self.kid));
        header.push('}');

        let mut token = String::with_capacity((header.len() + payload_json.len()) * 4 / 3 + 700);
        B64URL.encode_string(header.as_bytes(), &mut token);
        token.push('.');
        B64URL.encode_string(payload_json, &mut token);
        let signature = self.sign_bytes(token.as_bytes())?;
        token.push('.');
        B64URL.encode_string(signature, &mut token);
        Ok(token)
    }

    /// The raw JWS signature of `signing_input` (for ES*, the fixed-size `r || s` form), for
    /// callers that assemble a JWS with another header.
    pub fn sign_bytes(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let failed =
            |_| JoseError::Key(format!("{} signing failed with kid {}", self.alg, self.kid));
        match &self.key {
            Private::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                // aws-lc-rs ignores the generator (aws-lc draws PSS salts itself); the parameter
                // is there for ring compatibility.
                pair.sign(
                    rsa_padding(self.alg),
                    &rand::SystemRandom::new(),
                    signing_input,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
            Private::Ec(pair) => Ok(pair
                .sign(&rand::SystemRandom::new(), signing_input)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Private::Ed(pair) => Ok(pair.sign(signing_input).as_ref().to_vec()),
            Private::Hmac(key) => Ok(hmac::sign(key, signing_input).as_ref().to_vec()),
        }
    }

    pub(super) fn private(&self) -> &Private {
        &self.key
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The X.509 `SubjectPublicKeyInfo` DER of an asymmetric key; what Java's
/// `PublicKey.getEncoded()` returns and Keycloak hashes into the kid.
pub(super) fn spki_der(key: &Private, alg: Algorithm) -> Result<Vec<u8>, JoseError> {
    let der = match key {
        Private::Rsa(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        Private::Ec(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        Private::Ed(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        Private::Hmac(_) => {
            return Err(JoseError::UnsupportedAlgorithm(format!(
                "{alg} keys have no public key"
            )));
        }
    };
    der.map_err(|_| JoseError::Key(format!("cannot encode the {alg} public key")))
}

fn hmac_kid(secret: &[u8]) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(b"gatehouse-hmac-kid:");
    hash.update(secret);
    B64URL.encode(hash.finalize())
}

/// A JSON string literal; kids and `typ` values set by callers may hold any character.
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

pub(super) fn ecdsa_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    // JWS wants the fixed-size r || s form (RFC 7518 section 3.4), not ASN.1 DER.
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

fn rsa_padding(alg: Algorithm) -> &'static dyn signature::RsaEncoding {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => &signature::RSA_PKCS1_SHA256,
    }
}

pub(super) fn hmac_alg(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}
