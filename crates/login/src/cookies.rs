//! Keycloak's login cookies.

use axum::http::{HeaderMap, HeaderValue, header};

/// The authentication session cookie: `<root id>.<route>`.
pub const AUTH_SESSION_ID: &str = "AUTH_SESSION_ID";

/// A cookie's value from the request.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `AUTH_SESSION_ID=<id>.<node>` scoped to the realm's path. Over HTTPS it is
/// `SameSite=None; Secure` as Keycloak sets it (the login may be embedded cross-site); over
/// plain HTTP a browser would drop `SameSite=None` without `Secure`, so the default applies.
pub fn auth_session_cookie(
    id: &str,
    node: &str,
    realm_path: &str,
    https: bool,
) -> Option<HeaderValue> {
    let same_site = if https { "; SameSite=None; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{AUTH_SESSION_ID}={id}.{node}; Path={realm_path}/; HttpOnly{same_site}"
    ))
    .ok()
}
