#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Value, json};

use super::test_vectors as tv;
use super::*;

const CLAIMS: &[u8] = br#"{"iss":"http://localhost:8080/realms/master","sub":"u1","exp":1}"#;

fn std_b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// One generated key per algorithm for the whole test binary: RSA generation is slow.
fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|alg| SigningKey::generate(*alg).unwrap())
            .collect()
    });
    keys.iter().find(|k| k.algorithm() == alg).unwrap()
}

/// Signs, decodes and verifies; returns the token.
fn round_trip(key: &SigningKey, typ: Option<&str>) -> String {
    let token = key.sign(CLAIMS, typ).unwrap();
    let jws = decode(&token).unwrap();
    assert_eq!(jws.alg, key.algorithm());
    assert_eq!(jws.kid.as_deref(), Some(key.kid()));
    assert_eq!(jws.payload, CLAIMS);
    jws.verify_with(&key.verifying_key()).unwrap();
    token
}

/// `token` with one character of part `part` (0 header, 1 payload, 2 signature) changed.
fn tamper(token: &str, part: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = B64URL.decode(&parts[part]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    parts[part] = B64URL.encode(bytes);
    parts.join(".")
}

#[test]
fn every_algorithm_round_trips() {
    for alg in Algorithm::ALL {
        round_trip(key(alg), Some("JWT"));
    }
}

#[test]
fn header_is_keycloaks_member_for_member() {
    let key = key(Algorithm::RS256);
    let token = key.sign(CLAIMS, Some("JWT")).unwrap();
    let header = B64URL.decode(token.split('.').next().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#, key.kid())
    );

    let token = key.sign(CLAIMS, None).unwrap();
    let header = B64URL.decode(token.split('.').next().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        format!(r#"{{"alg":"RS256","kid":"{}"}}"#, key.kid())
    );

    // Caller-chosen values are JSON-escaped, not spliced.
    let odd = SigningKey::from_der(Algorithm::HS256, &[7; 32])
        .unwrap()
        .with_kid("a\"b");
    let token = round_trip(&odd, Some("logout+jwt"));
    let jws = decode(&token).unwrap();
    assert_eq!(jws.kid.as_deref(), Some("a\"b"));
    assert_eq!(jws.header["typ"], "logout+jwt");
}

#[test]
fn tampering_is_a_bad_signature() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let token = key.sign(CLAIMS, Some("JWT")).unwrap();
        for part in [1, 2] {
            let jws_text = tamper(&token, part);
            let jws = decode(&jws_text).unwrap();
            assert_eq!(
                jws.verify_with(&key.verifying_key()),
                Err(JoseError::BadSignature),
                "{alg} part {part}"
            );
        }
        // Another key of the same algorithm does not verify it either.
        let other = SigningKey::generate(alg).unwrap();
        let jws = decode(&token).unwrap();
        assert_eq!(
            jws.verify_with(&other.verifying_key()),
            Err(JoseError::BadSignature),
            "{alg}"
        );
    }
}

