//! Self-signed certificates for generated keys, as Keycloak's
//! `CertificateUtils.generateV1SelfSignedCertificate` makes them.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use rcgen::{CertificateParams, DistinguishedName, DnType, PublicKeyData, SerialNumber};
use time::OffsetDateTime;

use super::keys::{Private, SigningKey};
use super::{Algorithm, JoseError};

/// Keycloak's `CertificateUtils.MAX_CN_LENGTH`: longer realm names are cut before the CN is
/// built (X.520 caps a common name at 64 characters).
const MAX_CN_CHARS: usize = 64;

/// Keycloak starts validity 100 seconds in the past, to absorb clock skew.
const BACKDATE_SECONDS: i64 = 100;

/// Keycloak's validity: `Calendar.add(Calendar.YEAR, 10)` from now.
const VALID_YEARS: i32 = 10;

pub(super) fn self_signed(key: &SigningKey, common_name: &str) -> Result<Vec<u8>, JoseError> {
    let alg = key.algorithm();
    let signer = CertSigner::new(key)?;
    let failed = |_| JoseError::Key(format!("cannot make a certificate for the {alg} key"));

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| JoseError::Key("system clock is before 1970".into()))?;
    let now_secs = i64::try_from(now.as_secs()).map_err(failed_time)?;
    let not_before =
        OffsetDateTime::from_unix_timestamp(now_secs - BACKDATE_SECONDS).map_err(failed_time)?;
    let not_after = add_years(
        OffsetDateTime::from_unix_timestamp(now_secs).map_err(failed_time)?,
        VALID_YEARS,
    )?;

    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        common_name.chars().take(MAX_CN_CHARS).collect::<String>(),
    );
    params.distinguished_name = name;
    params.not_before = not_before;
    params.not_after = not_after;
    // Keycloak's serial number is the creation time in milliseconds.
    params.serial_number = Some(SerialNumber::from(
        u64::try_from(now.as_millis()).map_err(failed_time)?,
    ));
    let certificate = params.self_signed(&signer).map_err(failed)?;
    Ok(certificate.der().to_vec())
}

fn failed_time<E>(_: E) -> JoseError {
    JoseError::Key("system clock out of range for a certificate".into())
}

/// `Calendar.add(YEAR, n)`: the same day and time n years on, 29 February becoming 28.
fn add_years(at: OffsetDateTime, years: i32) -> Result<OffsetDateTime, JoseError> {
    let year = at.year() + years;
    at.replace_year(year)
        .or_else(|_| at.replace_day(28).and_then(|at| at.replace_year(year)))
        .map_err(failed_time)
}

/// Lends a [`SigningKey`] to rcgen, so the certificate is signed by the key already parsed.
struct CertSigner<'a> {
    key: &'a SigningKey,
    /// The subjectPublicKey bits: PKCS#1 `RSAPublicKey`, an EC point, or the Ed25519 key.
    public: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
    /// A certificate signature is ASN.1 DER, not the `r || s` form the JWS key pair is bound
    /// to, so EC certificates are signed by a second parse of the key. This runs once per
    /// generated key, never per token.
    ec_der_signer: Option<EcdsaKeyPair>,
}

impl<'a> CertSigner<'a> {
    fn new(key: &'a SigningKey) -> Result<CertSigner<'a>, JoseError> {
        let alg = key.algorithm();
        let rejected = |_| JoseError::Key(format!("cannot reuse the {alg} key for a certificate"));
        let (public, algorithm, ec_der_signer) = match key.private() {
            // Keycloak signs with SHA256withRSA whatever the key's JWS algorithm.
            Private::Rsa(pair) => (
                pair.public_key().as_ref().to_vec(),
                &rcgen::PKCS_RSA_SHA256,
                None,
            ),
            Private::Ec(pair) => {
                // rcgen pairs each curve with its own hash (it has no P-384 with SHA-256), where
                // Keycloak uses SHA256withECDSA throughout.
                let (rcgen_alg, der_alg) = match alg {
                    Algorithm::ES384 => (
                        &rcgen::PKCS_ECDSA_P384_SHA384,
                        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    ),
                    Algorithm::ES512 => (
                        &rcgen::PKCS_ECDSA_P521_SHA512,
                        &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                    ),
                    _ => (
                        &rcgen::PKCS_ECDSA_P256_SHA256,
                        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    ),
                };
                let der_signer =
                    EcdsaKeyPair::from_pkcs8(der_alg, &key.to_der()).map_err(rejected)?;
                (
                    pair.public_key().as_ref().to_vec(),
                    rcgen_alg,
                    Some(der_signer),
                )
            }
            Private::Ed(pair) => (
                pair.public_key().as_ref().to_vec(),
                &rcgen::PKCS_ED25519,
                None,
            ),
            Private::Hmac(_) => {
                return Err(JoseError::UnsupportedAlgorithm(format!(
                    "{alg} keys have no certificate"
                )));
            }
        };
        Ok(CertSigner {
            key,
            public,
            algorithm,
            ec_der_signer,
        })
    }
}

impl PublicKeyData for CertSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

impl rcgen::SigningKey for CertSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signed = match (self.key.private(), &self.ec_der_signer) {
            (Private::Rsa(pair), _) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rand::SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .map(|()| sig)
            }
            (Private::Ec(_), Some(der_signer)) => der_signer
                .sign(&rand::SystemRandom::new(), msg)
                .map(|sig| sig.as_ref().to_vec()),
            (Private::Ed(pair), _) => Ok(pair.sign(msg).as_ref().to_vec()),
            _ => return Err(rcgen::Error::RingUnspecified),
        };
        signed.map_err(|_| rcgen::Error::RingUnspecified)
    }
}
