//! The browser login: the authorization request, the login form's credentials, and the
//! authorization code that comes out of it.
//!
//! An authentication session (Keycloak's `authenticationSessions`: one root id in the
//! `AUTH_SESSION_ID` cookie, one sub-session per browser tab) holds the validated authorization
//! request until the user has signed in. It lives in the database for now, so any node can carry
//! on a login that another node started; the distributed cache takes it over later.

use std::collections::BTreeMap;

use crate::tokens::{
    ClientCredentials, Issue, ScopePlan, SessionRef, SubjectData, TokenResponse, password_policy,
};
use crate::{OAuthError, RequestCtx, ServiceError, Services, now_millis, now_secs};
use gatehouse_crypto::constant_time_eq;
use gatehouse_model::{
    AuthCode, AuthSession, AuthSessionId, Client, ClientSession, CodeUse, Realm, User, UserSession,
    UserSessionId,
};

/// Keycloak's required action for a temporary password.
const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";

/// The parameters of an authorization request, as received.
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    /// Every query parameter, first value of each.
    pub params: BTreeMap<String, String>,
}

impl AuthRequest {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Where an authorization response goes and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query.
    Query,
    /// Parameters in the redirect URI's fragment.
    Fragment,
    /// An auto-submitting HTML form posting the parameters.
    FormPost,
}

/// An authorization response (success or error) for the protocol crate to deliver.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The validated redirect URI.
    pub redirect_uri: String,
    /// How to deliver.
    pub mode: ResponseMode,
    /// The parameters (`code`, `state`, `iss`, or `error`, ...).
    pub params: Vec<(String, String)>,
}

impl Redirect {
    /// The URL for query and fragment modes.
    pub fn location(&self) -> String {
        let encoded: String = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        match self.mode {
            ResponseMode::Fragment => format!("{}#{}", self.redirect_uri, encoded),
            _ => {
                let sep = if self.redirect_uri.contains('?') {
                    '&'
                } else {
                    '?'
                };
                format!("{}{}{}", self.redirect_uri, sep, encoded)
            }
        }
    }
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the login page shows.
#[derive(Debug, Clone)]
pub struct LoginPage {
    /// The authentication session's root id (for the cookie).
    pub auth_session: AuthSessionId,
    /// The tab's id.
    pub tab_id: String,
    /// The client's `clientId`.
    pub client_id: String,
    /// The client's display name.
    pub client_name: Option<String>,
    /// The client's base URL, for a back link.
    pub client_base_url: Option<String>,
    /// The form's CSRF value.
    pub csrf: String,
    /// Prefill for the username field (`login_hint`, or what was typed).
    pub username: String,
    /// `ui_locales` of the request.
    pub ui_locales: Option<String>,
    /// The language the user picked on a page of this login (`kc_locale`), kept for its rest.
    pub requested_locale: Option<String>,
    /// The `locale` attribute of the user, once the login has identified them.
    pub user_locale: Option<String>,
    /// `KC_RESTART` to set with the page: the login as the authorization endpoint opened it,
    /// to start again from should its authentication session expire (`restart.rs`).
    pub restart_cookie: Option<String>,
}

/// Keycloak's authentication-session note for the language the user picked (`kc_locale`).
pub const REQUESTED_LOCALE_NOTE: &str = "locale_user_requested";
/// The note holding the identified user's `locale` attribute, for the pages after the password.
const USER_LOCALE_NOTE: &str = "user_locale";

/// Keeps the identified user's `locale` attribute in the session, so the pages after the
/// password (required actions, consent) are in the user's language (Keycloak's order puts it
/// after only `kc_locale`).
pub(crate) fn note_user_locale(session: &mut AuthSession, user: &User) {
    if let Some(locale) = user.attributes.get("locale").and_then(|v| v.first()) {
        session
            .notes
            .insert(USER_LOCALE_NOTE.to_owned(), locale.clone());
    }
}

/// A language tag as a request may carry one (`kc_locale`, `KEYCLOAK_LOCALE`): ASCII letters,
/// digits, `-` and `_`, at most 35 characters. Anything else is ignored rather than stored or
/// echoed into a cookie.
pub fn language_tag(raw: &str) -> Option<&str> {
    let ok = !raw.is_empty()
        && raw.len() <= 35
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(raw)
}

/// Why an authorization request cannot go on.
#[derive(Debug)]
pub enum AuthFailure {
    /// No valid redirect URI: the user sees an error page with this message key and argument.
    Page {
        /// Message key of the theme.
        message: &'static str,
        /// Argument for `{0}`.
        arg: Option<String>,
    },
    /// The client gets an OAuth error at its redirect URI.
    Redirect(Redirect),
    /// A fault below.
    Service(ServiceError),
}

impl From<ServiceError> for AuthFailure {
    fn from(e: ServiceError) -> Self {
        AuthFailure::Service(e)
    }
}

impl From<gatehouse_store::StoreError> for AuthFailure {
    fn from(e: gatehouse_store::StoreError) -> Self {
        AuthFailure::Service(e.into())
    }
}

/// What an authorization request leads to.
#[derive(Debug)]
pub enum Started {
    /// No usable SSO session: show the login form.
    Form(LoginPage),
    /// Signed in through the browser's SSO session: deliver this response.
    SignedIn(Redirect),
    /// Signed in through the SSO session, but the client needs a consent the user has not
    /// given: show the consent page.
    Consent(crate::consent::ConsentPage),
}

fn mode_name(mode: &ResponseMode) -> &'static str {
    match mode {
        ResponseMode::Query => "query",
        ResponseMode::Fragment => "fragment",
        ResponseMode::FormPost => "form_post",
    }
}

