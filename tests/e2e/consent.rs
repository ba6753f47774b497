//! User consent, as Keycloak 26 asks for it: the consent page of a client with
//! `consentRequired` after the password, none on a second login through SSO, again for a new
//! optional scope (with only that scope), `access_denied` for "No", `interaction_required` for
//! `prompt=none`, `prompt=consent`, offline tokens, and the admin API's listing and revocation
//! (which ends the client's sessions and offline tokens), on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::browser::{attribute, query_param};
use crate::harness::{Node, client, databases};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const APP: &str = "consent-app";
const SECRET: &str = "consent-secret";
const USERS: &str = "/admin/realms/master/users";

/// What the browser gets next: a page, or a redirect to the client.
enum Next {
    Page(String),
    Redirect(String),
}

impl Next {
    async fn of(response: reqwest::Response) -> Next {
        match response.status().as_u16() {
            200 => Next::Page(response.text().await.unwrap()),
            302 => Next::Redirect(response.headers()["location"].to_str().unwrap().to_owned()),
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }

    /// The consent page, or a panic naming what came instead.
    fn consent_page(self) -> String {
        match self {
            Next::Page(html) if html.contains("id=\"kc-oauth-form\"") => html,
            Next::Page(html) => panic!("not the consent page:\n{html}"),
            Next::Redirect(to) => panic!("no consent page, redirected to {to}"),
        }
    }

    /// The redirect to the client, or a panic naming what came instead.
    fn redirect(self) -> String {
        match self {
            Next::Redirect(to) => to,
            Next::Page(html) => panic!("expected a redirect, got a page:\n{html}"),
        }
    }
}

fn auth_url(node: &Node, scope: &str, extra: &[(&str, &str)]) -> String {
    auth_url_in(node, "master", scope, extra)
}

fn auth_url_in(node: &Node, realm: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", APP)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", scope)
        .extend_pairs(extra)
        .finish();
    node.url(&format!(
        "/realms/{realm}/protocol/openid-connect/auth?{query}"
    ))
}

