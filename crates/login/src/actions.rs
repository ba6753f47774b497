//! The login form's routes and the pages and responses the protocol endpoints share.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_model::Realm;
use gatehouse_services::{LoginPage, LoginResult, Redirect, RequestCtx, ResponseMode, Services};
use serde_json::json;

use crate::cookies::{AUTH_SESSION_ID, auth_session_cookie, cookie_value};
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
enum Step {
    /// Username and password.
    Authenticate,
    /// A new password for a temporary one.
    UpdatePassword,
}

fn form_page(
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    page: &LoginPage,
    message: Option<(&str, &str)>,
    headers: &HeaderMap,
    step: Step,
) -> Response {
    let themes = &state.themes;
    let locale = themes.locale(page.ui_locales.as_deref(), accept_language(headers));
    let realm_url = format!("{}/realms/{}", ctx.frontend, realm.name);
    let (path, template) = match step {
        Step::Authenticate => ("authenticate?", "login.html"),
        Step::UpdatePassword => (
            "required-action?execution=UPDATE_PASSWORD&",
            "login-update-password.html",
        ),
    };
    let action = format!(
        "{realm_url}/login-actions/{path}client_id={}&tab_id={}",
        encode(&page.client_id),
        encode(&page.tab_id)
    );
    let message =
        message.map(|(kind, key)| json!({"type": kind, "summary": themes.msg(locale, key, &[])}));
    let ctx_json = json!({
        "realm": realm_json(realm),
        "url": {
            "loginAction": action,
            "resourcesPath": resources_path(themes, ctx),
            "loginRestartFlowUrl": format!("{realm_url}/login-actions/restart"),
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
        "locale": locale_json(themes, locale),
        "csrf": page.csrf,
        "tabId": page.tab_id,
    });
    let mut response = render(themes, template, locale, ctx_json, StatusCode::OK);
    let https = ctx.frontend.starts_with("https://");
    let realm_path = realm_path(ctx, realm);
    if let Some(cookie) =
        auth_session_cookie(page.auth_session.as_str(), &state.node, &realm_path, https)
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
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
    let locale = themes.locale(None, accept_language(headers));
    let args: Vec<String> = arg.map(|a| vec![a.to_owned()]).unwrap_or_default();
    let ctx_json = json!({
        "realm": realm.map(realm_json).unwrap_or_else(|| json!({"name": "", "displayName": ""})),
        "url": {"resourcesPath": resources_path(themes, ctx)},
        "message": {"type": "error", "summary": themes.msg(locale, key, &args)},
        "skipLink": true,
        "client": {"clientId": "", "name": "", "baseUrl": ""},
        "locale": locale_json(themes, locale),
    });
    render(themes, "error.html", locale, ctx_json, status)
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
    let locale = themes.locale(None, accept_language(headers));
    let ctx_json = json!({
        "realm": realm_json(realm),
        "url": {"resourcesPath": resources_path(themes, ctx)},
        "message": {"type": "success", "summary": themes.msg(locale, key, args)},
        "skipLink": true,
        "locale": locale_json(themes, locale),
    });
    render(themes, "info.html", locale, ctx_json, StatusCode::OK)
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
    let locale = themes.locale(None, accept_language(headers));
    let ctx_json = json!({
        "realm": realm_json(realm),
        "url": {"resourcesPath": resources_path(themes, ctx), "logoutConfirmAction": action},
        "logoutConfirm": {"code": code},
        "csrf": code,
        "skipLink": true,
        "locale": locale_json(themes, locale),
    });
    render(
        themes,
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
    let realm = match realm_or_page(&services, &state, &ctx, &realm, &headers).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let root = auth_root(&headers);
    let tab = query.get("tab_id").cloned().unwrap_or_default();
    match services.login_page(&realm, &root, &tab).await {
        Ok(Some(page)) => login_page(&state, &ctx, &realm, &page, None, &headers),
        Ok(None) => expired(&state.themes, &ctx, &realm, &headers),
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
    let realm = match realm_or_page(&services, &state, &ctx, &realm, &headers).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let root = auth_root(&headers);
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
    let tab = query.get("tab_id").cloned().unwrap_or_default();
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
    respond(&state, &ctx, &realm, &headers, result)
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
    let realm = match realm_or_page(&services, &state, &ctx, &realm, &headers).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let tab = query.get("tab_id").cloned().unwrap_or_default();
    match services
        .update_password_page(&realm, &auth_root(&headers), &tab)
        .await
    {
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
        Ok(None) => expired(&state.themes, &ctx, &realm, &headers),
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
    let realm = match realm_or_page(&services, &state, &ctx, &realm, &headers).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let tab = query.get("tab_id").cloned().unwrap_or_default();
    let result = services
        .submit_update_password(
            &ctx,
            &realm,
            &auth_root(&headers),
            &tab,
            field("csrf"),
            field("password-new"),
            field("password-confirm"),
        )
        .await;
    respond(&state, &ctx, &realm, &headers, result)
}

/// `GET /resources/{version}/login/{theme}/{path}`: the theme's static files.
pub async fn resource(
    State(state): State<LoginState>,
    Path((_version, theme, path)): Path<(String, String, String)>,
) -> Response {
    if theme != state.themes.name() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.themes.resource(&path) {
        Some((content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=2592000, immutable"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
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

/// The root id of `AUTH_SESSION_ID`, without the route suffix.
fn auth_root(headers: &HeaderMap) -> String {
    cookie_value(headers, AUTH_SESSION_ID)
        .map(|v| v.split('.').next().unwrap_or_default().to_owned())
        .unwrap_or_default()
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

fn resources_path(themes: &Themes, ctx: &RequestCtx) -> String {
    format!(
        "{}/resources/{}/login/{}",
        ctx.frontend,
        env!("CARGO_PKG_VERSION"),
        themes.name()
    )
}

fn locale_json(themes: &Themes, current: &str) -> serde_json::Value {
    let supported: Vec<_> = themes
        .supported()
        .into_iter()
        .map(|(tag, label)| json!({"tag": tag, "label": label, "url": format!("?kc_locale={tag}")}))
        .collect();
    json!({"current": current, "supported": supported})
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

fn render(
    themes: &Themes,
    template: &str,
    locale: &str,
    ctx: serde_json::Value,
    status: StatusCode,
) -> Response {
    match themes.render(template, locale, ctx) {
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
