//! Compact JWS parsing (RFC 7515 section 7.1) before any key is chosen.

use std::fmt;

use base64::Engine as _;
use serde_json::Value;

use super::{Algorithm, B64URL, JoseError, VerifyingKey};

/// A compact JWS split into its parts, not yet verified.
///
/// Nothing in it is trustworthy until [`Jws::verify_with`] succeeds; the header's `alg` and
/// `kid` only say which key to try. `Debug` shows `alg` and `kid` only, since the rest together
/// is a usable bearer token.
pub struct Jws<'a> {
    /// The protected header, a JSON object.
    pub header: Value,
    /// The header's `alg`.
    pub alg: Algorithm,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The decoded payload bytes (for a JWT, its claims as JSON).
    pub payload: Vec<u8>,
    /// `<header>.<payload>` exactly as it appeared in the token: what the signature covers.
    pub signing_input: &'a str,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without verifying it.
///
/// `Malformed` for anything but three base64url parts with a JSON object header carrying a
/// string `alg`: a JWE (five parts), padding or other characters outside base64url, `alg`
/// `none` (an unsigned token is never accepted), a non-string `kid`, or a `crit` header (no
/// extension is understood, and RFC 7515 section 4.1.11 says to refuse what is not).
/// `UnsupportedAlgorithm` for an `alg` that is not implemented.
pub fn decode(token: &str) -> Result<Jws<'_>, JoseError> {
    let parts = token.split('.').count();
    if parts == 5 {
        return Err(JoseError::Malformed(
            "encrypted token (JWE) where a JWS was expected".into(),
        ));
    }
    if parts != 3 {
        return Err(JoseError::Malformed(format!(
            "a compact JWS has 3 parts, this has {parts}"
        )));
    }
    let Some((signing_input, signature_b64)) = token.rsplit_once('.') else {
        return Err(JoseError::Malformed("a compact JWS has 3 parts".into()));
    };
    let Some((header_b64, payload_b64)) = signing_input.split_once('.') else {
        return Err(JoseError::Malformed("a compact JWS has 3 parts".into()));
    };

    let header_bytes = decode_part(header_b64, "header")?;
    let header: Value = serde_json::from_slice(&header_bytes)
        .map_err(|_| JoseError::Malformed("header is not JSON".into()))?;
    let fields = header
        .as_object()
        .ok_or_else(|| JoseError::Malformed("header is not a JSON object".into()))?;
    let alg = match fields.get("alg") {
        Some(Value::String(alg)) if alg == "none" => {
            return Err(JoseError::Malformed("unsigned token (alg none)".into()));
        }
        Some(Value::String(alg)) => alg.parse::<Algorithm>()?,
        Some(_) => return Err(JoseError::Malformed("header alg is not a string".into())),
        None => return Err(JoseError::Malformed("header without alg".into())),
    };
    let kid = match fields.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(JoseError::Malformed("header kid is not a string".into())),
    };
    if fields.contains_key("crit") {
        return Err(JoseError::Malformed(
            "header crit names extensions that are not supported".into(),
        ));
    }

    let payload = decode_part(payload_b64, "payload")?;
    let signature = decode_part(signature_b64, "signature")?;
    Ok(Jws {
        header,
        alg,
        kid,
        payload,
        signing_input,
        signature,
    })
}

fn decode_part(part: &str, name: &str) -> Result<Vec<u8>, JoseError> {
    B64URL
        .decode(part)
        .map_err(|_| JoseError::Malformed(format!("{name} is not unpadded base64url")))
}

impl Jws<'_> {
    /// Verifies the signature with `key`, using the header's `alg`, which must fit the key.
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }

    /// The payload as a JSON object (a JWT's claims). Read it only after
    /// [`Jws::verify_with`] succeeded.
    pub fn claims(&self) -> Result<Value, JoseError> {
        match serde_json::from_slice(&self.payload) {
            Ok(claims @ Value::Object(_)) => Ok(claims),
            Ok(_) => Err(JoseError::Malformed("payload is not a JSON object".into())),
            Err(_) => Err(JoseError::Malformed("payload is not JSON".into())),
        }
    }
}

impl fmt::Debug for Jws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jws")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
