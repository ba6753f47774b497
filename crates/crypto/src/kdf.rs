//! Key derivation with the parameters a credential was (or will be) stored with.

use crate::{CryptoError, HashAlgorithm};

/// Keycloak's `Salt.generateSalt()` and PBKDF2 provider both use 16 bytes.
pub(crate) const SALT_LEN: usize = 16;
/// Keycloak 26's `Argon2Parameters` defaults.
pub(crate) const ARGON2_DEFAULT: Argon2Params = Argon2Params {
    variant: Argon2Variant::Id,
    version: Argon2Version::V13,
    memory_kib: 7168,
    iterations: 5,
    parallelism: 1,
    hash_len: 32,
};
/// Keycloak's Argon2 provider refuses policy iterations above this and falls back to its default,
/// because realms often carry a PBKDF2-sized `hashIterations` that would make Argon2 crawl.
const ARGON2_MAX_POLICY_ITERATIONS: u32 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Argon2Variant {
    Id,
    I,
    D,
}

impl Argon2Variant {
    pub(crate) fn from_keycloak(s: &str) -> Option<Self> {
        match s {
            "id" => Some(Self::Id),
            "i" => Some(Self::I),
            "d" => Some(Self::D),
            _ => None,
        }
    }

    pub(crate) fn as_keycloak(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::I => "i",
            Self::D => "d",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Argon2Version {
    V10,
    V13,
}

impl Argon2Version {
    pub(crate) fn from_keycloak(s: &str) -> Option<Self> {
        match s {
            "1.3" => Some(Self::V13),
            "1.0" => Some(Self::V10),
            _ => None,
        }
    }

    pub(crate) fn as_keycloak(self) -> &'static str {
        match self {
            Self::V13 => "1.3",
            Self::V10 => "1.0",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Argon2Params {
    pub(crate) variant: Argon2Variant,
    pub(crate) version: Argon2Version,
    pub(crate) memory_kib: u32,
    pub(crate) iterations: u32,
    pub(crate) parallelism: u32,
    pub(crate) hash_len: usize,
}

/// The PRF of a PBKDF2 credential: the PBKDF2 members of [`HashAlgorithm`], and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

impl Prf {
    pub(crate) fn of(algorithm: HashAlgorithm) -> Option<Self> {
        match algorithm {
            HashAlgorithm::Argon2 => None,
            HashAlgorithm::Pbkdf2Sha1 => Some(Self::Sha1),
            HashAlgorithm::Pbkdf2Sha256 => Some(Self::Sha256),
            HashAlgorithm::Pbkdf2Sha512 => Some(Self::Sha512),
        }
    }

    pub(crate) fn algorithm(self) -> HashAlgorithm {
        match self {
            Self::Sha1 => HashAlgorithm::Pbkdf2Sha1,
            Self::Sha256 => HashAlgorithm::Pbkdf2Sha256,
            Self::Sha512 => HashAlgorithm::Pbkdf2Sha512,
        }
    }

    /// Keycloak 24+ writes 256-bit keys for `pbkdf2-sha256` and 512-bit keys otherwise; older
    /// releases wrote 512 bits for every variant, which verification reads from the stored length.
    fn key_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 | Self::Sha512 => 64,
        }
    }
}

/// Everything that decides a derived key except the password and salt. Two credentials with
/// equal `Params` were hashed the same way, which is what "needs rehash" compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Params {
    Argon2(Argon2Params),
    Pbkdf2 {
        prf: Prf,
        iterations: u32,
        key_len: usize,
    },
}

impl Params {
    /// What Keycloak would hash a new password with under this policy.
    pub(crate) fn for_policy(
        algorithm: HashAlgorithm,
        iterations: Option<u32>,
    ) -> Result<Self, CryptoError> {
        if iterations == Some(0) {
            return Err(CryptoError::Malformed(
                "policy hashIterations must be at least 1".into(),
            ));
        }
        Ok(match Prf::of(algorithm) {
            None => Params::Argon2(Argon2Params {
                iterations: iterations
                    .filter(|&n| n <= ARGON2_MAX_POLICY_ITERATIONS)
                    .unwrap_or(ARGON2_DEFAULT.iterations),
                ..ARGON2_DEFAULT
            }),
            Some(prf) => Params::Pbkdf2 {
                prf,
                iterations: iterations.unwrap_or_else(|| algorithm.default_iterations()),
                key_len: prf.key_len(),
            },
        })
    }

    pub(crate) fn hash_len(&self) -> usize {
        match self {
            Params::Argon2(p) => p.hash_len,
            Params::Pbkdf2 { key_len, .. } => *key_len,
        }
    }
}

/// Derives `params.hash_len()` bytes. Keycloak feeds Java strings to both KDFs as UTF-8.
pub(crate) fn derive(password: &[u8], salt: &[u8], params: &Params) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; params.hash_len()];
    match *params {
        Params::Argon2(p) => {
            let algorithm = match p.variant {
                Argon2Variant::Id => argon2::Algorithm::Argon2id,
                Argon2Variant::I => argon2::Algorithm::Argon2i,
                Argon2Variant::D => argon2::Algorithm::Argon2d,
            };
            let version = match p.version {
                Argon2Version::V13 => argon2::Version::V0x13,
                Argon2Version::V10 => argon2::Version::V0x10,
            };
            let argon_params =
                argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(p.hash_len))
                    .map_err(|e| format!("argon2 parameters rejected: {e}"))?;
            argon2::Argon2::new(algorithm, version, argon_params)
                .hash_password_into(password, salt, &mut out)
                .map_err(|e| format!("argon2 failed: {e}"))?;
        }
        Params::Pbkdf2 {
            prf, iterations, ..
        } => match prf {
            Prf::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out),
            Prf::Sha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out)
            }
            Prf::Sha512 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, &mut out)
            }
        },
    }
    Ok(out)
}
