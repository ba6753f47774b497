//! User consent, as Keycloak 26 asks for it in the browser login.
//!
//! A client with `consentRequired` gets the consent page after the user has authenticated and
//! finished the required actions (Keycloak's `AuthenticationManager.actionRequired`), unless
//! the user already granted every requested client scope that is shown on the consent screen:
//! the client's default scopes and the optional ones the `scope` parameter asks for whose
//! `display.on.consent.screen` is not `false`, and the client itself when its own
//! `display.on.consent.screen` is `true`. `prompt=consent` asks again for all of them; with
//! `prompt=none` a missing consent is the OIDC error `interaction_required`. "Yes" adds what
//! was shown to the stored consent and finishes the login; "No" sends `access_denied` to the
//! client. The code and refresh grants check that the consent still covers the token's scopes
//! (`TokenManager.verifyConsentStillAvailable`), so a revoked consent stops its tokens.
//!
//! Where the login is while the page is up lives in the authentication session's notes: the
//! user is identified, `consent` is `pending`, and after a single sign-on the SSO session's id
//! is kept so "Yes" joins it instead of starting a new one.

use gatehouse_model::{
    AuthSession, AuthSessionId, Client, ClientScopeId, Realm, User, UserConsent, UserId,
    UserSessionId,
};
use gatehouse_store::{StoreError, Tx};

use crate::login::{AuthFailure, LoginPage, LoginResult, Redirect, ResponseMode, issue_code};
use crate::{RequestCtx, ServiceError, Services, now_millis, now_secs};
use gatehouse_crypto::constant_time_eq;

/// The authentication-session note saying where the consent step is.
const CONSENT_NOTE: &str = "consent";
/// `CONSENT_NOTE` while the consent page is up.
const PENDING: &str = "pending";
/// `CONSENT_NOTE` once the user said yes: finishing the login asks no more.
const GRANTED: &str = "granted";
/// The note naming the SSO session a single sign-on is to join once the user consents.
const SSO_SESSION_NOTE: &str = "consent_sso_session";

/// Keycloak's `gui.order` for entries that have none: they come after those that do.
const DEFAULT_GUI_ORDER: i64 = 10_000;

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentPage {
    /// The login this page belongs to (session, tab, client, CSRF value, languages).
    pub login: LoginPage,
    /// What the client asks for, in display order: each entry's consent-screen text, where a
    /// text of the form `${key}` names a message of the theme (Keycloak's `advancedMsg`).
    pub scopes: Vec<String>,
    /// The client's terms of service (`tosUri` attribute), for a link.
    pub tos_uri: Option<String>,
    /// The client's privacy policy (`policyUri` attribute), for a link.
    pub policy_uri: Option<String>,
}

impl ConsentPage {
    fn new(login: LoginPage, ask: Vec<OnScreen>, client: &Client) -> Self {
        // Only web links: the page must not carry another scheme into an `href`.
        let attr = |k: &str| {
            client
                .attributes
                .get(k)
                .filter(|v| v.starts_with("https://") || v.starts_with("http://"))
                .cloned()
        };
        ConsentPage {
            login,
            scopes: ask.into_iter().map(|s| s.text).collect(),
            tos_uri: attr("tosUri"),
            policy_uri: attr("policyUri"),
        }
    }
}

/// What a consent can grant: a client scope, or the client itself.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Grantable {
    Scope(ClientScopeId),
    Client,
}

/// One entry of the consent screen.
#[derive(Debug, Clone)]
pub(crate) struct OnScreen {
    what: Grantable,
    text: String,
    order: i64,
}

/// Keycloak reads these flags with `Boolean.parseBoolean`: `true` in any case, all else false.
fn is_true(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

fn gui_order(v: Option<&String>) -> i64 {
    v.and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_GUI_ORDER)
}

