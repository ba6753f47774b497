//! Login themes from a theme folder, chosen per realm through the admin API, and the page's
//! language chosen as Keycloak chooses it (`kc_locale`, `ui_locales`, the `KEYCLOAK_LOCALE`
//! cookie, `Accept-Language`, within the realm's supported locales).

use std::path::Path;

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Db, Node, client, databases};

const CALLBACK: &str = "http://127.0.0.1:9/callback";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `brand`: a theme over the built-in one with its own login page, stylesheet and French
/// bundle; `broken`: a login page that does not parse.
fn theme_folder(root: &Path) {
    write(
        root,
        "brand/login/theme.properties",
        "parent=gatehouse\nlocales=en,fr\nstyles=css/login.css css/brand.css\n",
    );
    write(
        root,
        "brand/login/login.html",
        "{% extends \"layout.html\" %}{% block content %}<p id=\"brand-marker\">BRAND-MARKER \
         {{ msg(\"doLogIn\") }}</p>{% endblock %}",
    );
    write(
        root,
        "brand/login/messages/messages_fr.properties",
        "doLogIn=Se connecter\nloginAccountTitle=Connexion \\u00e0 votre compte\n",
    );
    write(
        root,
        "brand/login/resources/css/brand.css",
        ".brand{color:teal}",
    );
    write(root, "broken/login/theme.properties", "parent=gatehouse\n");
    write(root, "broken/login/login.html", "{% if %}");
}

