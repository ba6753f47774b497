//! Times one password hash per Keycloak default, for the figures in the crate documentation.
//!
//! Run with `cargo run --release -p gatehouse-crypto --example hash_speed`.

use std::time::Instant;

use gatehouse_crypto::{HashAlgorithm, PasswordPolicyHash, hash_password};

fn main() -> Result<(), gatehouse_crypto::CryptoError> {
    const ROUNDS: u32 = 20;
    for algorithm in [
        HashAlgorithm::Argon2,
        HashAlgorithm::Pbkdf2Sha512,
        HashAlgorithm::Pbkdf2Sha256,
        HashAlgorithm::Pbkdf2Sha1,
    ] {
        let policy = PasswordPolicyHash {
            algorithm,
            iterations: None,
        };
        // One untimed hash so page faults and lazy initialisation stay out of the figure.
        hash_password("warm-up", &policy)?;
        let start = Instant::now();
        for _ in 0..ROUNDS {
            hash_password("correct horse battery staple", &policy)?;
        }
        let per_hash = start.elapsed() / ROUNDS;
        println!(
            "{:<14} {:>9} iterations {:>8.2} ms per hash",
            algorithm.as_str(),
            algorithm.default_iterations(),
            per_hash.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