/// The result of posting the login form.
#[derive(Debug)]
pub enum LoginResult {
    /// Signed in: deliver this response to the client and set the SSO cookies.
    Done {
        /// The authorization response.
        redirect: Redirect,
        /// The single sign-on cookies' values.
        sso: crate::sso::SsoCookies,
    },
    /// The password is temporary: show the update-password form (with a message key after a
    /// failed attempt).
    UpdatePassword {
        /// The page to show.
        page: LoginPage,
        /// Message key of the theme, if the last attempt failed.
        message: Option<&'static str>,
    },
    /// Show the form again with a message key (wrong credentials, disabled account...).
    Retry {
        /// The page to show.
        page: LoginPage,
        /// Message key of the theme.
        message: &'static str,
    },
    /// The login cannot continue (session expired or unknown): show this message key.
    Expired,
    /// The client requires consent the user has not given: show the consent page.
    Consent {
        /// The page to show.
        page: crate::consent::ConsentPage,
    },
    /// Deliver this response to the client and leave the cookies alone (consent declined, or
    /// given to join the SSO session the browser already has).
    Redirect(Redirect),
}

/// Keycloak's redirect URI rule: exact match, or a registered URI ending in `*` matches by
/// prefix; relative registered URIs are resolved against the client's root URL, in which
/// `${authBaseUrl}` and `${authAdminUrl}` stand for the server's own base URL.
pub fn redirect_uri_allowed(client: &Client, uri: &str, base_url: &str) -> bool {
    if uri.contains('#') || uri.is_empty() {
        return false;
    }
    client.redirect_uris.iter().any(|registered| {
        let registered = if registered.starts_with('/') {
            match &client.root_url {
                Some(root) => {
                    let root = root
                        .replace("${authBaseUrl}", base_url)
                        .replace("${authAdminUrl}", base_url);
                    format!("{}{}", root.trim_end_matches('/'), registered)
                }
                None => return false,
            }
        } else {
            registered.clone()
        };
        match registered.strip_suffix('*') {
            Some(prefix) => uri.starts_with(prefix),
            None => registered == uri,
        }
    })
}

