//! JWKs: the public ones Keycloak publishes (`JWKBuilder`), and parsing a client's.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{KeyPair as _, RsaPublicKeyComponents};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha1::Digest as _;

use super::keys::{Private, SigningKey};
use super::{Algorithm, B64URL, JoseError, VerifyingKey};

pub(super) fn public_jwk(key: &SigningKey, certificate_der_b64: Option<&str>) -> Option<Value> {
    let alg = key.algorithm();
    let mut jwk = Map::new();
    jwk.insert("kid".into(), key.kid().into());
    jwk.insert("kty".into(), alg.key_type().into());
    jwk.insert("alg".into(), alg.as_str().into());
    jwk.insert("use".into(), "sig".into());
    let with_certificate = match key.private() {
        Private::Rsa(pair) => {
            let public = pair.public_key();
            jwk.insert(
                "n".into(),
                B64URL
                    .encode(public.modulus().big_endian_without_leading_zero())
                    .into(),
            );
            jwk.insert(
                "e".into(),
                B64URL
                    .encode(public.exponent().big_endian_without_leading_zero())
                    .into(),
            );
            true
        }
        Private::Ec(pair) => {
            // Uncompressed SEC1 point: 0x04 || x || y, each coordinate the curve's field size,
            // which is also the size Keycloak pads to.
            let point = pair.public_key().as_ref();
            let coordinates = point.get(1..).unwrap_or_default();
            let (x, y) = coordinates.split_at(coordinates.len() / 2);
            jwk.insert("crv".into(), curve_name(alg).into());
            jwk.insert("x".into(), B64URL.encode(x).into());
            jwk.insert("y".into(), B64URL.encode(y).into());
            true
        }
        Private::Ed(pair) => {
            jwk.insert("crv".into(), "Ed25519".into());
            jwk.insert("x".into(), B64URL.encode(pair.public_key().as_ref()).into());
            // Keycloak's OKP JWK (EdECUtils.okp) takes no certificate chain.
            false
        }
        Private::Hmac(_) => return None,
    };
    if let (true, Some(cert_b64)) = (with_certificate, certificate_der_b64) {
        // The thumbprints are hashes of the DER, so a certificate that is not base64 cannot be
        // described; it is left out rather than published without them.
        let cleaned: String = cert_b64.split_whitespace().collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&cleaned) {
            jwk.insert("x5c".into(), json!([cleaned]));
            jwk.insert("x5t".into(), B64URL.encode(sha1::Sha1::digest(&der)).into());
            jwk.insert(
                "x5t#S256".into(),
                super::thumbprint_sha256_b64url(&der).into(),
            );
        }
    }
    Some(Value::Object(jwk))
}

fn curve_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES384 => "P-384",
        Algorithm::ES512 => "P-521",
        _ => "P-256",
    }
}

pub(super) fn parse(jwk: &Value) -> Result<VerifyingKey, JoseError> {
    let jwk = jwk
        .as_object()
        .ok_or_else(|| JoseError::Malformed("JWK is not a JSON object".into()))?;
    let kty =
        string_member(jwk, "kty")?.ok_or_else(|| JoseError::Malformed("JWK without kty".into()))?;
    if let Some(key_use) = string_member(jwk, "use")?
        && key_use != "sig"
    {
        return Err(JoseError::Key("JWK is not a signature key".into()));
    }
    let kid = string_member(jwk, "kid")?;
    let alg = string_member(jwk, "alg")?
        .map(str::parse::<Algorithm>)
        .transpose()?;
    if let Some(alg) = alg
        && alg.key_type() != kty
    {
        return Err(JoseError::UnsupportedAlgorithm(format!(
            "{alg} does not fit a {} JWK",
            super::bounded(kty)
        )));
    }

    let key = match kty {
        "RSA" => {
            let n = b64_member(jwk, "n")?;
            let e = b64_member(jwk, "e")?;
            // Some writers keep a sign byte; aws-lc wants the bare unsigned integer.
            let components = RsaPublicKeyComponents {
                n: strip_leading_zeros(&n),
                e: strip_leading_zeros(&e),
            };
            let spki = components
                .as_der()
                .map_err(|_| JoseError::Key("RSA JWK is not a valid public key".into()))?;
            let key =
                VerifyingKey::from_public_bytes(alg.unwrap_or(Algorithm::RS256), spki.as_ref())?;
            match alg {
                Some(_) => key,
                // An RSA JWK without alg verifies any RS*/PS* algorithm, as RFC 7517 allows.
                None => key.without_algorithm(),
            }
        }
        "EC" => {
            let crv = string_member(jwk, "crv")?
                .ok_or_else(|| JoseError::Malformed("EC JWK without crv".into()))?;
            let (curve_alg, size) = match crv {
                "P-256" => (Algorithm::ES256, 32),
                "P-384" => (Algorithm::ES384, 48),
                "P-521" => (Algorithm::ES512, 66),
                other => {
                    return Err(JoseError::UnsupportedAlgorithm(format!(
                        "EC curve {}",
                        super::bounded(other)
                    )));
                }
            };
            if alg.is_some_and(|alg| alg != curve_alg) {
                return Err(JoseError::UnsupportedAlgorithm(format!(
                    "{} does not fit curve {crv}",
                    alg.map_or("", Algorithm::as_str)
                )));
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            // Older Keycloak releases wrote coordinates without their leading zero bytes.
            point.extend(left_pad(&b64_member(jwk, "x")?, size)?);
            point.extend(left_pad(&b64_member(jwk, "y")?, size)?);
            VerifyingKey::from_public_bytes(curve_alg, &point)?
        }
        "OKP" => {
            let crv = string_member(jwk, "crv")?
                .ok_or_else(|| JoseError::Malformed("OKP JWK without crv".into()))?;
            if crv != "Ed25519" {
                return Err(JoseError::UnsupportedAlgorithm(format!(
                    "OKP curve {}",
                    super::bounded(crv)
                )));
            }
            let x = b64_member(jwk, "x")?;
            if x.len() != 32 {
                return Err(JoseError::Key("Ed25519 JWK x is not 32 bytes".into()));
            }
            VerifyingKey::from_public_bytes(Algorithm::EdDSA, &x)?
        }
        "oct" => {
            return Err(JoseError::Key(
                "symmetric JWKs are not accepted as public keys".into(),
            ));
        }
        other => {
            return Err(JoseError::UnsupportedAlgorithm(format!(
                "JWK kty {}",
                super::bounded(other)
            )));
        }
    };
    Ok(match kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

fn string_member<'a>(
    jwk: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, JoseError> {
    match jwk.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JoseError::Malformed(format!("JWK {name} is not a string"))),
    }
}

fn b64_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JoseError> {
    let text = string_member(jwk, name)?
        .ok_or_else(|| JoseError::Malformed(format!("JWK without {name}")))?;
    B64URL
        .decode(text)
        .map_err(|_| JoseError::Malformed(format!("JWK {name} is not base64url")))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn left_pad(coordinate: &[u8], size: usize) -> Result<Vec<u8>, JoseError> {
    let coordinate = strip_leading_zeros(coordinate);
    if coordinate.len() > size {
        return Err(JoseError::Key(
            "EC JWK coordinate longer than its curve".into(),
        ));
    }
    let mut padded = vec![0u8; size - coordinate.len()];
    padded.extend_from_slice(coordinate);
    Ok(padded)
}
