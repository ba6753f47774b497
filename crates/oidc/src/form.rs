//! Form and client-credential parsing shared by the token endpoints.

use axum::http::{HeaderMap, header};
use base64::Engine;
use gatehouse_services::{ClientCredentials, OAuthError};

/// A parsed `application/x-www-form-urlencoded` body in which every parameter appears once, as
/// Keycloak requires of token requests (a repeated parameter is an attack on the parser).
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parses `body`, refusing repeated parameters.
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    "duplicated parameter",
                ));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form(pairs))
    }

    /// A parameter's value; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Client credentials from `Authorization: Basic` (`client_secret_basic`, whose parts are
/// form-encoded per RFC 6749 §2.3.1) or else from the form (`client_secret_post`, or a public
/// client's bare `client_id`).
pub fn client_credentials(headers: &HeaderMap, form: &Form) -> ClientCredentials {
    let assertion_type = form.get("client_assertion_type").map(str::to_owned);
    let assertion = form.get("client_assertion").map(str::to_owned);
    if let Some((id, secret)) = basic(headers) {
        return ClientCredentials {
            client_id: Some(id),
            secret: Some(secret),
            assertion_type,
            assertion,
        };
    }
    ClientCredentials {
        client_id: form.get("client_id").map(str::to_owned),
        secret: form.get("client_secret").map(str::to_owned),
        assertion_type,
        assertion,
    }
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .ok()
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// The bearer token of `Authorization: Bearer ...`.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}