impl Services {
    /// Validates an authorization request and opens an authentication session for it.
    pub async fn start_login(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        request: &AuthRequest,
        cookie_session: Option<&str>,
        identity: Option<&str>,
    ) -> Result<Started, AuthFailure> {
        let page = |message: &'static str, arg: Option<&str>| AuthFailure::Page {
            message,
            arg: arg.map(str::to_owned),
        };
        let Some(client_id) = request.get("client_id") else {
            return Err(page("invalidParameterMessage", Some("client_id")));
        };
        let mut tx = self.store().begin_read().await?;
        let client = tx
            .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(client_id))
            .await?
            .filter(|c| c.enabled && !c.bearer_only)
            .ok_or_else(|| page("clientNotFoundMessage", None))?;
        // Reads only so far; each write below opens its own transaction (on SQLite a held
        // transaction would block the SSO check's).
        tx.rollback().await?;
        let redirect_uri = match request.get("redirect_uri") {
            Some(uri) if redirect_uri_allowed(&client, uri, &ctx.frontend) => uri.to_owned(),
            Some(_) => return Err(page("invalidParameterMessage", Some("redirect_uri"))),
            None => {
                let exact: Vec<&String> = client
                    .redirect_uris
                    .iter()
                    .filter(|u| !u.contains('*'))
                    .collect();
                match exact.as_slice() {
                    [only] if client.redirect_uris.len() == 1 => (*only).clone(),
                    _ => return Err(page("invalidParameterMessage", Some("redirect_uri"))),
                }
            }
        };
        let response_type = request.get("response_type").map(ResponseType::parse);
        // Implicit and hybrid responses carry tokens, which never go in a query string.
        let front_channel = matches!(response_type, Some(Some(t)) if t.implicit_or_hybrid());
        let mode = match request.get("response_mode") {
            None if front_channel => ResponseMode::Fragment,
            None | Some("query") => ResponseMode::Query,
            Some("fragment") => ResponseMode::Fragment,
            Some("form_post") => ResponseMode::FormPost,
            Some(_) => {
                return Err(error_redirect(
                    ctx.issuer(realm.name.as_str()),
                    &redirect_uri,
                    ResponseMode::Query,
                    request.get("state"),
                    "invalid_request",
                    "Invalid parameter: response_mode",
                ));
            }
        };
        let fail = |error: &str, description: &str| {
            error_redirect(
                ctx.issuer(realm.name.as_str()),
                &redirect_uri,
                mode.clone(),
                request.get("state"),
                error,
                description,
            )
        };
        let response_type = match response_type {
            None => return Err(fail("invalid_request", "Missing parameter: response_type")),
            Some(None) => {
                return Err(fail(
                    "unsupported_response_type",
                    "Client is not allowed to initiate browser login with given response_type.",
                ));
            }
            Some(Some(t)) => t,
        };
        if response_type.code && !client.standard_flow_enabled {
            return Err(fail(
                "unauthorized_client",
                "Client is not allowed to initiate browser login with given response_type. Standard flow is disabled for the client.",
            ));
        }
        if response_type.implicit_or_hybrid() {
            if !client.implicit_flow_enabled {
                return Err(fail(
                    "unauthorized_client",
                    "Client is not allowed to initiate browser login with given response_type. Implicit flow is disabled for the client.",
                ));
            }
            if matches!(mode, ResponseMode::Query) {
                return Err(fail(
                    "invalid_request",
                    "Response_mode 'query' not allowed for implicit or hybrid flow",
                ));
            }
            // The ID token of an implicit or hybrid response must be bound to the request.
            if response_type.id_token && request.get("nonce").is_none() {
                return Err(fail("invalid_request", "Missing parameter: nonce"));
            }
        }
        let method = match (
            request.get("code_challenge"),
            request.get("code_challenge_method"),
        ) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(fail("invalid_request", "Missing parameter: code_challenge"));
            }
            (Some(_), None) => Some("plain"),
            (Some(_), Some(m @ ("S256" | "plain"))) => Some(m),
            (Some(_), Some(_)) => {
                return Err(fail(
                    "invalid_request",
                    "Invalid parameter: code_challenge_method",
                ));
            }
        };
        if let Some(required) = client
            .attributes
            .get("pkce.code.challenge.method")
            .filter(|m| !m.is_empty())
        {
            match method {
                None => {
                    return Err(fail(
                        "invalid_request",
                        "Missing parameter: code_challenge_method",
                    ));
                }
                Some(m) if m != required => {
                    return Err(fail(
                        "invalid_request",
                        "Invalid parameter: code challenge method is not configured one",
                    ));
                }
                _ => {}
            }
        }
        if let Some(challenge) = request.get("code_challenge") {
            // RFC 7636 §4.2: 43 to 128 characters of the unreserved set.
            let ok = (43..=128).contains(&challenge.len())
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !ok {
                return Err(fail("invalid_request", "Invalid parameter: code_challenge"));
            }
        }
        let prompts: Vec<&str> = request
            .get("prompt")
            .unwrap_or_default()
            .split(' ')
            .collect();
        let now = now_secs();
        let sso = if prompts.contains(&"login") {
            None
        } else {
            self.sso_session(ctx, realm, identity).await?
        };
        let mut sso_consent = None;
        if let Some((session, user)) = sso {
            let auth_time = session
                .notes
                .get("AUTH_TIME")
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(session.started);
            let fresh_enough = request
                .get("max_age")
                .and_then(|m| m.parse::<i64>().ok())
                .is_none_or(|max| now - auth_time <= max);
            if fresh_enough && user.enabled {
                sso_consent = self
                    .sso_consent(
                        ctx,
                        realm,
                        &client,
                        &user,
                        &session.id,
                        &request.params,
                        &redirect_uri,
                        mode.clone(),
                    )
                    .await?;
            }
            if fresh_enough && user.enabled && sso_consent.is_none() {
                let mut sso_params = request.params.clone();
                sso_params.insert("redirect_uri".to_owned(), redirect_uri.clone());
                sso_params.insert("response_mode".to_owned(), mode_name(&mode).to_owned());
                if let Some(m) = method {
                    sso_params.insert("code_challenge_method".to_owned(), m.to_owned());
                }
                // Single sign-on: no password, so the authentication level is "0".
                let mut tx = self.store().begin().await?;
                let mut redirect = issue_code(
                    &mut tx,
                    ctx,
                    realm,
                    &client,
                    &session.id,
                    &sso_params,
                    "0",
                    now,
                )
                .await?;
                tx.commit().await?;
                self.front_channel_tokens(
                    ctx,
                    realm,
                    &client,
                    &session.id,
                    &sso_params,
                    "0",
                    now,
                    &mut redirect,
                )
                .await?;
                return Ok(Started::SignedIn(redirect));
            }
        }
        if prompts.contains(&"none") {
            return Err(fail("login_required", "No active session"));
        }

        let id = cookie_session
            .and_then(|c| c.split('.').next())
            .filter(|c| !c.is_empty() && c.len() <= 64)
            .map(AuthSessionId::from)
            .unwrap_or_else(AuthSessionId::new_random);
        let tab_id = gatehouse_crypto::random_secret(8);
        let csrf = gatehouse_crypto::random_secret(24);
        let mut params = BTreeMap::new();
        params.insert("redirect_uri".to_owned(), redirect_uri);
        params.insert("response_mode".to_owned(), mode_name(&mode).to_owned());
        for name in [
            "response_type",
            "state",
            "nonce",
            "scope",
            "code_challenge",
            "login_hint",
            "ui_locales",
            "max_age",
            "prompt",
        ] {
            if let Some(v) = request.get(name) {
                params.insert(name.to_owned(), v.to_owned());
            }
        }
        if let Some(m) = method {
            params.insert("code_challenge_method".to_owned(), m.to_owned());
        }
        let mut notes: BTreeMap<String, String> = [("csrf".to_owned(), csrf.clone())].into();
        // As Keycloak, `kc_locale` counts only in a realm with internationalization on.
        let requested_locale = request
            .get("kc_locale")
            .and_then(language_tag)
            .filter(|_| realm.internationalization_enabled)
            .map(str::to_owned);
        if let Some(tag) = &requested_locale {
            notes.insert(REQUESTED_LOCALE_NOTE.to_owned(), tag.clone());
        }
        let mut session = AuthSession {
            id: id.clone(),
            tab_id: tab_id.clone(),
            realm_id: realm.id.clone(),
            client_id: client.id.clone(),
            created: now,
            expires: now + i64::from(realm.access_code_lifespan_login),
            user_id: None,
            params,
            notes,
        };
        if let Some(waiting) = &sso_consent {
            waiting.mark(&mut session);
        }
        self.auth_sessions.insert(&session).await?;
        let restart_cookie = self
            .restart_cookie(realm, &client.client_id, &session.params)
            .await?;
        if let Some(waiting) = sso_consent {
            let mut login = page_of(&session, &client, String::new());
            login.restart_cookie = Some(restart_cookie);
            return Ok(Started::Consent(waiting.page(login, &client)));
        }
        Ok(Started::Form(LoginPage {
            auth_session: id,
            tab_id,
            client_id: client.client_id.to_string(),
            client_name: client.name.clone(),
            client_base_url: client.base_url.clone(),
            csrf,
            username: request.get("login_hint").unwrap_or_default().to_owned(),
            ui_locales: request.get("ui_locales").map(str::to_owned),
            requested_locale,
            user_locale: None,
            restart_cookie: Some(restart_cookie),
        }))
    }

    /// Remembers the language the user picked on a page of this login (`kc_locale`) for the
    /// rest of it, as Keycloak's `locale_user_requested` note. Ignored when the realm has
    /// internationalization off, the tag is malformed, or the session is gone.
    pub async fn remember_requested_locale(
        &self,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
        kc_locale: &str,
    ) -> Result<(), ServiceError> {
        let Some(tag) = language_tag(kc_locale).filter(|_| realm.internationalization_enabled)
        else {
            return Ok(());
        };
        let Some(mut session) = self
            .auth_sessions
            .get(&AuthSessionId::from(auth_session), tab_id)
            .await?
            .filter(|s| s.realm_id == realm.id && s.expires > now_secs())
        else {
            return Ok(());
        };
        if session.notes.get(REQUESTED_LOCALE_NOTE).map(String::as_str) != Some(tag) {
            session
                .notes
                .insert(REQUESTED_LOCALE_NOTE.to_owned(), tag.to_owned());
            self.auth_sessions.update(&session).await?;
        }
        Ok(())
    }

    /// The login page again for a tab of a session (a reload, a back button).
    pub async fn login_page(
        &self,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
    ) -> Result<Option<LoginPage>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let Some(session) = live_tab(&self.auth_sessions, realm, auth_session, tab_id).await?
        else {
            return Ok(None);
        };
        let client = tx.client_by_id(&session.client_id).await?;
        tx.rollback().await?;
        Ok(client.map(|client| page_of(&session, &client, String::new())))
    }

    /// The login form was posted: check the CSRF value and the credentials; on success end the
    /// authentication session and issue an authorization code.
    #[allow(clippy::too_many_arguments)]
    pub async fn submit_login(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
        csrf: &str,
        username: &str,
        password: &str,
    ) -> Result<LoginResult, ServiceError> {
        let now = now_secs();
        let mut tx = self.store().begin_read().await?;
        let root = AuthSessionId::from(auth_session);
        let Some(session) = self.auth_sessions.get(&root, tab_id).await? else {
            return Ok(LoginResult::Expired);
        };
        if session.expires <= now || session.realm_id != realm.id {
            return Ok(LoginResult::Expired);
        }
        let Some(client) = tx.client_by_id(&session.client_id).await? else {
            return Ok(LoginResult::Expired);
        };
        let expected = session
            .notes
            .get("csrf")
            .map(String::as_str)
            .unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(expected.as_bytes(), csrf.as_bytes()) {
            return Ok(LoginResult::Expired);
        }
        let retry = |message| LoginResult::Retry {
            page: page_of(&session, &client, username.to_owned()),
            message,
        };
        if username.trim().is_empty() {
            return Ok(retry("missingUsernameMessage"));
        }
        let user = crate::tokens::find_user(&mut tx, realm, username)
            .await
            .map_err(service)?;
        let Some(user) = user else {
            return Ok(retry("invalidUserMessage"));
        };
        let credentials = tx.credentials_of(&user.id).await?;
        tx.rollback().await?;
        let ip = ctx.client_ip.to_string();
        if !self
            .password_matches(realm, &user, credentials, password, &ip)
            .await?
        {
            return Ok(retry("invalidUserMessage"));
        }
        if !user.enabled {
            return Ok(retry("accountDisabledMessage"));
        }
        if user.required_actions.iter().any(|a| a == UPDATE_PASSWORD) {
            // The user is identified; the login goes on at the update-password page.
            let mut session = session;
            session.user_id = Some(user.id.clone());
            session
                .notes
                .insert("required_action".to_owned(), UPDATE_PASSWORD.to_owned());
            session
                .notes
                .insert("username".to_owned(), username.to_owned());
            note_user_locale(&mut session, &user);
            self.auth_sessions.update(&session).await?;
            return Ok(LoginResult::UpdatePassword {
                page: page_of(&session, &client, user.username.to_string()),
                message: None,
            });
        }
        if !user.required_actions.is_empty() {
            // Other required actions (verify email, configure OTP...) have no pages yet.
            return Ok(retry("accountNotFullySetUpMessage"));
        }
        self.finish_login(ctx, realm, &client, &user, session, username, now)
            .await
    }

    /// The update-password form was posted: replace the temporary password, drop the required
    /// action, and finish the login.
    #[allow(clippy::too_many_arguments)]
    pub async fn submit_update_password(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
        csrf: &str,
        new_password: &str,
        confirm: &str,
    ) -> Result<LoginResult, ServiceError> {
        let now = now_secs();
        let mut tx = self.store().begin_read().await?;
        let Some(session) = self
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
        let pending =
            session.notes.get("required_action").map(String::as_str) == Some(UPDATE_PASSWORD);
        if session.expires <= now
            || session.realm_id != realm.id
            || !pending
            || expected.is_empty()
            || !constant_time_eq(expected.as_bytes(), csrf.as_bytes())
        {
            return Ok(LoginResult::Expired);
        }
        let (Some(client), Some(mut user)) = (
            tx.client_by_id(&session.client_id).await?,
            match &session.user_id {
                Some(id) => tx.user_by_id(id).await?,
                None => None,
            },
        ) else {
            return Ok(LoginResult::Expired);
        };
        tx.rollback().await?;
        let again = |message| LoginResult::UpdatePassword {
            page: page_of(&session, &client, user.username.to_string()),
            message: Some(message),
        };
        if new_password.is_empty() {
            return Ok(again("missingPasswordMessage"));
        }
        if new_password != confirm {
            return Ok(again("notMatchPasswordMessage"));
        }
        let stored = self
            .hasher
            .hash(new_password.to_owned(), password_policy(realm))
            .await?;
        let mut tx = self.store().begin().await?;
        let existing = tx.credentials_of(&user.id).await?;
        match existing
            .into_iter()
            .find(|c| c.credential_type == "password")
        {
            Some(old) => {
                tx.update_credential(&gatehouse_model::Credential {
                    secret_data: stored.secret_data,
                    credential_data: stored.credential_data,
                    created_date: now_millis(),
                    ..old
                })
                .await?;
            }
            None => {
                tx.insert_credential(&gatehouse_model::Credential {
                    id: gatehouse_model::CredentialId::new_random(),
                    user_id: user.id.clone(),
                    credential_type: "password".into(),
                    user_label: None,
                    created_date: now_millis(),
                    secret_data: stored.secret_data,
                    credential_data: stored.credential_data,
                    priority: 10,
                })
                .await?;
            }
        }
        user.required_actions.retain(|a| a != UPDATE_PASSWORD);
        tx.update_user(&user).await?;
        tx.commit().await?;
        if !user.required_actions.is_empty() {
            return Ok(LoginResult::Retry {
                page: page_of(&session, &client, user.username.to_string()),
                message: "accountNotFullySetUpMessage",
            });
        }
        let username = session
            .notes
            .get("username")
            .cloned()
            .unwrap_or_else(|| user.username.to_string());
        self.finish_login(ctx, realm, &client, &user, session, &username, now)
            .await
    }

    /// The update-password page again (a reload), if this tab is at that step.
    pub async fn update_password_page(
        &self,
        realm: &Realm,
        auth_session: &str,
        tab_id: &str,
    ) -> Result<Option<LoginPage>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let Some(session) = live_tab(&self.auth_sessions, realm, auth_session, tab_id).await?
        else {
            return Ok(None);
        };
        if session.notes.get("required_action").map(String::as_str) != Some(UPDATE_PASSWORD) {
            return Ok(None);
        }
        let client = tx.client_by_id(&session.client_id).await?;
        tx.rollback().await?;
        let username = session.notes.get("username").cloned().unwrap_or_default();
        Ok(client.map(|c| page_of(&session, &c, username)))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_login(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        client: &Client,
        user: &User,
        session: AuthSession,
        username: &str,
        now: i64,
    ) -> Result<LoginResult, ServiceError> {
        // After the required actions, before the code: the consent a client may require.
        if let Some(page) = self.consent_step(client, user, &session, username).await? {
            return Ok(LoginResult::Consent { page });
        }
        // The tab's session is consumed: a second post of the same form finds nothing.
        if !self
            .auth_sessions
            .delete(&session.id, &session.tab_id)
            .await?
        {
            return Ok(LoginResult::Expired);
        }
        let mut tx = self.store().begin().await?;
        // A browser login always opens an online session (the SSO session); an offline copy is
        // made when the code is exchanged with offline_access granted.
        let user_session = UserSessionId::new_random();
        let notes: BTreeMap<String, String> = [("AUTH_TIME".to_owned(), now.to_string())].into();
        tx.insert_user_session(&UserSession {
            id: user_session.clone(),
            offline: false,
            realm_id: realm.id.clone(),
            user_id: user.id.clone(),
            login_username: username.to_owned(),
            ip_address: ctx.client_ip.to_string(),
            auth_method: "openid-connect".into(),
            remember_me: false,
            started: now,
            last_refresh: now,
            broker_session_id: None,
            broker_user_id: None,
            notes,
        })
        .await?;
        let mut redirect = issue_code(
            &mut tx,
            ctx,
            realm,
            client,
            &user_session,
            &session.params,
            "1",
            now,
        )
        .await?;
        tx.commit().await?;
        self.front_channel_tokens(
            ctx,
            realm,
            client,
            &user_session,
            &session.params,
            "1",
            now,
            &mut redirect,
        )
        .await?;
        let keys = self.realm_keys(realm).await?;
        let sso = crate::sso::identity_cookie(ctx, realm, &keys, &user.id, &user_session, now)?;
        Ok(LoginResult::Done { redirect, sso })
    }

    /// `grant_type=authorization_code`: exchanges a code once, checking its client, redirect
    /// URI and PKCE verifier. A replayed code ends the session it created (RFC 6749 §4.1.2).
    pub async fn code_grant(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let invalid = |d: &str| OAuthError::bad_request("invalid_grant", d.to_owned());
        let client = self.authenticate(ctx, realm, creds).await?;
        let mut tx = self.store().begin().await?;
        let code = match tx.consume_auth_code(code).await? {
            CodeUse::Fresh(code) => code,
            CodeUse::Replayed(code) => {
                tx.delete_user_session(&code.user_session_id, code.offline)
                    .await?;
                tx.commit().await?;
                tracing::warn!(client = %client.client_id, "authorization code replayed: its session was ended");
                return Err(invalid("Code not valid"));
            }
            CodeUse::Unknown => return Err(invalid("Code not valid")),
        };
        // Read while the code's row is held: a replay racing this exchange (on another node)
        // waits for this commit before it ends the session, so the first use always finds it;
        // the tokens it issues then die with the session, as RFC 6749 §4.1.2 asks.
        let session = tx.user_session(&code.user_session_id, code.offline).await?;
        // The code is spent whatever happens next: commit that before any check can fail.
        tx.commit().await?;
        let now = now_secs();
        if code.expires < now {
            return Err(invalid("Code is expired"));
        }
        if code.client_id != client.id || code.realm_id != realm.id {
            return Err(invalid("Auth error"));
        }
        let stored_uri = code.data.get("redirect_uri").map(String::as_str);
        if stored_uri.is_some() && redirect_uri != stored_uri {
            return Err(invalid("Incorrect redirect_uri"));
        }
        if let Some(challenge) = code.data.get("code_challenge") {
            let Some(verifier) = code_verifier else {
                return Err(invalid("PKCE code verifier not specified"));
            };
            let valid_verifier = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed = match code.data.get("code_challenge_method").map(String::as_str) {
                Some("S256") => {
                    gatehouse_crypto::jose::thumbprint_sha256_b64url(verifier.as_bytes())
                }
                _ => verifier.to_owned(),
            };
            if !valid_verifier || !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(invalid("PKCE verification failed: Code mismatch"));
            }
        }
        let Some(session) = session else {
            return Err(invalid("User session not found"));
        };
        let mut tx = self.store().begin().await?;
        let Some(user) = tx.user_by_id(&session.user_id).await?.filter(|u| u.enabled) else {
            return Err(invalid("User disabled"));
        };
        let scope = code.data.get("scope").cloned().unwrap_or_default();
        let plan = ScopePlan::resolve(&mut tx, &client, Some(&scope)).await?;
        if !crate::consent::still_granted(&mut tx, &client, &user.id, Some(&scope)).await? {
            return Err(crate::consent::consent_withdrawn());
        }
        let subject = SubjectData::load(&mut tx, &user, &client).await?;
        let offline = plan.offline;
        if offline {
            if !subject.realm_roles.contains("offline_access") {
                return Err(OAuthError::bad_request(
                    "not_allowed",
                    "Offline tokens not allowed for the user or client",
                ));
            }
            // The offline session is a copy of the SSO session under the same id, so it
            // outlives logout and the SSO session's lifespan.
            if !tx.user_session_exists(&code.user_session_id, true).await? {
                tx.insert_user_session(&UserSession {
                    offline: true,
                    ..session.clone()
                })
                .await?;
            }
            if let Some(cs) = tx
                .client_session(&code.user_session_id, false, &client.id)
                .await?
            {
                tx.upsert_client_session(&ClientSession {
                    offline: true,
                    ..cs
                })
                .await?;
            }
        }
        tx.commit().await?;
        let acr = code.data.get("acr").map(String::as_str).unwrap_or("1");
        let keys = self.issuing_keys(realm, &client).await?;
        let issue = Issue {
            ctx,
            realm,
            client: &client,
            user: &user,
            subject: &subject,
            plan: &plan,
            session: Some(SessionRef {
                id: &code.user_session_id,
                started: session.started,
                offline,
                notes: &session.notes,
                acr,
            }),
            nonce: code.data.get("nonce").map(String::as_str),
            now,
            grant: crate::tokens::GrantKind::AuthorizationCode,
        };
        issue.tokens(&keys, true)
    }
}