/// Opens the authorization URL; signs in as alice with the form when it is shown.
async fn authorize(browser: &reqwest::Client, url: &str, password: Option<&str>) -> Next {
    let first = Next::of(browser.get(url).send().await.unwrap()).await;
    let (Next::Page(html), Some(password)) = (&first, password) else {
        return first;
    };
    let action = attribute(html, "id=\"kc-form-login\"", "action");
    let csrf = attribute(html, "name=\"csrf\"", "value");
    let response = browser
        .post(&action)
        .form(&[
            ("username", "alice"),
            ("password", password),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    Next::of(response).await
}

/// What the consent page lists, as the user reads it.
fn listed(html: &str) -> Vec<String> {
    let start = html.find("class=\"gh-scope-list\"").expect("scope list");
    let end = start + html[start..].find("</ul>").unwrap();
    html[start..end]
        .split("<li>")
        .skip(1)
        .map(|li| li.split("</li>").next().unwrap().trim().to_owned())
        .collect()
}

/// Presses "Yes" (or "No") on the consent page; returns the redirect to the client.
async fn answer(browser: &reqwest::Client, html: &str, yes: bool) -> String {
    let action = attribute(html, "id=\"kc-oauth-form\"", "action");
    assert!(action.contains("/login-actions/consent?"), "{action}");
    assert!(action.contains("tab_id="), "{action}");
    let csrf = attribute(html, "name=\"csrf\"", "value");
    let button = if yes {
        ("accept", "yes")
    } else {
        ("cancel", "no")
    };
    let response = browser
        .post(&action)
        .form(&[("csrf", csrf.as_str()), button])
        .send()
        .await
        .unwrap();
    Next::of(response).await.redirect()
}

async fn token_request(node: &Node, form: &[(&str, &str)]) -> (u16, Value) {
    token_request_in(node, "master", form).await
}

async fn token_request_in(node: &Node, realm: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = client()
        .post(node.url(&format!("/realms/{realm}/protocol/openid-connect/token")))
        .basic_auth(APP, Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The token request for the code of a redirect to the client: `(status, body)`.
async fn code_request(node: &Node, realm: &str, location: &str) -> (u16, Value) {
    assert!(location.starts_with(CALLBACK), "{location}");
    let code = query_param(location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    token_request_in(
        node,
        realm,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await
}

/// Exchanges the code of a redirect to the client for tokens (master realm).
async fn exchange(node: &Node, location: &str) -> Value {
    let (status, body) = code_request(node, "master", location).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(node: &Node, token: &Value) -> (u16, Value) {
    let token = token["refresh_token"].as_str().unwrap();
    token_request(
        node,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_page_grants_revocation_and_admin_api() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let db = db.name;

        let app = api
            .post(
                "/admin/realms/master/clients",
                &json!({"clientId": APP, "secret": SECRET, "redirectUris": [CALLBACK],
                        "consentRequired": true}),
            )
            .await
            .created_id();
        let alice = api
            .post(
                USERS,
                &json!({"username": "alice", "enabled": true,
                        "credentials": [{"type": "password", "value": "Alice-Pass-1",
                                         "temporary": false}]}),
            )
            .await
            .created_id();
        let consents = format!("{USERS}/{alice}/consents");
        assert_eq!(api.get(&consents).await.body, json!([]), "{db}");

        // First login: after the password, the consent page lists the client's default scopes
        // shown on the consent screen, by their consent texts.
        let browser = client();
        let page = authorize(
            &browser,
            &auth_url(&node, "openid", &[("state", "s1")]),
            Some("Alice-Pass-1"),
        )
        .await
        .consent_page();
        assert!(page.contains("Grant Access to consent-app"), "{db}: {page}");
        assert!(page.contains("Do you grant these access privileges?"));
        let mut shown = listed(&page);
        shown.sort();
        assert_eq!(
            shown,
            ["Email address", "User profile", "User roles"],
            "{db}"
        );
        let location = answer(&browser, &page, true).await;
        assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
        let online = exchange(&node, &location).await;
        assert_eq!(refresh(&node, &online).await.0, 200, "{db}");

        // A second login through the SSO cookies: no page, straight to the client.
        let location = authorize(&browser, &auth_url(&node, "openid", &[]), None)
            .await
            .redirect();
        exchange(&node, &location).await;
        // prompt=none works too once consent is given.
        let silent = authorize(
            &browser,
            &auth_url(&node, "openid", &[("prompt", "none")]),
            None,
        )
        .await
        .redirect();
        assert!(query_param(&silent, "code").is_some(), "{db}: {silent}");

        // A new optional scope asks again, for that scope only.
        let page = authorize(&browser, &auth_url(&node, "openid phone", &[]), None)
            .await
            .consent_page();
        assert_eq!(listed(&page), ["Phone number"], "{db}");
        exchange(&node, &answer(&browser, &page, true).await).await;

        // prompt=none with a scope not consented to: interaction_required, as Keycloak.
        let refused = authorize(
            &browser,
            &auth_url(
                &node,
                "openid address",
                &[("prompt", "none"), ("state", "s2")],
            ),
            None,
        )
        .await
        .redirect();
        assert!(refused.starts_with(CALLBACK), "{refused}");
        assert_eq!(
            query_param(&refused, "error").as_deref(),
            Some("interaction_required"),
            "{db}"
        );
        assert_eq!(query_param(&refused, "state").as_deref(), Some("s2"));
        assert!(query_param(&refused, "code").is_none());

        // "No": access_denied at the redirect URI, and nothing is recorded.
        let page = authorize(
            &browser,
            &auth_url(&node, "openid address", &[("state", "s3")]),
            None,
        )
        .await
        .consent_page();
        assert_eq!(listed(&page), ["Address"], "{db}");
        let denied = answer(&browser, &page, false).await;
        assert!(denied.starts_with(CALLBACK), "{denied}");
        assert_eq!(
            query_param(&denied, "error").as_deref(),
            Some("access_denied")
        );
        assert_eq!(query_param(&denied, "state").as_deref(), Some("s3"));
        assert!(query_param(&denied, "code").is_none());
        assert!(query_param(&denied, "error_description").is_none());
        // The page cannot be answered twice: the login it belonged to is over (with the SSO
        // cookies, Keycloak says the browser is already logged in).
        let csrf = attribute(&page, "name=\"csrf\"", "value");
        let again = browser
            .post(attribute(&page, "id=\"kc-oauth-form\"", "action"))
            .form(&[("csrf", csrf.as_str()), ("accept", "yes")])
            .send()
            .await
            .unwrap();
        assert!(again.headers().get("location").is_none(), "{db}");
        assert!(again.text().await.unwrap().contains("already logged in"));

        // prompt=consent shows everything again, though it was all given.
        let page = authorize(
            &browser,
            &auth_url(&node, "openid", &[("prompt", "consent")]),
            None,
        )
        .await
        .consent_page();
        assert_eq!(listed(&page).len(), 3, "{db}");
        exchange(&node, &answer(&browser, &page, true).await).await;

        // Offline access is a consent of its own ("Offline Access").
        let page = authorize(
            &browser,
            &auth_url(&node, "openid offline_access", &[]),
            None,
        )
        .await
        .consent_page();
        assert_eq!(listed(&page), ["Offline Access"], "{db}");
        let offline = exchange(&node, &answer(&browser, &page, true).await).await;
        assert_eq!(refresh(&node, &offline).await.0, 200, "{db}");

        // The admin API lists the consent with its scope names and the offline token.
        let list = api.get(&consents).await;
        assert_eq!(list.status, 200, "{db}");
        let entry = &list.body[0];
        assert_eq!(entry["clientId"], APP, "{db}: {}", list.body);
        assert_eq!(
            entry["grantedClientScopes"],
            json!(["email", "offline_access", "phone", "profile", "roles"]),
            "{db}"
        );
        let created = entry["createdDate"].as_i64().unwrap();
        assert!(entry["lastUpdatedDate"].as_i64().unwrap() >= created);
        assert!(created > 1_600_000_000_000, "epoch milliseconds: {created}");
        assert_eq!(
            entry["additionalGrants"],
            json!([{"client": app, "key": "Offline Token"}])
        );
        assert_eq!(list.body.as_array().unwrap().len(), 1);

        // Revoking it ends the client's tokens, online and offline, and the next login asks
        // again even through SSO.
        let revoked = api.delete(&format!("{consents}/{APP}")).await;
        assert_eq!(revoked.status, 204, "{db}: {:?}", revoked.body);
        assert_eq!(api.get(&consents).await.body, json!([]), "{db}");
        let r = refresh(&node, &offline).await;
        assert_eq!(r.0, 400, "{db}: {}", r.1);
        assert_eq!(refresh(&node, &online).await.0, 400, "{db}");
        let page = authorize(&browser, &auth_url(&node, "openid", &[]), None)
            .await
            .consent_page();
        assert_eq!(listed(&page).len(), 3, "{db}");
        // A code whose consent is revoked before the exchange gets no tokens.
        let location = answer(&browser, &page, true).await;
        let revoked = api.delete(&format!("{consents}/{APP}")).await;
        assert_eq!(revoked.status, 204, "{db}");
        let (status, body) = code_request(&node, "master", &location).await;
        assert_eq!(status, 400, "{db}: {body}");
        assert_eq!(body["error"], "invalid_scope");
        assert_eq!(
            body["error_description"],
            "Client no longer has requested consent from user"
        );

        // Nothing left to revoke; unknown clients and users.
        let r = api.delete(&format!("{consents}/{APP}")).await;
        assert_eq!(r.status, 404, "{db}");
        assert_eq!(r.body["error"], "Consent nor offline token not found");
        let r = api.delete(&format!("{consents}/no-such-client")).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "Client not found");
        let r = api.get(&format!("{USERS}/no-such-user/consents")).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "User not found");

        // An offline token of a client that asks no consent is listed on its own, and revoked
        // the same way.
        let res = client()
            .post(node.url("/realms/master/protocol/openid-connect/token"))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "alice"),
                ("password", "Alice-Pass-1"),
                ("scope", "offline_access"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{db}");
        let cli: Value = res.json().await.unwrap();
        let list = api.get(&consents).await.body;
        assert_eq!(list.as_array().unwrap().len(), 1, "{db}: {list}");
        assert_eq!(list[0]["clientId"], "admin-cli");
        assert_eq!(list[0]["grantedClientScopes"], json!([]));
        assert_eq!(list[0]["createdDate"], Value::Null);
        assert_eq!(list[0]["additionalGrants"][0]["key"], "Offline Token");
        assert_eq!(
            api.delete(&format!("{consents}/admin-cli")).await.status,
            204,
            "{db}"
        );
        let after = client()
            .post(node.url("/realms/master/protocol/openid-connect/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "admin-cli"),
                ("refresh_token", cli["refresh_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 400, "{db}");
        assert_eq!(api.get(&consents).await.body, json!([]));
        node.stop();
    }
}

/// Runs the binary to completion and asserts success; returns its output.
fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let (status, out, err) = crate::harness::run(dir, args, &[]);
    assert!(status.success(), "{args:?} failed: {out}{err}");
    format!("{out}{err}")
}

/// The `clientConsents` of `username` in an exported realm file.
fn consents_in(file: &std::path::Path, username: &str) -> Value {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("no {username} in the export"))["clientConsents"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn consents_move_with_realm_export_and_import() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let db_name = db.name;
        let shop = "/admin/realms/shop";
        assert_eq!(
            api.post("/admin/realms", &json!({"realm": "shop", "enabled": true}))
                .await
                .status,
            201
        );
        // The client is on its own consent screen, under a text of its own.
        api.post(
            &format!("{shop}/clients"),
            &json!({"clientId": APP, "secret": SECRET, "redirectUris": [CALLBACK],
                    "consentRequired": true,
                    "attributes": {"display.on.consent.screen": "true",
                                   "consent.screen.text": "The shop itself"}}),
        )
        .await
        .created_id();
        api.post(
            &format!("{shop}/users"),
            &json!({"username": "alice", "enabled": true,
                    "credentials": [{"type": "password", "value": "Alice-Pass-1",
                                     "temporary": false}]}),
        )
        .await
        .created_id();
        let browser = client();
        let page = authorize(
            &browser,
            &auth_url_in(&node, "shop", "openid phone", &[]),
            Some("Alice-Pass-1"),
        )
        .await
        .consent_page();
        assert!(
            listed(&page).contains(&"The shop itself".to_owned()),
            "{db_name}: {page}"
        );
        let location = answer(&browser, &page, true).await;
        let (status, body) = code_request(&node, "shop", &location).await;
        assert_eq!(status, 200, "{db_name}: {body}");
        node.stop();

        // Exported with the user, by scope name and the client's own clientId.
        let one = dir.path().join("one.json");
        let mut export = vec!["export", "--realm", "shop", "--file", one.to_str().unwrap()];
        export.extend(db.args.iter().map(String::as_str));
        ok(dir.path(), &export);
        let written = consents_in(&one, "alice");
        assert_eq!(written[0]["clientId"], APP, "{db_name}: {written}");
        assert_eq!(
            written[0]["grantedClientScopes"],
            json!([APP, "email", "phone", "profile", "roles"])
        );
        assert!(written[0]["createdDate"].as_i64().unwrap() > 1_600_000_000_000);

        // Imported elsewhere and exported again: the same consent.
        let second = tempfile::tempdir().unwrap();
        ok(second.path(), &["import", "--file", one.to_str().unwrap()]);
        let two = second.path().join("two.json");
        ok(
            second.path(),
            &["export", "--realm", "shop", "--file", two.to_str().unwrap()],
        );
        assert_eq!(consents_in(&two, "alice"), written, "{db_name}");

        // A consent naming a scope the file does not define imports nothing.
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&one).unwrap()).unwrap();
        for user in doc["users"].as_array_mut().unwrap() {
            if user["username"] == "alice" {
                user["clientConsents"][0]["grantedClientScopes"] = json!(["no-such-scope"]);
            }
        }
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, doc.to_string()).unwrap();
        let third = tempfile::tempdir().unwrap();
        let (status, out, err) = crate::harness::run(
            third.path(),
            &["import", "--file", bad.to_str().unwrap()],
            &[],
        );
        assert!(!status.success(), "{db_name}: {out}{err}");
        assert!(
            format!("{out}{err}").contains("'no-such-scope'"),
            "{out}{err}"
        );
    }
}
