//! Keycloak's stored password JSON: `PasswordSecretData` and `PasswordCredentialData`.
//!
//! Only this module knows the wire shape. Parsing errors name the field at fault and never echo
//! its contents: a secretData string holds the hash and salt.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use crate::kdf::{Argon2Params, Argon2Variant, Argon2Version, Params, Prf};
use crate::{CryptoError, HashAlgorithm};

/// Keycloak decodes with lenient decoders (iharder `Base64`, Java's MIME decoder), so hashes
/// written by other tools without padding or with stray low bits must still load.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Keycloak writes padded standard base64 (`java.util.Base64.getEncoder()`).
const STRICT: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Placeholder Keycloak's importer treats as "no salt".
const NO_SALT: &str = "__SALT__";

/// Bounds that keep a hostile or corrupt record from exhausting memory; Keycloak's own values
/// sit far below them.
const MAX_HASH_LEN: usize = 1024;
const MAX_ARGON2_MEMORY_KIB: u32 = 1 << 20;
const MAX_ARGON2_PARALLELISM: u32 = 255;

#[derive(Deserialize)]
struct SecretDataIn {
    value: Option<String>,
    salt: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretDataOut<'a> {
    value: &'a str,
    salt: &'a str,
    additional_parameters: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialDataIn {
    hash_iterations: Option<i64>,
    algorithm: Option<String>,
    additional_parameters: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialDataOut<'a, P> {
    hash_iterations: u32,
    algorithm: &'a str,
    additional_parameters: P,
}

/// Field order is the one Keycloak 26 writes, so our output is byte-identical to its own.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Argon2ParamsOut {
    hash_length: [String; 1],
    memory: [String; 1],
    r#type: [String; 1],
    version: [String; 1],
    parallelism: [String; 1],
}

/// A decoded secretData: the derived key and the salt it was made with.
pub(crate) struct Secret {
    pub(crate) hash: Vec<u8>,
    pub(crate) salt: Vec<u8>,
}

fn json_error(field: &str, e: &serde_json::Error) -> CryptoError {
    // serde_json's Display quotes offending values; only its category and position are safe here.
    CryptoError::Malformed(format!(
        "{field} is not valid Keycloak JSON ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    ))
}

pub(crate) fn parse_secret_data(json: &str) -> Result<Secret, CryptoError> {
    let raw: SecretDataIn = serde_json::from_str(json).map_err(|e| json_error("secretData", &e))?;
    let value = raw
        .value
        .ok_or_else(|| CryptoError::Malformed("secretData has no value".into()))?;
    let salt = match raw.salt.as_deref() {
        None | Some(NO_SALT) => {
            return Err(CryptoError::Malformed("secretData has no salt".into()));
        }
        Some(s) => s,
    };
    let hash = LENIENT
        .decode(value.trim())
        .map_err(|_| CryptoError::Malformed("secretData value is not base64".into()))?;
    let salt = LENIENT
        .decode(salt.trim())
        .map_err(|_| CryptoError::Malformed("secretData salt is not base64".into()))?;
    if hash.is_empty() || hash.len() > MAX_HASH_LEN {
        return Err(CryptoError::Malformed(
            "secretData value has an impossible length".into(),
        ));
    }
    if salt.is_empty() {
        return Err(CryptoError::Malformed("secretData salt is empty".into()));
    }
    Ok(Secret { hash, salt })
}

/// Parses credentialData. For PBKDF2 the key length is not stored there: Keycloak takes it from
/// the decoded value, and so does the caller, through `hash_len`.
pub(crate) fn parse_credential_data(json: &str, hash_len: usize) -> Result<Params, CryptoError> {
    let raw: CredentialDataIn =
        serde_json::from_str(json).map_err(|e| json_error("credentialData", &e))?;
    let algorithm: HashAlgorithm = raw
        .algorithm
        .as_deref()
        .ok_or_else(|| CryptoError::Malformed("credentialData has no algorithm".into()))?
        .parse()?;
    let iterations = raw
        .hash_iterations
        .ok_or_else(|| CryptoError::Malformed("credentialData has no hashIterations".into()))?;
    let iterations = u32::try_from(iterations)
        .ok()
        .filter(|&n| n >= 1 && i32::try_from(n).is_ok())
        .ok_or_else(|| {
            CryptoError::Malformed("credentialData hashIterations out of range".into())
        })?;
    let extra = raw.additional_parameters.unwrap_or_default();

    match Prf::of(algorithm) {
        None => {
            let first = |key: &str| {
                extra
                    .get(key)
                    .and_then(|values| values.first())
                    .map(String::as_str)
                    .ok_or_else(|| {
                        CryptoError::Malformed(format!("argon2 credentialData has no {key}"))
                    })
            };
            let number = |key: &str, max: u32| {
                first(key)?
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n >= 1 && n <= max)
                    .ok_or_else(|| {
                        CryptoError::Malformed(format!("argon2 {key} is not a usable number"))
                    })
            };
            let variant = Argon2Variant::from_keycloak(first("type")?)
                .ok_or_else(|| CryptoError::Malformed("argon2 type is unknown".into()))?;
            let version = Argon2Version::from_keycloak(first("version")?)
                .ok_or_else(|| CryptoError::Malformed("argon2 version is unknown".into()))?;
            let params = Argon2Params {
                variant,
                version,
                memory_kib: number("memory", MAX_ARGON2_MEMORY_KIB)?,
                iterations,
                parallelism: number("parallelism", MAX_ARGON2_PARALLELISM)?,
                hash_len: number("hashLength", MAX_HASH_LEN as u32)? as usize,
            };
            if params.hash_len != hash_len {
                // Keycloak would compare strings of different lengths and deny; the record is
                // corrupt either way, and saying so helps whoever reads the log.
                return Err(CryptoError::Malformed(
                    "argon2 hashLength does not match the stored value".into(),
                ));
            }
            Ok(Params::Argon2(params))
        }
        Some(prf) => Ok(Params::Pbkdf2 {
            prf,
            iterations,
            key_len: hash_len,
        }),
    }
}

pub(crate) fn secret_data(hash: &[u8], salt: &[u8]) -> Result<String, CryptoError> {
    let out = SecretDataOut {
        value: &STRICT.encode(hash),
        salt: &STRICT.encode(salt),
        additional_parameters: BTreeMap::new(),
    };
    serde_json::to_string(&out).map_err(|e| CryptoError::Internal(e.to_string()))
}

pub(crate) fn credential_data(params: &Params) -> Result<String, CryptoError> {
    let json = match params {
        Params::Argon2(p) => serde_json::to_string(&CredentialDataOut {
            hash_iterations: p.iterations,
            algorithm: HashAlgorithm::Argon2.as_str(),
            additional_parameters: Argon2ParamsOut {
                hash_length: [p.hash_len.to_string()],
                memory: [p.memory_kib.to_string()],
                r#type: [p.variant.as_keycloak().to_owned()],
                version: [p.version.as_keycloak().to_owned()],
                parallelism: [p.parallelism.to_string()],
            },
        }),
        Params::Pbkdf2 {
            prf, iterations, ..
        } => serde_json::to_string(&CredentialDataOut {
            hash_iterations: *iterations,
            algorithm: prf.algorithm().as_str(),
            additional_parameters: BTreeMap::<String, Vec<String>>::new(),
        }),
    };
    json.map_err(|e| CryptoError::Internal(e.to_string()))
}
