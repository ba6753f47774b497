//! The browser login (authorization code flow) with a real relying party: the `openidconnect`
//! crate does discovery, builds the authorization request with PKCE and a nonce, exchanges the
//! code and validates the ID token (signature, issuer, audience, nonce); the test plays the
//! browser with a cookie-keeping HTTP client that fills in the login form.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;

use crate::harness::{Db, Node, client, open_store, register_client, update_master_realm};

const ADMIN: [(&str, &str); 2] = [
    ("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
    ("KC_BOOTSTRAP_ADMIN_PASSWORD", "Admin-Pass-1"),
];
const CALLBACK: &str = "http://127.0.0.1:9/callback";

/// Registers a confidential client `webapp` with one exact redirect URI.
async fn register_webapp(dir: &std::path::Path) {
    register_client(&Db::sqlite(), dir, "webapp", |app| {
        app.secret = Some("webapp-secret".into());
        app.redirect_uris = vec![CALLBACK.into()];
        app.web_origins = vec!["+".into()];
    })
    .await;
}

/// Follows the authorization URL like a browser: loads the login page, posts the form, and
/// returns the redirect's `Location`.
async fn sign_in(
    browser: &reqwest::Client,
    auth_url: &str,
    username: &str,
    password: &str,
) -> String {
    let page = browser.get(auth_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action = attribute(&html, "id=\"kc-form-login\"", "action");
    let csrf = attribute(&html, "name=\"csrf\"", "value");
    let response = browser
        .post(&action)
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        302,
        "{}",
        response.text().await.unwrap_or_default()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The value of `attr` on the first tag containing `marker`.
pub(crate) fn attribute(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page:\n{html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let from = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} in {tag}"))
        + key.len();
    unescape(tag[from..].split('"').next().unwrap())
}

/// Undoes the HTML escaping of an attribute value (minijinja escapes `/` too).
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn code_flow_with_pkce_through_the_openidconnect_crate() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_webapp(dir.path()).await;
    let issuer = node.url("/realms/master");

    let rp_http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &rp_http)
            .await
            .expect("discovery");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("webapp".into()),
        Some(ClientSecret::new("webapp-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = client();
    let location = sign_in(&browser, auth_url.as_str(), "admin", "Admin-Pass-1").await;
    assert!(location.starts_with(CALLBACK), "{location}");
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(issuer.as_str())
    );
    let code = query_param(&location, "code").unwrap();

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let claims = id_token
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("valid ID token");
    assert_eq!(claims.preferred_username().unwrap().as_str(), "admin");
    assert!(claims.auth_time().is_some());

    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());

    let refreshed = rp
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("refresh");
    assert!(refreshed.id_token().is_some());

    // The same code a second time: refused, and the session it created is ended, so the
    // refresh token the first exchange returned stops working too.
    let token_url = node.url("/realms/master/protocol/openid-connect/token");
    let replay = client()
        .post(&token_url)
        .basic_auth("webapp", Some("webapp-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let after = client()
        .post(&token_url)
        .basic_auth("webapp", Some("webapp-secret"))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                refreshed.refresh_token().unwrap().secret().as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 400, "the replay ended the session");
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn authorization_errors_and_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_webapp(dir.path()).await;
    let auth = node.url("/realms/master/protocol/openid-connect/auth");
    let token_url = node.url("/realms/master/protocol/openid-connect/token");
    let browser = client();

    // An unregistered redirect URI: an error page, never a redirect.
    let evil = browser
        .get(&auth)
        .query(&[
            ("client_id", "webapp"),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 400);
    assert!(evil.headers().get("location").is_none());
    assert!(evil.text().await.unwrap().contains("redirect_uri"));
    // A prefix of a registered URI is not that URI.
    let prefix = browser
        .get(&auth)
        .query(&[
            ("client_id", "webapp"),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/callback/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(prefix.status(), 400);
    let unknown = browser
        .get(&auth)
        .query(&[("client_id", "nobody"), ("response_type", "code")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);

    // With a valid redirect URI, errors go back to the client.
    let no_type = browser
        .get(&auth)
        .query(&[
            ("client_id", "webapp"),
            ("redirect_uri", CALLBACK),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), 302);
    let location = no_type.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
    let none = browser
        .get(&auth)
        .query(&[
            ("client_id", "webapp"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("prompt", "none"),
        ])
        .send()
        .await
        .unwrap();
    let location = none.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("login_required")
    );

    // The security admin console (relative redirect URIs under `${authAdminUrl}`) requires
    // PKCE with S256: a request without it is sent back with an error.
    let console = browser
        .get(&auth)
        .query(&[
            ("client_id", "security-admin-console"),
            ("redirect_uri", node.url("/admin/master/console/").as_str()),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 302);
    let location = console.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&node.url("/admin/master/console/")),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "error_description").as_deref(),
        Some("Missing parameter: code_challenge_method")
    );

    // A wrong password shows the form again with Keycloak's message, without saying which part
    // was wrong.
    let url = format!(
        "{auth}?client_id=webapp&response_type=code&redirect_uri={}",
        urlencode(CALLBACK)
    );
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = attribute(&page, "id=\"kc-form-login\"", "action");
    let csrf = attribute(&page, "name=\"csrf\"", "value");
    for (user, pass) in [("admin", "wrong"), ("nobody", "Admin-Pass-1")] {
        let retry = browser
            .post(&action)
            .form(&[
                ("username", user),
                ("password", pass),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(retry.status(), 200);
        assert!(
            retry
                .text()
                .await
                .unwrap()
                .contains("Invalid username or password.")
        );
    }
    // A forged form (wrong CSRF value) gets nothing.
    let forged = browser
        .post(&action)
        .form(&[
            ("username", "admin"),
            ("password", "Admin-Pass-1"),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);

    // A wrong PKCE verifier, and a wrong client secret, do not get tokens.
    let verifier = PkceCodeVerifier::new("a".repeat(64));
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    let url = format!(
        "{auth}?client_id=webapp&response_type=code&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
        urlencode(CALLBACK),
        challenge.as_str()
    );
    let location = sign_in(&client(), &url, "admin", "Admin-Pass-1").await;
    let code = query_param(&location, "code").unwrap();
    let exchange = |secret: &'static str, verifier: String| {
        let token_url = token_url.clone();
        let code = code.clone();
        async move {
            client()
                .post(&token_url)
                .basic_auth("webapp", Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", CALLBACK),
                    ("code_verifier", verifier.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let wrong_secret = exchange("nope", "a".repeat(64)).await;
    assert_eq!(wrong_secret.status(), 401);
    let wrong_verifier = exchange("webapp-secret", "b".repeat(64)).await;
    assert_eq!(wrong_verifier.status(), 400);
    let body: Value = wrong_verifier.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    node.stop();
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Registers a second client `other-app`, and lets `webapp` redirect after logout.
async fn register_other_app(dir: &std::path::Path) {
    register_client(&Db::sqlite(), dir, "other-app", |app| {
        app.public_client = true;
        app.redirect_uris = vec!["http://127.0.0.1:9/other/*".into()];
        app.attributes
            .insert("post.logout.redirect.uris".into(), "+".into());
    })
    .await;
}

async fn exchange(
    node: &Node,
    client_id: &str,
    secret: Option<&str>,
    code: &str,
    redirect: &str,
) -> Value {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    let r = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn single_sign_on_and_logout_for_every_client() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_webapp(dir.path()).await;
    register_other_app(dir.path()).await;
    let auth = node.url("/realms/master/protocol/openid-connect/auth");
    let browser = client();

    // First client: the login form.
    let url = format!(
        "{auth}?client_id=webapp&response_type=code&scope=openid&redirect_uri={}",
        urlencode(CALLBACK)
    );
    let location = sign_in(&browser, &url, "admin", "Admin-Pass-1").await;
    let first = exchange(
        &node,
        "webapp",
        Some("webapp-secret"),
        &query_param(&location, "code").unwrap(),
        CALLBACK,
    )
    .await;
    let sid = claims_of(first["access_token"].as_str().unwrap())["sid"].clone();

    // Second client in the same browser: no form, a code at once, in the same session.
    let other_cb = "http://127.0.0.1:9/other/cb";
    let second = browser
        .get(format!(
            "{auth}?client_id=other-app&response_type=code&redirect_uri={}&state=xyz",
            urlencode(other_cb)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 302, "SSO signs in without a form");
    let location = second.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let other = exchange(
        &node,
        "other-app",
        None,
        &query_param(&location, "code").unwrap(),
        other_cb,
    )
    .await;
    let other_claims = claims_of(other["access_token"].as_str().unwrap());
    assert_eq!(other_claims["sid"], sid);
    assert_eq!(
        other_claims["acr"], "0",
        "single sign-on is not a fresh authentication"
    );

    // prompt=login shows the form even with a session; prompt=none signs in silently.
    let forced = browser
        .get(format!(
            "{auth}?client_id=other-app&response_type=code&redirect_uri={}&prompt=login",
            urlencode(other_cb)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 200);
    let silent = browser
        .get(format!(
            "{auth}?client_id=other-app&response_type=code&redirect_uri={}&prompt=none",
            urlencode(other_cb)
        ))
        .send()
        .await
        .unwrap();
    assert!(query_param(silent.headers()["location"].to_str().unwrap(), "code").is_some());

    // RP-initiated logout. A post-logout URI the client did not register is refused and
    // nothing is ended; with a valid id_token_hint the session ends at once, for every client.
    let logout_url = node.url("/realms/master/protocol/openid-connect/logout");
    let id_token = first["id_token"].as_str().unwrap();
    let refused = browser
        .get(&logout_url)
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let done = browser
        .get(&logout_url)
        .query(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let cleared = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter(|c| c.to_str().unwrap().contains("Max-Age=0"))
        .count();
    assert_eq!(cleared, 2, "both SSO cookies are removed");
    assert!(done.text().await.unwrap().contains("You are logged out"));
    for (client_id, secret, tokens) in [
        ("webapp", Some("webapp-secret"), &first),
        ("other-app", None, &other),
    ] {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ];
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        let r = client()
            .post(node.url("/realms/master/protocol/openid-connect/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{client_id} logged out too");
    }
    let after = browser
        .get(format!(
            "{auth}?client_id=other-app&response_type=code&redirect_uri={}&prompt=none",
            urlencode(other_cb)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(after.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("login_required")
    );

    // Without id_token_hint the user confirms first, then goes back to the client's
    // registered post-logout URI with its state.
    let location = sign_in(&browser, &url, "admin", "Admin-Pass-1").await;
    assert!(query_param(&location, "code").is_some());
    let confirm = browser
        .get(&logout_url)
        .query(&[
            ("client_id", "other-app"),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/other/done"),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let html = confirm.text().await.unwrap();
    assert_eq!(
        attribute(&html, "id=\"kc-logout\"", "name"),
        "confirmLogout"
    );
    let code = attribute(&html, "name=\"session_code\"", "value");
    let done = browser
        .post(node.url("/realms/master/protocol/openid-connect/logout/logout-confirm"))
        .form(&[("session_code", code.as_str()), ("confirmLogout", "Logout")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 302);
    assert_eq!(
        done.headers()["location"],
        "http://127.0.0.1:9/other/done?state=bye"
    );
    let after = browser
        .get(format!(
            "{auth}?client_id=other-app&response_type=code&redirect_uri={}&prompt=none",
            urlencode(other_cb)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(after.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("login_required")
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_and_session_iframe_follow_the_clients_web_origins() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_webapp(dir.path()).await; // web origins "+": the origin of http://127.0.0.1:9/callback
    let token_url = node.url("/realms/master/protocol/openid-connect/token");
    let app_origin = "http://127.0.0.1:9";

    let preflight = client()
        .request(reqwest::Method::OPTIONS, &token_url)
        .header("Origin", app_origin)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        app_origin
    );

    for (origin, allowed) in [(app_origin, true), ("https://evil.example", false)] {
        let r = client()
            .post(&token_url)
            .header("Origin", origin)
            .form(&[
                ("grant_type", "password"),
                ("client_id", "webapp"),
                ("client_secret", "webapp-secret"),
                ("username", "admin"),
                ("password", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        // An error the app must be able to read (direct grants are off for webapp).
        assert_eq!(r.status(), 400);
        let header = r
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header.as_deref() == Some(origin), allowed, "{origin}");
    }

    let init = |origin: &'static str| {
        let url = node.url("/realms/master/protocol/openid-connect/login-status-iframe.html/init");
        async move {
            client()
                .get(url)
                .query(&[("client_id", "webapp"), ("origin", origin)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(init(app_origin).await, 204);
    assert_eq!(init("https://evil.example").await, 403);
    for page in [
        "login-status-iframe.html",
        "3p-cookies/step1.html",
        "3p-cookies/step2.html",
    ] {
        let r = client()
            .get(node.url(&format!("/realms/master/protocol/openid-connect/{page}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{page}");
    }
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_required_all_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_webapp(dir.path()).await;
    update_master_realm(&Db::sqlite(), dir.path(), |realm| {
        realm.ssl_required = gatehouse_model::SslRequired::All;
    })
    .await;

    let auth = client()
        .get(node.url("/realms/master/protocol/openid-connect/auth"))
        .query(&[
            ("client_id", "webapp"),
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(auth.status(), 403);
    assert!(auth.text().await.unwrap().contains("HTTPS required"));
    let token = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", "Admin-Pass-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 403);
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["error_description"], "HTTPS required");
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_temporary_password_must_be_changed_at_first_login() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_webapp(dir.path()).await;
    // A user whose password an admin set as temporary (the admin API comes with its issue).
    let store = open_store(&Db::sqlite(), dir.path()).await;
    let mut tx = store.begin().await.unwrap();
    let realm = tx
        .realm_by_name(&gatehouse_model::RealmName::new("master").unwrap())
        .await
        .unwrap()
        .unwrap();
    let user = gatehouse_model::User {
        id: gatehouse_model::UserId::new_random(),
        realm_id: realm.id.clone(),
        username: gatehouse_model::Username::new("newbie"),
        email: None,
        first_name: None,
        last_name: None,
        enabled: true,
        email_verified: false,
        created_timestamp: 0,
        federation_link: None,
        service_account_client_link: None,
        attributes: Default::default(),
        required_actions: vec!["UPDATE_PASSWORD".into()],
        not_before: 0,
    };
    tx.insert_user(&user).await.unwrap();
    let stored = gatehouse_crypto::hash_password("Temp-Pass-1", &Default::default()).unwrap();
    tx.insert_credential(&gatehouse_model::Credential {
        id: gatehouse_model::CredentialId::new_random(),
        user_id: user.id.clone(),
        credential_type: "password".into(),
        user_label: None,
        created_date: 0,
        secret_data: stored.secret_data,
        credential_data: stored.credential_data,
        priority: 10,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store.close().await;

    let token_url = node.url("/realms/master/protocol/openid-connect/token");
    let direct = |password: &'static str| {
        let url = token_url.clone();
        async move {
            client()
                .post(&url)
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", "admin-cli"),
                    ("username", "newbie"),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = direct("Temp-Pass-1").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_description"], "Account is not fully set up");

    let browser = client();
    let url = format!(
        "{}?client_id=webapp&response_type=code&redirect_uri={}",
        node.url("/realms/master/protocol/openid-connect/auth"),
        urlencode(CALLBACK)
    );
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = attribute(&page, "id=\"kc-form-login\"", "action");
    let csrf = attribute(&page, "name=\"csrf\"", "value");
    let update = browser
        .post(&action)
        .form(&[
            ("username", "newbie"),
            ("password", "Temp-Pass-1"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), 200);
    let html = update.text().await.unwrap();
    assert!(html.contains("id=\"kc-passwd-update-form\""), "{html}");
    let action = attribute(&html, "id=\"kc-passwd-update-form\"", "action");
    let post = |new: &'static str, confirm: &'static str| {
        let (browser, action, csrf) = (browser.clone(), action.clone(), csrf.clone());
        async move {
            browser
                .post(&action)
                .form(&[
                    ("password-new", new),
                    ("password-confirm", confirm),
                    ("csrf", csrf.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let mismatch = post("New-Pass-1", "New-Pass-2").await;
    assert_eq!(mismatch.status(), 200);
    assert!(mismatch.text().await.unwrap().contains("match"));
    let done = post("New-Pass-1", "New-Pass-1").await;
    assert_eq!(done.status(), 302);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(query_param(&location, "code").is_some(), "{location}");

    assert_eq!(
        direct("Temp-Pass-1").await.status(),
        401,
        "the temporary password is gone"
    );
    assert_eq!(direct("New-Pass-1").await.status(), 200);
    node.stop();
}

/// Accepts one HTTP request on `listener` and returns its body (answering 200).
async fn receive_one(listener: tokio::net::TcpListener) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(split) = text.find("\r\n\r\n") {
            let length = text[..split]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= split + 4 + length {
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                return text[split + 4..].to_owned();
            }
        }
    }
    String::new()
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_notifies_clients_on_the_back_channel() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/backchannel", listener.local_addr().unwrap());
    register_client(&Db::sqlite(), dir.path(), "bcl-app", |app| {
        app.public_client = true;
        app.redirect_uris = vec![CALLBACK.into()];
        app.attributes.insert("backchannel.logout.url".into(), hook);
    })
    .await;
    let received = tokio::spawn(receive_one(listener));

    let browser = client();
    let url = format!(
        "{}?client_id=bcl-app&response_type=code&scope=openid&redirect_uri={}",
        node.url("/realms/master/protocol/openid-connect/auth"),
        urlencode(CALLBACK)
    );
    let location = sign_in(&browser, &url, "admin", "Admin-Pass-1").await;
    let sid = query_param(&location, "session_state").unwrap();
    let tokens = exchange(
        &node,
        "bcl-app",
        None,
        &query_param(&location, "code").unwrap(),
        CALLBACK,
    )
    .await;
    let done = browser
        .get(node.url("/realms/master/protocol/openid-connect/logout"))
        .query(&[("id_token_hint", tokens["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);

    let body = tokio::time::timeout(std::time::Duration::from_secs(10), received)
        .await
        .expect("the client was called")
        .unwrap();
    let token = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("a logout_token parameter");
    let jwks: jsonwebtoken::jwk::JwkSet = client()
        .get(node.url("/realms/master/protocol/openid-connect/certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&["bcl-app"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sid"], sid.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never carries a nonce"
    );
    node.stop();
}

/// The parameters of a redirect's fragment.
fn fragment(url: &str) -> std::collections::BTreeMap<String, String> {
    let frag = url.split_once('#').map(|(_, f)| f).unwrap_or_default();
    form_urlencoded::parse(frag.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_and_hybrid_flows_for_clients_that_enable_them() {
    use gatehouse_crypto::jose::{Algorithm, half_hash};
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    register_client(&Db::sqlite(), dir.path(), "spa", |c| {
        c.secret = Some("spa-secret".into());
        c.redirect_uris = vec![CALLBACK.into()];
        c.implicit_flow_enabled = true;
    })
    .await;
    register_webapp(dir.path()).await;
    let auth = |client: &str, response_type: &str, extra: &[(&str, &str)]| {
        let mut url =
            reqwest::Url::parse(&node.url("/realms/master/protocol/openid-connect/auth")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", client)
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("response_type", response_type)
            .append_pair("scope", "openid")
            .append_pair("state", "st-1");
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.to_string()
    };

    // Implicit: tokens in the fragment, never a code or a refresh token.
    let browser = client();
    let location = sign_in(
        &browser,
        &auth("spa", "id_token token", &[("nonce", "n-1")]),
        "admin",
        "Admin-Pass-1",
    )
    .await;
    assert!(location.starts_with(&format!("{CALLBACK}#")), "{location}");
    let f = fragment(&location);
    assert_eq!(f["state"], "st-1");
    assert_eq!(f["token_type"], "Bearer");
    assert_eq!(f["expires_in"], "900", "the realm's implicit-flow lifespan");
    assert!(
        !f.contains_key("code") && !f.contains_key("refresh_token"),
        "{f:?}"
    );
    let access = &f["access_token"];
    let id = jwt_claims(&f["id_token"]);
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(
        id["at_hash"],
        half_hash(Algorithm::RS256, access.as_bytes())
    );
    assert!(id.get("c_hash").is_none());
    let userinfo = client()
        .get(node.url("/realms/master/protocol/openid-connect/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);

    // Hybrid, through single sign-on: a code and an ID token bound to it; the code still
    // goes through the token endpoint.
    let sso = browser
        .get(auth("spa", "code id_token", &[("nonce", "n-2")]))
        .send()
        .await
        .unwrap();
    assert_eq!(sso.status(), 302);
    let location = sso.headers()["location"].to_str().unwrap().to_owned();
    let f = fragment(&location);
    let code = f["code"].clone();
    let id = jwt_claims(&f["id_token"]);
    assert_eq!(id["c_hash"], half_hash(Algorithm::RS256, code.as_bytes()));
    assert!(id.get("at_hash").is_none() && !f.contains_key("access_token"));
    let exchanged = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("client_secret", "spa-secret"),
            ("redirect_uri", CALLBACK),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(exchanged.status(), 200);

    // What Keycloak refuses, sent back to the redirect URI as OAuth errors.
    for (client_id, response_type, extra, error, description) in [
        (
            "spa",
            "token",
            vec![],
            "unsupported_response_type",
            "response_type",
        ),
        (
            "spa",
            "id_token",
            vec![],
            "invalid_request",
            "Missing parameter: nonce",
        ),
        (
            "spa",
            "id_token",
            vec![("nonce", "n"), ("response_mode", "query")],
            "invalid_request",
            "Response_mode 'query' not allowed for implicit or hybrid flow",
        ),
        (
            "webapp",
            "code id_token",
            vec![("nonce", "n")],
            "unauthorized_client",
            "Implicit flow is disabled for the client.",
        ),
    ] {
        let res = client()
            .get(auth(client_id, response_type, &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302, "{response_type}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let params = if location.contains('#') {
            fragment(&location)
        } else {
            form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
        assert_eq!(params["error"], error, "{response_type}: {location}");
        assert!(
            params["error_description"].contains(description),
            "{response_type}: {location}"
        );
    }
    let discovery: serde_json::Value = client()
        .get(node.url("/realms/master/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery["response_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "code id_token token")
    );
    node.stop();
}
