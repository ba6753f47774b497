//! Known answers made outside this crate, so that tests do not only check the code against
//! itself. Test keys only, generated for these tests and used nowhere else.
//!
//! Keys: `openssl genpkey` (RSA 2048, EC P-256, Ed25519), PKCS#8 DER from `openssl pkcs8 -topk8
//! -nocrypt -outform DER`. Kids: `openssl pkey -pubout -outform DER | openssl dgst -sha256
//! -binary | basenc --base64url` (padding removed). Tokens and JWKs: Python `cryptography` 48
//! (OpenSSL) signing `<b64url header>.<b64url claims>` by hand, ES256 converted from DER to
//! `r || s` with `decode_dss_signature`. Half hashes: Python `hashlib` over `access-token-value`.

/// PKCS#8 DER, standard base64.
pub(super) const RSA_PKCS8_B64: &str = concat!(
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC/9vQ9C1RU3PMipb8KhCBOEB3kmHnFFM3AbABN",
    "oSeWmM3gwPE/Pm9ymg1BkKmpuu37ZQP9wrtNlzkrRCeAtImrvypsrbDsbQNKdUW3/y4g8QRnHw/ySSiP5FLXhDiG",
    "bgQEQxDTd+49oGZmSMe0YSTUImX+EoHHS2mTJDAlcTFCjGsI4l4EI5TUDZVQv1MbtcdHJeyvsN4w3Q5FkuKcTOND",
    "HWj6TpKFao1U9PfW+UDLQJNVXYiBNsvyaoOJhyRdahGK/N2xt0O2QDRekWF/4BIfO+7HJmJDhxMqA2aYLzEC3kt7",
    "2uQUQe0AKNLh2sQE+7+Kl9nuDkbSPYVRgMDZMdYNAgMBAAECggEAPau6WnQt0xequspR3jCFal7OI7cCg9jDoxpv",
    "XIE2BTExDxAdUQqfZktsj9BIWYF23ClfR2KMpwg6sxYxtK0Lf5QqLoD8knAROxYC4HJIIQgdOH3nsxhiwhuBq8BM",
    "Io/slWvwV2ezr7O8wgaGtgHxgX9NkfrjG6I0GDPrjdPYFf8T2DwQgEOANFvs7eysIYD3td3EWABDR3MugcFUc1eJ",
    "sM6xI3cgiLNVrT5f5+nKO73AG/KJhKXPxWU6PbypTFwFZfX3ehacsbgfsLE17XndNDqjEwV223ftHSrzvUO8Xjrq",
    "q9fswEzCVuHI6Wx4KX7qNEffq1GVK1m4Qn1EIKjMNwKBgQD9jqGaj0hdwBMwcJeTGKsdzJoDWu1kga0WMfMGi/6C",
    "xzv51iu4BOI+mwLAuVizca5462Ucw+Gf7TkbSk5uCeIz2beSGNAFoWEM9o74PYgLn7ySRucaRY7i0n80Okwf1nJD",
    "X/dAViNgDqQEJV6PpeKdOQQRsGVJvkua5CFeNjEyIwKBgQDB0GmF/sZhl+m4fP3w4F6JqSuRU+F5XAoA2y27xgok",
    "AFEmpdN3yr77SndqGcU4v2uMjzrI3+osp/bos0eVB2Gwnpu++Pzy5h3lIuY5r2M4uCXZiQmhpxvZljmoWSOkOVNC",
    "Upv5SkNPtZqr+8k0uwfld4rlBlcMvUop8WG2Wg/iDwKBgFnPJGRnbd1vBBz7NGTwruNuLfsUQNOBrvoWlRrziSFv",
    "SkoS1wdmC3DbXN1AiS9+C6tezUCkDQ2la73D0wXc0FdHPWMtELl90K9TwY4h1UcwvA0fugmvK44hutaX85CvV2eP",
    "3TbXi84hQW0Kg3Tj7+F6aXuOfEHjekoRldQV49T7AoGAVt5QzawZwphSO0xajWIjPVRDoMmV380u9p9GakkjNmul",
    "88qTc7e9zefcigOu7/Zr//4afPpPfWBzPG1Ogi9iy8TrTbdPuJcHgzIXOnev4zY2UMApPvkldGruwNPjM7I17R4V",
    "prBwZwOgpcEet7G0olboPCqRTbZxzUbRYugPAmUCgYEA2go4aPIcoGromTFvUAlq6S7uUjwuDRgktQV9qiPuGbtv",
    "cYpCccdtGoDBE6Uz0Xrqi5yJ5jOnu4uIX7OLe2cVncqim2BxTS87HJ3JR9rjYRriOChRDbG2fKfLhm+QuJcoofCA",
    "wAtDvZVV3yVTYGehOfbhKeGCci2eK8WYgpV1Bs8="
);

