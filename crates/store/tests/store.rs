//! The store against real databases: SQLite always, PostgreSQL when `GATEHOUSE_TEST_PG_URL`
//! is set (CI sets it and `GATEHOUSE_REQUIRE_PG=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_model::{
    Client, ClientId, ClientScope, ClientScopeId, ClientSession, ClientUuid, Credential,
    CredentialId, Group, GroupId, KeyUse, MapperOwner, ProtocolMapper, ProtocolMapperId, Realm,
    RealmId, RealmKey, RealmKeyId, RealmName, Role, RoleId, SslRequired, User, UserId, UserSession,
    UserSessionId, Username,
};
use gatehouse_store::testing::{TestDb, backends};
use gatehouse_store::{Backend, ConnectOptions, DbSettings, Store, StoreError};

const LOCK_WAIT: Duration = Duration::from_secs(30);

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.options("store-test")).await.unwrap();
    store.migrate(LOCK_WAIT).await.unwrap();
    store
}

fn realm(name: &str) -> Realm {
    Realm::new(RealmId::new_random(), RealmName::new(name).unwrap())
}

fn client(realm: &RealmId, client_id: &str) -> Client {
    Client::new(
        ClientUuid::new_random(),
        realm.clone(),
        ClientId::new(client_id),
    )
}

fn role(realm: &RealmId, client: Option<&ClientUuid>, name: &str) -> Role {
    Role {
        id: RoleId::new_random(),
        realm_id: realm.clone(),
        client: client.cloned(),
        name: name.to_owned(),
        description: None,
        attributes: BTreeMap::new(),
    }
}

fn user(realm: &RealmId, username: &str) -> User {
    User {
        id: UserId::new_random(),
        realm_id: realm.clone(),
        username: Username::new(username),
        email: None,
        first_name: None,
        last_name: None,
        enabled: true,
        email_verified: false,
        created_timestamp: 1_700_000_000_000,
        federation_link: None,
        service_account_client_link: None,
        attributes: BTreeMap::new(),
        required_actions: Vec::new(),
        not_before: 0,
    }
}

fn group(realm: &RealmId, parent: Option<&GroupId>, name: &str) -> Group {
    Group {
        id: GroupId::new_random(),
        realm_id: realm.clone(),
        parent_id: parent.cloned(),
        name: name.to_owned(),
        description: None,
        attributes: BTreeMap::new(),
    }
}

fn scope(realm: &RealmId, name: &str) -> ClientScope {
    ClientScope {
        id: ClientScopeId::new_random(),
        realm_id: realm.clone(),
        name: name.to_owned(),
        description: None,
        protocol: "openid-connect".to_owned(),
        attributes: BTreeMap::new(),
    }
}

