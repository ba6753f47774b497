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

/// `AUTH_SESSION_ID=<id>.<route>` scoped to the realm's path, or `<id>` alone without a route
/// (Keycloak's `shouldAttachRoute=false`, or a node outside a cluster). Over HTTPS it is
/// `SameSite=None; Secure` as Keycloak sets it (the login may be embedded cross-site); over
/// plain HTTP a browser would drop `SameSite=None` without `Secure`, so the default applies.
pub fn auth_session_cookie(
    id: &str,
    route: Option<&str>,
    realm_path: &str,
    https: bool,
) -> Option<HeaderValue> {
    let same_site = if https { "; SameSite=None; Secure" } else { "" };
    let route = route.map(|r| format!(".{r}")).unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{AUTH_SESSION_ID}={id}{route}; Path={realm_path}/; HttpOnly{same_site}"
    ))
    .ok()
}

/// The root authentication session id in an `AUTH_SESSION_ID` value: what comes before the
/// first `.`, whichever node's route follows it (or none), as Keycloak's sticky-session
/// encoder decodes it; a node names no other node's sessions differently.
pub fn auth_session_root(value: &str) -> &str {
    value.split('.').next().unwrap_or_default()
}

/// The root id of the request's `AUTH_SESSION_ID`, without the route suffix; empty without
/// the cookie.
pub fn auth_root(headers: &HeaderMap) -> String {
    cookie_value(headers, AUTH_SESSION_ID)
        .map(|v| auth_session_root(&v).to_owned())
        .unwrap_or_default()
}

/// The cookie remembering the language picked with `kc_locale` (HttpOnly, for the session).
pub const KEYCLOAK_LOCALE: &str = "KEYCLOAK_LOCALE";

/// `KEYCLOAK_LOCALE=<tag>` scoped to the realm's path, as Keycloak sets it when a page is asked
/// for with `kc_locale`; `None` for a malformed tag. `SameSite` as [`auth_session_cookie`].
pub fn locale_cookie(tag: &str, realm_path: &str, https: bool) -> Option<HeaderValue> {
    let tag = gatehouse_services::language_tag(tag)?;
    let same_site = if https { "; SameSite=None; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{KEYCLOAK_LOCALE}={tag}; Path={realm_path}/; HttpOnly{same_site}"
    ))
    .ok()
}

/// The cookie a login restarts from when its authentication session is gone (Keycloak's
/// `RestartLoginCookie`).
pub const KC_RESTART: &str = "KC_RESTART";

/// `KC_RESTART=<token>` for the browser session, scoped and flagged as [`auth_session_cookie`].
pub fn restart_cookie(token: &str, realm_path: &str, https: bool) -> Option<HeaderValue> {
    let same_site = if https { "; SameSite=None; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{KC_RESTART}={token}; Path={realm_path}/; HttpOnly{same_site}"
    ))
    .ok()
}

/// `Set-Cookie` that expires `KC_RESTART` (a finished login).
pub fn clear_restart_cookie(realm_path: &str, https: bool) -> Option<HeaderValue> {
    cookie(KC_RESTART, "", realm_path, 0, true, https)
}

/// The SSO cookie naming the user and session (HttpOnly).
pub const KEYCLOAK_IDENTITY: &str = "KEYCLOAK_IDENTITY";
/// The SSO cookie the session iframe reads (not HttpOnly; holds only a hash of the session id).
pub const KEYCLOAK_SESSION: &str = "KEYCLOAK_SESSION";

fn cookie(
    name: &str,
    value: &str,
    realm_path: &str,
    max_age: i64,
    http_only: bool,
    https: bool,
) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Version=1; Path={realm_path}/; Max-Age={max_age}");
    if max_age == 0 {
        text.push_str("; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    }
    if http_only {
        text.push_str("; HttpOnly");
    }
    if https {
        text.push_str("; SameSite=None; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

/// `Set-Cookie` values for a new SSO session.
pub fn sso_cookies(
    sso: &gatehouse_services::SsoCookies,
    realm_path: &str,
    https: bool,
) -> Vec<HeaderValue> {
    [
        cookie(
            KEYCLOAK_IDENTITY,
            &sso.identity,
            realm_path,
            sso.max_age,
            true,
            https,
        ),
        cookie(
            KEYCLOAK_SESSION,
            &sso.session,
            realm_path,
            sso.max_age,
            false,
            https,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `Set-Cookie` values that remove the SSO cookies (logout).
pub fn clear_sso_cookies(realm_path: &str, https: bool) -> Vec<HeaderValue> {
    [
        cookie(KEYCLOAK_IDENTITY, "", realm_path, 0, true, https),
        cookie(KEYCLOAK_SESSION, "", realm_path, 0, false, https),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn auth_session_cookie_with_and_without_route() {
        let with = auth_session_cookie("abc", Some("node1"), "/realms/master", false).unwrap();
        assert_eq!(
            with.to_str().unwrap(),
            "AUTH_SESSION_ID=abc.node1; Path=/realms/master/; HttpOnly"
        );
        let without = auth_session_cookie("abc", None, "/realms/master", true).unwrap();
        assert_eq!(
            without.to_str().unwrap(),
            "AUTH_SESSION_ID=abc; Path=/realms/master/; HttpOnly; SameSite=None; Secure"
        );
    }

    #[test]
    fn the_root_id_is_read_whatever_route_follows_it() {
        assert_eq!(auth_session_root("abc.node1"), "abc");
        assert_eq!(auth_session_root("abc.other-node"), "abc");
        assert_eq!(auth_session_root("abc.node-1.a_b"), "abc");
        assert_eq!(auth_session_root("abc"), "abc");
        assert_eq!(auth_session_root(""), "");
    }
}