#[test]
fn truncated_signature_is_bad() {
    let key = key(Algorithm::ES256);
    let token = key.sign(CLAIMS, None).unwrap();
    let jws = decode(&token).unwrap();
    assert_eq!(
        key.verifying_key().verify(
            Algorithm::ES256,
            jws.signing_input.as_bytes(),
            &jws.signature[..63]
        ),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn hs256_header_against_an_rsa_public_key_is_refused() {
    // The classic confusion: the attacker MACs with the RSA public key as the secret and names
    // HS256. The RSA key must never be read as an HMAC secret.
    let rsa = key(Algorithm::RS256);
    let public_jwk = rsa.public_jwk(None).unwrap();
    let attacker = SigningKey::from_der(
        Algorithm::HS256,
        serde_json::to_vec(&public_jwk).unwrap().as_slice(),
    )
    .unwrap();
    let forged = attacker.sign(CLAIMS, Some("JWT")).unwrap();
    let jws = decode(&forged).unwrap();
    for verifier in [
        rsa.verifying_key(),
        VerifyingKey::from_jwk(&rsa.public_jwk(None).unwrap()).unwrap(),
    ] {
        assert!(matches!(
            jws.verify_with(&verifier),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
    }
}

#[test]
fn keys_refuse_algorithms_of_other_key_types() {
    let rs256 = key(Algorithm::RS256).sign(CLAIMS, None).unwrap();
    let jws = decode(&rs256).unwrap();
    for other in [
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::HS256,
        Algorithm::PS256,
    ] {
        assert!(
            matches!(
                jws.verify_with(&key(other).verifying_key()),
                Err(JoseError::UnsupportedAlgorithm(_))
            ),
            "RS256 token against a {other} key"
        );
    }
    // A key pinned to RS256 does not verify RS512 or PS256, even with the right RSA key.
    let rs = key(Algorithm::RS256).verifying_key();
    assert!(!rs.accepts(Algorithm::RS512));
    assert!(!rs.accepts(Algorithm::PS256));
    assert!(rs.accepts(Algorithm::RS256));
    // An EC key only takes its curve's algorithm.
    let es = key(Algorithm::ES256).verifying_key();
    assert!(!es.accepts(Algorithm::ES384));
    // HMAC keys built for client_secret_jwt stay HMAC.
    let hs = VerifyingKey::hmac(Algorithm::HS256, b"client-secret").unwrap();
    assert!(!hs.accepts(Algorithm::RS256));
    assert!(!hs.accepts(Algorithm::HS512));
    assert!(VerifyingKey::hmac(Algorithm::RS256, b"x").is_err());
}

#[test]
fn rsa_jwk_without_alg_takes_every_rsa_algorithm_and_nothing_else() {
    let rsa_der = key(Algorithm::RS256).to_der();
    let mut jwk = key(Algorithm::RS256).public_jwk(None).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");
    let verifier = VerifyingKey::from_jwk(&jwk).unwrap();
    assert_eq!(verifier.algorithm(), None);
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let signer = SigningKey::from_der(alg, &rsa_der).unwrap();
        let token = signer.sign(CLAIMS, None).unwrap();
        decode(&token).unwrap().verify_with(&verifier).unwrap();
    }
    assert!(!verifier.accepts(Algorithm::HS256));
    assert!(!verifier.accepts(Algorithm::ES256));
    let pinned = verifier.with_algorithm(Algorithm::PS256).unwrap();
    assert!(!pinned.accepts(Algorithm::RS256));
}

#[test]
fn decode_refuses_what_is_not_a_signed_compact_jws() {
    let none_header = B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = B64URL.encode(CLAIMS);
    let malformed = |token: &str| matches!(decode(token), Err(JoseError::Malformed(_)));

    assert!(malformed(&format!("{none_header}.{body}.")));
    assert!(malformed(&format!("{none_header}.{body}.AAAA")));
    // JWE compact serialization has five parts.
    assert!(malformed("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"));
    assert!(malformed("only.two"));
    assert!(malformed("a.b.c.d"));
    assert!(malformed(""));

    let good = key(Algorithm::HS256).sign(CLAIMS, None).unwrap();
    let (head, rest) = good.split_once('.').unwrap();
    // Padding, standard-alphabet characters and junk are not base64url.
    assert!(malformed(&format!("{head}=.{rest}")));
    assert!(malformed(&format!(
        "{head}.{}",
        rest.replacen('.', "+.", 1)
    )));
    assert!(malformed(&format!("{head}.{rest}*")));

    let with_header = |header: &str| format!("{}.{body}.AAAA", B64URL.encode(header));
    assert!(malformed(&with_header("[1]")));
    assert!(malformed(&with_header("not json")));
    assert!(malformed(&with_header(r#"{"typ":"JWT"}"#)));
    assert!(malformed(&with_header(r#"{"alg":256}"#)));
    assert!(malformed(&with_header(r#"{"alg":"HS256","kid":7}"#)));
    assert!(malformed(&with_header(
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#
    )));
    assert!(matches!(
        decode(&with_header(r#"{"alg":"HS1"}"#)),
        Err(JoseError::UnsupportedAlgorithm(_))
    ));
    assert!(matches!(
        decode(&with_header(r#"{"alg":"None"}"#)),
        Err(JoseError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn claims_are_a_json_object() {
    let token = key(Algorithm::ES256).sign(CLAIMS, Some("JWT")).unwrap();
    let claims = decode(&token).unwrap().claims().unwrap();
    assert_eq!(claims["sub"], "u1");

    let token = key(Algorithm::ES256).sign(b"[1,2]", None).unwrap();
    assert!(matches!(
        decode(&token).unwrap().claims(),
        Err(JoseError::Malformed(_))
    ));
}

#[test]
fn public_jwk_parses_back_and_verifies() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let Some(jwk) = key.public_jwk(None) else {
            assert!(alg.is_symmetric(), "{alg} has no JWK");
            continue;
        };
        assert!(!alg.is_symmetric(), "{alg} must not be published");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["kty"], alg.key_type());
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["use"], "sig");
        let verifier = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(verifier.kid(), Some(key.kid()));
        assert_eq!(verifier.algorithm(), Some(alg));
        let token = key.sign(CLAIMS, Some("JWT")).unwrap();
        decode(&token).unwrap().verify_with(&verifier).unwrap();
    }
}

#[test]
fn jwk_members_follow_keycloak() {
    let rsa = key(Algorithm::RS256).public_jwk(None).unwrap();
    let n = B64URL.decode(rsa["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256, "2048-bit modulus without a leading zero byte");
    assert_ne!(n[0], 0);
    assert_eq!(rsa["e"], "AQAB");
    assert!(rsa.get("x5c").is_none());

    for (alg, crv, size) in [
        (Algorithm::ES256, "P-256", 32),
        (Algorithm::ES384, "P-384", 48),
        (Algorithm::ES512, "P-521", 66),
    ] {
        let jwk = key(alg).public_jwk(None).unwrap();
        assert_eq!(jwk["crv"], crv);
        for coordinate in ["x", "y"] {
            let bytes = B64URL.decode(jwk[coordinate].as_str().unwrap()).unwrap();
            assert_eq!(bytes.len(), size, "{alg} {coordinate}");
        }
    }

    let ed = key(Algorithm::EdDSA).public_jwk(None).unwrap();
    assert_eq!(ed["kty"], "OKP");
    assert_eq!(ed["crv"], "Ed25519");
    assert_eq!(B64URL.decode(ed["x"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(
        ed.as_object().unwrap().len(),
        6,
        "kid kty alg use crv x: {ed}"
    );
}

#[test]
fn jwk_carries_the_certificate_and_its_thumbprints() {
    use sha1::Digest as _;
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let key = key(alg);
        let cert = key.self_signed_certificate("test").unwrap();
        let der = std_b64(&cert);
        let jwk = key.public_jwk(Some(&cert)).unwrap();
        assert_eq!(jwk["x5c"], json!([cert]));
        assert_eq!(jwk["x5t"], B64URL.encode(sha1::Sha1::digest(&der)));
        assert_eq!(jwk["x5t#S256"], thumbprint_sha256_b64url(&der));
    }
    // Keycloak publishes no certificate for OKP keys.
    let ed = key(Algorithm::EdDSA);
    let cert = ed.self_signed_certificate("test").unwrap();
    assert!(ed.public_jwk(Some(&cert)).unwrap().get("x5c").is_none());
    // Not base64: left out rather than published without thumbprints.
    let rsa = key(Algorithm::RS256).public_jwk(Some("%%%")).unwrap();
    assert!(rsa.get("x5c").is_none());
}

#[test]
fn to_der_from_der_keeps_the_key_and_kid() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let again = SigningKey::from_der(alg, &key.to_der()).unwrap();
        assert_eq!(again.kid(), key.kid(), "{alg}");
        assert_eq!(again.to_der(), key.to_der(), "{alg}");
        let token = again.sign(CLAIMS, None).unwrap();
        decode(&token)
            .unwrap()
            .verify_with(&key.verifying_key())
            .unwrap();
    }
}

#[test]
fn from_der_refuses_keys_of_the_wrong_kind() {
    let ec = key(Algorithm::ES256).to_der();
    let rsa = key(Algorithm::RS256).to_der();
    let err = |r: Result<SigningKey, JoseError>| matches!(r, Err(JoseError::Key(_)));
    assert!(err(SigningKey::from_der(Algorithm::RS256, &ec)));
    assert!(err(SigningKey::from_der(Algorithm::ES256, &rsa)));
    assert!(err(SigningKey::from_der(Algorithm::ES384, &ec)));
    assert!(err(SigningKey::from_der(Algorithm::EdDSA, &ec)));
    assert!(err(SigningKey::from_der(Algorithm::HS256, &[])));
    assert!(err(SigningKey::from_der(Algorithm::RS256, b"not a key")));
}

#[test]
fn kid_is_sha256_of_the_spki_as_openssl_computes_it() {
    for (alg, pkcs8, kid, spki) in [
        (
            Algorithm::RS256,
            tv::RSA_PKCS8_B64,
            tv::RSA_KID,
            tv::RSA_SPKI_B64,
        ),
        (
            Algorithm::ES256,
            tv::EC_P256_PKCS8_B64,
            tv::EC_P256_KID,
            tv::EC_P256_SPKI_B64,
        ),
        (
            Algorithm::EdDSA,
            tv::ED25519_PKCS8_B64,
            tv::ED25519_KID,
            tv::ED25519_SPKI_B64,
        ),
    ] {
        let key = SigningKey::from_der(alg, &std_b64(pkcs8)).unwrap();
        assert_eq!(key.kid(), kid, "{alg}");
        assert_eq!(key.verifying_key().kid(), Some(kid));
        let from_spki = VerifyingKey::from_spki_der(alg, &std_b64(spki)).unwrap();
        assert_eq!(from_spki.kid(), Some(kid), "{alg}");
    }
    // PKCS#8 without the public key is the same key: aws-lc derives the public point.
    let no_public =
        SigningKey::from_der(Algorithm::ES256, &std_b64(tv::EC_P256_PKCS8_NO_PUBLIC_B64)).unwrap();
    assert_eq!(no_public.kid(), tv::EC_P256_KID);
    // PKCS#1 input is the same key.
    let pkcs1 = SigningKey::from_der(Algorithm::RS256, &std_b64(tv::RSA_PKCS1_B64)).unwrap();
    assert_eq!(pkcs1.kid(), tv::RSA_KID);
    assert_eq!(pkcs1.to_der(), std_b64(tv::RSA_PKCS8_B64));
}

#[test]
fn from_spki_der_refuses_bare_keys() {
    let spki = std_b64(tv::RSA_SPKI_B64);
    // The BIT STRING content of an RSA SPKI is the PKCS#1 RSAPublicKey; its last 270 bytes here.
    let pkcs1 = &spki[spki.len() - 270..];
    assert_eq!(pkcs1[0], 0x30);
    assert!(VerifyingKey::from_spki_der(Algorithm::RS256, pkcs1).is_err());
    assert!(VerifyingKey::from_spki_der(Algorithm::ES256, &spki).is_err());
    assert!(VerifyingKey::from_spki_der(Algorithm::HS256, &spki).is_err());
}

#[test]
fn tokens_signed_elsewhere_verify() {
    let expected: Value = serde_json::from_str(tv::EXTERNAL_CLAIMS).unwrap();
    for (token, alg, spki, jwk) in [
        (
            tv::EXTERNAL_RS256,
            Algorithm::RS256,
            tv::RSA_SPKI_B64,
            tv::RSA_JWK,
        ),
        (
            tv::EXTERNAL_PS256,
            Algorithm::PS256,
            tv::RSA_SPKI_B64,
            tv::RSA_JWK,
        ),
        (
            tv::EXTERNAL_ES256,
            Algorithm::ES256,
            tv::EC_P256_SPKI_B64,
            tv::EC_P256_JWK,
        ),
        (
            tv::EXTERNAL_EDDSA,
            Algorithm::EdDSA,
            tv::ED25519_SPKI_B64,
            tv::ED25519_JWK,
        ),
    ] {
        let jws = decode(token).unwrap();
        assert_eq!(jws.alg, alg);
        assert_eq!(jws.claims().unwrap(), expected);
        let from_spki = VerifyingKey::from_spki_der(alg, &std_b64(spki)).unwrap();
        jws.verify_with(&from_spki).unwrap();
        let jwk: Value = serde_json::from_str(jwk).unwrap();
        let from_jwk = VerifyingKey::from_jwk(&jwk).unwrap();
        jws.verify_with(&from_jwk).unwrap();
        assert_eq!(from_jwk.kid(), jws.kid.as_deref());
        // And through a JWK Set, by the header's kid.
        let set = json!({ "keys": [ {"kty": "oct", "k": "AAAA"}, jwk ] });
        let picked = VerifyingKey::from_jwks(&set, jws.kid.as_deref(), alg).unwrap();
        jws.verify_with(&picked).unwrap();
        assert!(matches!(
            VerifyingKey::from_jwks(&set, Some("other"), alg),
            Err(JoseError::UnknownKey(_))
        ));
    }
}

#[test]
fn our_jwks_match_an_independent_encoding() {
    // The external JWKs were written by Python from the same keys' public numbers.
    for (alg, pkcs8, jwk) in [
        (Algorithm::RS256, tv::RSA_PKCS8_B64, tv::RSA_JWK),
        (Algorithm::ES256, tv::EC_P256_PKCS8_B64, tv::EC_P256_JWK),
        (Algorithm::EdDSA, tv::ED25519_PKCS8_B64, tv::ED25519_JWK),
    ] {
        let ours = SigningKey::from_der(alg, &std_b64(pkcs8))
            .unwrap()
            .public_jwk(None)
            .unwrap();
        let theirs: Value = serde_json::from_str(jwk).unwrap();
        for member in ["kty", "n", "e", "crv", "x", "y"] {
            assert_eq!(ours.get(member), theirs.get(member), "{alg} {member}");
        }
    }
}

#[test]
fn jwk_parsing_is_strict_where_it_matters_and_lenient_where_keycloak_was() {
    let ec: Value = serde_json::from_str(tv::EC_P256_JWK).unwrap();
    let token = tv::EXTERNAL_ES256;

    // Coordinates written without leading zero bytes (older Keycloak) are padded back; a sign
    // byte on an RSA modulus is dropped.
    let mut short = ec.clone();
    let x = B64URL.decode(ec["x"].as_str().unwrap()).unwrap();
    let mut x_with_zero = vec![0u8];
    x_with_zero.extend(&x);
    short["x"] = B64URL.encode(&x_with_zero).into();
    decode(token)
        .unwrap()
        .verify_with(&VerifyingKey::from_jwk(&short).unwrap())
        .unwrap();
    let mut rsa: Value = serde_json::from_str(tv::RSA_JWK).unwrap();
    let mut n = vec![0u8];
    n.extend(B64URL.decode(rsa["n"].as_str().unwrap()).unwrap());
    rsa["n"] = B64URL.encode(n).into();
    decode(tv::EXTERNAL_RS256)
        .unwrap()
        .verify_with(&VerifyingKey::from_jwk(&rsa).unwrap())
        .unwrap();

    let refused = |jwk: Value| VerifyingKey::from_jwk(&jwk).is_err();
    let with = |member: &str, value: Value| {
        let mut jwk = ec.clone();
        jwk[member] = value;
        jwk
    };
    assert!(refused(with("use", "enc".into())));
    assert!(refused(with("alg", "ES384".into())));
    assert!(refused(with("alg", "RS256".into())));
    assert!(refused(with("alg", "ECDH-ES".into())));
    assert!(refused(with("crv", "secp256k1".into())));
    assert!(refused(with("x", "***".into())));
    assert!(refused(with("x", B64URL.encode([1u8; 40]).into())));
    assert!(refused(with("kid", 5.into())));
    assert!(refused(json!({"kty": "oct", "k": "c2VjcmV0"})));
    assert!(refused(json!({"kty": "RSA", "n": "AQAB"})));
    assert!(refused(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})));
    assert!(refused(json!({"kty": "OKP", "crv": "Ed448", "x": "AAAA"})));
    assert!(refused(json!("not an object")));
}

#[test]
fn hmac_verifying_key_checks_client_secret_jwts() {
    let secret = b"k3ycl0ak-client-secret";
    let client = SigningKey::from_der(Algorithm::HS256, secret).unwrap();
    let assertion = client.sign(CLAIMS, Some("JWT")).unwrap();
    let verifier = VerifyingKey::hmac(Algorithm::HS256, secret).unwrap();
    decode(&assertion).unwrap().verify_with(&verifier).unwrap();
    let wrong = VerifyingKey::hmac(Algorithm::HS256, b"another-secret").unwrap();
    assert_eq!(
        decode(&assertion).unwrap().verify_with(&wrong),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn hmac_keys_are_never_published_and_have_no_certificate() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let key = key(alg);
        assert!(key.public_jwk(Some("MIIB")).is_none());
        assert!(matches!(
            key.self_signed_certificate("master"),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
        assert_eq!(key.verifying_key().key_type(), "oct");
    }
    assert_eq!(key(Algorithm::HS256).to_der().len(), 32);
    assert_eq!(key(Algorithm::HS384).to_der().len(), 48);
    assert_eq!(key(Algorithm::HS512).to_der().len(), 64);
}

#[test]
fn certificates_are_der_for_every_asymmetric_key() {
    for alg in Algorithm::ALL.into_iter().filter(|a| !a.is_symmetric()) {
        let der = std_b64(&key(alg).self_signed_certificate("master").unwrap());
        assert_eq!(der[0], 0x30, "{alg}: a DER SEQUENCE");
        let cn_bytes = b"master";
        assert!(
            der.windows(cn_bytes.len()).any(|w| w == cn_bytes),
            "{alg}: CN in the certificate"
        );
    }
    // The certificate carries the key's own SubjectPublicKeyInfo, byte for byte the one
    // openssl wrote, so its x5c and the kid describe the same key.
    for (alg, pkcs8, spki) in [
        (Algorithm::PS512, tv::RSA_PKCS8_B64, tv::RSA_SPKI_B64),
        (
            Algorithm::ES256,
            tv::EC_P256_PKCS8_B64,
            tv::EC_P256_SPKI_B64,
        ),
        (
            Algorithm::EdDSA,
            tv::ED25519_PKCS8_B64,
            tv::ED25519_SPKI_B64,
        ),
    ] {
        let key = SigningKey::from_der(alg, &std_b64(pkcs8)).unwrap();
        let der = std_b64(&key.self_signed_certificate("master").unwrap());
        let spki = std_b64(spki);
        assert!(der.windows(spki.len()).any(|w| w == spki), "{alg}");
    }
    // Keycloak cuts the CN to 64 characters.
    let long = "r".repeat(100);
    let der = std_b64(
        &key(Algorithm::ES256)
            .self_signed_certificate(&long)
            .unwrap(),
    );
    let cut = "r".repeat(64);
    assert!(der.windows(64).any(|w| w == cut.as_bytes()));
    assert!(!der.windows(65).any(|w| w == "r".repeat(65).as_bytes()));
}

#[test]
fn half_hashes_match_python() {
    assert_eq!(
        half_hash(Algorithm::RS256, b"access-token-value"),
        tv::HALF_HASH_RS256
    );
    assert_eq!(
        half_hash(Algorithm::ES384, b"access-token-value"),
        tv::HALF_HASH_ES384
    );
    assert_eq!(
        half_hash(Algorithm::EdDSA, b"access-token-value"),
        tv::HALF_HASH_EDDSA
    );
    // RFC 7636 appendix B: S256 of the example verifier.
    assert_eq!(
        thumbprint_sha256_b64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn algorithm_names_round_trip() {
    for alg in Algorithm::ALL {
        assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        assert_eq!(alg.to_string(), alg.as_str());
    }
    assert!("rs256".parse::<Algorithm>().is_err());
    assert!("none".parse::<Algorithm>().is_err());
}

#[test]
fn debug_output_names_kid_and_alg_only() {
    let key = SigningKey::from_der(Algorithm::HS256, b"super-secret-value-0123456789abcdef")
        .unwrap()
        .with_kid("k1");
    let shown = format!("{key:?} {:?}", key.verifying_key());
    assert!(shown.contains("k1") && shown.contains("HS256"), "{shown}");
    assert!(!shown.contains("super-secret"), "{shown}");
    let token = key.sign(br#"{"sub":"private-subject"}"#, None).unwrap();
    let shown = format!("{:?}", decode(&token).unwrap());
    assert!(!shown.contains("private-subject") && !shown.contains(&token));
}

#[test]
fn keys_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SigningKey>();
    assert_send_sync::<VerifyingKey>();

    // A verifier for an RSA JWK without alg fills its per-algorithm cache from many threads.
    let mut jwk = key(Algorithm::PS384).public_jwk(None).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");
    let verifier = VerifyingKey::from_jwk(&jwk).unwrap();
    let token = key(Algorithm::PS384).sign(CLAIMS, None).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| decode(&token).unwrap().verify_with(&verifier).unwrap());
        }
    });
}