/// Its SubjectPublicKeyInfo DER, standard base64.
pub(super) const RSA_SPKI_B64: &str = concat!(
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAv/b0PQtUVNzzIqW/CoQgThAd5Jh5xRTNwGwATaEnlpjN",
    "4MDxPz5vcpoNQZCpqbrt+2UD/cK7TZc5K0QngLSJq78qbK2w7G0DSnVFt/8uIPEEZx8P8kkoj+RS14Q4hm4EBEMQ",
    "03fuPaBmZkjHtGEk1CJl/hKBx0tpkyQwJXExQoxrCOJeBCOU1A2VUL9TG7XHRyXsr7DeMN0ORZLinEzjQx1o+k6S",
    "hWqNVPT31vlAy0CTVV2IgTbL8mqDiYckXWoRivzdsbdDtkA0XpFhf+ASHzvuxyZiQ4cTKgNmmC8xAt5Le9rkFEHt",
    "ACjS4drEBPu/ipfZ7g5G0j2FUYDA2THWDQIDAQAB"
);

/// Keycloak's kid for it: base64url(SHA-256(SPKI DER)), computed by openssl.
pub(super) const RSA_KID: &str = "6EqIhloMXrPBNfJAO4QR32sxEoGOPseS1xhIU6tb1Kw";

/// PKCS#8 DER, standard base64.
pub(super) const EC_P256_PKCS8_B64: &str = concat!(
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZ/j5SAmxdr0If70ucLpZyHjH8AKtUx9GH4QEkmrC",
    "g2ahRANCAARs7uEFJx0wDrJeiVs4aDD8bPS9CxEDAOD8/usVaG80YBiKags3q7M9z9C+GpHEXdz5FI6+F/m/3aa0",
    "83kBWvl7"
);

/// Its SubjectPublicKeyInfo DER, standard base64.
pub(super) const EC_P256_SPKI_B64: &str = concat!(
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbO7hBScdMA6yXolbOGgw/Gz0vQsRAwDg/P7rFWhvNGAYimoLN6uz",
    "Pc/QvhqRxF3c+RSOvhf5v92mtPN5AVr5ew=="
);

/// Keycloak's kid for it: base64url(SHA-256(SPKI DER)), computed by openssl.
pub(super) const EC_P256_KID: &str = "mzSJNR80L0hD18m4gFdIOXVaD7PnS14sZi-A_L152kc";

/// PKCS#8 DER, standard base64.
pub(super) const ED25519_PKCS8_B64: &str =
    "MC4CAQAwBQYDK2VwBCIEIKzmMSbiIAUd/WbllzVr54MWTPJhwiAAyuTpG7Bb7ebA";

/// Its SubjectPublicKeyInfo DER, standard base64.
pub(super) const ED25519_SPKI_B64: &str =
    "MCowBQYDK2VwAyEA4PrcG+zo7MR9MiL+TznyLZczjzg/ycFWHmHriWU7r9Q=";

/// Keycloak's kid for it: base64url(SHA-256(SPKI DER)), computed by openssl.
pub(super) const ED25519_KID: &str = "UbsPmN4kcYPwin0CV9By7clBU4gm2ODOQD8n3WvK5Uk";

