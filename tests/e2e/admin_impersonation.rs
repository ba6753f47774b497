//! Impersonation through the admin API, as Keycloak 26 does it: the answer is a one-minute,
//! single-use link; the browser that follows it is signed in as the user and single sign-on
//! then carries that user into the realm's applications.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Node, client};

const CALLBACK: &str = "https://app.example/callback";

#[tokio::test(flavor = "multi_thread")]
async fn impersonation_signs_a_browser_in_as_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN_ENV);
    let api = AdminApi::master(&node).await;
    assert_eq!(
        api.post("/admin/realms", &json!({"realm": "imp", "enabled": true}))
            .await
            .status,
        201
    );
    let victor = api
        .post(
            "/admin/realms/imp/users",
            &json!({"username": "victor", "enabled": true}),
        )
        .await
        .created_id();
    let app = api
        .post(
            "/admin/realms/imp/clients",
            &json!({"clientId": "app", "secret": "app-secret", "redirectUris": [CALLBACK],
                    "serviceAccountsEnabled": true}),
        )
        .await
        .created_id();

    let started = api
        .post(
            &format!("/admin/realms/imp/users/{victor}/impersonation"),
            &json!({}),
        )
        .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    assert_eq!(started.body["sameRealm"], false);
    let link = started.body["redirect"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&node.url("/realms/imp/login-actions/action-token?key=")),
        "{link}"
    );

    // The administrator's browser follows the link and becomes victor.
    let browser = client();
    let page = browser.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("KEYCLOAK_IDENTITY=")),
        "{cookies:?}"
    );
    let text = page.text().await.unwrap();
    assert!(text.contains("victor") && text.contains("admin"), "{text}");

    // Single sign-on: the realm's application gets victor without a password.
    let auth = browser
        .get(node.url("/realms/imp/protocol/openid-connect/auth"))
        .query(&[
            ("client_id", "app"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("prompt", "none"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(auth.status(), 302);
    let location = auth.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {location}"))
        .to_owned();
    let tokens: Value = client()
        .post(node.url("/realms/imp/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
            ("redirect_uri", CALLBACK),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = {
        use base64::Engine;
        let part = id_token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["sub"], victor.as_str(), "{claims}");
    let sessions = api
        .get(&format!("/admin/realms/imp/users/{victor}/sessions"))
        .await;
    assert_eq!(sessions.body.as_array().unwrap().len(), 1, "{tokens}");

    // The link is single use.
    let again = client().get(&link).send().await.unwrap();
    assert_eq!(again.status(), 400);

    // What cannot be impersonated, and who cannot impersonate.
    let account = api
        .get(&format!(
            "/admin/realms/imp/clients/{app}/service-account-user"
        ))
        .await;
    let sa = account.body["id"].as_str().unwrap();
    let refused = api
        .post(
            &format!("/admin/realms/imp/users/{sa}/impersonation"),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body["errorMessage"],
        "Service accounts cannot be impersonated"
    );
    api.put(
        &format!("/admin/realms/imp/users/{victor}"),
        &json!({"enabled": false}),
    )
    .await;
    let refused = api
        .post(
            &format!("/admin/realms/imp/users/{victor}/impersonation"),
            &json!({}),
        )
        .await;
    assert_eq!(refused.body["errorMessage"], "User is disabled");
    let missing = api
        .post("/admin/realms/imp/users/nobody/impersonation", &json!({}))
        .await;
    assert_eq!(missing.status, 404);
    // An administrator impersonating someone of their own realm stops being themselves: their
    // session ends, and with it the token they called with.
    let ivy = api
        .post(
            "/admin/realms/master/users",
            &json!({"username": "ivy", "enabled": true}),
        )
        .await
        .created_id();
    let own = api
        .post(
            &format!("/admin/realms/master/users/{ivy}/impersonation"),
            &json!({}),
        )
        .await;
    assert_eq!(own.body["sameRealm"], true, "{:?}", own.body);
    assert_eq!(api.get("/admin/realms/master").await.status, 401);
    let anonymous = AdminApi::anonymous(&node)
        .post(
            &format!("/admin/realms/imp/users/{victor}/impersonation"),
            &json!({}),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    node.stop();

    // With the feature off, the endpoint refuses.
    let node = Node::start(
        dir.path(),
        &[
            "start-dev",
            "--http-port",
            "0",
            "--features-disabled",
            "impersonation",
        ],
        &ADMIN_ENV,
    );
    let api = AdminApi::master(&node).await;
    let users = api.get("/admin/realms/master/users?username=admin").await;
    let admin_id = users.body[0]["id"].as_str().unwrap().to_owned();
    let off = api
        .post(
            &format!("/admin/realms/master/users/{admin_id}/impersonation"),
            &json!({}),
        )
        .await;
    assert_eq!(off.status, 400, "{:?}", off.body);
    assert_eq!(off.body["errorMessage"], "Feature not enabled");
    node.stop();
}
