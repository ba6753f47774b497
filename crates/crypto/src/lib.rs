//! Password hashing that reads and writes Keycloak 26's stored password credentials, and
//! (in [`jose`]) the JWS/JWK layer tokens are signed and verified with.
//!
//! Keycloak keeps a password as two JSON strings in its `CREDENTIAL` table and in realm exports,
//! and [`StoredPassword`] carries them unchanged:
//!
//! - `secretData`: `{"value":"<base64 key>","salt":"<base64 salt>","additionalParameters":{}}`
//! - `credentialData`: `{"hashIterations":N,"algorithm":"<id>","additionalParameters":{...}}`,
//!   where Argon2 adds `hashLength`, `memory`, `type`, `version` and `parallelism`, each as a
//!   one-element list of strings.
//!
//! Credentials Keycloak wrote verify here, and credentials written here are byte-for-byte the
//! shape Keycloak writes, so a realm can move either way without resetting passwords.
//!
//! | algorithm id    | KDF                | default iterations | key length |
//! |-----------------|--------------------|--------------------|------------|
//! | `argon2`        | Argon2id v1.3, 7168 KiB, parallelism 1 | 5  | 32 bytes   |
//! | `pbkdf2-sha512` | PBKDF2-HMAC-SHA512 | 210,000            | 64 bytes   |
//! | `pbkdf2-sha256` | PBKDF2-HMAC-SHA256 | 600,000            | 32 bytes   |
//! | `pbkdf2`        | PBKDF2-HMAC-SHA1   | 1,300,000          | 64 bytes   |
//!
//! Salts are 16 random bytes. PBKDF2 verification takes the key length from the stored value,
//! as Keycloak does, so the 64-byte `pbkdf2-sha256` keys of releases before 24 still verify (and
//! are flagged for rehash). Keycloak's FIPS-only password padding (`max-padding-length`, 0 by
//! default) is not supported.
//!
//! Cost of one hash at each default, measured with
//! `cargo run --release -p gatehouse-crypto --example hash_speed` pinned to one core of the
//! two-core development machine while other builds ran (so upper bounds): Argon2 13 ms,
//! PBKDF2-SHA512 (210,000) 84–107 ms, PBKDF2-SHA256 (600,000) 67 ms, PBKDF2-SHA1 (1,300,000,
//! four output blocks) 490 ms. Verifying costs the same as hashing. Every call is CPU-bound for
//! that long: async callers must run it on a bounded blocking pool.
//!
//! Invariants: this crate does no I/O, keeps no state and logs nothing. Passwords, salts,
//! derived keys and private keys never appear in an error or in `Debug` output.

mod format;
pub mod jose;
mod kdf;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use kdf::Params;

/// A password hashing algorithm Keycloak can store, named by its Keycloak provider id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// `argon2`: Keycloak's default outside FIPS mode since release 24.
    #[default]
    Argon2,
    /// `pbkdf2`: PBKDF2-HMAC-SHA1, deprecated in Keycloak but still verifiable.
    Pbkdf2Sha1,
    /// `pbkdf2-sha256`: PBKDF2-HMAC-SHA256, Keycloak's default before release 24.
    Pbkdf2Sha256,
    /// `pbkdf2-sha512`: PBKDF2-HMAC-SHA512, Keycloak's default in FIPS mode.
    Pbkdf2Sha512,
}

impl HashAlgorithm {
    /// The Keycloak provider id, as stored in `credentialData.algorithm` and written in the realm
    /// password policy `hashAlgorithm(...)`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Argon2 => "argon2",
            Self::Pbkdf2Sha1 => "pbkdf2",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
            Self::Pbkdf2Sha512 => "pbkdf2-sha512",
        }
    }

    /// Keycloak 26's iteration count when the policy sets no `hashIterations(...)`.
    pub fn default_iterations(self) -> u32 {
        match self {
            Self::Argon2 => kdf::ARGON2_DEFAULT.iterations,
            Self::Pbkdf2Sha1 => 1_300_000,
            Self::Pbkdf2Sha256 => 600_000,
            Self::Pbkdf2Sha512 => 210_000,
        }
    }
}

impl FromStr for HashAlgorithm {
    type Err = CryptoError;

