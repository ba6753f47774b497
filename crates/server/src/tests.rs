//! Router tests without sockets: `app()` and `management_app()` driven with `oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use gatehouse_services::Services;
use gatehouse_store::{ConnectOptions, Store};
use tower::ServiceExt;

use crate::{AppState, Readiness, app, management_app};

async fn state(args: &[&str]) -> (AppState, gatehouse_config::Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let config = gatehouse_config::resolve(
        gatehouse_config::Mode::Dev,
        &args,
        &Default::default(),
        dir.path(),
    )
    .unwrap()
    .config;
    let store = Store::connect(&ConnectOptions {
        db: gatehouse_store::DbSettings::Sqlite {
            path: config.sqlite_path(),
        },
        pool_min: 0,
        pool_max: 2,
        application_name: "server-test".into(),
        connect_timeout: std::time::Duration::from_secs(5),
    })
    .await
    .unwrap();
    store
        .migrate(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let services = Services::new(store);
    services.ensure_master_realm().await.unwrap();
    let readiness = Readiness::default();
    readiness.set(true);
    (
        AppState::new(services, &config, readiness).unwrap(),
        config,
        dir,
    )
}

async fn body(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn from(peer: &str) -> MockConnectInfo<SocketAddr> {
    MockConnectInfo(peer.parse().unwrap())
}

#[tokio::test]
async fn a_remote_visitor_cannot_create_the_first_admin() {
    let (state, _config, _dir) = state(&[]).await;
    let router = app(state.clone()).layer(from("198.51.100.4:40000"));
    let page = router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = body(page).await;
    assert!(html.contains("local-access-required") && !html.contains("<form"));

    let post = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", "WELCOME_STATE_CHECKER=abc")
        .body(Body::from(
            "username=eve&password=pw&passwordConfirmation=pw&stateChecker=abc",
        ))
        .unwrap();
    let refused = router.oneshot(post).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(!state.services.master_has_users().await.unwrap());
}

#[tokio::test]
async fn a_local_visitor_with_the_state_cookie_creates_it() {
    let (state, _config, _dir) = state(&[]).await;
    let router = app(state.clone()).layer(from("127.0.0.1:40000"));
    let page = router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let post = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("WELCOME_STATE_CHECKER={value}"))
        .body(Body::from(format!(
            "username=alice&password=pw1&passwordConfirmation=pw1&stateChecker={value}"
        )))
        .unwrap();
    let created = router.oneshot(post).await.unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert!(state.services.master_has_users().await.unwrap());
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_the_handler() {
    let (state, _config, _dir) = state(&["--http-max-request-body-size", "64"]).await;
    let router = app(state.clone()).layer(from("127.0.0.1:40000"));
    let post = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("username={}", "a".repeat(200))))
        .unwrap();
    let refused = router.oneshot(post).await.unwrap();
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn readiness_follows_startup_and_shutdown() {
    let (state, config, _dir) =
        state(&["--health-enabled", "true", "--metrics-enabled", "true"]).await;
    let router = management_app(state.clone(), &config);
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let ready = router.clone().oneshot(get("/health/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body(ready).await).unwrap();
    assert_eq!(json["status"], "UP");

    state.readiness.set(false);
    let draining = router.clone().oneshot(get("/health/ready")).await.unwrap();
    assert_eq!(draining.status(), StatusCode::SERVICE_UNAVAILABLE);
    let live = router.clone().oneshot(get("/health/live")).await.unwrap();
    assert_eq!(live.status(), StatusCode::OK, "liveness ignores readiness");

    state.services.store().close().await;
    state.readiness.set(true);
    let no_db = router.clone().oneshot(get("/health/ready")).await.unwrap();
    assert_eq!(no_db.status(), StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_str(&body(no_db).await).unwrap();
    assert_eq!(json["checks"][0]["status"], "DOWN");
}

#[tokio::test]
async fn disabled_management_endpoints_do_not_exist() {
    let (state, config, _dir) = state(&[]).await;
    let router = management_app(state, &config);
    for path in ["/health", "/health/ready", "/metrics"] {
        let r = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn forwarded_requests_are_never_local_for_the_welcome_page() {
    for (mode, header, value) in [
        ("xforwarded", "x-forwarded-for", "127.0.0.1"),
        ("forwarded", "forwarded", "for=127.0.0.1"),
        ("xforwarded", "x-forwarded-proto", "https"),
    ] {
        let (state, _config, _dir) = state(&["--proxy-headers", mode]).await;
        let router = app(state.clone()).layer(from("127.0.0.1:40000"));
        let page = router
            .clone()
            .oneshot(
                Request::get("/")
                    .header(header, value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let html = body(page).await;
        assert!(
            html.contains("local-access-required") && !html.contains("<form"),
            "{mode} {header}"
        );
        let post = Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", "WELCOME_STATE_CHECKER=abc")
            .header(header, value)
            .body(Body::from(
                "username=eve&password=pw&passwordConfirmation=pw&stateChecker=abc",
            ))
            .unwrap();
        let refused = router.oneshot(post).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{mode} {header}");
        assert!(!state.services.master_has_users().await.unwrap());
    }
}

#[tokio::test]
async fn discovery_follows_a_trusted_proxy() {
    let discovery = "/realms/master/.well-known/openid-configuration";
    let issuer = |args: &'static [&'static str], peer: &'static str| async move {
        let (state, _config, _dir) = state(args).await;
        let response = app(state)
            .layer(from(peer))
            .oneshot(
                Request::get(discovery)
                    .header("host", "localhost:8080")
                    .header("x-forwarded-proto", "https")
                    .header("x-forwarded-host", "sso.example.com")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&body(response).await).unwrap();
        json["issuer"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        issuer(&["--proxy-headers", "xforwarded"], "127.0.0.1:1").await,
        "https://sso.example.com/realms/master"
    );
    assert_eq!(
        issuer(&[], "127.0.0.1:1").await,
        "http://localhost:8080/realms/master"
    );
    assert_eq!(
        issuer(
            &[
                "--proxy-headers",
                "xforwarded",
                "--proxy-trusted-addresses",
                "10.0.0.0/8"
            ],
            "127.0.0.1:1"
        )
        .await,
        "http://localhost:8080/realms/master"
    );
    // A bare --hostname takes the forwarded scheme and port.
    assert_eq!(
        issuer(
            &[
                "--proxy-headers",
                "xforwarded",
                "--hostname",
                "id.example.org"
            ],
            "10.1.2.3:1"
        )
        .await,
        "https://id.example.org/realms/master"
    );
}