fn multi(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

fn single(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn migrate_twice_applies_once() {
    for db in backends().await {
        let store = Store::connect(&db.options("t")).await.unwrap();
        let first = store.migrate(LOCK_WAIT).await.unwrap();
        assert!(first.applied >= 1, "{}: {first:?}", db.name);
        assert_eq!(first.applied, first.total, "{}", db.name);
        let second = store.migrate(LOCK_WAIT).await.unwrap();
        assert_eq!(second.applied, 0, "{}", db.name);
        assert_eq!(second.total, first.total, "{}", db.name);
        store.ping().await.unwrap();
        let stats = store.pool_stats();
        assert_eq!(stats.max, 4);
        assert!(stats.size >= 1 && stats.idle <= stats.size, "{stats:?}");
        let expected = if db.name == "sqlite" {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        assert_eq!(store.backend(), expected);
        store.close().await;
    }
}

/// Two nodes starting at once on one empty database: both succeed, each migration runs once.
#[tokio::test]
async fn concurrent_migrations_run_each_version_once() {
    for db in backends().await {
        let a = Store::connect(&db.options("node-a")).await.unwrap();
        let b = Store::connect(&db.options("node-b")).await.unwrap();
        let (ra, rb) = tokio::join!(a.migrate(LOCK_WAIT), b.migrate(LOCK_WAIT));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(
            ra.applied + rb.applied,
            ra.total,
            "{}: {ra:?} {rb:?}",
            db.name
        );
        let versions = migration_versions(&db).await;
        let mut unique = versions.clone();
        unique.dedup();
        assert_eq!(versions, unique, "{}: a version applied twice", db.name);
        assert_eq!(versions.len(), ra.total, "{}", db.name);
    }
}

async fn migration_versions(db: &TestDb) -> Vec<i64> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let url = match &db.settings {
        DbSettings::Sqlite { path } => format!("sqlite://{}", path.display()),
        DbSettings::Postgres { url, .. } => url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn lock_timeout_names_the_holder() {
    for db in backends().await {
        let store = Store::connect(&db.options("waiting-node")).await.unwrap();
        // Hold the lock the way another node would.
        let _holder: Box<dyn std::any::Any> = match &db.settings {
            DbSettings::Postgres { url, .. } => {
                use sqlx::Connection as _;
                sqlx::any::install_default_drivers();
                let mut conn =
                    sqlx::AnyConnection::connect(&format!("{url}?application_name=holder-node"))
                        .await
                        .unwrap();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(0x4761_7465_686f_7573_i64)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Box::new(conn)
            }
            DbSettings::Sqlite { path } => {
                use std::io::Write as _;
                let mut f =
                    std::fs::File::create(format!("{}.migrate-lock", path.display())).unwrap();
                f.lock().unwrap();
                f.write_all(b"node 'holder-node' (pid 1)").unwrap();
                Box::new(f)
            }
        };
        let started = std::time::Instant::now();
        let err = store.migrate(Duration::from_secs(1)).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        match &err {
            StoreError::LockTimeout { waited, holder } => {
                assert!(*waited >= Duration::from_secs(1), "{}", db.name);
                let holder = holder.as_deref().unwrap_or_default();
                assert!(holder.contains("holder-node"), "{}: {holder}", db.name);
            }
            other => panic!("{}: expected LockTimeout, got {other:?}", db.name),
        }
        let message = err.to_string();
        assert!(
            message.starts_with("timed out after 1s waiting for the database migration lock held by node 'holder-node'"),
            "{}: {message}",
            db.name
        );
        if db.name == "postgres" {
            assert!(message.contains("127.0.0.1"), "{message}");
        }
        drop(_holder);
        // Once the holder is gone the lock is free again.
        store.migrate(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test]
async fn unreachable_database_names_host_and_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let opts = ConnectOptions {
        db: DbSettings::Postgres {
            url: format!("postgres://127.0.0.1:{port}/gatehouse"),
            username: Some("gatehouse".into()),
            password: Some("secret".into()),
            schema: None,
        },
        pool_min: 0,
        pool_max: 2,
        application_name: "t".into(),
        connect_timeout: Duration::from_secs(1),
    };
    let started = std::time::Instant::now();
    let err = Store::connect(&opts).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    match &err {
        StoreError::Unreachable { target, .. } => assert_eq!(target, &format!("127.0.0.1:{port}")),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn postgres_schema_is_created_and_used() {
    let Some(url) = gatehouse_store::testing::fresh_pg_database_url().await else {
        return;
    };
    let opts = ConnectOptions {
        db: DbSettings::Postgres {
            url,
            username: None,
            password: None,
            schema: Some("keycloak".into()),
        },
        pool_min: 1,
        pool_max: 2,
        application_name: "t".into(),
        connect_timeout: Duration::from_secs(5),
    };
    let store = Store::connect(&opts).await.unwrap();
    let report = store.migrate(LOCK_WAIT).await.unwrap();
    assert!(report.applied >= 1);
    assert_eq!(report.applied, report.total);
    let mut tx = store.begin().await.unwrap();
    tx.insert_realm(&realm("in-schema")).await.unwrap();
    tx.commit().await.unwrap();
    // A second store in the same schema sees the migration and the realm.
    let again = Store::connect(&opts).await.unwrap();
    assert_eq!(again.migrate(LOCK_WAIT).await.unwrap().applied, 0);
    let mut tx = again.begin().await.unwrap();
    assert_eq!(tx.list_realms().await.unwrap().len(), 1);
}

#[tokio::test]
async fn realm_round_trip_and_update() {
    for db in backends().await {
        let store = open(&db).await;
        let mut r = realm("acme");
        r.display_name = Some("ACME Corp".into());
        r.ssl_required = SslRequired::All;
        r.brute_force_protected = true;
        r.not_before = 1_700_000_000;
        r.quick_login_check_milli_seconds = 1500;
        r.password_policy = Some("length(8) and digits(1)".into());
        r.attributes = single(&[("frontendUrl", "https://sso.example"), ("x", "")]);
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.realm_by_id(&r.id).await.unwrap().as_ref(),
            Some(&r),
            "{}",
            db.name
        );
        assert_eq!(tx.realm_by_name(&r.name).await.unwrap().as_ref(), Some(&r));
        assert_eq!(
            tx.realm_by_name(&RealmName::new("nope").unwrap())
                .await
                .unwrap(),
            None
        );
        assert_eq!(tx.realm_by_id(&RealmId::new("nope")).await.unwrap(), None);

        r.enabled = false;
        r.display_name = None;
        r.access_token_lifespan = 60;
        r.default_role_id = Some(RoleId::new("r1"));
        r.attributes = single(&[("other", "1")]);
        r.login_theme = Some("acme-brand".into());
        r.internationalization_enabled = true;
        r.supported_locales = vec!["en".into(), "pt-BR".into()];
        r.default_locale = Some("pt-BR".into());
        assert!(tx.update_realm(&r).await.unwrap());
        assert_eq!(
            tx.realm_by_id(&r.id).await.unwrap().as_ref(),
            Some(&r),
            "{}",
            db.name
        );
        assert!(!tx.update_realm(&realm("ghost")).await.unwrap());

        let r2 = realm("beta");
        tx.insert_realm(&r2).await.unwrap();
        let names: Vec<String> = tx
            .list_realms()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name.into_string())
            .collect();
        assert_eq!(names, ["acme", "beta"]);
        assert!(tx.delete_realm(&r2.id).await.unwrap());
        assert!(!tx.delete_realm(&r2.id).await.unwrap());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn client_round_trip() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("clients");
        let mut c = client(&r.id, "web-app");
        c.name = Some("Web".into());
        c.public_client = true;
        c.secret = Some("s3cret".into());
        c.redirect_uris = vec!["https://b.example/*".into(), "https://a.example/cb".into()];
        c.web_origins = vec!["+".into()];
        c.attributes = single(&[("pkce.code.challenge.method", "S256")]);
        c.created_timestamp = 1_700_000_000_123;
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        assert_eq!(
            tx.client_by_id(&c.id).await.unwrap().as_ref(),
            Some(&c),
            "{}",
            db.name
        );
        assert_eq!(
            tx.client_by_client_id(&r.id, &c.client_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&c)
        );
        assert_eq!(
            tx.client_by_client_id(&r.id, &ClientId::new("x"))
                .await
                .unwrap(),
            None
        );

        c.redirect_uris = vec!["https://c.example/*".into()];
        c.web_origins.clear();
        c.enabled = false;
        assert!(tx.update_client(&c).await.unwrap());
        assert_eq!(tx.client_by_id(&c.id).await.unwrap().as_ref(), Some(&c));

        let dup = client(&r.id, "web-app");
        match tx.insert_client(&dup).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "client id"),
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        tx.insert_client(&client(&r.id, "another")).await.unwrap();
        let ids: Vec<String> = tx
            .list_clients(&r.id)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.client_id.into_string())
            .collect();
        assert_eq!(ids, ["another", "web-app"]);
        assert!(tx.delete_client(&c.id).await.unwrap());
        assert_eq!(tx.client_by_id(&c.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn roles_composites_and_uniqueness() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("roles");
        let c = client(&r.id, "app");
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        let mut admin = role(&r.id, None, "admin");
        admin.description = Some("Administrators".into());
        admin.attributes = multi(&[("level", &["3", "1", "3"])]);
        let user_role = role(&r.id, None, "user");
        // A client role may share a realm role's name.
        let client_admin = role(&r.id, Some(&c.id), "admin");
        for x in [&admin, &user_role, &client_admin] {
            tx.insert_role(x).await.unwrap();
        }
        assert_eq!(
            tx.role_by_id(&admin.id).await.unwrap().as_ref(),
            Some(&admin),
            "{}",
            db.name
        );
        assert_eq!(
            tx.realm_role_by_name(&r.id, "admin")
                .await
                .unwrap()
                .as_ref(),
            Some(&admin)
        );
        assert_eq!(
            tx.client_role_by_name(&c.id, "admin")
                .await
                .unwrap()
                .as_ref(),
            Some(&client_admin)
        );
        assert_eq!(tx.client_role_by_name(&c.id, "user").await.unwrap(), None);
        let realm_roles = tx.list_realm_roles(&r.id).await.unwrap();
        assert_eq!(realm_roles, vec![admin.clone(), user_role.clone()]);
        assert_eq!(
            tx.list_client_roles(&c.id).await.unwrap(),
            vec![client_admin.clone()]
        );

        tx.add_composite(&admin.id, &user_role.id).await.unwrap();
        tx.add_composite(&admin.id, &user_role.id).await.unwrap();
        tx.add_composite(&admin.id, &client_admin.id).await.unwrap();
        let kids: Vec<RoleId> = tx
            .composites_of(&admin.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(kids.len(), 2);
        assert!(
            tx.remove_composite(&admin.id, &client_admin.id)
                .await
                .unwrap()
        );
        assert!(
            !tx.remove_composite(&admin.id, &client_admin.id)
                .await
                .unwrap()
        );
        assert_eq!(
            tx.composites_of(&admin.id).await.unwrap(),
            vec![user_role.clone()]
        );

        assert!(tx.delete_role(&user_role.id).await.unwrap());
        assert!(tx.composites_of(&admin.id).await.unwrap().is_empty());
        tx.commit().await.unwrap();

        for dup in [
            role(&r.id, None, "admin"),
            role(&r.id, Some(&c.id), "admin"),
        ] {
            let mut tx = store.begin().await.unwrap();
            match tx.insert_role(&dup).await {
                Err(StoreError::Conflict(what)) => assert_eq!(what, "role name"),
                other => panic!("{}: expected Conflict, got {other:?}", db.name),
            }
            tx.rollback().await.unwrap();
        }

        // Deleting the client takes its roles with it.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_client(&c.id).await.unwrap());
        assert_eq!(tx.role_by_id(&client_admin.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn users_credentials_and_role_mappings() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("users");
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        let mut u = user(&r.id, "Alice");
        assert_eq!(u.username.as_str(), "alice");
        u.email = Some("Alice@Example.COM".into());
        u.first_name = Some("Alice".into());
        u.email_verified = true;
        u.attributes = multi(&[("phone", &["+1", "+2"]), ("dept", &["eng"])]);
        u.required_actions = vec!["VERIFY_EMAIL".into(), "UPDATE_PASSWORD".into()];
        tx.insert_user(&u).await.unwrap();

        let stored = tx.user_by_id(&u.id).await.unwrap().unwrap();
        let mut expected = u.clone();
        expected.email = Some("alice@example.com".into());
        assert_eq!(stored, expected, "{}", db.name);
        assert_eq!(
            tx.user_by_username(&r.id, &Username::new("ALICE"))
                .await
                .unwrap()
                .as_ref(),
            Some(&expected)
        );
        assert_eq!(
            tx.user_by_email(&r.id, "ALICE@example.com")
                .await
                .unwrap()
                .as_ref(),
            Some(&expected)
        );
        assert_eq!(
            tx.user_by_email(&r.id, "bob@example.com").await.unwrap(),
            None
        );

        match tx.insert_user(&user(&r.id, "ALICE")).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "username"),
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_user(&u).await.unwrap();
        for name in ["carol", "bob", "dave"] {
            tx.insert_user(&user(&r.id, name)).await.unwrap();
        }
        assert_eq!(tx.count_users(&r.id).await.unwrap(), 4);
        let page: Vec<String> = tx
            .list_users(&r.id, 1, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username.into_string())
            .collect();
        assert_eq!(page, ["bob", "carol"]);

        u.last_name = Some("Liddell".into());
        u.attributes = multi(&[("dept", &["ops"])]);
        u.required_actions.clear();
        u.email = Some("alice@example.com".into());
        assert!(tx.update_user(&u).await.unwrap());
        assert_eq!(tx.user_by_id(&u.id).await.unwrap().as_ref(), Some(&u));

        let pw = Credential {
            id: CredentialId::new_random(),
            user_id: u.id.clone(),
            credential_type: "password".into(),
            user_label: None,
            created_date: 1_700_000_000_000,
            secret_data: r#"{"value":"abc","salt":"xyz"}"#.into(),
            credential_data: r#"{"hashIterations":27500,"algorithm":"pbkdf2-sha256"}"#.into(),
            priority: 10,
        };
        let mut otp = pw.clone();
        otp.id = CredentialId::new_random();
        otp.credential_type = "otp".into();
        otp.user_label = Some("phone".into());
        otp.priority = 5;
        tx.insert_credential(&pw).await.unwrap();
        tx.insert_credential(&otp).await.unwrap();
        assert_eq!(
            tx.credentials_of(&u.id).await.unwrap(),
            vec![otp.clone(), pw.clone()]
        );
        let mut rehashed = pw.clone();
        rehashed.secret_data = r#"{"value":"new"}"#.into();
        assert!(tx.update_credential(&rehashed).await.unwrap());
        assert!(tx.delete_credential(&otp.id).await.unwrap());
        assert_eq!(tx.credentials_of(&u.id).await.unwrap(), vec![rehashed]);

        let admin = role(&r.id, None, "admin");
        tx.insert_role(&admin).await.unwrap();
        tx.grant_user_role(&u.id, &admin.id).await.unwrap();
        tx.grant_user_role(&u.id, &admin.id).await.unwrap();
        assert_eq!(
            tx.user_role_ids(&u.id).await.unwrap(),
            vec![admin.id.clone()]
        );
        assert_eq!(tx.users_with_role(&admin.id).await.unwrap().len(), 1);
        assert!(tx.revoke_user_role(&u.id, &admin.id).await.unwrap());
        assert!(!tx.revoke_user_role(&u.id, &admin.id).await.unwrap());
        assert!(tx.user_role_ids(&u.id).await.unwrap().is_empty());

        assert!(tx.delete_user(&u.id).await.unwrap());
        assert_eq!(tx.user_by_id(&u.id).await.unwrap(), None);
        assert!(tx.credentials_of(&u.id).await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn groups_memberships_and_roles() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("groups");
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        let mut top = group(&r.id, None, "staff");
        top.attributes = multi(&[("site", &["berlin", "tokyo"])]);
        top.description = Some("All staff".into());
        let sub = group(&r.id, Some(&top.id), "staff");
        let other = group(&r.id, None, "contractors");
        for g in [&top, &sub, &other] {
            tx.insert_group(g).await.unwrap();
        }
        assert_eq!(
            tx.group_by_id(&top.id).await.unwrap().as_ref(),
            Some(&top),
            "{}",
            db.name
        );
        assert_eq!(
            tx.top_level_groups(&r.id).await.unwrap(),
            vec![other.clone(), top.clone()]
        );
        assert_eq!(tx.subgroups(&top.id).await.unwrap(), vec![sub.clone()]);
        assert_eq!(tx.list_groups(&r.id).await.unwrap().len(), 3);

        let u = user(&r.id, "member");
        tx.insert_user(&u).await.unwrap();
        tx.join_group(&u.id, &sub.id).await.unwrap();
        tx.join_group(&u.id, &sub.id).await.unwrap();
        tx.join_group(&u.id, &other.id).await.unwrap();
        assert_eq!(
            tx.groups_of_user(&u.id).await.unwrap(),
            vec![other.clone(), sub.clone()]
        );
        assert_eq!(
            tx.group_member_ids(&sub.id).await.unwrap(),
            vec![u.id.clone()]
        );
        assert!(tx.leave_group(&u.id, &other.id).await.unwrap());
        assert!(!tx.leave_group(&u.id, &other.id).await.unwrap());

        let rr = role(&r.id, None, "viewer");
        tx.insert_role(&rr).await.unwrap();
        tx.grant_group_role(&top.id, &rr.id).await.unwrap();
        tx.grant_group_role(&top.id, &rr.id).await.unwrap();
        assert_eq!(
            tx.group_role_ids(&top.id).await.unwrap(),
            vec![rr.id.clone()]
        );
        assert!(tx.revoke_group_role(&top.id, &rr.id).await.unwrap());
        tx.grant_group_role(&top.id, &rr.id).await.unwrap();

        let mut renamed = other.clone();
        renamed.name = "vendors".into();
        renamed.attributes = multi(&[("k", &["v"])]);
        assert!(tx.update_group(&renamed).await.unwrap());
        assert_eq!(
            tx.group_by_id(&other.id).await.unwrap().as_ref(),
            Some(&renamed)
        );
        tx.commit().await.unwrap();

        for dup in [
            group(&r.id, None, "staff"),
            group(&r.id, Some(&top.id), "staff"),
        ] {
            let mut tx = store.begin().await.unwrap();
            match tx.insert_group(&dup).await {
                Err(StoreError::Conflict(what)) => assert_eq!(what, "group name"),
                other => panic!("{}: expected Conflict, got {other:?}", db.name),
            }
            tx.rollback().await.unwrap();
        }

        // Deleting a group takes its subgroups and their memberships.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_group(&top.id).await.unwrap());
        assert_eq!(tx.group_by_id(&sub.id).await.unwrap(), None);
        assert!(tx.groups_of_user(&u.id).await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn client_scopes_defaults_and_mappers() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("scopes");
        let c = client(&r.id, "app");
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        let mut profile = scope(&r.id, "profile");
        profile.description = Some("OpenID Connect built-in scope: profile".into());
        profile.attributes = single(&[("include.in.token.scope", "true")]);
        let email = scope(&r.id, "email");
        tx.insert_client_scope(&profile).await.unwrap();
        tx.insert_client_scope(&email).await.unwrap();
        assert_eq!(
            tx.client_scope_by_id(&profile.id).await.unwrap().as_ref(),
            Some(&profile),
            "{}",
            db.name
        );
        assert_eq!(
            tx.client_scope_by_name(&r.id, "email")
                .await
                .unwrap()
                .as_ref(),
            Some(&email)
        );
        assert_eq!(
            tx.list_client_scopes(&r.id).await.unwrap(),
            vec![email.clone(), profile.clone()]
        );

        tx.set_realm_default_scope(&r.id, &profile.id, true)
            .await
            .unwrap();
        tx.set_realm_default_scope(&r.id, &email.id, true)
            .await
            .unwrap();
        tx.set_realm_default_scope(&r.id, &email.id, false)
            .await
            .unwrap();
        let mut defaults = tx.realm_default_scopes(&r.id).await.unwrap();
        defaults.sort();
        let mut want = vec![(profile.id.clone(), true), (email.id.clone(), false)];
        want.sort();
        assert_eq!(defaults, want, "{}", db.name);

        tx.set_client_scope(&c.id, &profile.id, false)
            .await
            .unwrap();
        tx.set_client_scope(&c.id, &profile.id, true).await.unwrap();
        assert_eq!(
            tx.client_scopes_of(&c.id).await.unwrap(),
            vec![(profile.id.clone(), true)]
        );
        assert!(tx.remove_client_scope(&c.id, &profile.id).await.unwrap());
        assert!(tx.client_scopes_of(&c.id).await.unwrap().is_empty());
        tx.set_client_scope(&c.id, &profile.id, true).await.unwrap();

        let on_scope = ProtocolMapper {
            id: ProtocolMapperId::new_random(),
            name: "given name".into(),
            protocol: "openid-connect".into(),
            mapper_type: "oidc-usermodel-attribute-mapper".into(),
            owner: MapperOwner::ClientScope(profile.id.clone()),
            config: single(&[
                ("claim.name", "given_name"),
                ("user.attribute", "firstName"),
            ]),
        };
        let on_client = ProtocolMapper {
            id: ProtocolMapperId::new_random(),
            name: "audience".into(),
            protocol: "openid-connect".into(),
            mapper_type: "oidc-audience-mapper".into(),
            owner: MapperOwner::Client(c.id.clone()),
            config: BTreeMap::new(),
        };
        tx.insert_protocol_mapper(&on_scope).await.unwrap();
        tx.insert_protocol_mapper(&on_client).await.unwrap();
        assert_eq!(
            tx.protocol_mappers_of_scope(&profile.id).await.unwrap(),
            vec![on_scope.clone()]
        );
        assert_eq!(
            tx.protocol_mappers_of_client(&c.id).await.unwrap(),
            vec![on_client.clone()]
        );
        let mut changed = on_scope.clone();
        changed.config = single(&[("claim.name", "first")]);
        assert!(tx.update_protocol_mapper(&changed).await.unwrap());
        assert_eq!(
            tx.protocol_mapper_by_id(&on_scope.id).await.unwrap(),
            Some(changed)
        );
        assert!(tx.delete_protocol_mapper(&on_client.id).await.unwrap());
        assert!(
            tx.protocol_mappers_of_client(&c.id)
                .await
                .unwrap()
                .is_empty()
        );

        match tx.insert_client_scope(&scope(&r.id, "email")).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "client scope name"),
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        tx.insert_client_scope(&profile).await.unwrap();
        tx.insert_protocol_mapper(&on_scope).await.unwrap();
        tx.set_realm_default_scope(&r.id, &profile.id, true)
            .await
            .unwrap();
        tx.set_client_scope(&c.id, &profile.id, true).await.unwrap();
        assert!(tx.delete_client_scope(&profile.id).await.unwrap());
        assert!(tx.realm_default_scopes(&r.id).await.unwrap().is_empty());
        assert!(tx.client_scopes_of(&c.id).await.unwrap().is_empty());
        assert_eq!(tx.protocol_mapper_by_id(&on_scope.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

const UNICODE: &[&str] = &[
    "日本語のテキスト",
    "🎉🔐👩‍💻",
    "مرحبا بالعالم",
    "Ünïcödé ß",
    "混合 text עברית",
];

#[tokio::test]
async fn unicode_round_trips() {
    for db in backends().await {
        let store = open(&db).await;
        let mut r = realm("日本語-🎉-مرحبا");
        r.display_name = Some(UNICODE.join(" | "));
        r.display_name_html = Some("<b>مرحبا</b> 🎉".into());
        r.attributes = UNICODE
            .iter()
            .map(|s| (s.to_string(), s.to_string()))
            .collect();
        let mut u = user(&r.id, "ユーザー🎉مستخدم");
        u.first_name = Some("太郎".into());
        u.last_name = Some("عبد الله".into());
        u.email = Some("ÜSER@例え.jp".into());
        u.attributes = UNICODE
            .iter()
            .map(|s| (s.to_string(), vec![s.to_string(), "🙂".to_string()]))
            .collect();
        let mut g = group(&r.id, None, "グループ 🎉");
        g.attributes = multi(&[("عربي", &["日本"])]);
        let mut rl = role(&r.id, None, "管理者");
        rl.description = Some("🔐 مدير".into());
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_user(&u).await.unwrap();
        tx.insert_group(&g).await.unwrap();
        tx.insert_role(&rl).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.realm_by_name(&r.name).await.unwrap().as_ref(),
            Some(&r),
            "{}",
            db.name
        );
        let mut expected = u.clone();
        expected.email = Some("üser@例え.jp".into());
        assert_eq!(
            tx.user_by_username(&r.id, &Username::new("ユーザー🎉مستخدم"))
                .await
                .unwrap()
                .as_ref(),
            Some(&expected),
            "{}",
            db.name
        );
        assert_eq!(
            tx.user_by_email(&r.id, "Üser@例え.jp")
                .await
                .unwrap()
                .as_ref(),
            Some(&expected),
            "{}",
            db.name
        );
        assert_eq!(tx.group_by_id(&g.id).await.unwrap().as_ref(), Some(&g));
        assert_eq!(
            tx.realm_role_by_name(&r.id, "管理者")
                .await
                .unwrap()
                .as_ref(),
            Some(&rl)
        );
        // Lower-casing is Unicode-aware, so this is the same user.
        match tx.insert_user(&user(&r.id, "ユーザー🎉مستخدم")).await {
            Err(StoreError::Conflict(_)) => {}
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn realm_name_is_unique() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&realm("same")).await.unwrap();
        match tx.insert_realm(&realm("same")).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "realm name"),
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn deleting_a_realm_removes_everything_in_it() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("doomed");
        let keep = realm("kept");
        let c = client(&r.id, "app");
        let rr = role(&r.id, None, "r");
        let cr = role(&r.id, Some(&c.id), "c");
        let mut u = user(&r.id, "u");
        u.attributes = multi(&[("a", &["b"])]);
        let mut sa = user(&r.id, "service-account-app");
        sa.service_account_client_link = Some(c.id.clone());
        let g = group(&r.id, None, "g");
        let s = scope(&r.id, "s");
        let kept_user = user(&keep.id, "u");
        let cred = Credential {
            id: CredentialId::new_random(),
            user_id: u.id.clone(),
            credential_type: "password".into(),
            user_label: None,
            created_date: 0,
            secret_data: "{}".into(),
            credential_data: "{}".into(),
            priority: 10,
        };

        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_realm(&keep).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        tx.insert_role(&rr).await.unwrap();
        tx.insert_role(&cr).await.unwrap();
        tx.add_composite(&rr.id, &cr.id).await.unwrap();
        tx.insert_user(&u).await.unwrap();
        tx.insert_user(&sa).await.unwrap();
        tx.insert_user(&kept_user).await.unwrap();
        tx.insert_credential(&cred).await.unwrap();
        tx.grant_user_role(&u.id, &rr.id).await.unwrap();
        tx.insert_group(&g).await.unwrap();
        tx.join_group(&u.id, &g.id).await.unwrap();
        tx.grant_group_role(&g.id, &cr.id).await.unwrap();
        tx.insert_client_scope(&s).await.unwrap();
        tx.set_realm_default_scope(&r.id, &s.id, true)
            .await
            .unwrap();
        tx.set_client_scope(&c.id, &s.id, true).await.unwrap();
        tx.insert_realm_key(&RealmKey {
            id: RealmKeyId::new_random(),
            realm_id: r.id.clone(),
            name: "hmac-generated".into(),
            provider: "hmac-generated".into(),
            algorithm: "HS512".into(),
            key_use: KeyUse::Sig,
            priority: 100,
            enabled: true,
            active: true,
            private_key: "c2VjcmV0".into(),
            certificate: None,
            created_timestamp: 0,
        })
        .await
        .unwrap();
        let us = UserSession {
            id: UserSessionId::new_random(),
            offline: true,
            realm_id: r.id.clone(),
            user_id: u.id.clone(),
            login_username: "u".into(),
            ip_address: "::1".into(),
            auth_method: "openid-connect".into(),
            remember_me: false,
            started: 1,
            last_refresh: 1,
            broker_session_id: None,
            broker_user_id: None,
            notes: BTreeMap::new(),
        };
        tx.insert_user_session(&us).await.unwrap();
        tx.upsert_client_session(&ClientSession {
            user_session_id: us.id.clone(),
            offline: true,
            client_id: c.id.clone(),
            started: 1,
            last_refresh: 1,
            redirect_uri: None,
            notes: BTreeMap::new(),
            current_refresh_token: None,
            refresh_token_use_count: 0,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_realm(&r.id).await.unwrap());
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.realm_by_id(&r.id).await.unwrap(), None, "{}", db.name);
        assert_eq!(tx.client_by_id(&c.id).await.unwrap(), None);
        assert_eq!(tx.role_by_id(&rr.id).await.unwrap(), None);
        assert_eq!(tx.role_by_id(&cr.id).await.unwrap(), None);
        assert_eq!(tx.user_by_id(&u.id).await.unwrap(), None);
        assert_eq!(tx.user_by_id(&sa.id).await.unwrap(), None);
        assert!(tx.credentials_of(&u.id).await.unwrap().is_empty());
        assert!(tx.user_role_ids(&u.id).await.unwrap().is_empty());
        assert_eq!(tx.group_by_id(&g.id).await.unwrap(), None);
        assert!(tx.group_role_ids(&g.id).await.unwrap().is_empty());
        assert_eq!(tx.client_scope_by_id(&s.id).await.unwrap(), None);
        assert_eq!(tx.count_users(&r.id).await.unwrap(), 0);
        assert_eq!(
            tx.user_by_id(&kept_user.id).await.unwrap(),
            Some(kept_user.clone())
        );
        tx.commit().await.unwrap();
        drop(store);
        assert_no_orphans(&db).await;
    }
}

/// Every child table is empty of the deleted realm's rows: the cascades ran on every engine.
async fn assert_no_orphans(db: &TestDb) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let url = match &db.settings {
        DbSettings::Sqlite { path } => format!("sqlite://{}", path.display()),
        DbSettings::Postgres { url, .. } => url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    for (table, want) in [
        ("realm", 1),
        ("user_entity", 1),
        ("user_attribute", 0),
        ("credential", 0),
        ("user_role_mapping", 0),
        ("client", 0),
        ("keycloak_role", 0),
        ("composite_role", 0),
        ("keycloak_group", 0),
        ("group_role_mapping", 0),
        ("user_group_membership", 0),
        ("client_scope", 0),
        ("default_client_scope", 0),
        ("client_scope_client", 0),
        ("realm_key", 0),
        ("user_session", 0),
        ("client_session", 0),
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(n, want, "{}: {table}", db.name);
    }
}

#[tokio::test]
async fn rollback_leaves_nothing() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("ephemeral");
        let u = user(&r.id, "ghost");
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_user(&u).await.unwrap();
        tx.rollback().await.unwrap();
        // Dropping without commit rolls back too.
        {
            let mut tx = store.begin().await.unwrap();
            tx.insert_realm(&realm("dropped")).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        assert!(tx.list_realms().await.unwrap().is_empty(), "{}", db.name);
        assert_eq!(tx.user_by_id(&u.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

/// Writers on several pooled connections at once: SQLite serialises them (BEGIN IMMEDIATE plus
/// the busy timeout) instead of failing with "database is locked".
#[tokio::test]
async fn concurrent_writers_do_not_fail() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("busy");
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            let realm_id = r.id.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await?;
                tx.count_users(&realm_id).await?;
                tx.insert_user(&user(&realm_id, &format!("user{i}")))
                    .await?;
                tx.commit().await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.count_users(&r.id).await.unwrap(), 16, "{}", db.name);
        tx.commit().await.unwrap();
    }
}