/// A `response_type`: which of a code, an ID token and an access token the authorization
/// response carries. Keycloak accepts `code`, `id_token`, `id_token token`, `code id_token`,
/// `code token` and `code id_token token` in any order, and refuses `token` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ResponseType {
    code: bool,
    id_token: bool,
    token: bool,
}

impl ResponseType {
    fn parse(value: &str) -> Option<ResponseType> {
        let mut t = ResponseType {
            code: false,
            id_token: false,
            token: false,
        };
        for part in value.split(' ').filter(|p| !p.is_empty()) {
            let flag = match part {
                "code" => &mut t.code,
                "id_token" => &mut t.id_token,
                "token" => &mut t.token,
                _ => return None,
            };
            if std::mem::replace(flag, true) {
                return None;
            }
        }
        let only_token = t.token && !t.code && !t.id_token;
        (t.code || t.id_token || t.token)
            .then_some(t)
            .filter(|_| !only_token)
    }

    /// The response type an authentication session was opened with (`code` when absent).
    fn of(params: &BTreeMap<String, String>) -> ResponseType {
        params
            .get("response_type")
            .and_then(|v| ResponseType::parse(v))
            .unwrap_or(ResponseType {
                code: true,
                id_token: false,
                token: false,
            })
    }

    fn implicit_or_hybrid(self) -> bool {
        self.id_token || self.token
    }
}