/// The entries of the consent screen for a request of `client` with `scope`: its default
/// scopes, the optional scopes asked for, then the client itself, each when displayed on the
/// consent screen, ordered by `gui.order` (Keycloak's `OAuthGrantBean`).
async fn on_screen(
    tx: &mut Tx,
    client: &Client,
    scope: Option<&str>,
) -> Result<Vec<OnScreen>, StoreError> {
    let requested: Vec<&str> = scope.unwrap_or_default().split_whitespace().collect();
    let mut defaults = Vec::new();
    let mut optionals = Vec::new();
    for (id, default) in tx.client_scopes_of(&client.id).await? {
        let Some(s) = tx.client_scope_by_id(&id).await? else {
            continue;
        };
        if !default && !requested.contains(&s.name.as_str()) {
            continue;
        }
        // Scopes are shown unless they say otherwise.
        let shown = s
            .attributes
            .get("display.on.consent.screen")
            .is_none_or(|v| is_true(v));
        if !shown {
            continue;
        }
        let text = s
            .attributes
            .get("consent.screen.text")
            .filter(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| s.name.clone());
        let entry = OnScreen {
            what: Grantable::Scope(s.id.clone()),
            text,
            order: gui_order(s.attributes.get("gui.order")),
        };
        if default {
            defaults.push((s.name, entry));
        } else {
            optionals.push((s.name, entry));
        }
    }
    defaults.sort_by(|a, b| a.0.cmp(&b.0));
    optionals.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<OnScreen> = defaults
        .into_iter()
        .chain(optionals)
        .map(|(_, e)| e)
        .collect();
    // Clients, unlike scopes, are left off the screen unless they ask to be on it.
    if client
        .attributes
        .get("display.on.consent.screen")
        .is_some_and(|v| is_true(v))
    {
        let text = client
            .attributes
            .get("consent.screen.text")
            .filter(|t| !t.trim().is_empty())
            .cloned()
            .or_else(|| client.name.clone().filter(|n| !n.trim().is_empty()))
            .unwrap_or_else(|| client.client_id.to_string());
        out.push(OnScreen {
            what: Grantable::Client,
            text,
            order: gui_order(client.attributes.get("gui.order")),
        });
    }
    out.sort_by_key(|e| e.order);
    Ok(out)
}

fn granted(consent: Option<&UserConsent>, what: &Grantable) -> bool {
    consent.is_some_and(|c| match what {
        Grantable::Scope(id) => c.scopes.contains(id),
        Grantable::Client => c.client_granted,
    })
}

/// Whether the user's consent to `client` still covers every consent-screen entry of a token
/// with `scope` (always, for a client that does not require consent).
pub(crate) async fn still_granted(
    tx: &mut Tx,
    client: &Client,
    user: &UserId,
    scope: Option<&str>,
) -> Result<bool, StoreError> {
    if !client.consent_required {
        return Ok(true);
    }
    let shown = on_screen(tx, client, scope).await?;
    if shown.is_empty() {
        return Ok(true);
    }
    let consent = tx.consent(user, &client.id).await?;
    Ok(shown.iter().all(|e| granted(consent.as_ref(), &e.what)))
}

/// Keycloak's answer when the consent no longer covers what a token was issued for.
pub(crate) fn consent_withdrawn() -> crate::OAuthError {
    crate::OAuthError::bad_request(
        "invalid_scope",
        "Client no longer has requested consent from user",
    )
}

/// `interaction_required` at the client's redirect URI: a `prompt=none` request that would
/// need the consent page (Keycloak's `PASSIVE_INTERACTION_REQUIRED`, which has no
/// description).
pub(crate) fn interaction_required(
    issuer: String,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
) -> AuthFailure {
    AuthFailure::Redirect(error_response(
        issuer,
        redirect_uri,
        mode,
        state,
        "interaction_required",
    ))
}

fn error_response(
    issuer: String,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    error: &str,
) -> Redirect {
    let mut params = vec![("error".to_owned(), error.to_owned())];
    if let Some(state) = state {
        params.push(("state".to_owned(), state.to_owned()));
    }
    params.push(("iss".to_owned(), issuer));
    Redirect {
        redirect_uri: redirect_uri.to_owned(),
        mode,
        params,
    }
}

fn mode_of(session: &AuthSession) -> ResponseMode {
    match session.params.get("response_mode").map(String::as_str) {
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    }
}

