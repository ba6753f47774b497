//! Start-up paths on both databases: the bootstrap admin, a restart that keeps everything, two
//! nodes starting at once on one PostgreSQL, HTTPS from PEM files, the relative path, health,
//! metrics and JSON logs.

use gatehouse_crypto::{PasswordPolicyHash, StoredPassword, Verified};
use gatehouse_model::{RealmName, Username};
use gatehouse_store::Store;

use crate::harness::{Db, Node, client, databases, open_store};

const ADMIN_ENV: [(&str, &str); 2] = [
    ("KC_BOOTSTRAP_ADMIN_USERNAME", "Admin"),
    ("KC_BOOTSTRAP_ADMIN_PASSWORD", "Correct-Horse-9"),
];

fn dev_args(db: &Db) -> Vec<String> {
    let mut args: Vec<String> = [
        "start-dev",
        "--http-port",
        "0",
        "--http-management-port",
        "0",
        "--health-enabled",
        "true",
        "--metrics-enabled",
        "true",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(db.args.iter().cloned());
    args
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Checks through the database itself that the admin exists with the admin role and password.
async fn assert_admin(store: &Store, username: &str, password: &str) {
    let mut tx = store.begin().await.unwrap();
    let realm = tx
        .realm_by_name(&RealmName::new("master").unwrap())
        .await
        .unwrap()
        .expect("master realm");
    let user = tx
        .user_by_username(&realm.id, &Username::new(username))
        .await
        .unwrap()
        .expect("admin user");
    assert_eq!(user.username.as_str(), username.to_lowercase());
    assert!(user.enabled);
    let roles = tx.user_role_ids(&user.id).await.unwrap();
    let admin_role = tx
        .realm_role_by_name(&realm.id, "admin")
        .await
        .unwrap()
        .expect("admin role");
    assert!(roles.contains(&admin_role.id), "user has the admin role");
    let creds = tx.credentials_of(&user.id).await.unwrap();
    assert_eq!(creds.len(), 1);
    let stored = StoredPassword {
        secret_data: creds[0].secret_data.clone(),
        credential_data: creds[0].credential_data.clone(),
    };
    let policy = PasswordPolicyHash::default();
    assert!(matches!(
        gatehouse_crypto::verify_password(password, &stored, &policy).unwrap(),
        Verified::Match { .. }
    ));
    assert_eq!(
        gatehouse_crypto::verify_password("wrong", &stored, &policy).unwrap(),
        Verified::Mismatch
    );
    for client in ["admin-cli", "security-admin-console"] {
        let id = gatehouse_model::ClientId::new(client);
        assert!(
            tx.client_by_client_id(&realm.id, &id)
                .await
                .unwrap()
                .is_some(),
            "client {client} exists"
        );
    }
    assert_eq!(tx.list_realms().await.unwrap().len(), 1, "one master realm");
    assert_eq!(tx.count_users(&realm.id).await.unwrap(), 1, "one user");
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_admin_then_restart_keeps_everything() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let args = dev_args(&db);
        let node = Node::start(dir.path(), &refs(&args), &ADMIN_ENV);
        let http = client();
        let ready = http
            .get(node.management_url("/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "{}: ready", db.name);
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "UP");
        let live = http
            .get(node.management_url("/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), 200);
        let page = http
            .get(node.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"admin-exists\""), "{}: {page}", db.name);
        let log = node.stop();
        assert!(
            log.contains("Created temporary admin user with username admin"),
            "{log}"
        );
        assert!(log.contains("Received SIGTERM"), "{log}");

        // Second start: no bootstrap options, and nothing is created again.
        let node = Node::start(dir.path(), &refs(&args), &[]);
        let page = http
            .get(node.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"admin-exists\""), "{}: {page}", db.name);
        let log = node.stop();
        assert!(!log.contains("created the master realm"), "{log}");
        assert!(!log.contains("Created temporary admin"), "{log}");

        let store = open_store(&db, dir.path()).await;
        assert_admin(&store, "Admin", "Correct-Horse-9").await;
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_starting_at_once_on_one_postgres() {
    let Some(db) = databases().await.into_iter().find(|d| d.name == "postgres") else {
        // Only without a PostgreSQL; CI sets GATEHOUSE_REQUIRE_PG so this never passes silently.
        return;
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut args = vec![
        "start",
        "--hostname-strict",
        "false",
        "--http-enabled",
        "true",
        "--http-port",
        "0",
        "--health-enabled",
        "true",
        "--http-management-port",
        "0",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    args.extend(db.args.iter().cloned());
    let mut args_a = args.clone();
    args_a.extend(["--node-name".to_string(), "node-a".to_string()]);
    let mut args_b = args;
    args_b.extend(["--node-name".to_string(), "node-b".to_string()]);
    let mut node_a = Node::spawn(a.path(), &refs(&args_a), &ADMIN_ENV);
    let mut node_b = Node::spawn(b.path(), &refs(&args_b), &ADMIN_ENV);
    node_a.wait_started();
    node_b.wait_started();
    let http = client();
    for node in [&node_a, &node_b] {
        let ready = http
            .get(node.management_url("/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
    }
    let logs = [node_a.stop(), node_b.stop()];
    let migrated = logs
        .iter()
        .filter(|l| l.contains("applied database migrations"))
        .count();
    assert_eq!(
        migrated, 1,
        "exactly one node ran the migrations:\n{}\n{}",
        logs[0], logs[1]
    );
    let created = logs
        .iter()
        .filter(|l| l.contains("created the master realm"))
        .count();
    assert_eq!(created, 1, "exactly one node created the master realm");

    let store = open_store(&db, a.path()).await;
    assert_admin(&store, "admin", "Correct-Horse-9").await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn https_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_path = dir.path().join("tls.crt");
    let key_path = dir.path().join("tls.key");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let args = [
        "start",
        "--hostname",
        "localhost",
        "--https-port",
        "0",
        "--https-certificate-file",
        cert_path.to_str().unwrap(),
        "--https-certificate-key-file",
        key_path.to_str().unwrap(),
    ];
    let node = Node::start(dir.path(), &args, &ADMIN_ENV);
    assert!(
        node.http.is_none(),
        "production mode serves no plain HTTP by default"
    );
    let addr = node.https.expect("https listener");
    let page = client()
        .get(format!("https://localhost:{}/", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    node.stop();

    // A key that does not exist is a start-up failure naming the file.
    let missing = dir.path().join("missing.key");
    let (status, log) = Node::spawn(
        dir.path(),
        &[
            "start",
            "--hostname",
            "localhost",
            "--https-port",
            "0",
            "--https-certificate-file",
            cert_path.to_str().unwrap(),
            "--https-certificate-key-file",
            missing.to_str().unwrap(),
        ],
        &[],
    )
    .wait_exit(std::time::Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("missing.key"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn relative_path_serves_under_auth() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "start-dev",
            "--http-port",
            "0",
            "--http-relative-path",
            "/auth/",
        ],
        &ADMIN_ENV,
    );
    let http = client();
    let root = http.get(node.url("/")).send().await.unwrap();
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()["location"], "/auth/");
    let page = http.get(node.url("/auth/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let none = http.get(node.url("/nothing-here")).send().await.unwrap();
    assert_eq!(none.status(), 404);
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_route_template() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let node = Node::start(dir.path(), &refs(&dev_args(&db)), &ADMIN_ENV);
    let http = client();
    http.get(node.url("/")).send().await.unwrap();
    http.get(node.url("/no/such/path")).send().await.unwrap();
    let metrics = http
        .get(node.management_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let has = |needle: &str| {
        metrics
            .lines()
            .any(|l| l.starts_with("http_server_requests_seconds_count") && l.contains(needle))
    };
    assert!(has("uri=\"/\"") && has("status=\"200\""), "{metrics}");
    assert!(has("uri=\"NOT_FOUND\""), "{metrics}");
    assert!(
        !metrics.contains("/no/such/path"),
        "raw paths never become labels"
    );
    assert!(metrics.contains("agroal_active_count"), "{metrics}");
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_node_name() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "start-dev",
            "--http-port",
            "0",
            "--log-console-output",
            "json",
            "--node-name",
            "node-json-1",
        ],
        &ADMIN_ENV,
    );
    let log = node.stop();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{log}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(v["node"], "node-json-1");
        assert!(v["message"].is_string() && v["level"].is_string() && v["timestamp"].is_string());
        assert!(!line.contains("Correct-Horse-9"), "no secret in a log line");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn text_logs_carry_the_node_name_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "start-dev",
            "--http-port",
            "0",
            "--node-name",
            "node-text-1",
            "--log-level",
            "debug",
        ],
        &ADMIN_ENV,
    );
    let log = node.stop();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.contains("(node-text-1)"),
            "line without node name: {line}"
        );
        assert!(
            !line.contains("Correct-Horse-9"),
            "secret in a log line: {line}"
        );
    }
}