/// Creates realm `name` with `settings` and a public client `app`.
async fn realm_with_app(admin: &AdminApi, name: &str, settings: Value) {
    let mut body = json!({"realm": name, "enabled": true});
    body.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let created = admin.post("/admin/realms", &body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let app = admin
        .post(
            &format!("/admin/realms/{name}/clients"),
            &json!({"clientId": "app", "publicClient": true, "redirectUris": [CALLBACK]}),
        )
        .await;
    assert_eq!(app.status, 201, "{:?}", app.body);
}

fn auth_url(node: &Node, realm: &str, extra: &str) -> String {
    node.url(&format!(
        "/realms/{realm}/protocol/openid-connect/auth?client_id=app&response_type=code&\
         scope=openid&redirect_uri={}{extra}",
        form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    ))
}

/// A page as the browser gets it: status, `Set-Cookie` values and the HTML (unescaped).
struct Page {
    status: u16,
    cookies: Vec<String>,
    html: String,
}

impl Page {
    fn lang(&self) -> &str {
        let at = self.html.find("<html lang=\"").expect("html lang") + 12;
        self.html[at..].split('"').next().unwrap()
    }

    /// The `href` values of the language switcher, by `hreflang`.
    fn switcher(&self) -> Vec<(String, String)> {
        self.html
            .match_indices("hreflang=\"")
            .map(|(at, _)| {
                let tag_start = self.html[..at].rfind("<a ").unwrap();
                let tag = &self.html[tag_start..at];
                let href = tag
                    .split("href=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let lang = self.html[at + 10..].split('"').next().unwrap();
                (lang.to_owned(), href.to_owned())
            })
            .collect()
    }

    fn locale_cookie(&self) -> Option<&str> {
        self.cookies
            .iter()
            .find(|c| c.starts_with("KEYCLOAK_LOCALE="))
            .map(String::as_str)
    }
}

async fn get(browser: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Page {
    let mut req = browser.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let html = res.text().await.unwrap();
    Page {
        status,
        cookies,
        html: unescape(&html),
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread")]
async fn realms_choose_themes_and_languages() {
    for db in databases().await {
        scenario(&db).await;
    }
}

async fn scenario(db: &Db) {
    let on = db.name;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("my-themes");
    theme_folder(&folder);
    let folder_option = format!("--spi-theme--folder--dir={}", folder.display());
    let mut args = vec!["start-dev", "--http-port", "0", folder_option.as_str()];
    args.extend(db.args.iter().map(String::as_str));
    let node = Node::start(dir.path(), &args, &ADMIN_ENV);
    let admin = AdminApi::master(&node).await;

    realm_with_app(
        &admin,
        "brand",
        json!({"loginTheme": "brand", "internationalizationEnabled": true,
               "supportedLocales": ["en", "fr", "de"], "defaultLocale": "en"}),
    )
    .await;
    realm_with_app(&admin, "plain", json!({})).await;
    realm_with_app(&admin, "broken", json!({"loginTheme": "broken"})).await;

    // The admin API round-trips the settings.
    let brand = admin.get("/admin/realms/brand").await.body;
    assert_eq!(brand["loginTheme"], "brand", "{on}");
    assert_eq!(brand["internationalizationEnabled"], true, "{on}");
    assert_eq!(brand["supportedLocales"], json!(["en", "fr", "de"]), "{on}");
    assert_eq!(brand["defaultLocale"], "en", "{on}");
    let plain = admin.get("/admin/realms/plain").await.body;
    assert!(plain.get("loginTheme").is_none(), "{on}: {plain}");
    assert_eq!(plain["internationalizationEnabled"], false, "{on}");
    assert_eq!(plain["supportedLocales"], json!([]), "{on}");

    // The realm's login page uses its theme: own template, built-in layout, both stylesheets.
    let browser = client();
    let page = get(&browser, &auth_url(&node, "brand", ""), &[]).await;
    assert_eq!(page.status, 200, "{on}: {}", page.html);
    assert!(
        page.html.contains("BRAND-MARKER Sign In"),
        "{on}: {}",
        page.html
    );
    assert_eq!(page.lang(), "en", "{on}");
    let resources = format!("/resources/{}/login/brand/", env!("CARGO_PKG_VERSION"));
    assert!(
        page.html.contains(&format!("{resources}css/brand.css"))
            && page.html.contains(&format!("{resources}css/login.css")),
        "{on}: {}",
        page.html
    );
    let css = browser
        .get(node.url(&format!("{resources}css/brand.css")))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200, "{on}");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // start-dev: browsers ask again every time, so theme edits show at once.
    assert_eq!(css.headers()["cache-control"], "no-cache");
    assert_eq!(css.text().await.unwrap(), ".brand{color:teal}");
    let inherited = browser
        .get(node.url(&format!("{resources}css/login.css")))
        .send()
        .await
        .unwrap();
    assert_eq!(inherited.status(), 200, "{on}");
    for escape in [
        "..%2Ftheme.properties",
        "css%2F..%2F..%2Ftheme.properties",
        "..%2F..%2Fbroken%2Flogin%2Flogin.html",
        "%2E%2E/theme.properties",
    ] {
        let res = browser
            .get(node.url(&format!("{resources}{escape}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{on}: {escape}");
    }

    // Another realm still gets the built-in theme.
    let page = get(&client(), &auth_url(&node, "plain", ""), &[]).await;
    assert_eq!(page.status, 200, "{on}");
    assert!(!page.html.contains("BRAND-MARKER"), "{on}");
    assert!(page.html.contains("kc-form-login"), "{on}");
    assert!(page.html.contains("/login/gatehouse/css/login.css"), "{on}");
    // With internationalization off the page is English whatever the browser asks, and offers
    // no languages.
    let page = get(
        &client(),
        &auth_url(&node, "plain", "&kc_locale=de&ui_locales=de"),
        &[("accept-language", "de")],
    )
    .await;
    assert_eq!(page.lang(), "en", "{on}");
    assert!(page.switcher().is_empty(), "{on}");
    assert!(page.locale_cookie().is_none(), "{on}");

    // A theme that does not parse: the built-in page, and a log line saying why.
    let page = get(&client(), &auth_url(&node, "broken", ""), &[]).await;
    assert_eq!(page.status, 200, "{on}: {}", page.html);
    assert!(page.html.contains("kc-form-login"), "{on}");
    assert!(page.html.contains("/login/gatehouse/"), "{on}");
    let broken = |log: &str| log.contains("login theme 'broken' (realm 'broken') cannot be used");
    let log = node.await_log(broken);
    assert!(broken(&log) && log.contains("login.html"), "{on}: {log}");

    // kc_locale picks French and sets KEYCLOAK_LOCALE on the realm's path; the switcher offers
    // the realm's locales (not the theme's), each linking back to this login.
    let browser = client();
    let page = get(&browser, &auth_url(&node, "brand", "&kc_locale=fr"), &[]).await;
    assert_eq!(page.lang(), "fr", "{on}");
    assert!(page.html.contains("BRAND-MARKER Se connecter"), "{on}");
    assert!(page.html.contains("Connexion à votre compte"), "{on}");
    let cookie = page.locale_cookie().expect("KEYCLOAK_LOCALE set");
    assert!(
        cookie.starts_with("KEYCLOAK_LOCALE=fr;")
            && cookie.contains("Path=/realms/brand/")
            && cookie.contains("HttpOnly"),
        "{on}: {cookie}"
    );
    let switcher = page.switcher();
    let tags: Vec<&str> = switcher.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tags, ["en", "fr", "de"], "{on}");
    assert!(page.html.contains(">Français<"), "{on}");
    // A later login in the same browser, without the parameter, stays French.
    let page = get(&browser, &auth_url(&node, "brand", ""), &[]).await;
    assert_eq!(page.lang(), "fr", "{on}");
    assert!(page.locale_cookie().is_none(), "{on}: set again");
    // The switcher's link changes the language of the login in progress, and the cookie.
    let (_, to_german) = switcher.iter().find(|(t, _)| t == "de").unwrap();
    assert!(
        to_german.contains("/login-actions/authenticate?"),
        "{on}: {to_german}"
    );
    let page = get(&browser, to_german, &[]).await;
    assert_eq!(page.status, 200, "{on}: {}", page.html);
    assert_eq!(page.lang(), "de", "{on}");
    assert!(page.html.contains("BRAND-MARKER Anmelden"), "{on}");
    assert!(
        page.locale_cookie()
            .is_some_and(|c| c.starts_with("KEYCLOAK_LOCALE=de;")),
        "{on}: {:?}",
        page.cookies
    );

    // ui_locales before the cookie and Accept-Language; Accept-Language by preference.
    let page = get(
        &browser,
        &auth_url(&node, "brand", "&ui_locales=fr"),
        &[("accept-language", "de")],
    )
    .await;
    assert_eq!(page.lang(), "fr", "{on}: ui_locales over cookie (de)");
    let fresh = client();
    let page = get(
        &fresh,
        &auth_url(&node, "brand", "&ui_locales=ja%20fr-CA"),
        &[("accept-language", "de")],
    )
    .await;
    assert_eq!(page.lang(), "fr", "{on}: first supported of ui_locales");
    let page = get(
        &fresh,
        &auth_url(&node, "brand", ""),
        &[("accept-language", "ja, fr-CA;q=0.5, de;q=0.8")],
    )
    .await;
    assert_eq!(page.lang(), "de", "{on}: Accept-Language by q");

    // A locale the realm does not support is not used, even when the theme has it.
    let put = admin
        .put(
            "/admin/realms/brand",
            &json!({"supportedLocales": ["en", "de"], "defaultLocale": "de"}),
        )
        .await;
    assert_eq!(put.status, 204, "{on}: {:?}", put.body);
    let page = get(
        &client(),
        &auth_url(&node, "brand", "&kc_locale=fr&ui_locales=fr"),
        &[("accept-language", "fr")],
    )
    .await;
    assert_eq!(page.lang(), "de", "{on}: the realm's default");
    assert!(!page.html.contains("Se connecter"), "{on}");
    let tags: Vec<String> = page.switcher().into_iter().map(|(t, _)| t).collect();
    assert_eq!(tags, ["en", "de"], "{on}");

    // Once the login knows the user, their `locale` attribute comes before the client's and
    // the browser's wishes.
    realm_with_app(
        &admin,
        "people",
        json!({"internationalizationEnabled": true, "supportedLocales": ["en", "de", "fr"]}),
    )
    .await;
    let user = admin
        .post(
            "/admin/realms/people/users",
            &json!({"username": "jonas", "enabled": true, "attributes": {"locale": ["de"]},
                    "credentials": [{"type": "password", "value": "Temp-Pass-1",
                                     "temporary": true}]}),
        )
        .await;
    assert_eq!(user.status, 201, "{on}: {:?}", user.body);
    let browser = client();
    let french = [("accept-language", "fr")];
    let page = get(
        &browser,
        &auth_url(&node, "people", "&ui_locales=fr"),
        &french,
    )
    .await;
    assert_eq!(page.lang(), "fr", "{on}");
    let action = page
        .html
        .split("id=\"kc-form-login\"")
        .nth(1)
        .and_then(|rest| rest.split("action=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("login form")
        .to_owned();
    let csrf = page
        .html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf")
        .to_owned();
    let res = browser
        .post(&action)
        .header("accept-language", "fr")
        .form(&[
            ("username", "jonas"),
            ("password", "Temp-Pass-1"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let html = unescape(&res.text().await.unwrap());
    assert!(html.contains("kc-passwd-update-form"), "{on}: {html}");
    assert!(html.contains("<html lang=\"de\""), "{on}: {html}");
    assert!(html.contains("Passwort"), "{on}: {html}");

    // The realm's theme follows it into an export.
    let exported = admin
        .post("/admin/realms/brand/partial-export", &json!({}))
        .await;
    assert_eq!(exported.body["loginTheme"], "brand", "{on}");
    assert_eq!(
        exported.body["supportedLocales"],
        json!(["en", "de"]),
        "{on}"
    );

    node.stop();
}

/// Without the folder option, `themes` in the working directory is the theme folder; with
/// `spi-theme-cache-themes` on, a theme is read once, so an edit waits for a restart.
#[tokio::test(flavor = "multi_thread")]
async fn default_folder_and_caching() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "themes/cached/login/info.html", "unused");
    write(
        dir.path(),
        "themes/cached/login/messages/messages_en.properties",
        "doLogIn=Version one\n",
    );
    let node = Node::start(
        dir.path(),
        &[
            "start-dev",
            "--http-port",
            "0",
            "--spi-theme-cache-themes=true",
            "--spi-theme-cache-templates=true",
        ],
        &ADMIN_ENV,
    );
    let admin = AdminApi::master(&node).await;
    realm_with_app(&admin, "cached", json!({"loginTheme": "cached"})).await;
    let page = get(&client(), &auth_url(&node, "cached", ""), &[]).await;
    assert!(page.html.contains("Version one"), "{}", page.html);
    write(
        dir.path(),
        "themes/cached/login/messages/messages_en.properties",
        "doLogIn=Version two\n",
    );
    let page = get(&client(), &auth_url(&node, "cached", ""), &[]).await;
    assert!(page.html.contains("Version one"), "{}", page.html);
    node.stop();
}
