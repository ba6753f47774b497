//! More of Keycloak 26's OpenID Connect behaviour against the real binary, on SQLite and
//! PostgreSQL: a login restarted from `KC_RESTART` after its page expired and
//! `login-actions/restart`; the token context in access token ids (`onrtac:`, ...); the
//! `session_state` claim only through its mapper; introspection only for clients in a token's
//! audience.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Db, Node, client, databases};
use crate::oauth::{claims, code_grant, password_grant, post_form, refresh_grant};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
/// A PKCE verifier sent as `plain`, so the test needs no hashing of its own.
const VERIFIER: &str = "restart-verifier-0123456789-abcdefghijklmnopqrstuv";
const TIMED_OUT: &str = "Your login attempt timed out. Login will start from the beginning.";

fn start(db: &Db, dir: &Path) -> Node {
    let mut args = vec!["start-dev", "--http-port", "0"];
    args.extend(db.args.iter().map(String::as_str));
    Node::start(dir, &args, &ADMIN_ENV)
}

/// Creates a client through the admin API; returns its internal id.
async fn create_client(admin: &AdminApi, rep: Value) -> String {
    admin
        .post("/admin/realms/master/clients", &rep)
        .await
        .created_id()
}

/// Adds a protocol mapper to the client `client_id` through the admin API (also used by
/// `oidc.rs`, whose introspecting client must be in its tokens' audience).
pub async fn add_client_mapper(node: &Node, client_id: &str, mapper: Value) {
    let admin = AdminApi::master(node).await;
    let found = admin
        .get(&format!(
            "/admin/realms/master/clients?clientId={client_id}"
        ))
        .await;
    let id = found.body[0]["id"].as_str().expect("client").to_owned();
    let created = admin
        .post(
            &format!("/admin/realms/master/clients/{id}/protocol-mappers/models"),
            &mapper,
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
}

/// An audience mapper putting `audience` in access tokens and introspection answers.
pub fn audience_mapper(audience: &str) -> Value {
    json!({
        "name": format!("audience {audience}"),
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {
            "included.client.audience": audience,
            "access.token.claim": "true",
            "introspection.token.claim": "true",
        },
    })
}

async fn set_login_lifespan(admin: &AdminApi, seconds: i64) {
    let r = admin
        .put(
            "/admin/realms/master",
            &json!({"accessCodeLifespanLogin": seconds}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
}

/// The context part of an access token's `jti` (`onrtac`), or the whole id when it has none.
fn context(token: &str) -> String {
    let jti = claims(token)["jti"].as_str().unwrap().to_owned();
    jti.split_once(':')
        .map_or(jti.clone(), |(c, _)| c.to_owned())
}

fn is_uuid(id: &Value) -> bool {
    let id = id.as_str().unwrap_or_default();
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4 && !id.contains(':')
}

/// The login form's action and CSRF value.
fn login_form(html: &str) -> (String, String) {
    (
        attribute(html, "id=\"kc-form-login\"", "action"),
        attribute(html, "name=\"csrf\"", "value"),
    )
}

/// The value of `attr` on the first tag containing `marker`.
fn attribute(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page:\n{html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let from = tag.find(&key).unwrap() + key.len();
    tag[from..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn fragment_param(url: &str, name: &str) -> Option<String> {
    let fragment = url.split_once('#')?.1;
    form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn auth_url(node: &Node, client_id: &str, state: &str) -> String {
    node.url(&format!(
        "/realms/master/protocol/openid-connect/auth?client_id={client_id}&response_type=code\
         &scope=openid&redirect_uri={}&state={state}&nonce=n-{state}\
         &code_challenge={VERIFIER}&code_challenge_method=plain",
        form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_login_page_restarts_from_kc_restart() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let node = start(&db, dir.path());
        let admin = AdminApi::master(&node).await;
        create_client(
            &admin,
            json!({"clientId": "webapp", "secret": "webapp-secret", "publicClient": false,
                   "redirectUris": [CALLBACK], "standardFlowEnabled": true}),
        )
        .await;
        create_client(
            &admin,
            json!({"clientId": "spa", "publicClient": true, "implicitFlowEnabled": true,
                   "redirectUris": [CALLBACK]}),
        )
        .await;
        // The login page opened now lives 2 seconds; the one it restarts into the usual time.
        set_login_lifespan(&admin, 2).await;
        let browser = client();
        let page = browser
            .get(auth_url(&node, "webapp", "st-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{}", db.name);
        let restart_cookie = set_cookies(&page)
            .into_iter()
            .find(|c| c.starts_with("KC_RESTART="))
            .expect("the login page sets KC_RESTART");
        assert!(
            restart_cookie.contains("HttpOnly") && restart_cookie.contains("Path=/realms/master/"),
            "{restart_cookie}"
        );
        let restart_value = restart_cookie["KC_RESTART=".len()..]
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let (action, csrf) = login_form(&page.text().await.unwrap());
        let old_tab = query_param(&action, "tab_id").unwrap();
        set_login_lifespan(&admin, 1800).await;
        tokio::time::sleep(Duration::from_millis(3100)).await;

        // The expired form is posted: the login starts again from the cookie, in a new tab.
        let restarted = browser
            .post(&action)
            .form(&[
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(restarted.status(), 302, "{}", db.name);
        let to = location(&restarted);
        assert!(
            to.starts_with(&node.url("/realms/master/login-actions/authenticate?")),
            "{to}"
        );
        assert_eq!(query_param(&to, "client_id").as_deref(), Some("webapp"));
        let new_tab = query_param(&to, "tab_id").unwrap();
        assert_ne!(new_tab, old_tab);
        let form = browser.get(&to).send().await.unwrap();
        assert_eq!(form.status(), 200);
        let html = form.text().await.unwrap();
        assert!(html.contains(TIMED_OUT), "{html}");
        // Said once: a reload shows the form without it.
        let again = browser.get(&to).send().await.unwrap().text().await.unwrap();
        assert!(!again.contains(TIMED_OUT));

        // The restarted login finishes the original request: its state, nonce and PKCE
        // challenge came back from the cookie. KC_RESTART is expired with it.
        let (action, csrf) = login_form(&again);
        let done = browser
            .post(&action)
            .form(&[
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 302);
        assert!(
            set_cookies(&done)
                .iter()
                .any(|c| c.starts_with("KC_RESTART=;") && c.contains("Max-Age=0")),
            "{:?}",
            set_cookies(&done)
        );
        let callback = location(&done);
        assert!(callback.starts_with(CALLBACK), "{callback}");
        assert_eq!(query_param(&callback, "state").as_deref(), Some("st-1"));
        let code = query_param(&callback, "code").unwrap();
        let (s, tokens) = post_form(
            &node.url("/realms/master/protocol/openid-connect/token"),
            Some(("webapp", "webapp-secret")),
            &[
                &code_grant(&code, CALLBACK)[..],
                &[("code_verifier", VERIFIER)],
            ]
            .concat(),
        )
        .await;
        assert_eq!(s, 200, "{tokens}");
        assert_eq!(
            claims(tokens["id_token"].as_str().unwrap())["nonce"],
            "n-st-1"
        );
        assert_eq!(context(tokens["access_token"].as_str().unwrap()), "onrtac");

        // Signed in now: a login-actions URL with no session says so.
        let signed_in = browser
            .get(node.url("/realms/master/login-actions/authenticate?client_id=webapp&tab_id=gone"))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 200);
        assert!(
            signed_in
                .text()
                .await
                .unwrap()
                .contains("You are already logged in.")
        );
        // The SSO session serves an implicit client without a form: its access token's id
        // names no grant (`na`), as Keycloak records none for the authorization endpoint.
        let implicit = browser
            .get(node.url(&format!(
                "/realms/master/protocol/openid-connect/auth?client_id=spa\
                 &response_type=id_token%20token&scope=openid&nonce=n-spa&redirect_uri={}",
                form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(implicit.status(), 302);
        let fragment = location(&implicit);
        let access = fragment_param(&fragment, "access_token").expect("access token");
        assert_eq!(context(&access), "onrtna");
        assert!(is_uuid(
            &claims(&fragment_param(&fragment, "id_token").unwrap())["jti"]
        ));

        // No session and no KC_RESTART: Keycloak's "Cookie not found".
        let login_action =
            node.url("/realms/master/login-actions/authenticate?client_id=webapp&tab_id=gone");
        let bare = client().post(&login_action).send().await.unwrap();
        assert_eq!(bare.status(), 400);
        assert!(bare.text().await.unwrap().contains("Cookie not found."));
        // A forged cookie, or one for another client than the URL's: no restart.
        for (cookie, client_id) in [
            ("KC_RESTART=forged.token.value".to_owned(), "webapp"),
            (format!("KC_RESTART={restart_value}"), "spa"),
        ] {
            let r = reqwest::Client::new()
                .get(node.url(&format!(
                    "/realms/master/login-actions/authenticate?client_id={client_id}&tab_id=x"
                )))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400);
            assert!(
                r.text()
                    .await
                    .unwrap()
                    .contains("An error occurred, please login again through your application.")
            );
        }
        // The same cookie for its own client restarts a login in a browser that has nothing
        // else: a new root session, cookie and all.
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(node.url("/realms/master/login-actions/authenticate?client_id=webapp&tab_id=x"))
            .header("cookie", format!("KC_RESTART={restart_value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        assert!(
            set_cookies(&r)
                .iter()
                .any(|c| c.starts_with("AUTH_SESSION_ID="))
        );
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_actions_restart_goes_back_to_the_first_step() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let node = start(&db, dir.path());
        let admin = AdminApi::master(&node).await;
        create_client(
            &admin,
            json!({"clientId": "webapp", "secret": "webapp-secret", "publicClient": false,
                   "redirectUris": [CALLBACK]}),
        )
        .await;
        let carol = admin
            .post(
                "/admin/realms/master/users",
                &json!({"username": "carol", "enabled": true,
                        "credentials": [{"type": "password", "value": "Carol-Pass-1",
                                         "temporary": true}]}),
            )
            .await;
        assert_eq!(carol.status, 201, "{:?}", carol.body);
        let browser = client();
        let html = browser
            .get(auth_url(&node, "webapp", "st-2"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (action, csrf) = login_form(&html);
        let tab = query_param(&action, "tab_id").unwrap();
        let update = browser
            .post(&action)
            .form(&[
                ("username", "carol"),
                ("password", "Carol-Pass-1"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(update.status(), 200);
        assert!(
            update
                .text()
                .await
                .unwrap()
                .contains("kc-passwd-update-form"),
            "{}",
            db.name
        );

        // "Restart login": the same tab, back at the username and password.
        let restart = browser
            .get(node.url(&format!(
                "/realms/master/login-actions/restart?client_id=webapp&tab_id={tab}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(restart.status(), 302);
        let to = location(&restart);
        assert_eq!(
            to,
            node.url(&format!(
                "/realms/master/login-actions/authenticate?client_id=webapp&tab_id={tab}"
            ))
        );
        let form = browser.get(&to).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("kc-form-login") && !form.contains(TIMED_OUT));
        // The update-password step is gone with the identified user.
        let step = browser
            .get(node.url(&format!(
                "/realms/master/login-actions/required-action?execution=UPDATE_PASSWORD\
                 &client_id=webapp&tab_id={tab}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(step.status(), 400);
        // The login goes on from the start.
        let (action, csrf) = login_form(&form);
        let again = browser
            .post(&action)
            .form(&[
                ("username", "carol"),
                ("password", "Carol-Pass-1"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            again
                .text()
                .await
                .unwrap()
                .contains("kc-passwd-update-form")
        );
        // A browser with no session and no KC_RESTART cannot restart anything.
        let bare = client()
            .get(node.url(&format!(
                "/realms/master/login-actions/restart?client_id=webapp&tab_id={tab}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), 400);
        assert!(bare.text().await.unwrap().contains("Cookie not found."));
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_ids_name_their_grant_and_session_state_needs_its_mapper() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let node = start(&db, dir.path());
        let admin = AdminApi::master(&node).await;
        create_client(
            &admin,
            json!({"clientId": "backend", "secret": "backend-secret", "publicClient": false,
                   "serviceAccountsEnabled": true, "directAccessGrantsEnabled": true}),
        )
        .await;
        let token_url = node.url("/realms/master/protocol/openid-connect/token");
        let creds = Some(("backend", "backend-secret"));
        let password = |scope: &'static str| {
            let url = token_url.clone();
            async move {
                let (s, body) = post_form(
                    &url,
                    creds,
                    &[
                        &password_grant("admin", "Admin-Pass-1")[..],
                        &[("scope", scope)],
                    ]
                    .concat(),
                )
                .await;
                assert_eq!(s, 200, "{body}");
                body
            }
        };
        let refresh = |token: String| {
            let url = token_url.clone();
            async move {
                let (s, body) = post_form(&url, creds, &refresh_grant(&token)).await;
                assert_eq!(s, 200, "{body}");
                body
            }
        };

        // The access token's id names session, token type and grant; the others are UUIDs.
        let online = password("openid").await;
        let access = online["access_token"].as_str().unwrap();
        assert_eq!(context(access), "onrtro", "{}", db.name);
        assert!(is_uuid(
            &claims(online["id_token"].as_str().unwrap())["jti"]
        ));
        assert!(is_uuid(
            &claims(online["refresh_token"].as_str().unwrap())["jti"]
        ));
        let refreshed = refresh(online["refresh_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(
            context(refreshed["access_token"].as_str().unwrap()),
            "onrtrt"
        );
        let offline = password("openid offline_access").await;
        assert_eq!(context(offline["access_token"].as_str().unwrap()), "ofrtro");
        let offline_refreshed =
            refresh(offline["refresh_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(
            context(offline_refreshed["access_token"].as_str().unwrap()),
            "ofrtrt"
        );
        let (s, cc) = post_form(&token_url, creds, &[("grant_type", "client_credentials")]).await;
        assert_eq!(s, 200, "{cc}");
        assert_eq!(context(cc["access_token"].as_str().unwrap()), "trrtcc");

        // `session_state`: in the token response, in no token; `sid` carries the session.
        let access_claims = claims(access);
        let id_claims = claims(online["id_token"].as_str().unwrap());
        assert_eq!(online["session_state"], access_claims["sid"]);
        assert_eq!(id_claims["sid"], access_claims["sid"]);
        assert!(
            access_claims.get("session_state").is_none()
                && id_claims.get("session_state").is_none()
        );

        // The "Session State (session_state)" mapper puts it back where it is configured.
        let info = admin.get("/admin/serverinfo").await;
        let types = info.body["protocolMapperTypes"]["openid-connect"]
            .as_array()
            .unwrap();
        let mapper_type = types
            .iter()
            .find(|t| t["id"] == "oidc-session-state-mapper")
            .expect("the mapper type is offered");
        assert_eq!(mapper_type["name"], "Session State (session_state)");
        add_client_mapper(
            &node,
            "backend",
            json!({
                "name": "session state",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-session-state-mapper",
                "config": {
                    "access.token.claim": "true",
                    "id.token.claim": "true",
                    "userinfo.token.claim": "true",
                    "introspection.token.claim": "false",
                },
            }),
        )
        .await;
        let mapped = password("openid").await;
        let sid = claims(mapped["access_token"].as_str().unwrap())["sid"].clone();
        assert_eq!(
            claims(mapped["access_token"].as_str().unwrap())["session_state"],
            sid
        );
        assert_eq!(
            claims(mapped["id_token"].as_str().unwrap())["session_state"],
            sid
        );
        let userinfo: Value = client()
            .get(node.url("/realms/master/protocol/openid-connect/userinfo"))
            .bearer_auth(mapped["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["session_state"], sid);
        // A service account's token has no session to name.
        let (_, cc) = post_form(&token_url, creds, &[("grant_type", "client_credentials")]).await;
        assert!(
            claims(cc["access_token"].as_str().unwrap())
                .get("session_state")
                .is_none()
        );
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_answers_only_clients_in_the_audience() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let node = start(&db, dir.path());
        let admin = AdminApi::master(&node).await;
        for (client_id, secret) in [("web", "web-secret"), ("api", "api-secret")] {
            create_client(
                &admin,
                json!({"clientId": client_id, "secret": secret, "publicClient": false,
                       "directAccessGrantsEnabled": true}),
            )
            .await;
        }
        let other = create_client(
            &admin,
            json!({"clientId": "other", "secret": "other-secret", "publicClient": false}),
        )
        .await;
        // `web`'s tokens are for `api`.
        add_client_mapper(&node, "web", audience_mapper("api")).await;
        let token_url = node.url("/realms/master/protocol/openid-connect/token");
        let introspect = node.url("/realms/master/protocol/openid-connect/token/introspect");
        let (s, tokens) = post_form(
            &token_url,
            Some(("web", "web-secret")),
            &[
                &password_grant("admin", "Admin-Pass-1")[..],
                &[("scope", "openid")],
            ]
            .concat(),
        )
        .await;
        assert_eq!(s, 200, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let ask = |who: (&'static str, &'static str), token: &str, hint: Option<&str>| {
            let url = introspect.clone();
            let mut form = vec![("token", token.to_owned())];
            if let Some(hint) = hint {
                form.push(("token_type_hint", hint.to_owned()));
            }
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post_form(&url, Some(who), &form).await
            }
        };

        // The resource server in the audience sees the token, rebuilt for introspection.
        let (s, seen) = ask(("api", "api-secret"), access, None).await;
        assert_eq!(s, 200, "{}", db.name);
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!(seen["client_id"], "web");
        assert_eq!(seen["username"], "admin");
        assert_eq!(seen["token_type"], "Bearer");
        assert_eq!(seen["jti"], claims(access)["jti"]);
        assert!(
            seen["aud"]
                .as_array()
                .is_some_and(|a| a.contains(&json!("api")))
                || seen["aud"] == "api"
        );
        assert!(seen["realm_access"]["roles"].is_array());
        assert_eq!(seen["sid"], tokens["session_state"]);

        // A client outside the audience, even the one the token was issued to: inactive.
        for who in [("other", "other-secret"), ("web", "web-secret")] {
            let (s, unseen) = ask(who, access, None).await;
            assert_eq!((s, unseen), (200, json!({"active": false})), "{who:?}");
        }
        // Refresh tokens are for the client they were issued to; the hint is only a hint.
        let (_, r) = ask(("web", "web-secret"), refresh, None).await;
        assert_eq!(
            (r["active"].clone(), r["token_type"].clone()),
            (json!(true), json!("Refresh"))
        );
        let (_, r) = ask(("web", "web-secret"), refresh, Some("access_token")).await;
        assert_eq!(r["active"], true);
        let (_, r) = ask(("api", "api-secret"), refresh, Some("refresh_token")).await;
        assert_eq!(r, json!({"active": false}));
        // An access token is no refresh token.
        let (_, r) = ask(("api", "api-secret"), access, Some("refresh_token")).await;
        assert_eq!(r, json!({"active": false}));

        // Keycloak's deprecated per-client compatibility mode lets `other` see it again.
        let rep = admin
            .get(&format!("/admin/realms/master/clients/{other}"))
            .await
            .body;
        let mut attributes = rep["attributes"].clone();
        attributes["allow.token.introspection.without.audience.check"] = json!("true");
        let r = admin
            .put(
                &format!("/admin/realms/master/clients/{other}"),
                &json!({"attributes": attributes}),
            )
            .await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        let (_, r) = ask(("other", "other-secret"), access, None).await;
        assert_eq!(r["active"], true);

        // Keycloak's errors: authentication first, then the token, then the hint.
        let (s, e) = ask(("api", "wrong"), access, None).await;
        assert_eq!(
            (s, e["error_description"].clone()),
            (401, json!("Authentication failed."))
        );
        let (s, e) = post_form(&introspect, Some(("api", "api-secret")), &[]).await;
        assert_eq!(
            (s, e["error_description"].clone()),
            (400, json!("Token not provided."))
        );
        let (s, e) = ask(("api", "api-secret"), access, Some("id_token")).await;
        assert_eq!(
            (s, e),
            (
                400,
                json!({"error": "invalid_request",
                       "error_description": "Unsupported token type [id_token]."})
            )
        );
        node.stop();
    }
}
