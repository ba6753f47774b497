//! `--proxy-headers` and `--proxy-trusted-addresses` against the real binary: the test plays a
//! TLS-terminating proxy on loopback that sends `X-Forwarded-*` or `Forwarded` headers, and
//! checks what the server prints (discovery, the login form, cookies) and what it judges by the
//! client's address (`sslRequired`, the session's address), and that an untrusted peer or a
//! server without the option gets none of it.

use serde_json::Value;

use crate::harness::{Db, Node, client, register_client};
use crate::oauth;

const ADMIN: [(&str, &str); 2] = [
    ("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
    ("KC_BOOTSTRAP_ADMIN_PASSWORD", "Admin-Pass-1"),
];

const CALLBACK: &str = "https://app.example.com/callback";

const DISCOVERY: &str = "/realms/master/.well-known/openid-configuration";
const TOKEN: &str = "/realms/master/protocol/openid-connect/token";
const AUTH: &str = "/realms/master/protocol/openid-connect/auth";

/// What a proxy for a client at `client_ip` that reached it over `proto` sends, in `mode`.
fn proxy_headers(mode: &str, proto: &str, client_ip: &str) -> Vec<(&'static str, String)> {
    match mode {
        "xforwarded" => vec![
            ("x-forwarded-for", format!("{client_ip}, 10.9.9.9")),
            ("x-forwarded-proto", proto.to_owned()),
            ("x-forwarded-host", "sso.example.com".to_owned()),
        ],
        _ => vec![(
            "forwarded",
            format!("for={client_ip};proto={proto};host=sso.example.com, for=10.9.9.9"),
        )],
    }
}

fn with(
    mut request: reqwest::RequestBuilder,
    headers: &[(&'static str, String)],
) -> reqwest::RequestBuilder {
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
}

async fn discovery(node: &Node, headers: &[(&'static str, String)]) -> Value {
    with(client().get(node.url(DISCOVERY)), headers)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `(status, body)` of the admin's password grant.
async fn password_grant(node: &Node, headers: &[(&'static str, String)]) -> (u16, Value) {
    let form = [
        &[("client_id", "admin-cli")][..],
        &oauth::password_grant("admin", "Admin-Pass-1"),
    ]
    .concat();
    oauth::status_and_body(with(client().post(node.url(TOKEN)), headers).form(&form)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxy_decides_urls_scheme_and_client_address() {
    for mode in ["xforwarded", "forwarded"] {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::start(
            dir.path(),
            &["start-dev", "--http-port", "0", "--proxy-headers", mode],
            &ADMIN,
        );
        register_client(&Db::sqlite(), dir.path(), "webapp", |app| {
            app.secret = Some("webapp-secret".into());
            app.redirect_uris = vec![CALLBACK.into()];
        })
        .await;
        let https = proxy_headers(mode, "https", "203.0.113.9");
        let http = proxy_headers(mode, "http", "203.0.113.9");

        // The proxy terminates TLS for sso.example.com: the server prints its URLs.
        let doc = discovery(&node, &https).await;
        assert_eq!(
            doc["issuer"], "https://sso.example.com/realms/master",
            "{mode}"
        );
        assert_eq!(
            doc["token_endpoint"],
            "https://sso.example.com/realms/master/protocol/openid-connect/token",
            "{mode}"
        );
        let plain = discovery(&node, &[]).await;
        assert_eq!(
            plain["issuer"],
            node.url("/realms/master"),
            "{mode}: no headers, the request's own URL"
        );

        // sslRequired=external (the default) judges the forwarded client and scheme: a remote
        // client that reached the proxy over plain HTTP is refused, over HTTPS it is served.
        let (status, body) = password_grant(&node, &http).await;
        assert_eq!(status, 403, "{mode}: {body}");
        assert_eq!(body["error_description"], "HTTPS required", "{mode}");
        let (status, body) = password_grant(&node, &https).await;
        assert_eq!(status, 200, "{mode}: {body}");
        let access = body["access_token"].as_str().unwrap().to_owned();
        // A loopback client through the proxy over HTTP is local, as it is without a proxy.
        let (status, body) = password_grant(&node, &proxy_headers(mode, "http", "127.0.0.1")).await;
        assert_eq!(status, 200, "{mode}: {body}");

        // The session records the client's address, not the proxy's.
        let admin = |path: &str| with(client().get(node.url(path)), &https).bearer_auth(&access);
        let users: Value = admin("/admin/realms/master/users?username=admin&exact=true")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = users[0]["id"].as_str().expect("admin user").to_owned();
        let sessions: Value = admin(&format!("/admin/realms/master/users/{id}/sessions"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let addresses: Vec<&str> = sessions
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["ipAddress"].as_str())
            .collect();
        assert!(addresses.contains(&"203.0.113.9"), "{mode}: {sessions}");
        assert!(!addresses.contains(&"10.9.9.9"), "{mode}: {sessions}");

        // The login form posts to the public URL, and its cookies are Secure.
        let page = with(client().get(node.url(AUTH)), &https)
            .query(&[
                ("client_id", "webapp"),
                ("response_type", "code"),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{mode}");
        let cookies: Vec<String> = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let session_cookie = cookies
            .iter()
            .find(|c| c.starts_with("AUTH_SESSION_ID="))
            .unwrap_or_else(|| panic!("{mode}: {cookies:?}"));
        assert!(
            session_cookie.contains("Secure"),
            "{mode}: {session_cookie}"
        );
        let html = page.text().await.unwrap().replace("&#x2f;", "/");
        assert!(
            html.contains("action=\"https://sso.example.com/realms/master/login-actions/"),
            "{mode}: {html}"
        );
        assert!(!node.log().contains("Ignoring proxy headers"), "{mode}");
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_peer_is_ignored_and_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "start-dev",
            "--http-port",
            "0",
            "--proxy-headers",
            "xforwarded",
            "--proxy-trusted-addresses",
            "10.0.0.0/8",
        ],
        &ADMIN,
    );
    let https = proxy_headers("xforwarded", "https", "203.0.113.9");
    let http = proxy_headers("xforwarded", "http", "203.0.113.9");
    for _ in 0..3 {
        let doc = discovery(&node, &https).await;
        assert_eq!(doc["issuer"], node.url("/realms/master"));
    }
    // The forged remote address does not count: the loopback peer is local to sslRequired.
    let (status, body) = password_grant(&node, &http).await;
    assert_eq!(status, 200, "{body}");
    let log = node.stop();
    assert_eq!(
        log.matches("Ignoring proxy headers from 127.0.0.1").count(),
        1,
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_proxy_headers_forwarding_headers_mean_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    for mode in ["xforwarded", "forwarded"] {
        let https = proxy_headers(mode, "https", "203.0.113.9");
        let doc = discovery(&node, &https).await;
        assert_eq!(doc["issuer"], node.url("/realms/master"), "{mode}");
        let (status, body) =
            password_grant(&node, &proxy_headers(mode, "http", "203.0.113.9")).await;
        assert_eq!(status, 200, "{mode}: {body}");
    }
    let log = node.stop();
    assert!(!log.contains("Ignoring proxy headers"), "{log}");
}