fn asks_again(prompt: Option<&str>) -> bool {
    prompt.is_some_and(|p| p.split(' ').any(|v| v == "consent"))
}

/// The state a single sign-on that needs consent leaves in its new authentication session.
#[derive(Debug, Clone)]
pub(crate) struct SsoConsent {
    session: UserSessionId,
    user: User,
    ask: Vec<OnScreen>,
}

impl SsoConsent {
    /// Marks a freshly made authentication session as waiting at the consent page of a
    /// single sign-on.
    pub(crate) fn mark(&self, session: &mut AuthSession) {
        session.user_id = Some(self.user.id.clone());
        session
            .notes
            .insert(CONSENT_NOTE.to_owned(), PENDING.to_owned());
        session
            .notes
            .insert(SSO_SESSION_NOTE.to_owned(), self.session.to_string());
        session
            .notes
            .insert("username".to_owned(), self.user.username.to_string());
        crate::login::note_user_locale(session, &self.user);
    }

    /// The page for the session [`SsoConsent::mark`] marked.
    pub(crate) fn page(self, login: LoginPage, client: &Client) -> ConsentPage {
        ConsentPage::new(login, self.ask, client)
    }
}

impl Services {
    /// What the consent page would have to ask `user` for `client` and `scope`: nothing for a
    /// client that does not require consent, everything shown with `prompt=consent`, else what
    /// the stored consent lacks.
    async fn consent_to_ask(
        &self,
        client: &Client,
        user: &UserId,
        scope: Option<&str>,
        prompt: Option<&str>,
    ) -> Result<Vec<OnScreen>, ServiceError> {
        if !client.consent_required {
            return Ok(Vec::new());
        }
        let mut tx = self.store().begin_read().await?;
        let shown = on_screen(&mut tx, client, scope).await?;
        let consent = if asks_again(prompt) || shown.is_empty() {
            None
        } else {
            tx.consent(user, &client.id).await?
        };
        tx.rollback().await?;
        Ok(shown
            .into_iter()
            .filter(|e| !granted(consent.as_ref(), &e.what))
            .collect())
    }

