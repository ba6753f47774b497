//! Three nodes sharing PostgreSQL behind a real nginx (Debian's package; `scripts/test` exports
//! its path in `GATEHOUSE_TEST_NGINX`), with `--hostname` naming nginx so every URL a node
//! writes points at it. nginx tells which node answered in an `X-Upstream` header. A scripted
//! browser flow (authorization request, login form, form post, code exchange, userinfo,
//! refresh) succeeds when every request lands on another node (round-robin), sticks to the node
//! named in the `AUTH_SESSION_ID` route (sticky), and goes on on another node when that one is
//! killed in the middle of a login. A node started without the route writes the bare id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::browser::attribute;
use crate::harness::{Db, Node, await_view, client, cluster_node_args, databases, free_port};
use crate::oauth::{code_grant, refresh_grant, token_request, token_url, userinfo_url};

/// The realm every test behind nginx (and the single-use tests) signs in to.
pub(crate) const REALM: &str = "lb";
/// Where the test's application says it lives; nothing listens there (the tests read the
/// redirect instead of following it).
pub(crate) const CALLBACK: &str = "http://127.0.0.1:9/callback";
/// The user of [`REALM`].
pub(crate) const USER: (&str, &str) = ("walter", "Walter-Pass-1");
/// The confidential client of [`REALM`] and its secret.
pub(crate) const APP: (&str, &str) = ("app", "app-secret");

/// The options of a clustered node on PostgreSQL with a fixed HTTP port (nginx names it).
pub(crate) fn node_args(db: &Db, name: &str, port: u16, extra: &[&str]) -> Vec<String> {
    cluster_node_args(db, name, port, extra)
}

/// Starts `names.len()` nodes at once (the first with the bootstrap admin) and waits for all.
pub(crate) fn start_nodes(
    dirs: &[tempfile::TempDir],
    db: &Db,
    names: &[&str],
    ports: &[u16],
    extra: &[&str],
) -> Vec<Node> {
    let mut nodes: Vec<Node> = names
        .iter()
        .zip(ports)
        .zip(dirs)
        .enumerate()
        .map(|(i, ((name, port), dir))| {
            let args = node_args(db, name, *port, extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: &[(&str, &str)] = if i == 0 { &ADMIN_ENV } else { &[] };
            Node::spawn(dir.path(), &args, env)
        })
        .collect();
    for node in &mut nodes {
        node.wait_started();
    }
    nodes
}

/// The realm, its confidential client `app` (code flow and password grant) and its user, made
/// through the admin API of `node`. Refresh tokens are single use (`revokeRefreshToken`, no
/// reuse), so the single-use tests can race them.
pub(crate) async fn setup_realm(node: &Node) -> AdminApi {
    let api = AdminApi::master(node).await;
    let realm = api
        .post(
            "/admin/realms",
            &json!({"realm": REALM, "enabled": true,
                    "revokeRefreshToken": true, "refreshTokenMaxReuse": 0}),
        )
        .await;
    assert_eq!(realm.status, 201, "{:?}", realm.body);
    let app = api
        .post(
            &format!("/admin/realms/{REALM}/clients"),
            &json!({"clientId": "app", "secret": "app-secret", "redirectUris": [CALLBACK],
                    "directAccessGrantsEnabled": true}),
        )
        .await;
    assert_eq!(app.status, 201, "{:?}", app.body);
    let user = api
        .post(
            &format!("/admin/realms/{REALM}/users"),
            &json!({"username": USER.0, "enabled": true, "email": "walter@example.org",
                    "emailVerified": true, "firstName": "Walter", "lastName": "White",
                    "credentials": [{"type": "password", "value": USER.1, "temporary": false}]}),
        )
        .await;
    assert_eq!(user.status, 201, "{:?}", user.body);
    api
}

/// The authorization request of the flow, from `base` (nginx or a node).
pub(crate) fn auth_url(base: &str) -> String {
    format!(
        "{base}/realms/{REALM}/protocol/openid-connect/auth?client_id=app&response_type=code\
         &scope=openid&state=s-1&redirect_uri={}",
        form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    )
}

/// Posts the login form on `html` with [`USER`]'s password through `browser`.
pub(crate) async fn post_login(browser: &reqwest::Client, html: &str) -> reqwest::Response {
    login_request(browser, html).send().await.unwrap()
}

/// The post of the login form on `html` with [`USER`]'s password, not sent yet (the chaos test
/// sends it itself, to count what fails instead of panicking).
pub(crate) fn login_request(browser: &reqwest::Client, html: &str) -> reqwest::RequestBuilder {
    let action = attribute(html, "id=\"kc-form-login\"", "action");
    let csrf = attribute(html, "name=\"csrf\"", "value");
    browser
        .post(&action)
        .form(&[("username", USER.0), ("password", USER.1), ("csrf", &csrf)])
}

/// The code in an authorization response's `Location`.
pub(crate) fn code_of(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), 302, "not a redirect: {response:?}");
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(CALLBACK), "{location}");
    crate::browser::query_param(location, "code").unwrap_or_else(|| panic!("{location}"))
}