    /// Parses a Keycloak provider id; ids are case-sensitive, as in Keycloak.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "argon2" => Ok(Self::Argon2),
            "pbkdf2" => Ok(Self::Pbkdf2Sha1),
            "pbkdf2-sha256" => Ok(Self::Pbkdf2Sha256),
            "pbkdf2-sha512" => Ok(Self::Pbkdf2Sha512),
            // The id comes from stored data of any size; a bounded copy is enough to diagnose.
            other => Err(CryptoError::UnsupportedAlgorithm(
                other.chars().take(64).collect(),
            )),
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hashing part of a realm's password policy: `hashAlgorithm(...)` and `hashIterations(...)`.
///
/// The default is what a realm without either clause gets in Keycloak 26: Argon2id with
/// Keycloak's default parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PasswordPolicyHash {
    /// The algorithm new passwords are hashed with.
    pub algorithm: HashAlgorithm,
    /// `hashIterations(...)`, or `None` for the algorithm's default.
    ///
    /// As in Keycloak, Argon2 takes this only when it is at most 100 and uses its default of 5
    /// otherwise, since realms often carry a PBKDF2-sized count. Unlike Keycloak, a credential
    /// hashed with such an accepted count is not flagged for rehash on every login.
    pub iterations: Option<u32>,
}

/// A password credential as Keycloak stores it: its `secretData` and `credentialData` JSON.
///
/// `Debug` leaves `secret_data` out: the derived key and salt are enough for an offline attack.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPassword {
    /// `secretData`: base64 derived key and salt.
    pub secret_data: String,
    /// `credentialData`: algorithm id and parameters.
    pub credential_data: String,
}

impl fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredPassword")
            .field("secret_data", &"<redacted>")
            .field("credential_data", &self.credential_data)
            .finish()
    }
}

/// The outcome of checking a password against a stored credential.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    /// The password is right.
    Match {
        /// The credential was hashed differently from what the current policy asks for; the
        /// caller should store a fresh [`hash_password`] of the password it just checked.
        needs_rehash: bool,
    },
    /// The password is wrong.
    Mismatch,
}

/// Why a credential could not be hashed or checked. A wrong password is not an error but
/// [`Verified::Mismatch`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The stored JSON, its base64 or its parameters are unusable, or the policy asks for
    /// impossible parameters. The message names the field, never its contents.
    #[error("malformed password credential: {0}")]
    Malformed(String),
    /// The algorithm id is not one Gatehouse implements.
    #[error("unsupported password hash algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A fault in this crate or its dependencies, not in the input.
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Hashes `password` with a fresh salt as `policy` asks, in Keycloak's stored form.
pub fn hash_password(
    password: &str,
    policy: &PasswordPolicyHash,
) -> Result<StoredPassword, CryptoError> {
    let params = Params::for_policy(policy.algorithm, policy.iterations)?;
    let mut salt = [0u8; kdf::SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let hash = kdf::derive(password.as_bytes(), &salt, &params).map_err(CryptoError::Internal)?;
    Ok(StoredPassword {
        secret_data: format::secret_data(&hash, &salt)?,
        credential_data: format::credential_data(&params)?,
    })
}

/// Checks `password` against `stored`, and on a match tells whether `current` policy would hash
/// it differently (another algorithm, iteration count, key length or Argon2 parameter).
pub fn verify_password(
    password: &str,
    stored: &StoredPassword,
    current: &PasswordPolicyHash,
) -> Result<Verified, CryptoError> {
    let secret = format::parse_secret_data(&stored.secret_data)?;
    let params = format::parse_credential_data(&stored.credential_data, secret.hash.len())?;
    let derived =
        kdf::derive(password.as_bytes(), &secret.salt, &params).map_err(CryptoError::Malformed)?;
    if !constant_time_eq(&derived, &secret.hash) {
        return Ok(Verified::Mismatch);
    }
    let wanted = Params::for_policy(current.algorithm, current.iterations)?;
    Ok(Verified::Match {
        needs_rehash: params != wanted,
    })
}

/// `bytes` bytes from a CSPRNG as unpadded URL-safe base64, for client secrets and the like.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests;
