//! The login form's routes and the pages and responses the protocol endpoints share.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_model::Realm;
use gatehouse_services::{
    ConsentPage, LoginPage, LoginResult, Redirect, RequestCtx, ResponseMode, Services,
};
use serde_json::json;

use crate::cookies::{KEYCLOAK_LOCALE, auth_root, auth_session_cookie, cookie_value};
use crate::locale::{self, LocaleHints};
use crate::theme::LoginTheme;
use crate::{LoginState, Themes};

/// Renders the login form for `page`, setting the `AUTH_SESSION_ID` cookie.
pub fn login_page(
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    page: &LoginPage,
    message: Option<(&str, &str)>,
    headers: &HeaderMap,
) -> Response {
    form_page(
        state,
        ctx,
        realm,
        page,
        message,
        headers,
        Step::Authenticate,
    )
}

/// Which form of the login a page is.
#[derive(Clone, Copy)]
enum Step<'a> {
    /// Username and password.
    Authenticate,
    /// A new password for a temporary one.
    UpdatePassword,
    /// The consent a client requires.
    Consent(&'a ConsentPage),
}

fn form_page(
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    page: &LoginPage,
    message: Option<(&str, &str)>,
    headers: &HeaderMap,
    step: Step<'_>,
) -> Response {
    let themes = &state.themes;
    let theme = themes.for_realm(Some(realm));
    let cookie = locale_cookie(headers);
    let hints = LocaleHints {
        requested: page.requested_locale.as_deref(),
        user: page.user_locale.as_deref(),
        ui_locales: page.ui_locales.as_deref(),
        cookie: cookie.as_deref(),
        accept_language: accept_language(headers),
    };
    let locale = &locale::select(Some(realm), &hints);
    let realm_url = format!("{}/realms/{}", ctx.frontend, realm.name);
    let (path, template) = match step {
        Step::Authenticate => ("authenticate?", "login.html"),
        Step::UpdatePassword => (
            "required-action?execution=UPDATE_PASSWORD&",
            "login-update-password.html",
        ),
        Step::Consent(_) => ("consent?", "login-oauth-grant.html"),
    };
    let action = format!(
        "{realm_url}/login-actions/{path}client_id={}&tab_id={}",
        encode(&page.client_id),
        encode(&page.tab_id)
    );
    let message =
        message.map(|(kind, key)| json!({"type": kind, "summary": theme.msg(locale, key, &[])}));
    let ctx_json = json!({
        "realm": realm_json(realm),
        "properties": theme.properties(),
        "url": {
            "loginAction": action,
            "resourcesPath": resources_path(&theme, ctx),
            "loginRestartFlowUrl": format!(
                "{realm_url}/login-actions/restart?{}",
                crate::restart::restart_query(&page.client_id, &page.tab_id)
            ),
        },
        "login": {"username": page.username},
        "usernameHidden": false,
        "registrationEmailAsUsername": realm.registration_email_as_username,
        "loginWithEmailAllowed": realm.login_with_email_allowed,
        "rememberMe": false,
        "rememberMeChecked": false,
        "message": message,
        "client": {
            "clientId": page.client_id,
            "name": page.client_name.clone().unwrap_or_default(),
            "baseUrl": page.client_base_url.clone().unwrap_or_default(),
        },
        "locale": locale_json(&theme, Some(realm), locale, Some(&action)),
        "csrf": page.csrf,
        "tabId": page.tab_id,
    });
    let ctx_json = match step {
        Step::Consent(consent) => with_grant(ctx_json, consent, &action),
        _ => ctx_json,
    };
    let mut response = render(themes, &theme, template, locale, ctx_json, StatusCode::OK);
    let https = ctx.frontend.starts_with("https://");
    let realm_path = realm_path(ctx, realm);
    if let Some(cookie) = auth_session_cookie(
        page.auth_session.as_str(),
        state.route.of(&page.auth_session).as_deref(),
        &realm_path,
        https,
    ) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    // `KC_RESTART`: the login as the authorization endpoint opened it, to restart from.
    if let Some(token) = page.restart_cookie.as_deref()
        && let Some(value) = crate::cookies::restart_cookie(token, &realm_path, https)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    // The language picked with `kc_locale` outlives the login in `KEYCLOAK_LOCALE`, as
    // Keycloak remembers it; set when the choice is new to this browser.
    if let Some(tag) = page.requested_locale.as_deref()
        && cookie.as_deref() != Some(tag)
        && let Some(value) = crate::cookies::locale_cookie(tag, &realm_path, https)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// An error page: nothing is redirected anywhere when the redirect URI cannot be trusted.
pub fn error_page(
    themes: &Themes,
    ctx: &RequestCtx,
    realm: Option<&Realm>,
    key: &str,
    arg: Option<&str>,
    headers: &HeaderMap,
    status: StatusCode,
) -> Response {
    let theme = themes.for_realm(realm);
    let locale = &request_locale(realm, headers);
    let args: Vec<String> = arg.map(|a| vec![a.to_owned()]).unwrap_or_default();
    let ctx_json = json!({
        "realm": realm.map(realm_json).unwrap_or_else(|| json!({"name": "", "displayName": ""})),
        "properties": theme.properties(),
        "url": {"resourcesPath": resources_path(&theme, ctx)},
        "message": {"type": "error", "summary": theme.msg(locale, key, &args)},
        "skipLink": true,
        "client": {"clientId": "", "name": "", "baseUrl": ""},
        "locale": locale_json(&theme, realm, locale, None),
    });
    render(themes, &theme, "error.html", locale, ctx_json, status)
}

/// An information page ("You are logged out").
pub fn info_page(
    themes: &Themes,
    ctx: &RequestCtx,
    realm: &Realm,
    key: &str,
    headers: &HeaderMap,
) -> Response {
    info_page_with(themes, ctx, realm, key, &[], headers)
}

/// An information page whose message takes arguments (`{0}`, `{1}` in the bundle).
pub fn info_page_with(
    themes: &Themes,
    ctx: &RequestCtx,
    realm: &Realm,
    key: &str,
    args: &[String],
    headers: &HeaderMap,
) -> Response {
    let theme = themes.for_realm(Some(realm));
    let locale = &request_locale(Some(realm), headers);
    let ctx_json = json!({
        "realm": realm_json(realm),
        "properties": theme.properties(),
        "url": {"resourcesPath": resources_path(&theme, ctx)},
        "message": {"type": "success", "summary": theme.msg(locale, key, args)},
        "skipLink": true,
        "locale": locale_json(&theme, Some(realm), locale, None),
    });
    render(
        themes,
        &theme,
        "info.html",
        locale,
        ctx_json,
        StatusCode::OK,
    )
}

/// The "Do you want to log out?" page, whose form posts `code` back to `action`.
pub fn logout_confirm_page(
    themes: &Themes,
    ctx: &RequestCtx,
    realm: &Realm,
    action: &str,
    code: &str,
    headers: &HeaderMap,
) -> Response {
    let theme = themes.for_realm(Some(realm));
    let locale = &request_locale(Some(realm), headers);
    let ctx_json = json!({
        "realm": realm_json(realm),
        "properties": theme.properties(),
        "url": {"resourcesPath": resources_path(&theme, ctx), "logoutConfirmAction": action},
        "logoutConfirm": {"code": code},
        "csrf": code,
        "skipLink": true,
        "locale": locale_json(&theme, Some(realm), locale, None),
    });
    render(
        themes,
        &theme,
        "logout-confirm.html",
        locale,
        ctx_json,
        StatusCode::OK,
    )
}

/// Delivers an authorization response: a 302 for `query` and `fragment`, an auto-submitting
/// form for `form_post`.
pub fn deliver(redirect: &Redirect) -> Response {
    match redirect.mode {
        ResponseMode::FormPost => {
            let mut inputs = String::new();
            for (k, v) in &redirect.params {
                inputs.push_str(&format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    html_escape(k),
                    html_escape(v)
                ));
            }
            let body = format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Submit This Form</title></head>\
                 <body onload=\"javascript:document.forms[0].submit()\"><noscript><p>JavaScript is disabled: \
                 press Continue.</p></noscript><form method=\"post\" action=\"{}\">{inputs}\
                 <noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
                html_escape(&redirect.redirect_uri)
            );
            let mut response = Html(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        // 302, as Keycloak answers: some relying parties treat 303 differently.
        _ => match HeaderValue::from_str(&redirect.location()) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        },
    }
}

