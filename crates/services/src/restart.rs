//! `KC_RESTART`: starting a login again when its authentication session is gone.
//!
//! When the authorization endpoint shows the login form, Keycloak also sets `KC_RESTART`, a
//! token signed with the realm's HMAC key (`RestartLoginCookie`) that holds the client (`cid`),
//! the protocol (`pty`), the redirect URI (`ruri`), the action (`act`) and the authorization
//! request (`notes`). A login-actions request whose authentication session has expired or is
//! gone (the page was left open past the realm's `accessCodeLifespanLogin`) does not end on an
//! error page: a new authentication session is made from the cookie and the browser goes back
//! to the login form with "Your login attempt timed out. Login will start from the beginning."
//! (Keycloak's `SessionCodeChecks.restartAuthenticationSessionFromCookie`). The cookie is
//! expired when a login finishes and no other tab of the browser has one going.
//!
//! Keycloak now also encrypts the token (JWE with the realm's AES key) and still reads the
//! signed-only form it wrote before; Gatehouse writes that signed form, the cookie being
//! HttpOnly and holding only what the authorization request itself carried.

use std::collections::BTreeMap;

use gatehouse_model::{AuthSession, AuthSessionId, ClientId, Realm};
use serde_json::{Map, Value, json};

use crate::keys::RealmKeys;
use crate::tokens::verify_token;
use crate::{ServiceError, Services, now_secs};

/// Keycloak's authentication-session note for a message the next page shows once.
const FORWARDED_ERROR_NOTE: &str = "forwardedErrorMessage";
/// The message key of a restarted login.
const LOGIN_TIMEOUT: &str = "loginTimeout";
/// The notes a reset keeps: the form's CSRF value and the language the user picked.
const KEPT_ON_RESET: &[&str] = &["csrf", crate::login::REQUESTED_LOCALE_NOTE];

/// What became of a login step whose authentication session was not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restarted {
    /// The tab's authentication session is alive after all: the step failed for another reason
    /// (a stale form), which the caller answers as before.
    SessionAlive,
    /// A new authentication session was made from `KC_RESTART`: send the browser to its login
    /// form (`login-actions/authenticate?client_id=..&tab_id=..`).
    Login {
        /// The root session (`AUTH_SESSION_ID`), the browser's own when it had one.
        auth_session: AuthSessionId,
        /// The new tab.
        tab_id: String,
        /// The client's `clientId`.
        client_id: String,
    },
    /// The browser has a valid SSO session: "You are already logged in."
    AlreadyLoggedIn,
    /// No `KC_RESTART` cookie (`cookieNotFoundMessage`).
    CookieNotFound,
    /// `KC_RESTART` does not verify, or names another client than the request
    /// (`invalidCodeMessage`).
    InvalidCode,
}

/// The `KC_RESTART` token for a login that shows its form: the client and the authorization
/// request, signed with the realm's HS512 key.
pub(crate) fn restart_token(
    keys: &RealmKeys,
    client_id: &ClientId,
    params: &BTreeMap<String, String>,
) -> Result<String, ServiceError> {
    let mut claims = Map::new();
    claims.insert("cid".into(), json!(client_id.as_str()));
    claims.insert("pty".into(), json!(crate::realm_defaults::OIDC));
    if let Some(uri) = params.get("redirect_uri") {
        claims.insert("ruri".into(), json!(uri));
    }
    claims.insert("act".into(), json!("AUTHENTICATE"));
    claims.insert("notes".into(), json!(params));
    crate::sso::sign_hs512(keys, &claims)
}