impl Services {
    /// Adds the tokens of an implicit or hybrid response to `redirect` (nothing for `code`):
    /// `access_token`, `token_type`, `expires_in` and `id_token`, signed as the token endpoint
    /// signs them, outside any transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn front_channel_tokens(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        client: &Client,
        user_session: &UserSessionId,
        request: &BTreeMap<String, String>,
        acr: &str,
        now: i64,
        redirect: &mut Redirect,
    ) -> Result<(), ServiceError> {
        let flow = ResponseType::of(request);
        if !flow.implicit_or_hybrid() {
            return Ok(());
        }
        let keys = self.issuing_keys(realm, client).await?;
        let mut tx = self.store().begin_read().await?;
        let session = tx
            .user_session(user_session, false)
            .await?
            .ok_or_else(|| ServiceError::NotFound("user session".into()))?;
        let user = tx
            .user_by_id(&session.user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("user".into()))?;
        let plan = crate::tokens::ScopePlan::resolve(
            &mut tx,
            client,
            request.get("scope").map(String::as_str),
        )
        .await
        .map_err(service)?;
        let subject = crate::tokens::SubjectData::load(&mut tx, &user, client)
            .await
            .map_err(service)?;
        tx.rollback().await?;
        let issue = crate::tokens::Issue {
            ctx,
            realm,
            client,
            user: &user,
            subject: &subject,
            plan: &plan,
            session: Some(crate::tokens::SessionRef {
                id: user_session,
                started: session.started,
                offline: false,
                notes: &session.notes,
                acr,
            }),
            nonce: request.get("nonce").map(String::as_str),
            now,
            grant: crate::tokens::GrantKind::Implicit,
        };
        let code = redirect
            .params
            .iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.clone());
        let tokens = issue
            .front_channel(&keys, flow.token, flow.id_token, code.as_deref())
            .map_err(service)?;
        if let Some(access) = tokens.access_token {
            redirect.params.push(("access_token".to_owned(), access));
            redirect
                .params
                .push(("token_type".to_owned(), "Bearer".to_owned()));
            redirect
                .params
                .push(("expires_in".to_owned(), tokens.expires_in.to_string()));
        }
        if let Some(id) = tokens.id_token {
            redirect.params.push(("id_token".to_owned(), id));
        }
        Ok(())
    }
}

