//! What several modules say to the token and userinfo endpoints, written once: the endpoints'
//! URLs, the forms of a code exchange, a refresh and a password grant, the request that carries
//! them, and the claims of a JWT.

use serde_json::Value;

/// The token endpoint of `realm` under `base` (a node's URL or a proxy's).
pub fn token_url(base: &str, realm: &str) -> String {
    format!("{base}/realms/{realm}/protocol/openid-connect/token")
}

/// The userinfo endpoint of `realm` under `base`.
pub fn userinfo_url(base: &str, realm: &str) -> String {
    format!("{base}/realms/{realm}/protocol/openid-connect/userinfo")
}

/// The form of an authorization code exchange.
pub fn code_grant<'a>(code: &'a str, redirect_uri: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ]
}

/// The form of a refresh.
pub fn refresh_grant(refresh_token: &str) -> [(&'static str, &str); 2] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ]
}

/// The form of a password grant; callers add `client_id` or `scope` when they need them.
pub fn password_grant<'a>(username: &'a str, password: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ]
}

/// A form POST to `url` through `client`, with the client's credentials in HTTP Basic when
/// `basic` names them (confidential clients; public ones put `client_id` in the form).
pub fn token_request(
    client: &reqwest::Client,
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let request = client.post(url).form(form);
    match basic {
        Some((id, secret)) => request.basic_auth(id, Some(secret)),
        None => request,
    }
}

/// `(status, body)` of `request`, the body as JSON when it is and as a string otherwise.
pub async fn status_and_body(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `(status, body)` of a form POST from a fresh client, see [`token_request`].
pub async fn post_form(
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    status_and_body(token_request(&crate::harness::client(), url, basic, form)).await
}

/// The claims of a JWT (its payload, base64url-decoded); the signature is not checked.
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
