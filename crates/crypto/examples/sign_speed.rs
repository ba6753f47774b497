//! Measures compact-JWS signatures per second on one thread, for the figures in the `jose`
//! module documentation.
//!
//! Run with `cargo run --release -p gatehouse-crypto --example sign_speed`; pin it to one core
//! (`taskset -c 0`) for steadier numbers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gatehouse_crypto::jose::{Algorithm, JoseError, SigningKey, decode};

/// A payload the size of a small Keycloak access token's claims.
const CLAIMS: &[u8] = br#"{"exp":1700000300,"iat":1700000000,"jti":"onrtac:6f1c2a44-1c8e-4b8e-9a1e-2f0c6d1d9b1a","iss":"http://localhost:8080/realms/master","sub":"8c1f2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c","typ":"Bearer","azp":"account"}"#;

/// Long enough that timer resolution and the first-call costs vanish.
const RUN: Duration = Duration::from_secs(2);

fn main() -> Result<(), JoseError> {
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        // Built once, as callers do; the loop measures signing alone.
        let key = SigningKey::generate(alg)?;
        let verifier = key.verifying_key();
        key.sign(CLAIMS, Some("JWT"))?;

        let (signs, elapsed) = repeat(|| key.sign(black_box(CLAIMS), Some("JWT")).map(drop))?;
        let token = key.sign(CLAIMS, Some("JWT"))?;
        let (verifies, verify_elapsed) =
            repeat(|| decode(black_box(&token))?.verify_with(&verifier))?;
        println!(
            "{alg:<6} sign {:>9.0}/s   decode+verify {:>9.0}/s",
            f64::from(signs) / elapsed.as_secs_f64(),
            f64::from(verifies) / verify_elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// Runs `op` for about [`RUN`], returning how many times and how long.
fn repeat(mut op: impl FnMut() -> Result<(), JoseError>) -> Result<(u32, Duration), JoseError> {
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < RUN {
        // Check the clock every few calls only; EdDSA and HMAC take about as long as reading it.
        for _ in 0..16 {
            op()?;
        }
        count += 16;
    }
    Ok((count, start.elapsed()))
}