    /// A single sign-on into `client`: `Ok(None)` when it may go on without asking, the
    /// consent to ask for when it needs the page, `interaction_required` when the request
    /// said `prompt=none`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn sso_consent(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        client: &Client,
        user: &User,
        session: &UserSessionId,
        params: &std::collections::BTreeMap<String, String>,
        redirect_uri: &str,
        mode: ResponseMode,
    ) -> Result<Option<SsoConsent>, AuthFailure> {
        let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let ask = self
            .consent_to_ask(client, &user.id, get("scope"), get("prompt"))
            .await?;
        if ask.is_empty() {
            return Ok(None);
        }
        if get("prompt").is_some_and(|p| p.split(' ').any(|v| v == "none")) {
            return Err(interaction_required(
                ctx.issuer(realm.name.as_str()),
                redirect_uri,
                mode,
                get("state"),
            ));
        }
        Ok(Some(SsoConsent {
            session: session.clone(),
            user: user.clone(),
            ask,
        }))
    }

    /// Before a login finishes: the consent page when `client` needs one the user has not
    /// given (the authentication session then waits at it), else `None`.
    pub(crate) async fn consent_step(
        &self,
        client: &Client,
        user: &User,
        session: &AuthSession,
        username: &str,
    ) -> Result<Option<ConsentPage>, ServiceError> {
        if !client.consent_required
            || session.notes.get(CONSENT_NOTE).map(String::as_str) == Some(GRANTED)
        {
            return Ok(None);
        }
        let param = |k: &str| session.params.get(k).map(String::as_str);
        let ask = self
            .consent_to_ask(client, &user.id, param("scope"), param("prompt"))
            .await?;
        if ask.is_empty() {
            return Ok(None);
        }
        let mut waiting = session.clone();
        waiting.user_id = Some(user.id.clone());
        waiting
            .notes
            .insert(CONSENT_NOTE.to_owned(), PENDING.to_owned());
        waiting
            .notes
            .insert("username".to_owned(), username.to_owned());
        crate::login::note_user_locale(&mut waiting, user);
        // A password login in a tab that waited at the consent of a single sign-on starts its
        // own session: it must not join the other one.
        waiting.notes.remove(SSO_SESSION_NOTE);
        self.auth_sessions.update(&waiting).await?;
        let login = crate::login::page_of(&waiting, client, user.username.to_string());
        Ok(Some(ConsentPage::new(login, ask, client)))
    }

    /// The consent page again for a tab waiting at it (a reload, a language switch), with what
    /// is still to ask (everything shown, if another tab consented meanwhile); `None` when the
    /// tab is not at that step.
    pub async fn consent_page(
        &self,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
    ) -> Result<Option<ConsentPage>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let Some(session) =
            crate::login::live_tab(&self.auth_sessions, realm, auth_session, tab_id).await?
        else {
            return Ok(None);
        };
        if session.notes.get(CONSENT_NOTE).map(String::as_str) != Some(PENDING) {
            return Ok(None);
        }
        let client = tx.client_by_id(&session.client_id).await?;
        let user = match &session.user_id {
            Some(id) => tx.user_by_id(id).await?,
            None => None,
        };
        let (Some(client), Some(user)) = (client, user) else {
            return Ok(None);
        };
        let scope = session.params.get("scope").map(String::as_str);
        let shown = on_screen(&mut tx, &client, scope).await?;
        let consent = tx.consent(&user.id, &client.id).await?;
        tx.rollback().await?;
        let again = asks_again(session.params.get("prompt").map(String::as_str));
        let missing: Vec<OnScreen> = shown
            .iter()
            .filter(|e| again || !granted(consent.as_ref(), &e.what))
            .cloned()
            .collect();
        let ask = if missing.is_empty() { shown } else { missing };
        let username = session.notes.get("username").cloned().unwrap_or_default();
        let login = crate::login::page_of(&session, &client, username);
        Ok(Some(ConsentPage::new(login, ask, &client)))
    }

    /// The consent form was posted (`login-actions/consent`): "Yes" (`accept`) stores what the
    /// page showed and finishes the login; "No" ends it with `access_denied` at the client.
    /// A stale tab, a wrong CSRF value or a login not waiting at this page gets `Expired`.
    pub async fn submit_consent(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
        csrf: &str,
        accept: bool,
    ) -> Result<LoginResult, ServiceError> {
        let now = now_secs();
        let mut tx = self.store().begin_read().await?;
        let Some(mut session) = self
            .auth_sessions
            .get(&AuthSessionId::from(auth_session), tab_id)
            .await?
        else {
            return Ok(LoginResult::Expired);
        };
        let expected = session
            .notes
            .get("csrf")
            .map(String::as_str)
            .unwrap_or_default();
        let waiting = session.notes.get(CONSENT_NOTE).map(String::as_str) == Some(PENDING);
        if session.expires <= now
            || session.realm_id != realm.id
            || !waiting
            || expected.is_empty()
            || !constant_time_eq(expected.as_bytes(), csrf.as_bytes())
        {
            return Ok(LoginResult::Expired);
        }
        let client = tx.client_by_id(&session.client_id).await?;
        let user = match &session.user_id {
            Some(id) => tx.user_by_id(id).await?,
            None => None,
        };
        tx.rollback().await?;
        let (Some(client), Some(user)) = (client, user.filter(|u| u.enabled)) else {
            return Ok(LoginResult::Expired);
        };
        if !accept {
            if !self
                .auth_sessions
                .delete(&session.id, &session.tab_id)
                .await?
            {
                return Ok(LoginResult::Expired);
            }
            let param = |k: &str| session.params.get(k).map(String::as_str);
            return Ok(LoginResult::Redirect(error_response(
                ctx.issuer(realm.name.as_str()),
                param("redirect_uri").unwrap_or_default(),
                mode_of(&session),
                param("state"),
                "access_denied",
            )));
        }
        self.record_consent(
            &client,
            &user,
            session.params.get("scope").map(String::as_str),
        )
        .await?;
        session
            .notes
            .insert(CONSENT_NOTE.to_owned(), GRANTED.to_owned());
        if let Some(sso) = session.notes.get(SSO_SESSION_NOTE).cloned() {
            return self
                .join_sso_session(ctx, realm, &client, &user, session, &sso, now)
                .await;
        }
        let username = session
            .notes
            .get("username")
            .cloned()
            .unwrap_or_else(|| user.username.to_string());
        self.finish_login(ctx, realm, &client, &user, session, &username, now)
            .await
    }

    /// Adds everything the consent screen shows for `scope` to the user's consent, creating it
    /// if need be; a consent that already had it all is left as it is (Keycloak updates it only
    /// when a scope is new).
    async fn record_consent(
        &self,
        client: &Client,
        user: &User,
        scope: Option<&str>,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        let shown = on_screen(&mut tx, client, scope).await?;
        let stored = tx.consent(&user.id, &client.id).await?;
        let now = now_millis();
        let is_new = stored.is_none();
        let mut consent =
            stored.unwrap_or_else(|| UserConsent::new(user.id.clone(), client.id.clone(), now));
        let mut added = false;
        for entry in shown {
            added |= match entry.what {
                Grantable::Scope(id) => consent.scopes.insert(id),
                Grantable::Client => !std::mem::replace(&mut consent.client_granted, true),
            };
        }
        if is_new || added {
            if !is_new {
                consent.last_updated = now;
            }
            tx.put_consent(&consent).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// "Yes" on the consent page of a single sign-on: the code comes from the SSO session the
    /// browser already has.
    #[allow(clippy::too_many_arguments)]
    async fn join_sso_session(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        client: &Client,
        user: &User,
        session: AuthSession,
        sso: &str,
        now: i64,
    ) -> Result<LoginResult, ServiceError> {
        let sso = UserSessionId::from(sso);
        if !self
            .auth_sessions
            .delete(&session.id, &session.tab_id)
            .await?
        {
            return Ok(LoginResult::Expired);
        }
        let mut tx = self.store().begin().await?;
        let alive = tx
            .user_session(&sso, false)
            .await?
            .is_some_and(|s| s.user_id == user.id && crate::tokens::session_alive(realm, &s, now));
        if !alive {
            // The SSO session ended while the page was up: this login is over.
            tx.commit().await?;
            return Ok(LoginResult::Expired);
        }
        // Single sign-on: no password, so the authentication level is "0".
        let mut redirect =
            issue_code(&mut tx, ctx, realm, client, &sso, &session.params, "0", now).await?;
        tx.commit().await?;
        self.front_channel_tokens(
            ctx,
            realm,
            client,
            &sso,
            &session.params,
            "0",
            now,
            &mut redirect,
        )
        .await?;
        Ok(LoginResult::Redirect(redirect))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_orders_read_as_keycloak_reads_them() {
        assert!(is_true("true") && is_true("TRUE"));
        assert!(!is_true("yes") && !is_true(""));
        assert_eq!(gui_order(Some(&" 3 ".to_owned())), 3);
        assert_eq!(gui_order(Some(&"x".to_owned())), DEFAULT_GUI_ORDER);
        assert_eq!(gui_order(None), DEFAULT_GUI_ORDER);
        assert!(asks_again(Some("login consent")));
        assert!(!asks_again(Some("consented")) && !asks_again(None));
    }

    #[test]
    fn a_consent_grants_what_it_lists() {
        let scope = ClientScopeId::new("s1");
        let mut consent =
            UserConsent::new(UserId::new("u"), gatehouse_model::ClientUuid::new("c"), 1);
        assert!(!granted(None, &Grantable::Client));
        assert!(!granted(Some(&consent), &Grantable::Scope(scope.clone())));
        consent.scopes.insert(scope.clone());
        consent.client_granted = true;
        assert!(granted(Some(&consent), &Grantable::Scope(scope)));
        assert!(granted(Some(&consent), &Grantable::Client));
    }
}
