//! `.../logout`: OpenID Connect RP-Initiated Logout, with Keycloak's confirmation page when the
//! request carries no `id_token_hint`.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_login::{
    KEYCLOAK_IDENTITY, LoginState, clear_sso_cookies, cookie_value, error_page, info_page,
    logout_confirm_page, realm_path,
};
use gatehouse_model::Realm;
use gatehouse_services::{AuthFailure, LogoutRequest, LogoutStep, RequestCtx, Services};

fn params(raw: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// `GET .../logout`.
pub async fn logout_get(
    State(services): State<Services>,
    State(login): State<LoginState>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let p = params(query.unwrap_or_default().as_bytes());
    logout(&services, &login, &realm, &ctx, p, &headers).await
}

/// `POST .../logout` (form parameters).
pub async fn logout_post(
    State(services): State<Services>,
    State(login): State<LoginState>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    logout(&services, &login, &realm, &ctx, params(&body), &headers).await
}

/// `POST .../logout/logout-confirm`: the confirmation form.
pub async fn logout_confirm(
    State(services): State<Services>,
    State(login): State<LoginState>,
    Path(realm): Path<String>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(realm) = enabled_realm(&services, &realm).await else {
        return error_page(
            &login.themes,
            &ctx,
            None,
            "realmNotFound",
            None,
            &headers,
            StatusCode::NOT_FOUND,
        );
    };
    let form = params(&body);
    let code = form
        .get("session_code")
        .map(String::as_str)
        .unwrap_or_default();
    let identity = cookie_value(&headers, KEYCLOAK_IDENTITY);
    let step = services
        .confirm_logout(&ctx, &realm, code, identity.as_deref())
        .await;
    respond(&login, &ctx, &realm, &headers, step)
}

async fn logout(
    services: &Services,
    login: &LoginState,
    realm: &str,
    ctx: &RequestCtx,
    p: BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let Some(realm) = enabled_realm(services, realm).await else {
        return error_page(
            &login.themes,
            ctx,
            None,
            "realmNotFound",
            None,
            headers,
            StatusCode::NOT_FOUND,
        );
    };
    let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    let request = LogoutRequest {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        client_id: get("client_id"),
        state: get("state"),
    };
    let identity = cookie_value(headers, KEYCLOAK_IDENTITY);
    let step = services
        .logout(ctx, &realm, &request, identity.as_deref())
        .await;
    respond(login, ctx, &realm, headers, step)
}

async fn enabled_realm(services: &Services, name: &str) -> Option<Realm> {
    services.realm(name).await.ok().filter(|r| r.enabled)
}

fn respond(
    login: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    headers: &HeaderMap,
    step: Result<LogoutStep, AuthFailure>,
) -> Response {
    match step {
        Ok(LogoutStep::Confirm { code }) => {
            let action = format!(
                "{}/protocol/openid-connect/logout/logout-confirm",
                ctx.issuer(realm.name.as_str())
            );
            logout_confirm_page(&login.themes, ctx, realm, &action, &code, headers)
        }
        Ok(LogoutStep::Done { redirect }) => {
            let mut response = match redirect.and_then(|r| HeaderValue::from_str(&r).ok()) {
                Some(location) => {
                    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
                }
                None => info_page(&login.themes, ctx, realm, "successLogout", headers),
            };
            let https = ctx.frontend.starts_with("https://");
            for cookie in clear_sso_cookies(&realm_path(ctx, realm), https) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(AuthFailure::Page { message, arg }) => error_page(
            &login.themes,
            ctx,
            Some(realm),
            message,
            arg.as_deref(),
            headers,
            StatusCode::BAD_REQUEST,
        ),
        Err(AuthFailure::Redirect(r)) => gatehouse_login::deliver(&r),
        Err(AuthFailure::Service(e)) => {
            tracing::error!(error = %e, "logout failed");
            error_page(
                &login.themes,
                ctx,
                Some(realm),
                "internalServerError",
                None,
                headers,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}