/// RS256 JWT signed by Python cryptography with the matching key above.
pub(super) const EXTERNAL_RS256: &str = concat!(
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImV4dC1yc2EifQ.eyJpc3MiOiJodHRwczovL2lkcC5le",
    "GFtcGxlL3JlYWxtcy90ZXN0Iiwic3ViIjoiZjFlMiIsImF1ZCI6ImdhdGVob3VzZSIsImV4cCI6NDEwMjQ0NDgwM",
    "CwiaWF0IjoxNzAwMDAwMDAwfQ.oW7f2KBh1HF0f6CfM1SyxqBXFBapnwojCb0_ACwqUCXTko0JRqb9OkJfqNCPWu",
    "kkARIVYs8kFCO-OPdJCb1VzCrcOZ_l0KR1k0drN2sJbdOJVIVTXjMoqQQRpbbd-1g1d6qy0ba926lB7XuxLCG0BD",
    "FOdbmzjkt3Dm0DWSlYAN-MuhqLlBF2JnG9k_v6rCLWRPy6cUvmAYzVyTWZbizsjIV_rtB3g5MakTAU1f1vGGAQwi",
    "FIlDFriaVDw6ezBIQuh6qkr4GKKn0OTAtyTbBCIKxWT8R5XnDuo7bpU8wN9tSEv41VVJcJUy4u3pIhLUarOVltLn",
    "tfF1p7o-uUguMvhA"
);

/// PS256 JWT signed by Python cryptography with the matching key above.
pub(super) const EXTERNAL_PS256: &str = concat!(
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJQUzI1NiIsImtpZCI6ImV4dC1yc2EifQ.eyJpc3MiOiJodHRwczovL2lkcC5le",
    "GFtcGxlL3JlYWxtcy90ZXN0Iiwic3ViIjoiZjFlMiIsImF1ZCI6ImdhdGVob3VzZSIsImV4cCI6NDEwMjQ0NDgwM",
    "CwiaWF0IjoxNzAwMDAwMDAwfQ.Tm_VbWrMuVfgpxDD9dWvCByj8UnpgzCCrEWdEt8jK3IzKsng739R7e9Qhmu6qQ",
    "h7nZMGcRrf_4bV6u5tyaX7uaUDTifoVQTfp_AqePrydooL6f5sSK_qOiIyhWC7JNDCUbAYm-TMuAxUHr_txhwZ84",
    "kd5Buqfx9q2Ehmbp2SJ2MkS9e1nV-ztlepEeRyDMruc_9HrjeJYBZ1UzOyABXbMSGOtjy8PxlNBVCHNFRxwKMLoO",
    "NJTbZ5SfuK-NcASgPz3XrCfKjnF1iuSJ0en3LGxzXuKxkA7fRBY4TudU7v5W2HvQiBJjfbdSU7sSaDG0eYJqcT0-",
    "utRX1YTCrLLBN7qg"
);

/// ES256 JWT signed by Python cryptography with the matching key above.
pub(super) const EXTERNAL_ES256: &str = concat!(
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6ImV4dC1lYyJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGF",
    "tcGxlL3JlYWxtcy90ZXN0Iiwic3ViIjoiZjFlMiIsImF1ZCI6ImdhdGVob3VzZSIsImV4cCI6NDEwMjQ0NDgwMCw",
    "iaWF0IjoxNzAwMDAwMDAwfQ.iO7zrmn5QFMp1HaDHs0pGeUnaSwgsEQJGHnT0L7RB1K-ucHaHFTO8h4JOGVvk1eL",
    "MTdoG8Vq2-pmLPEZFH9auQ"
);