/// The `AUTH_SESSION_ID` value a response sets, if it sets one.
pub(crate) fn auth_session_set(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("AUTH_SESSION_ID="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// The nginx binary, or `None` to skip (never in CI, where `GATEHOUSE_REQUIRE_PG` is set).
pub(crate) fn nginx_binary() -> Option<PathBuf> {
    match std::env::var_os("GATEHOUSE_TEST_NGINX") {
        Some(bin) => Some(PathBuf::from(bin)),
        None => {
            assert_ne!(
                std::env::var("GATEHOUSE_REQUIRE_PG").as_deref(),
                Ok("1"),
                "GATEHOUSE_TEST_NGINX is not set: scripts/test installs nginx and sets it"
            );
            None
        }
    }
}

/// A throwaway nginx: its own prefix, config, pid, logs and temp folders (nothing from
/// /etc/nginx), in the foreground so the test owns the process; workers run as `nobody` when
/// the test runs as root. The same layout as `scripts/nginx.sh`.
pub(crate) struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx with `http` as the contents of its `http` block and waits until `port`
    /// accepts connections.
    pub(crate) fn start(bin: &Path, port: u16, http: &str) -> Nginx {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path();
        // Workers (nobody, when root) must reach the folder and write their temp files.
        std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(prefix.join("tmp")).unwrap();
        std::fs::set_permissions(prefix.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();
        let root = std::fs::metadata(prefix).unwrap().uid() == 0;
        let p = prefix.display();
        let conf = format!(
            "{user}pid {p}/nginx.pid;\nerror_log {p}/error.log notice;\nworker_processes 1;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log {p}/access.log;\n  client_body_temp_path {p}/tmp/body;\n  \
             proxy_temp_path {p}/tmp/proxy;\n  fastcgi_temp_path {p}/tmp/fastcgi;\n  \
             uwsgi_temp_path {p}/tmp/uwsgi;\n  scgi_temp_path {p}/tmp/scgi;\n{http}\n}}\n",
            user = if root { "user nobody nogroup;\n" } else { "" },
        );
        std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "nginx exited with {status}:\n{}",
                    std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, dir }
    }

    /// What nginx logged so far (refused upstreams, retries).
    pub(crate) fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers and exits; a SIGKILLed master would leave them.
        crate::harness::signal(self.child.id() as i32, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(self.child.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server block: everything to `$pool`, the answering node's address in `X-Upstream`, and
/// the next server tried when one refuses or does not answer (a killed node).
fn server_block(port: u16, pass: &str) -> String {
    format!(
        "server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    proxy_pass http://{pass};\n    \
         proxy_set_header Host $http_host;\n    proxy_next_upstream error timeout;\n    \
         proxy_connect_timeout 2s;\n    add_header X-Upstream $upstream_addr always;\n  }}\n}}\n"
    )
}

/// Round-robin over every node, no stickiness.
fn round_robin_config(port: u16, nodes: &[(&str, u16)]) -> String {
    let servers: String = nodes
        .iter()
        .map(|(_, p)| format!("  server 127.0.0.1:{p};\n"))
        .collect();
    format!(
        "upstream all {{\n{servers}}}\n{}",
        server_block(port, "all")
    )
}

/// Sticky on the `AUTH_SESSION_ID` route, as the README shows it: open-source nginx has no
/// `sticky`, so the route after the id's first `.` picks an upstream named after the node (the
/// other nodes as its backups); no cookie, no route or an unknown one: round-robin.
fn sticky_config(port: u16, nodes: &[(&str, u16)]) -> String {
    let mut out = round_robin_config(port, nodes);
    out.truncate(out.find("server {").unwrap());
    for (name, own) in nodes {
        out.push_str(&format!("upstream {name} {{\n  server 127.0.0.1:{own};\n"));
        for (_, other) in nodes.iter().filter(|(n, _)| n != name) {
            out.push_str(&format!("  server 127.0.0.1:{other} backup;\n"));
        }
        out.push_str("}\n");
    }
    out.push_str(
        "map $cookie_AUTH_SESSION_ID $route {\n  default \"\";\n  \"~^[^.]+\\.(?<r>.+)$\" $r;\n}\n",
    );
    out.push_str("map $route $pool {\n  default all;\n");
    for (name, _) in nodes {
        out.push_str(&format!("  {name} {name};\n"));
    }
    out.push_str("}\n");
    out + &server_block(port, "$pool")
}

/// The browser and the relying party of one login through nginx, noting which node answered
/// each request.
struct Flow {
    base: String,
    browser: reqwest::Client,
    rp: reqwest::Client,
    names: HashMap<String, String>,
    /// (step, node that answered it)
    seen: Vec<(&'static str, String)>,
}

impl Flow {
    fn new(base: &str, nodes: &[(&str, u16)]) -> Flow {
        Flow {
            base: base.to_owned(),
            browser: client(),
            rp: client(),
            names: nodes
                .iter()
                .map(|(n, p)| (format!("127.0.0.1:{p}"), n.to_string()))
                .collect(),
            seen: Vec::new(),
        }
    }

    /// Notes the node that answered (the last address: earlier ones refused, for a kill).
    fn note(&mut self, step: &'static str, response: &reqwest::Response) {
        let upstream = response
            .headers()
            .get("x-upstream")
            .unwrap_or_else(|| panic!("{step}: no X-Upstream"))
            .to_str()
            .unwrap();
        let last = upstream.rsplit(", ").next().unwrap();
        let node = self
            .names
            .get(last)
            .unwrap_or_else(|| panic!("{step}: unknown upstream {upstream}"));
        self.seen.push((step, node.clone()));
    }

    /// The node that answered `step`.
    fn node_of(&self, step: &str) -> &str {
        &self.seen.iter().find(|(s, _)| *s == step).unwrap().1
    }

    /// Authorization request: the login form, and the `AUTH_SESSION_ID` it sets.
    async fn authorize(&mut self) -> (String, String) {
        let page = self.browser.get(auth_url(&self.base)).send().await.unwrap();
        self.note("authorize", &page);
        assert_eq!(page.status(), 200);
        let cookie = auth_session_set(&page).expect("AUTH_SESSION_ID set");
        (page.text().await.unwrap(), cookie)
    }

    /// The login form again, at its own URL.
    async fn show_form(&mut self, html: &str) -> String {
        let action = attribute(html, "id=\"kc-form-login\"", "action");
        assert!(action.starts_with(&self.base), "{action}");
        let page = self.browser.get(&action).send().await.unwrap();
        self.note("form", &page);
        assert_eq!(page.status(), 200);
        page.text().await.unwrap()
    }

    /// The form post: straight to the application with a code (no loop through the login).
    async fn sign_in(&mut self, html: &str) -> String {
        let response = post_login(&self.browser, html).await;
        self.note("sign-in", &response);
        code_of(&response)
    }

    async fn token(&mut self, step: &'static str, form: &[(&str, &str)]) -> Value {
        let response = token_request(&self.rp, &token_url(&self.base, REALM), Some(APP), form)
            .send()
            .await
            .unwrap();
        self.note(step, &response);
        assert_eq!(response.status(), 200, "{step}");
        response.json().await.unwrap()
    }

    /// Code exchange, userinfo and refresh at the relying party's side.
    async fn finish(&mut self, code: &str) {
        let tokens = self.token("exchange", &code_grant(code, CALLBACK)).await;
        let info = self
            .rp
            .get(userinfo_url(&self.base, REALM))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        self.note("userinfo", &info);
        assert_eq!(info.status(), 200);
        let info: Value = info.json().await.unwrap();
        assert_eq!(info["preferred_username"], USER.0, "{info}");
        let refreshed = self
            .token(
                "refresh",
                &refresh_grant(tokens["refresh_token"].as_str().unwrap()),
            )
            .await;
        assert!(refreshed["access_token"].is_string(), "{refreshed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_through_nginx_round_robin_sticky_and_across_a_killed_node() {
    let Some(bin) = nginx_binary() else { return };
    let Some(db) = databases().await.into_iter().find(|d| d.name == "postgres") else {
        // Only without a PostgreSQL; CI sets GATEHOUSE_REQUIRE_PG so this never passes silently.
        return;
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let names = ["node1", "node2", "node3"];
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let pairs: Vec<(&str, u16)> = names.iter().copied().zip(ports.iter().copied()).collect();
    let dirs: Vec<_> = names.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = start_nodes(&dirs, &db, &names, &ports, &["--hostname", &base]);
    // Logins get their owners from the view: wait for the one with all three.
    await_view(&nodes.iter().collect::<Vec<_>>(), &names);
    setup_realm(&nodes[0]).await;

    // Round-robin: every request of the flow on another node than the one before, all three
    // taking part; each node carries on what another one started.
    {
        let nginx = Nginx::start(&bin, port, &round_robin_config(port, &pairs));
        let mut flow = Flow::new(&base, &pairs);
        let (html, cookie) = flow.authorize().await;
        // The route names the primary owner of the login, wherever the request landed.
        let route = cookie.split_once('.').map(|(_, r)| r.to_owned());
        assert!(
            route.as_deref().is_some_and(|r| names.contains(&r)),
            "{cookie}"
        );
        let html = flow.show_form(&html).await;
        let code = flow.sign_in(&html).await;
        flow.finish(&code).await;
        println!("round-robin: {:?}", flow.seen);
        for pair in flow.seen.windows(2) {
            assert_ne!(pair[0].1, pair[1].1, "{:?}", flow.seen);
        }
        let mut used: Vec<&str> = flow.seen.iter().map(|(_, n)| n.as_str()).collect();
        used.sort();
        used.dedup();
        assert_eq!(used, names, "{:?}\n{}", flow.seen, nginx.error_log());
    }

    // Sticky: after the authorization request, the browser's requests go to the node its
    // cookie names (the relying party's back-channel calls carry no cookie: round-robin).
    let nginx = Nginx::start(&bin, port, &sticky_config(port, &pairs));
    for _ in 0..3 {
        let mut flow = Flow::new(&base, &pairs);
        let (html, cookie) = flow.authorize().await;
        let (_, route) = cookie.split_once('.').unwrap();
        assert!(names.contains(&route), "{cookie}");
        let html = flow.show_form(&html).await;
        let code = flow.sign_in(&html).await;
        flow.finish(&code).await;
        println!("sticky: {:?}", flow.seen);
        assert_eq!(flow.node_of("form"), route, "{:?}", flow.seen);
        assert_eq!(flow.node_of("sign-in"), route, "{:?}", flow.seen);
    }

    // The node the cookie names, the login's primary owner, dies (kill -9) between the login
    // form and its post: nginx passes the post to another node, which finishes the login from
    // the backup copy (two owners by default).
    let mut flow = Flow::new(&base, &pairs);
    let (html, cookie) = flow.authorize().await;
    let (_, route) = cookie.split_once('.').unwrap();
    let route = route.to_owned();
    let victim = names.iter().position(|n| *n == route).unwrap();
    let (status, _) = nodes.remove(victim).stop_with(libc::SIGKILL);
    assert!(!status.success());
    let code = flow.sign_in(&html).await;
    assert_ne!(flow.node_of("sign-in"), route);
    flow.finish(&code).await;
    println!("killed {route}: {:?}", flow.seen);
    assert!(
        flow.seen.iter().skip(1).all(|(_, n)| *n != route),
        "{:?}",
        flow.seen
    );
    drop(nginx);
    for node in nodes {
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_route_can_be_left_off_and_a_foreign_route_is_read() {
    let Some(db) = databases().await.into_iter().find(|d| d.name == "postgres") else {
        return;
    };
    let dirs = [tempfile::tempdir().unwrap()];
    let port = free_port();
    let nodes = start_nodes(
        &dirs,
        &db,
        &["plain"],
        &[port],
        &[
            "--hostname-strict",
            "false",
            "--spi-sticky-session-encoder-infinispan-should-attach-route",
            "false",
        ],
    );
    let node = &nodes[0];
    setup_realm(node).await;

    // Without the route the cookie holds the bare id, and the login completes with it.
    let browser = client();
    let page = browser.get(auth_url(&node.url(""))).send().await.unwrap();
    let cookie = auth_session_set(&page).expect("AUTH_SESSION_ID set");
    assert!(!cookie.is_empty() && !cookie.contains('.'), "{cookie}");
    let html = page.text().await.unwrap();
    code_of(&post_login(&browser, &html).await);

    // A cookie naming another node's route (set before a failover, say) is read by its id.
    let stranger = client();
    let page = stranger.get(auth_url(&node.url(""))).send().await.unwrap();
    let id = auth_session_set(&page).unwrap();
    let html = page.text().await.unwrap();
    let action = attribute(&html, "id=\"kc-form-login\"", "action");
    let csrf = attribute(&html, "name=\"csrf\"", "value");
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(&action)
        .header("cookie", format!("AUTH_SESSION_ID={id}.node-elsewhere"))
        .form(&[("username", USER.0), ("password", USER.1), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    code_of(&response);
}