/// An OAuth error delivered to the client's (validated) redirect URI, with `iss` (RFC 9207).
/// The tab `tab_id` of the authentication session `auth_session`, if it belongs to `realm` and
/// has not expired: what every later step of a login starts from.
pub(crate) async fn live_tab(
    sessions: &crate::auth_sessions::AuthSessions,
    realm: &Realm,
    auth_session: &str,
    tab_id: &str,
) -> Result<Option<AuthSession>, ServiceError> {
    let session = sessions
        .get(&AuthSessionId::from(auth_session), tab_id)
        .await?;
    Ok(session.filter(|s| s.expires > now_secs() && s.realm_id == realm.id))
}

fn error_redirect(
    issuer: String,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> AuthFailure {
    let mut params = vec![
        ("error".to_owned(), error.to_owned()),
        ("error_description".to_owned(), description.to_owned()),
    ];
    if let Some(state) = state {
        params.push(("state".to_owned(), state.to_owned()));
    }
    params.push(("iss".to_owned(), issuer));
    AuthFailure::Redirect(Redirect {
        redirect_uri: redirect_uri.to_owned(),
        mode,
        params,
    })
}

pub(crate) fn page_of(session: &AuthSession, client: &Client, username: String) -> LoginPage {
    let username = if username.is_empty() {
        session
            .params
            .get("login_hint")
            .cloned()
            .unwrap_or_default()
    } else {
        username
    };
    LoginPage {
        auth_session: session.id.clone(),
        tab_id: session.tab_id.clone(),
        client_id: client.client_id.to_string(),
        client_name: client.name.clone(),
        client_base_url: client.base_url.clone(),
        csrf: session.notes.get("csrf").cloned().unwrap_or_default(),
        username,
        ui_locales: session.params.get("ui_locales").cloned(),
        requested_locale: session.notes.get(REQUESTED_LOCALE_NOTE).cloned(),
        user_locale: session.notes.get(USER_LOCALE_NOTE).cloned(),
        restart_cookie: None,
    }
}

fn service(e: OAuthError) -> ServiceError {
    match e {
        OAuthError::Service(e) => e,
        other => ServiceError::Internal(other.to_string()),
    }
}

/// Attaches `client` to an online user session and returns the authorization response carrying
/// a fresh single-use code (from a form login or a single sign-on).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn issue_code(
    tx: &mut gatehouse_store::Tx,
    ctx: &RequestCtx,
    realm: &Realm,
    client: &Client,
    user_session: &UserSessionId,
    request: &BTreeMap<String, String>,
    acr: &str,
    now: i64,
) -> Result<Redirect, ServiceError> {
    let param = |k: &str| request.get(k).cloned();
    let scope = param("scope").unwrap_or_default();
    tx.upsert_client_session(&ClientSession {
        user_session_id: user_session.clone(),
        offline: false,
        client_id: client.id.clone(),
        started: now,
        last_refresh: now,
        redirect_uri: param("redirect_uri"),
        notes: [
            ("scope".to_owned(), scope),
            ("acr".to_owned(), acr.to_owned()),
        ]
        .into(),
        current_refresh_token: None,
        refresh_token_use_count: 0,
    })
    .await?;
    let mut params = Vec::new();
    if ResponseType::of(request).code {
        params.push((
            "code".to_owned(),
            new_code(tx, realm, client, user_session, request, acr, now).await?,
        ));
    }
    if let Some(state) = param("state") {
        params.push(("state".to_owned(), state));
    }
    params.push(("session_state".to_owned(), user_session.to_string()));
    params.push(("iss".to_owned(), ctx.issuer(realm.name.as_str())));
    let mode = match param("response_mode").as_deref() {
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    };
    Ok(Redirect {
        redirect_uri: param("redirect_uri").unwrap_or_default(),
        mode,
        params,
    })
}

/// Stores a fresh single-use authorization code for the session and returns it.
#[allow(clippy::too_many_arguments)]
async fn new_code(
    tx: &mut gatehouse_store::Tx,
    realm: &Realm,
    client: &Client,
    user_session: &UserSessionId,
    request: &BTreeMap<String, String>,
    acr: &str,
    now: i64,
) -> Result<String, ServiceError> {
    let param = |k: &str| request.get(k).cloned();
    let code = gatehouse_crypto::random_secret(32);
    let mut data = BTreeMap::new();
    for key in [
        "redirect_uri",
        "scope",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ] {
        if let Some(v) = param(key) {
            data.insert(key.to_owned(), v);
        }
    }
    data.insert("acr".to_owned(), acr.to_owned());
    tx.insert_auth_code(&AuthCode {
        id: code.clone(),
        realm_id: realm.id.clone(),
        client_id: client.id.clone(),
        user_session_id: user_session.clone(),
        offline: false,
        expires: now + i64::from(realm.access_code_lifespan),
        data,
    })
    .await?;
    Ok(code)
}