/// EdDSA JWT signed by Python cryptography with the matching key above.
pub(super) const EXTERNAL_EDDSA: &str = concat!(
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6ImV4dC1lZCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGF",
    "tcGxlL3JlYWxtcy90ZXN0Iiwic3ViIjoiZjFlMiIsImF1ZCI6ImdhdGVob3VzZSIsImV4cCI6NDEwMjQ0NDgwMCw",
    "iaWF0IjoxNzAwMDAwMDAwfQ.sAWrTWkijEp6gM732qrIXZbCE5qAjT9mn3lGMZGo-cEF2W9bJ9aQu6E89cCNrU_J",
    "xXL1NlaY4H6OljFc5sJhAQ"
);

/// Public JWK of the key above, from Python cryptography public numbers.
pub(super) const RSA_JWK: &str = concat!(
    "{\"kty\": \"RSA\", \"kid\": \"ext-rsa\", \"n\": \"v_b0PQtUVNzzIqW_CoQgThAd5Jh5xRTNwGwATaEnlpjN4MDxP",
    "z5vcpoNQZCpqbrt-2UD_cK7TZc5K0QngLSJq78qbK2w7G0DSnVFt_8uIPEEZx8P8kkoj-RS14Q4hm4EBEMQ03fuP",
    "aBmZkjHtGEk1CJl_hKBx0tpkyQwJXExQoxrCOJeBCOU1A2VUL9TG7XHRyXsr7DeMN0ORZLinEzjQx1o-k6ShWqNV",
    "PT31vlAy0CTVV2IgTbL8mqDiYckXWoRivzdsbdDtkA0XpFhf-ASHzvuxyZiQ4cTKgNmmC8xAt5Le9rkFEHtACjS4",
    "drEBPu_ipfZ7g5G0j2FUYDA2THWDQ\", \"e\": \"AQAB\"}"
);

/// Public JWK of the key above, from Python cryptography public numbers.
pub(super) const EC_P256_JWK: &str = concat!(
    "{\"kty\": \"EC\", \"kid\": \"ext-ec\", \"crv\": \"P-256\", \"x\": \"bO7hBScdMA6yXolbOGgw_Gz0vQsRAwDg_P7",
    "rFWhvNGA\", \"y\": \"GIpqCzersz3P0L4akcRd3PkUjr4X-b_dprTzeQFa-Xs\"}"
);

/// Public JWK of the key above, from Python cryptography public numbers.
pub(super) const ED25519_JWK: &str = concat!(
    "{\"kty\": \"OKP\", \"kid\": \"ext-ed\", \"crv\": \"Ed25519\", \"x\": \"4PrcG-zo7MR9MiL-TznyLZczjzg_ycFW",
    "HmHriWU7r9Q\"}"
);

/// The claims every external token carries.
pub(super) const EXTERNAL_CLAIMS: &str = r#"{"iss":"https://idp.example/realms/test","sub":"f1e2","aud":"gatehouse","exp":4102444800,"iat":1700000000}"#;

/// `at_hash` of `access-token-value` for RS256, by Python hashlib.
pub(super) const HALF_HASH_RS256: &str = "iJgTy-uvL4oMlW_aBkwnkw";

/// `at_hash` of `access-token-value` for ES384, by Python hashlib.
pub(super) const HALF_HASH_ES384: &str = "pgG1dB0c5ZIg4cabbKkTKpaR2WkFSJvt";

/// `at_hash` of `access-token-value` for EdDSA, by Python hashlib.
pub(super) const HALF_HASH_EDDSA: &str = "s7-uwW5eB9H9pzmuXfA1zebq2kYS0HInnulGF9A6MfM";

