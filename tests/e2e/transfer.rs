//! `gatehouse export`, `gatehouse import` and `start --import-realm` on the real binary: a realm
//! export in Keycloak 26's format (tests/fixtures/keycloak-export-acme.json, hashes made by
//! Python with Keycloak's parameters) imports, its users log in with their old passwords and are
//! re-hashed, and export → import → export gives back the same document.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Db, Node, client, databases, open_store, run};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keycloak-export-acme.json"
);
const SECRET: &str = "acme-app-secret-0123456789";

fn args<'a>(db: &'a Db, first: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = first.to_vec();
    out.extend(db.args.iter().map(String::as_str));
    out
}

/// Runs a command that must succeed and returns its log.
fn ok(dir: &Path, args: &[&str]) -> String {
    let (status, out, err) = run(dir, args, &[]);
    assert!(status.success(), "{args:?} failed: {out}{err}");
    format!("{out}{err}")
}

async fn password_grant(node: &Node, username: &str, password: &str) -> (u16, Value) {
    let res = client()
        .post(node.url("/realms/acme/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "acme-app"),
            ("client_secret", SECRET),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

async fn algorithm_of(db: &Db, dir: &Path, username: &str) -> String {
    let store = open_store(db, dir).await;
    let mut tx = store.begin_read().await.unwrap();
    let realm = tx
        .realm_by_name(&gatehouse_model::RealmName::new("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    let user = tx
        .user_by_username(&realm.id, &gatehouse_model::Username::new(username))
        .await
        .unwrap()
        .unwrap();
    let creds = tx.credentials_of(&user.id).await.unwrap();
    tx.rollback().await.unwrap();
    store.close().await;
    let data: Value = serde_json::from_str(&creds[0].credential_data).unwrap();
    data["algorithm"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn keycloak_export_imports_and_its_users_log_in() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let log = ok(dir.path(), &args(&db, &["import", "--file", FIXTURE]));
        assert!(log.contains("Realm 'acme' imported"), "{log}");
        // What the file holds that Gatehouse does not model is named, not dropped silently.
        assert!(
            log.contains("'authenticationFlows' is not supported"),
            "{log}"
        );

        let node = Node::start(
            dir.path(),
            &args(&db, &["start-dev", "--http-port", "0"]),
            &[],
        );
        assert_eq!(
            algorithm_of(&db, dir.path(), "alice").await,
            "pbkdf2-sha512"
        );
        for (user, password) in [
            ("alice", "Alice-Pass-1"),
            ("bob", "Bob-Pass-1"),
            ("carol", "Carol-Pass-1"),
        ] {
            let (status, body) = password_grant(&node, user, password).await;
            assert_eq!(status, 200, "{} {user}: {body}", db.name);
            let (status, _) = password_grant(&node, user, "wrong").await;
            assert_eq!(status, 401, "{} {user}", db.name);
        }
        // Re-hashed with the realm's current policy (argon2) at the first login.
        assert_eq!(algorithm_of(&db, dir.path(), "alice").await, "argon2");
        assert_eq!(algorithm_of(&db, dir.path(), "bob").await, "argon2");
        let (status, body) = password_grant(&node, "alice", "Alice-Pass-1").await;
        assert_eq!(status, 200, "{body}");

        let c = claims(body["access_token"].as_str().unwrap());
        // Roles: direct (editor), from the group /staff/leads (manager, viewer), from its
        // parent /staff (employee), and through composites.
        let realm_roles = c["realm_access"]["roles"].as_array().unwrap();
        for role in [
            "manager",
            "employee",
            "offline_access",
            "default-roles-acme",
        ] {
            assert!(realm_roles.iter().any(|r| r == role), "{role}: {c}");
        }
        let app_roles = c["resource_access"]["acme-app"]["roles"]
            .as_array()
            .unwrap();
        assert!(app_roles.iter().any(|r| r == "editor"), "{c}");
        assert!(app_roles.iter().any(|r| r == "viewer"), "{c}");
        // Protocol mappers of the client and settings of the realm came along.
        assert_eq!(c["tenant"], "acme");
        assert_eq!(c["employee_number"], "1001");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
        assert_eq!(c["groups"], Value::Null);

        // The service account from the file works with the client's secret.
        let res = client()
            .post(node.url("/realms/acme/protocol/openid-connect/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "acme-app"),
                ("client_secret", SECRET),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_import_gives_back_the_same_realm() {
    for db in databases().await {
        let first = tempfile::tempdir().unwrap();
        ok(first.path(), &args(&db, &["import", "--file", FIXTURE]));
        // A login before the export, so keys exist and are carried over.
        let node = Node::start(
            first.path(),
            &args(&db, &["start-dev", "--http-port", "0"]),
            &[],
        );
        let (status, _) = password_grant(&node, "bob", "Bob-Pass-1").await;
        assert_eq!(status, 200);
        node.stop();
        let one = first.path().join("one.json");
        ok(
            first.path(),
            &args(
                &db,
                &["export", "--realm", "acme", "--file", one.to_str().unwrap()],
            ),
        );

        // A second, fresh database (SQLite here: the round trip crosses engines too).
        let second = tempfile::tempdir().unwrap();
        ok(second.path(), &["import", "--file", one.to_str().unwrap()]);
        let two = second.path().join("two.json");
        ok(
            second.path(),
            &["export", "--realm", "acme", "--file", two.to_str().unwrap()],
        );
        let a: Value = serde_json::from_str(&std::fs::read_to_string(&one).unwrap()).unwrap();
        let b: Value = serde_json::from_str(&std::fs::read_to_string(&two).unwrap()).unwrap();
        assert_eq!(
            a, b,
            "{}: export → import → export changed the realm",
            db.name
        );
        assert_eq!(a["users"].as_array().unwrap().len(), 4);
        assert!(
            a["components"]["org.keycloak.keys.KeyProvider"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["config"]["algorithm"][0] == "RS256"),
            "{}",
            a["components"]
        );

        // Tokens signed before the move verify after it: the keys moved with the realm.
        let node = Node::start(second.path(), &["start-dev", "--http-port", "0"], &[]);
        let (status, body) = password_grant(&node, "bob", "Bob-Pass-1").await;
        assert_eq!(status, 200, "{body}");
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_exports_split_users_and_import_back() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["import", "--file", FIXTURE]);
    let out = dir.path().join("out");
    ok(
        dir.path(),
        &[
            "export",
            "--dir",
            out.to_str().unwrap(),
            "--users",
            "different_files",
            "--users-per-file",
            "3",
        ],
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "acme-realm.json",
            "acme-users-0.json",
            "acme-users-1.json",
            "master-realm.json",
            "master-users-0.json"
        ]
    );
    let realm: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("acme-realm.json")).unwrap())
            .unwrap();
    assert!(realm.get("users").is_none());

    // Into a fresh database: realms first, then the users files.
    let fresh = tempfile::tempdir().unwrap();
    let log = ok(fresh.path(), &["import", "--dir", out.to_str().unwrap()]);
    assert!(log.contains("Imported 3 users into realm 'acme'"), "{log}");
    assert!(log.contains("Imported 1 users into realm 'acme'"), "{log}");
    let node = Node::start(fresh.path(), &["start-dev", "--http-port", "0"], &[]);
    let (status, body) = password_grant(&node, "carol", "Carol-Pass-1").await;
    assert_eq!(status, 200, "{body}");
    node.stop();

    // `--override false` leaves an existing realm alone; the default replaces it.
    let log = ok(
        fresh.path(),
        &["import", "--file", FIXTURE, "--override", "false"],
    );
    assert!(
        log.contains("Realm 'acme' already exists. Import skipped"),
        "{log}"
    );
    let log = ok(fresh.path(), &["import", "--file", FIXTURE]);
    assert!(log.contains("Realm 'acme' imported (replaced)"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_and_options_import_nothing_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    // A type error deep in the file: the message names the field and the line.
    let text = std::fs::read_to_string(FIXTURE).unwrap().replace(
        "\"enabled\": true,\n      \"totp\"",
        "\"enabled\": \"yes\",\n      \"totp\"",
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, &text).unwrap();
    let (status, out, err) = run(
        dir.path(),
        &["import", "--file", bad.to_str().unwrap()],
        &[],
    );
    let log = format!("{out}{err}");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("field 'users[0].enabled'"), "{log}");
    assert!(log.contains("line "), "{log}");
    // A role the file names but does not define: nothing of the realm is left behind.
    let mut realm: Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    realm["groups"][0]["realmRoles"] = serde_json::json!(["no-such-role"]);
    std::fs::write(&bad, realm.to_string()).unwrap();
    let (status, out, err) = run(
        dir.path(),
        &["import", "--file", bad.to_str().unwrap()],
        &[],
    );
    let log = format!("{out}{err}");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("realm role 'no-such-role' is named but not defined"),
        "{log}"
    );
    let (status, out, err) = run(
        dir.path(),
        &["export", "--realm", "acme", "--file", "x.json"],
        &[],
    );
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(
        format!("{out}{err}").contains("realm not found"),
        "{out}{err}"
    );

    // Option errors: one line, exit 2, naming the option and what it accepts.
    let (status, _, err) = run(dir.path(), &["export", "--realm", "acme"], &[]);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("'--dir' or '--file'"), "{err}");
    let (status, _, err) = run(dir.path(), &["export", "--dir", "d", "--users", "all"], &[]);
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("realm_file, same_file, different_files, skip"),
        "{err}"
    );
    let (status, _, err) = run(
        dir.path(),
        &["import", "--dir", "d", "--override", "yes"],
        &[],
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("'--override'"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_realm_at_start_skips_realms_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let import = dir.path().join("data").join("import");
    std::fs::create_dir_all(&import).unwrap();
    std::fs::copy(FIXTURE, import.join("acme.json")).unwrap();
    let node = Node::start(
        dir.path(),
        &["start-dev", "--http-port", "0", "--import-realm"],
        &[],
    );
    assert!(
        node.log().contains("Realm 'acme' imported"),
        "{}",
        node.log()
    );
    let (status, _) = password_grant(&node, "alice", "Alice-Pass-1").await;
    assert_eq!(status, 200);
    node.stop();
    let node = Node::start(
        dir.path(),
        &["start-dev", "--http-port", "0", "--import-realm"],
        &[],
    );
    assert!(
        node.log()
            .contains("Realm 'acme' already exists. Import skipped"),
        "{}",
        node.log()
    );
    // The user's re-hashed password survived: the realm was not replaced.
    let (status, _) = password_grant(&node, "alice", "Alice-Pass-1").await;
    assert_eq!(status, 200);
    node.stop();
}