/// `GET login-actions/authenticate`: the form again (a reload).
pub async fn show(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Response {
    let Place { realm, root, tab } =
        match place(&services, &state, &ctx, &realm, &headers, &query).await {
            Ok(place) => place,
            Err(page) => return page,
        };
    match services.login_page(&realm, &root, &tab).await {
        Ok(Some(page)) => {
            // A restarted login says once why it starts again (`loginTimeout`).
            let message = match services.take_login_message(&realm, &root, &tab).await {
                Ok(message) => message.map(|m| ("error", m)),
                Err(e) => return failure(&state.themes, &ctx, &realm, &headers, e),
            };
            login_page(&state, &ctx, &realm, &page, message, &headers)
        }
        Ok(None) => {
            let stale = || expired(&state.themes, &ctx, &realm, &headers);
            crate::restart::session_gone(&services, &state, &ctx, &realm, &headers, &query, stale)
                .await
        }
        Err(e) => failure(&state.themes, &ctx, &realm, &headers, e),
    }
}

/// `GET login-actions/action-token?key=..`: an impersonation link from the admin API. The
/// browser that follows it is signed in as the user (SSO cookies) and told so; an expired,
/// used or forged link gets Keycloak's "action expired" page.
pub async fn action_token(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Response {
    let realm = match realm_or_page(&services, &state, &ctx, &realm, &headers).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let Some(key) = query.get("key") else {
        return expired(&state.themes, &ctx, &realm, &headers);
    };
    match services.follow_impersonation(&ctx, &realm, key).await {
        Ok(done) => {
            let args = [done.username, done.impersonator];
            let mut response = info_page_with(
                &state.themes,
                &ctx,
                &realm,
                "impersonationSignedIn",
                &args,
                &headers,
            );
            let https = ctx.frontend.starts_with("https://");
            for cookie in
                crate::cookies::sso_cookies(&done.cookies, &realm_path(&ctx, &realm), https)
            {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(gatehouse_services::OAuthError::Service(e)) => {
            failure(&state.themes, &ctx, &realm, &headers, e)
        }
        Err(_) => expired(&state.themes, &ctx, &realm, &headers),
    }
}

/// `POST login-actions/authenticate`: the credentials.
pub async fn submit(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Place { realm, root, tab } =
        match place(&services, &state, &ctx, &realm, &headers, &query).await {
            Ok(place) => place,
            Err(page) => return page,
        };
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    // Without `AUTH_SESSION_ID` there is no session: the restart after the step says what to do.
    let result = services
        .submit_login(
            &ctx,
            &realm,
            &root,
            &tab,
            field("csrf"),
            field("username"),
            field("password"),
        )
        .await;
    finish_step(&services, &state, &ctx, &realm, &headers, &query, result).await
}

/// [`respond`], with what a login step's end means for `KC_RESTART`: a session that is gone
/// restarts from it, a finished login expires it.
async fn finish_step(
    services: &Services,
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    headers: &HeaderMap,
    query: &BTreeMap<String, String>,
    result: Result<LoginResult, gatehouse_services::ServiceError>,
) -> Response {
    if matches!(result, Ok(LoginResult::Expired)) {
        let stale = || expired(&state.themes, ctx, realm, headers);
        return crate::restart::session_gone(services, state, ctx, realm, headers, query, stale)
            .await;
    }
    let finished = matches!(
        result,
        Ok(LoginResult::Done { .. } | LoginResult::Redirect(_))
    );
    let mut response = respond(state, ctx, realm, headers, result);
    if finished {
        crate::restart::login_finished(services, ctx, realm, headers, &mut response).await;
    }
    response
}

/// Turns the outcome of a login step into the page or redirect the browser gets next.
fn respond(
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    headers: &HeaderMap,
    result: Result<LoginResult, gatehouse_services::ServiceError>,
) -> Response {
    match result {
        Ok(LoginResult::Done { redirect, sso }) => {
            let mut response = deliver(&redirect);
            let https = ctx.frontend.starts_with("https://");
            for cookie in crate::cookies::sso_cookies(&sso, &realm_path(ctx, realm), https) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(LoginResult::UpdatePassword { page, message }) => {
            let message = message
                .map(|m| ("error", m))
                .or(Some(("warning", "updatePasswordMessage")));
            form_page(
                state,
                ctx,
                realm,
                &page,
                message,
                headers,
                Step::UpdatePassword,
            )
        }
        Ok(LoginResult::Retry { page, message }) => {
            let mut response =
                login_page(state, ctx, realm, &page, Some(("error", message)), headers);
            // Keycloak answers a failed sign-in with 200 and the form; 401 would make some
            // browsers show their own credential dialog.
            *response.status_mut() = StatusCode::OK;
            response
        }
        Ok(LoginResult::Expired) => expired(&state.themes, ctx, realm, headers),
        Ok(LoginResult::Consent { page }) => consent_page(state, ctx, realm, &page, headers),
        Ok(LoginResult::Redirect(redirect)) => deliver(&redirect),
        Err(e) => failure(&state.themes, ctx, realm, headers, e),
    }
}

/// `GET login-actions/required-action`: the update-password form again (a reload).
pub async fn show_required_action(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Response {
    let Place { realm, root, tab } =
        match place(&services, &state, &ctx, &realm, &headers, &query).await {
            Ok(place) => place,
            Err(page) => return page,
        };
    match services.update_password_page(&realm, &root, &tab).await {
        Ok(Some(page)) => {
            let message = Some(("warning", "updatePasswordMessage"));
            form_page(
                &state,
                &ctx,
                &realm,
                &page,
                message,
                &headers,
                Step::UpdatePassword,
            )
        }
        Ok(None) => {
            let stale = || expired(&state.themes, &ctx, &realm, &headers);
            crate::restart::session_gone(&services, &state, &ctx, &realm, &headers, &query, stale)
                .await
        }
        Err(e) => failure(&state.themes, &ctx, &realm, &headers, e),
    }
}

/// `POST login-actions/required-action`: the new password.
pub async fn submit_required_action(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Place { realm, root, tab } =
        match place(&services, &state, &ctx, &realm, &headers, &query).await {
            Ok(place) => place,
            Err(page) => return page,
        };
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let result = services
        .submit_update_password(
            &ctx,
            &realm,
            &root,
            &tab,
            field("csrf"),
            field("password-new"),
            field("password-confirm"),
        )
        .await;
    finish_step(&services, &state, &ctx, &realm, &headers, &query, result).await
}

/// `GET /resources/{version}/login/{theme}/{path}`: the theme's static files.
pub async fn resource(
    State(state): State<LoginState>,
    Path((_version, theme, path)): Path<(String, String, String)>,
) -> Response {
    let themes = state.themes.clone();
    // A theme from disk is read from disk: off the async workers.
    let found = tokio::task::spawn_blocking(move || themes.resource(&theme, &path))
        .await
        .ok()
        .flatten();
    let Some(resource) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // `spi-theme-static-max-age`: as Keycloak, zero or negative (start-dev) makes browsers ask
    // every time, so theme edits show at once.
    let max_age = state.themes.settings().static_max_age;
    let cache_control = if max_age <= 0 {
        HeaderValue::from_static("no-cache")
    } else {
        HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or(HeaderValue::from_static("no-cache"))
    };
    let body = match resource.body {
        std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
        std::borrow::Cow::Owned(v) => Bytes::from(v),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(resource.content_type),
    );
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // An SVG opened on its own is a document of this origin: no scripts in it.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    response
}

/// Where a login-actions request stands: its realm, and the authentication session's root id
/// (`AUTH_SESSION_ID` without the route) and browser tab.
struct Place {
    realm: Realm,
    root: String,
    tab: String,
}

/// What every login-actions request does first: finds the realm (or the page to answer with),
/// reads the session's root and tab, and keeps a language picked with `kc_locale`.
async fn place(
    services: &Services,
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &str,
    headers: &HeaderMap,
    query: &BTreeMap<String, String>,
) -> Result<Place, Response> {
    let realm = realm_or_page(services, state, ctx, realm, headers).await?;
    let root = auth_root(headers);
    let tab = query.get("tab_id").cloned().unwrap_or_default();
    remember_locale(services, &realm, &root, &tab, query).await;
    Ok(Place { realm, root, tab })
}

/// `kc_locale` on a login-actions URL (the language switcher's links): kept for the rest of
/// this login. A failure to keep it only costs the choice, so it is logged, not shown.
async fn remember_locale(
    services: &Services,
    realm: &Realm,
    root: &str,
    tab: &str,
    query: &BTreeMap<String, String>,
) {
    let Some(tag) = query.get("kc_locale") else {
        return;
    };
    if root.is_empty() {
        return;
    }
    if let Err(e) = services
        .remember_requested_locale(realm, root, tab, tag)
        .await
    {
        tracing::warn!(error = %e, "could not keep the chosen language");
    }
}

/// The realm of a login-actions URL, or the page to answer with when there is none.
async fn realm_or_page(
    services: &Services,
    state: &LoginState,
    ctx: &RequestCtx,
    name: &str,
    headers: &HeaderMap,
) -> Result<Realm, Response> {
    services.realm(name).await.map_err(|_| {
        error_page(
            &state.themes,
            ctx,
            None,
            "realmNotFound",
            None,
            headers,
            StatusCode::NOT_FOUND,
        )
    })
}

fn expired(themes: &Themes, ctx: &RequestCtx, realm: &Realm, headers: &HeaderMap) -> Response {
    error_page(
        themes,
        ctx,
        Some(realm),
        "expiredActionMessage",
        None,
        headers,
        StatusCode::BAD_REQUEST,
    )
}

fn failure(
    themes: &Themes,
    ctx: &RequestCtx,
    realm: &Realm,
    headers: &HeaderMap,
    e: gatehouse_services::ServiceError,
) -> Response {
    tracing::error!(error = %e, "login action failed");
    error_page(
        themes,
        ctx,
        Some(realm),
        "internalServerError",
        None,
        headers,
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

/// The realm's cookie path: `/realms/<realm>` under the frontend URL's own path.
pub fn realm_path(ctx: &RequestCtx, realm: &Realm) -> String {
    // The cookie path is the realm's path under the frontend URL's own path.
    let after_scheme = ctx.frontend.split_once("://").map_or("", |(_, r)| r);
    let base_path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    format!("{}/realms/{}", base_path.trim_end_matches('/'), realm.name)
}

fn realm_json(realm: &Realm) -> serde_json::Value {
    json!({
        "name": realm.name.as_str(),
        "displayName": realm.display_name.clone().unwrap_or_default(),
    })
}

fn resources_path(theme: &LoginTheme, ctx: &RequestCtx) -> String {
    format!(
        "{}/resources/{}/login/{}",
        ctx.frontend,
        env!("CARGO_PKG_VERSION"),
        theme.name()
    )
}

/// The page's language and its switcher: the locales the realm offers, each linking to
/// `page_url` (the page itself, whose URL has a query already) with `kc_locale`. Pages that
/// cannot be reloaded by URL (errors, information) get no switcher.
fn locale_json(
    theme: &LoginTheme,
    realm: Option<&Realm>,
    current: &str,
    page_url: Option<&str>,
) -> serde_json::Value {
    let supported: Vec<_> = match page_url {
        Some(url) => locale::offered(realm)
            .iter()
            .map(|tag| {
                let label = theme
                    .message(current, &format!("locale_{tag}"))
                    .unwrap_or(tag);
                json!({
                    "tag": tag,
                    "languageTag": tag,
                    "label": label,
                    "url": format!("{url}&kc_locale={}", encode(tag)),
                })
            })
            .collect(),
        None => Vec::new(),
    };
    json!({"current": current, "currentLanguageTag": current, "supported": supported})
}

/// The language of a page that only the request itself informs (no login in progress):
/// the `KEYCLOAK_LOCALE` cookie, then `Accept-Language`, within the realm's locales.
fn request_locale(realm: Option<&Realm>, headers: &HeaderMap) -> String {
    let cookie = locale_cookie(headers);
    locale::select(
        realm,
        &LocaleHints {
            cookie: cookie.as_deref(),
            accept_language: accept_language(headers),
            ..LocaleHints::default()
        },
    )
}

/// The `KEYCLOAK_LOCALE` cookie, if it holds a well-formed tag.
fn locale_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, KEYCLOAK_LOCALE).filter(|v| gatehouse_services::language_tag(v).is_some())
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

fn render(
    themes: &Themes,
    theme: &LoginTheme,
    template: &str,
    locale: &str,
    ctx: serde_json::Value,
    status: StatusCode,
) -> Response {
    match themes.render(theme, template, locale, &ctx) {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, must-revalidate, max-age=0"),
            );
            h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
            h.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "frame-src 'self'; frame-ancestors 'self'; object-src 'none';",
                ),
            );
            h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            h.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, template, "login template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Renders the consent page (Keycloak's `login-oauth-grant.ftl`), setting the
/// `AUTH_SESSION_ID` cookie: its form posts to `login-actions/consent` of the same tab.
pub fn consent_page(
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    page: &ConsentPage,
    headers: &HeaderMap,
) -> Response {
    form_page(
        state,
        ctx,
        realm,
        &page.login,
        None,
        headers,
        Step::Consent(page),
    )
}

/// What the consent page adds to a form page's context: Keycloak's `oauth` bean (each entry's
/// `consentScreenText`, and the message key when the text is `${key}`, which the template
/// looks up as Keycloak's `advancedMsg` does), the client's links, and `url.oauthAction`.
fn with_grant(
    mut ctx: serde_json::Value,
    consent: &ConsentPage,
    action: &str,
) -> serde_json::Value {
    let scopes: Vec<_> = consent
        .scopes
        .iter()
        .map(|text| json!({"consentScreenText": text, "messageKey": message_key(text)}))
        .collect();
    ctx["oauth"] = json!({"clientScopesRequested": scopes});
    ctx["url"]["oauthAction"] = json!(action);
    ctx["client"]["attributes"] = json!({
        "tosUri": consent.tos_uri,
        "policyUri": consent.policy_uri,
    });
    ctx
}

/// The message key of a consent text of the form `${key}` (Keycloak's `advancedMsg`).
fn message_key(text: &str) -> Option<&str> {
    text.strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .filter(|k| !k.is_empty())
}

/// `GET login-actions/consent`: the consent page again (a reload, a language switch).
pub async fn show_consent(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Response {
    let Place { realm, root, tab } =
        match place(&services, &state, &ctx, &realm, &headers, &query).await {
            Ok(place) => place,
            Err(page) => return page,
        };
    match services.consent_page(&realm, &root, &tab).await {
        Ok(Some(page)) => consent_page(&state, &ctx, &realm, &page, &headers),
        Ok(None) => {
            let stale = || expired(&state.themes, &ctx, &realm, &headers);
            crate::restart::session_gone(&services, &state, &ctx, &realm, &headers, &query, stale)
                .await
        }
        Err(e) => failure(&state.themes, &ctx, &realm, &headers, e),
    }
}

/// `POST login-actions/consent`: "Yes" (`accept`) or "No" (`cancel`), with the form's CSRF
/// value, for the tab in the query.
pub async fn submit_consent(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Place { realm, root, tab } =
        match place(&services, &state, &ctx, &realm, &headers, &query).await {
            Ok(place) => place,
            Err(page) => return page,
        };
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if root.is_empty() {
        return error_page(
            &state.themes,
            &ctx,
            Some(&realm),
            "cookieNotFoundMessage",
            None,
            &headers,
            StatusCode::BAD_REQUEST,
        );
    }
    // As Keycloak: `cancel` present means no; anything else is the accept button.
    let accept = !form.contains_key("cancel");
    let csrf = form.get("csrf").map(String::as_str).unwrap_or_default();
    let result = services
        .submit_consent(&ctx, &realm, &root, &tab, csrf, accept)
        .await;
    finish_step(&services, &state, &ctx, &realm, &headers, &query, result).await
}

#[cfg(test)]
mod consent_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The consent page in a language, with one `${key}` text and one literal text.
    fn render_consent(locale: &str) -> String {
        let themes = Themes::builtin().unwrap();
        let theme = themes.for_realm(None);
        let scopes = ["${profileScopeConsentText}", "Read & <write> orders"]
            .map(|t| json!({"consentScreenText": t, "messageKey": message_key(t)}));
        let ctx = json!({
            "realm": {"name": "shop", "displayName": ""},
            "url": {"resourcesPath": "/r", "oauthAction": "/consent?tab_id=t1"},
            "client": {"clientId": "app", "name": "", "attributes":
                       {"tosUri": "https://app.example/tos", "policyUri": null}},
            "oauth": {"clientScopesRequested": scopes},
            "csrf": "c5rf",
        });
        themes
            .render(&theme, "login-oauth-grant.html", locale, &ctx)
            .unwrap()
    }

    #[test]
    fn consent_page_lists_texts_and_posts_yes_or_no() {
        assert_eq!(
            message_key("${emailScopeConsentText}"),
            Some("emailScopeConsentText")
        );
        assert_eq!(message_key("${}"), None);
        assert_eq!(message_key("Orders"), None);

        let en = render_consent("en");
        assert!(en.contains("Grant Access to app"), "{en}");
        assert!(en.contains("<li>User profile</li>"), "{en}");
        assert!(
            en.contains("<li>Read &amp; &lt;write&gt; orders</li>"),
            "{en}"
        );
        assert!(en.contains(r#"name="csrf" value="c5rf""#), "{en}");
        assert!(en.contains(r#"name="accept""#) && en.contains(r#"name="cancel""#));
        assert!(en.contains("terms of service."), "{en}");
        assert!(!en.contains("privacy policy."), "{en}");

        let de = render_consent("de");
        assert!(de.contains("<li>Benutzerprofil</li>"), "{de}");
        assert!(
            de.contains(">Ja</button>") && de.contains(">Nein</button>"),
            "{de}"
        );
    }
}