/// The RSA key above as PKCS#1 `RSAPrivateKey` DER (`openssl rsa -traditional`), standard base64.
pub(super) const RSA_PKCS1_B64: &str = concat!(
    "MIIEowIBAAKCAQEAv/b0PQtUVNzzIqW/CoQgThAd5Jh5xRTNwGwATaEnlpjN4MDxPz5vcpoNQZCpqbrt+2UD/cK7",
    "TZc5K0QngLSJq78qbK2w7G0DSnVFt/8uIPEEZx8P8kkoj+RS14Q4hm4EBEMQ03fuPaBmZkjHtGEk1CJl/hKBx0tp",
    "kyQwJXExQoxrCOJeBCOU1A2VUL9TG7XHRyXsr7DeMN0ORZLinEzjQx1o+k6ShWqNVPT31vlAy0CTVV2IgTbL8mqD",
    "iYckXWoRivzdsbdDtkA0XpFhf+ASHzvuxyZiQ4cTKgNmmC8xAt5Le9rkFEHtACjS4drEBPu/ipfZ7g5G0j2FUYDA",
    "2THWDQIDAQABAoIBAD2rulp0LdMXqrrKUd4whWpeziO3AoPYw6Mab1yBNgUxMQ8QHVEKn2ZLbI/QSFmBdtwpX0di",
    "jKcIOrMWMbStC3+UKi6A/JJwETsWAuBySCEIHTh957MYYsIbgavATCKP7JVr8Fdns6+zvMIGhrYB8YF/TZH64xui",
    "NBgz643T2BX/E9g8EIBDgDRb7O3srCGA97XdxFgAQ0dzLoHBVHNXibDOsSN3IIizVa0+X+fpyju9wBvyiYSlz8Vl",
    "Oj28qUxcBWX193oWnLG4H7CxNe153TQ6oxMFdtt37R0q871DvF466qvX7MBMwlbhyOlseCl+6jRH36tRlStZuEJ9",
    "RCCozDcCgYEA/Y6hmo9IXcATMHCXkxirHcyaA1rtZIGtFjHzBov+gsc7+dYruATiPpsCwLlYs3GueOtlHMPhn+05",
    "G0pObgniM9m3khjQBaFhDPaO+D2IC5+8kkbnGkWO4tJ/NDpMH9ZyQ1/3QFYjYA6kBCVej6XinTkEEbBlSb5LmuQh",
    "XjYxMiMCgYEAwdBphf7GYZfpuHz98OBeiakrkVPheVwKANstu8YKJABRJqXTd8q++0p3ahnFOL9rjI86yN/qLKf2",
    "6LNHlQdhsJ6bvvj88uYd5SLmOa9jOLgl2YkJoacb2ZY5qFkjpDlTQlKb+UpDT7Waq/vJNLsH5XeK5QZXDL1KKfFh",
    "tloP4g8CgYBZzyRkZ23dbwQc+zRk8K7jbi37FEDTga76FpUa84khb0pKEtcHZgtw21zdQIkvfgurXs1ApA0NpWu9",
    "w9MF3NBXRz1jLRC5fdCvU8GOIdVHMLwNH7oJryuOIbrWl/OQr1dnj90214vOIUFtCoN04+/heml7jnxB43pKEZXU",
    "FePU+wKBgFbeUM2sGcKYUjtMWo1iIz1UQ6DJld/NLvafRmpJIzZrpfPKk3O3vc3n3IoDru/2a//+Gnz6T31gczxt",
    "ToIvYsvE6023T7iXB4MyFzp3r+M2NlDAKT75JXRq7sDT4zOyNe0eFaawcGcDoKXBHrextKJW6DwqkU22cc1G0WLo",
    "DwJlAoGBANoKOGjyHKBq6Jkxb1AJauku7lI8Lg0YJLUFfaoj7hm7b3GKQnHHbRqAwROlM9F66oucieYzp7uLiF+z",
    "i3tnFZ3KoptgcU0vOxydyUfa42Ea4jgoUQ2xtnyny4ZvkLiXKKHwgMALQ72VVd8lU2BnoTn24SnhgnItnivFmIKV",
    "dQbP"
);

/// The EC key above as PKCS#8 without the optional public key (`openssl ec -no_public`), as
/// some Java providers write it; standard base64.
pub(super) const EC_P256_PKCS8_NO_PUBLIC_B64: &str =
    "MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCBn+PlICbF2vQh/vS5wulnIeMfwAq1TH0YfhASSasKDZg==";
