//! `KC_RESTART` and `login-actions/restart`: a login whose authentication session is gone
//! starts again from the cookie instead of ending on an error page (see the services crate's
//! `restart.rs` for the rules; this module only renders them).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_model::Realm;
use gatehouse_services::{RequestCtx, Restarted, Services};

use crate::cookies::{
    KC_RESTART, KEYCLOAK_IDENTITY, auth_root, auth_session_cookie, clear_restart_cookie,
    cookie_value,
};
use crate::{LoginState, error_page, info_page, realm_path};

/// A login-actions request (the form, a post of it, a required action) found no live
/// authentication session for its tab: restart from `KC_RESTART` with a redirect to the new
/// tab's form, or say why not, as Keycloak's `SessionCodeChecks`. `stale` answers the case
/// where the session is alive after all and the request failed for another reason.
pub(crate) async fn session_gone(
    services: &Services,
    state: &LoginState,
    ctx: &RequestCtx,
    realm: &Realm,
    headers: &HeaderMap,
    query: &BTreeMap<String, String>,
    stale: impl FnOnce() -> Response,
) -> Response {
    let restarted = services
        .restart_login(
            ctx,
            realm,
            &auth_root(headers),
            query.get("tab_id").map(String::as_str).unwrap_or_default(),
            query.get("client_id").map(String::as_str),
            cookie_value(headers, KC_RESTART).as_deref(),
            cookie_value(headers, KEYCLOAK_IDENTITY).as_deref(),
        )
        .await;
    match restarted {
        Ok(Restarted::SessionAlive) => stale(),
        Ok(Restarted::Login {
            auth_session,
            tab_id,
            client_id,
        }) => {
            let location = authenticate_url(ctx, realm, &client_id, &tab_id);
            let mut response = found(&location);
            let https = ctx.frontend.starts_with("https://");
            if let Some(cookie) = auth_session_cookie(
                auth_session.as_str(),
                state.route.of(&auth_session).as_deref(),
                &realm_path(ctx, realm),
                https,
            ) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(Restarted::AlreadyLoggedIn) => {
            info_page(&state.themes, ctx, realm, "alreadyLoggedIn", headers)
        }
        Ok(Restarted::CookieNotFound) => error_page(
            &state.themes,
            ctx,
            Some(realm),
            "cookieNotFoundMessage",
            None,
            headers,
            StatusCode::BAD_REQUEST,
        ),
        Ok(Restarted::InvalidCode) => error_page(
            &state.themes,
            ctx,
            Some(realm),
            "invalidCodeMessage",
            None,
            headers,
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => {
            tracing::error!(error = %e, "restarting a login failed");
            error_page(
                &state.themes,
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

/// `GET login-actions/restart?client_id=..&tab_id=..`: the login page's "restart login" link.
/// A live tab goes back to its first step; a tab whose session is gone restarts from
/// `KC_RESTART`. Either way the browser is sent to the login form.
pub async fn restart(
    State(services): State<Services>,
    State(state): State<LoginState>,
    Path(realm): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Response {
    let realm = match services.realm(&realm).await {
        Ok(realm) => realm,
        Err(_) => {
            return error_page(
                &state.themes,
                &ctx,
                None,
                "realmNotFound",
                None,
                &headers,
                StatusCode::NOT_FOUND,
            );
        }
    };
    let tab = query.get("tab_id").map(String::as_str).unwrap_or_default();
    match services
        .reset_login(&realm, &auth_root(&headers), tab)
        .await
    {
        Ok(Some(client_id)) => found(&authenticate_url(&ctx, &realm, &client_id, tab)),
        Ok(None) => {
            // A tab alive but not resettable (its client is gone) cannot go on either.
            let stale = || {
                error_page(
                    &state.themes,
                    &ctx,
                    Some(&realm),
                    "expiredActionMessage",
                    None,
                    &headers,
                    StatusCode::BAD_REQUEST,
                )
            };
            session_gone(&services, &state, &ctx, &realm, &headers, &query, stale).await
        }
        Err(e) => {
            tracing::error!(error = %e, "resetting a login failed");
            error_page(
                &state.themes,
                &ctx,
                Some(&realm),
                "internalServerError",
                None,
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// A login finished (the authorization response goes out): `KC_RESTART` is expired unless
/// another tab of the browser has a login going, as Keycloak removes the root authentication
/// session (and the cookie) only with its last tab.
pub async fn login_finished(
    services: &Services,
    ctx: &RequestCtx,
    realm: &Realm,
    headers: &HeaderMap,
    response: &mut Response,
) {
    if cookie_value(headers, KC_RESTART).is_none() {
        return;
    }
    let root = auth_root(headers);
    match services
        .restart_cookie_done(Some(root.as_str()).filter(|r| !r.is_empty()))
        .await
    {
        Ok(true) => {
            let https = ctx.frontend.starts_with("https://");
            if let Some(cookie) = clear_restart_cookie(&realm_path(ctx, realm), https) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
        }
        Ok(false) => {}
        // The cookie only outlives the login; the response stands.
        Err(e) => tracing::warn!(error = %e, "could not tell whether KC_RESTART is still needed"),
    }
}

/// The query of a restart link (`loginRestartFlowUrl`): the page's client and tab.
pub(crate) fn restart_query(client_id: &str, tab_id: &str) -> String {
    format!("client_id={}&tab_id={}", encode(client_id), encode(tab_id))
}

fn authenticate_url(ctx: &RequestCtx, realm: &Realm, client_id: &str, tab_id: &str) -> String {
    format!(
        "{}/realms/{}/login-actions/authenticate?{}",
        ctx.frontend,
        realm.name,
        restart_query(client_id, tab_id)
    )
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            let h = response.headers_mut();
            h.insert(header::LOCATION, location);
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, must-revalidate, max-age=0"),
            );
            response
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_links_carry_the_client_and_the_tab() {
        assert_eq!(
            restart_query("my app", "t-1&x"),
            "client_id=my+app&tab_id=t-1%26x"
        );
    }
}
