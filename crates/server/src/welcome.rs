//! The welcome page at the root (or at `http-relative-path`): the way to create the first admin
//! when no bootstrap-admin options were given.
//!
//! As in Keycloak, only a request made from the machine itself may create that user: the page is
//! reachable from anywhere, and whoever creates the first admin owns the server. "From the
//! machine itself" means a loopback peer and no forwarding headers, since a proxy on the same
//! host would otherwise make every remote visitor look local. That holds with `--proxy-headers`
//! too: Keycloak's check lets a trusted `Forwarded: for=127.0.0.1` through (it looks only for
//! `X-Forwarded-For`); here any forwarding header makes the request remote.

use std::net::SocketAddr;

use axum::Extension;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use gatehouse_services::{AdminCreated, RequestCtx, ServiceError};
use minijinja::{Environment, context};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;

/// The CSRF cookie, named as Keycloak names it.
const STATE_COOKIE: &str = "WELCOME_STATE_CHECKER";

/// The form the page posts.
#[derive(Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "passwordConfirmation")]
    password_confirmation: String,
    #[serde(default, rename = "stateChecker")]
    state_checker: String,
}

/// `GET /`: the page, with the creation form when no user exists and the request is local.
pub async fn page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
) -> Response {
    match state.services.master_has_users().await {
        Ok(has_users) => render(
            &state,
            is_local(&peer, &ctx, &headers),
            has_users,
            None,
            StatusCode::OK,
        ),
        Err(e) => unavailable(e),
    }
}

/// `POST /`: creates the first admin.
pub async fn create_admin(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(ctx): Extension<RequestCtx>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let local = is_local(&peer, &ctx, &headers);
    let has_users = match state.services.master_has_users().await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    if !local {
        tracing::warn!(peer = %peer.ip(), client = %ctx.client_ip, "refused to create the first admin from a non-local address");
        return render(&state, false, has_users, None, StatusCode::FORBIDDEN);
    }
    if !state_matches(&headers, &form.state_checker) {
        return render(
            &state,
            local,
            has_users,
            Some((
                "error",
                "Invalid form: please reload the page and try again.",
            )),
            StatusCode::BAD_REQUEST,
        );
    }
    if has_users {
        return render(
            &state,
            local,
            true,
            Some(("error", "An administrative user exists already.")),
            StatusCode::CONFLICT,
        );
    }
    let invalid = if form.username.trim().is_empty() {
        Some("Username is missing.")
    } else if form.password.is_empty() {
        Some("Password is missing.")
    } else if form.password != form.password_confirmation {
        Some("Password and confirmation don't match.")
    } else {
        None
    };
    if let Some(msg) = invalid {
        return render(
            &state,
            local,
            false,
            Some(("error", msg)),
            StatusCode::BAD_REQUEST,
        );
    }
    match state
        .services
        .create_master_admin(&form.username, &form.password)
        .await
    {
        Ok(AdminCreated::Created { .. }) => render(
            &state,
            local,
            true,
            Some(("success", "User created.")),
            StatusCode::OK,
        ),
        Ok(AdminCreated::AlreadyExists) => render(
            &state,
            local,
            true,
            Some(("error", "An administrative user exists already.")),
            StatusCode::CONFLICT,
        ),
        Err(ServiceError::Invalid(msg)) => render(
            &state,
            local,
            false,
            Some(("error", &msg)),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => unavailable(e),
    }
}

/// `GET /` when the server lives under a relative path: Keycloak redirects there.
pub async fn redirect_to(target: String) -> Redirect {
    Redirect::to(&target)
}

/// Both the TCP peer and the resolved client are loopback, and no proxy header is present
/// (read or not: a proxy on this host that is not configured as one still adds them).
fn is_local(peer: &SocketAddr, ctx: &RequestCtx, headers: &HeaderMap) -> bool {
    let forwarded = [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-forwarded-ssl",
        "x-real-ip",
    ]
    .iter()
    .any(|h| headers.contains_key(*h));
    peer.ip().to_canonical().is_loopback() && ctx.client_ip.is_loopback() && !forwarded
}

fn state_matches(headers: &HeaderMap, submitted: &str) -> bool {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == STATE_COOKIE)
        .map(|(_, v)| v.to_owned());
    match cookie {
        Some(expected) if !expected.is_empty() && !submitted.is_empty() => {
            expected.as_bytes().ct_eq(submitted.as_bytes()).into()
        }
        _ => false,
    }
}

fn render(
    state: &AppState,
    local: bool,
    has_users: bool,
    message: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    let show_form = local && !has_users;
    let checker = show_form.then(new_state_checker);
    let action = if state.relative_path.is_empty() {
        "/".to_owned()
    } else {
        format!("{}/", state.relative_path)
    };
    let html = template().get_template("welcome.html").and_then(|t| {
        t.render(context! {
            show_form,
            local_required => !local && !has_users,
            message => message.map(|(_, m)| m),
            message_kind => message.map(|(k, _)| k),
            state_checker => checker.as_deref().unwrap_or(""),
            action => &action,
            console_url => format!("{}/admin/", state.relative_path),
            node => &*state.node_name,
        })
    });
    let html = match html {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "welcome page template failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    if let Some(value) = checker {
        let cookie = format!("{STATE_COOKIE}={value}; Path={action}; HttpOnly; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, v);
        }
    }
    response
}

fn new_state_checker() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn template() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A template embedded at build time cannot fail to parse at run time unless it is
        // broken, which the unit tests catch.
        if let Err(e) = env.add_template("welcome.html", include_str!("templates/welcome.html")) {
            tracing::error!(error = %e, "welcome template does not parse");
        }
        env
    })
}

fn unavailable(e: ServiceError) -> Response {
    tracing::error!(error = %e, "welcome page: services failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The server cannot reach its database; try again shortly.",
    )
        .into_response()
}