/// The client and the authorization request of a `KC_RESTART` token that verifies.
fn read_restart_token(keys: &RealmKeys, token: &str) -> Option<(String, BTreeMap<String, String>)> {
    let claims = verify_token(keys, token).ok()?;
    let client = claims.get("cid")?.as_str()?.to_owned();
    let notes = claims
        .get("notes")
        .and_then(Value::as_object)
        .map(|notes| {
            notes
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Some((client, notes))
}

impl Services {
    /// The `KC_RESTART` value for a login about to show its form.
    pub(crate) async fn restart_cookie(
        &self,
        realm: &Realm,
        client_id: &ClientId,
        params: &BTreeMap<String, String>,
    ) -> Result<String, ServiceError> {
        let keys = self.realm_keys(realm).await?;
        restart_token(&keys, client_id, params)
    }

    /// A login-actions request found no live authentication session for its tab: restart the
    /// login from `KC_RESTART` as Keycloak does, unless the browser is signed in already or
    /// the tab's session is alive after all.
    #[allow(clippy::too_many_arguments)]
    pub async fn restart_login(
        &self,
        ctx: &crate::RequestCtx,
        realm: &Realm,
        auth_root: &str,
        tab_id: &str,
        client_id: Option<&str>,
        restart_cookie: Option<&str>,
        identity: Option<&str>,
    ) -> Result<Restarted, ServiceError> {
        let now = now_secs();
        let root = Some(auth_root)
            .filter(|r| !r.is_empty() && r.len() <= 64)
            .map(AuthSessionId::from);
        if let Some(root) = &root
            && !tab_id.is_empty()
        {
            let session = self.auth_sessions.get(root, tab_id).await?;
            if session.is_some_and(|s| s.realm_id == realm.id && s.expires > now) {
                return Ok(Restarted::SessionAlive);
            }
        }
        if self.sso_session(ctx, realm, identity).await?.is_some() {
            return Ok(Restarted::AlreadyLoggedIn);
        }
        let Some(cookie) = restart_cookie.filter(|c| !c.is_empty()) else {
            return Ok(Restarted::CookieNotFound);
        };
        let keys = self.realm_keys(realm).await?;
        let Some((cookie_client, params)) = read_restart_token(&keys, cookie) else {
            return Ok(Restarted::InvalidCode);
        };
        // Restart only for the client the request names, as Keycloak.
        if client_id != Some(cookie_client.as_str()) {
            return Ok(Restarted::InvalidCode);
        }
        let mut tx = self.store().begin_read().await?;
        let client = tx
            .client_by_client_id(&realm.id, &ClientId::new(&cookie_client))
            .await?
            .filter(|c| c.enabled);
        tx.rollback().await?;
        let Some(client) = client else {
            return Ok(Restarted::InvalidCode);
        };
        if let Some(root) = &root
            && !tab_id.is_empty()
        {
            // The expired tab is done with: its restart lives in a new tab.
            self.auth_sessions.delete(root, tab_id).await?;
        }
        let session = AuthSession {
            id: root.unwrap_or_else(AuthSessionId::new_random),
            tab_id: gatehouse_crypto::random_secret(8),
            realm_id: realm.id.clone(),
            client_id: client.id.clone(),
            created: now,
            expires: now + i64::from(realm.access_code_lifespan_login),
            user_id: None,
            params,
            notes: [
                ("csrf".to_owned(), gatehouse_crypto::random_secret(24)),
                (FORWARDED_ERROR_NOTE.to_owned(), LOGIN_TIMEOUT.to_owned()),
            ]
            .into(),
        };
        self.auth_sessions.insert(&session).await?;
        Ok(Restarted::Login {
            auth_session: session.id,
            tab_id: session.tab_id,
            client_id: cookie_client,
        })
    }

    /// `login-actions/restart` for a live tab: the login goes back to its first step (the user
    /// it identified and the steps done are forgotten), as Keycloak's `resetFlow`. Returns the
    /// client's `clientId` for the redirect, or `None` when the tab has no live session.
    pub async fn reset_login(
        &self,
        realm: &Realm,
        auth_root: &str,
        tab_id: &str,
    ) -> Result<Option<String>, ServiceError> {
        if auth_root.is_empty() || tab_id.is_empty() {
            return Ok(None);
        }
        let session = self
            .auth_sessions
            .get(&AuthSessionId::from(auth_root), tab_id)
            .await?
            .filter(|s| s.realm_id == realm.id && s.expires > now_secs());
        let Some(mut session) = session else {
            return Ok(None);
        };
        let mut tx = self.store().begin_read().await?;
        let client = tx.client_by_id(&session.client_id).await?;
        tx.rollback().await?;
        let Some(client) = client else {
            return Ok(None);
        };
        session.user_id = None;
        session
            .notes
            .retain(|k, _| KEPT_ON_RESET.contains(&k.as_str()));
        self.auth_sessions.update(&session).await?;
        Ok(Some(client.client_id.to_string()))
    }

    /// The message a restarted login shows once on its form (`loginTimeout`), taken off the
    /// tab's session so a reload does not show it again.
    pub async fn take_login_message(
        &self,
        realm: &Realm,
        auth_root: &str,
        tab_id: &str,
    ) -> Result<Option<&'static str>, ServiceError> {
        let id = AuthSessionId::from(auth_root);
        let session = self.auth_sessions.get(&id, tab_id).await?;
        let Some(mut session) = session.filter(|s| s.realm_id == realm.id) else {
            return Ok(None);
        };
        let message = match session.notes.remove(FORWARDED_ERROR_NOTE).as_deref() {
            Some(LOGIN_TIMEOUT) => LOGIN_TIMEOUT,
            Some(_) => "",
            None => return Ok(None),
        };
        self.auth_sessions.update(&session).await?;
        Ok(Some(message).filter(|m| !m.is_empty()))
    }

    /// Whether a finished login leaves `KC_RESTART` to other tabs of the browser: true when no
    /// tab of the root session `auth_root` has a login going, so the cookie should go.
    pub async fn restart_cookie_done(&self, auth_root: Option<&str>) -> Result<bool, ServiceError> {
        let Some(root) = auth_root.filter(|r| !r.is_empty() && r.len() <= 64) else {
            return Ok(true);
        };
        let open = self
            .auth_sessions
            .open_tabs(&AuthSessionId::from(root), now_secs())
            .await?;
        Ok(open == 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gatehouse_crypto::jose::Algorithm;

    fn keys() -> RealmKeys {
        RealmKeys::for_tests(&[Algorithm::HS512])
    }

    #[test]
    fn the_restart_token_carries_the_client_and_the_request() {
        let keys = keys();
        let params: BTreeMap<String, String> = [
            ("redirect_uri", "https://app/cb"),
            ("state", "s-1"),
            ("nonce", "n-1"),
            ("code_challenge", "abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let token = restart_token(&keys, &ClientId::new("app"), &params).unwrap();
        let claims = verify_token(&keys, &token).unwrap();
        assert_eq!(claims["cid"], "app");
        assert_eq!(claims["pty"], "openid-connect");
        assert_eq!(claims["ruri"], "https://app/cb");
        assert_eq!(claims["act"], "AUTHENTICATE");
        assert_eq!(claims["notes"]["state"], "s-1");
        assert_eq!(
            read_restart_token(&keys, &token),
            Some(("app".to_owned(), params))
        );
    }

    #[test]
    fn a_forged_or_foreign_restart_token_is_refused() {
        let keys = keys();
        let token = restart_token(&keys, &ClientId::new("app"), &BTreeMap::new()).unwrap();
        let mut forged = token.clone();
        forged.pop();
        forged.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(read_restart_token(&keys, &forged), None);
        // Signed by another realm's key: the kid is unknown here.
        let other = restart_token(&self::keys(), &ClientId::new("app"), &BTreeMap::new()).unwrap();
        assert_eq!(read_restart_token(&keys, &other), None);
        assert_eq!(read_restart_token(&keys, "not-a-token"), None);
    }
}
