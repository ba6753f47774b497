//! Realm keys, durable sessions, single-use markers and revoked tokens against real databases:
//! SQLite always, PostgreSQL when `GATEHOUSE_TEST_PG_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_model::{
    Client, ClientId, ClientSession, ClientUuid, KeyUse, Realm, RealmId, RealmKey, RealmKeyId,
    RealmName, RefreshUse, User, UserId, UserSession, UserSessionId, Username,
};
use gatehouse_store::testing::{TestDb, backends};
use gatehouse_store::{Store, StoreError};

const LOCK_WAIT: Duration = Duration::from_secs(30);

async fn open(db: &TestDb) -> Store {
    let mut opts = db.options("sessions-test");
    opts.pool_max = 8;
    let store = Store::connect(&opts).await.unwrap();
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

fn notes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn session(realm: &RealmId, user: &UserId, offline: bool, started: i64) -> UserSession {
    UserSession {
        id: UserSessionId::new_random(),
        offline,
        realm_id: realm.clone(),
        user_id: user.clone(),
        login_username: "alice".into(),
        ip_address: "127.0.0.1".into(),
        auth_method: "openid-connect".into(),
        remember_me: false,
        started,
        last_refresh: started,
        broker_session_id: None,
        broker_user_id: None,
        notes: BTreeMap::new(),
    }
}

fn client_session(us: &UserSession, client: &ClientUuid, at: i64) -> ClientSession {
    ClientSession {
        user_session_id: us.id.clone(),
        offline: us.offline,
        client_id: client.clone(),
        started: at,
        last_refresh: at,
        redirect_uri: Some("https://app.example/cb".into()),
        notes: notes(&[("scope", "openid profile")]),
        current_refresh_token: None,
        refresh_token_use_count: 0,
    }
}

fn key(realm: &RealmId, name: &str, priority: i64, created: i64) -> RealmKey {
    RealmKey {
        id: RealmKeyId::new_random(),
        realm_id: realm.clone(),
        name: name.to_owned(),
        provider: name.to_owned(),
        algorithm: "RS256".into(),
        key_use: KeyUse::Sig,
        priority,
        enabled: true,
        active: true,
        private_key: "TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFD".into(),
        certificate: Some("TUlJQ3J6Q0NBWmNDQmdHVA==".into()),
        created_timestamp: created,
    }
}

/// A realm with one user and two clients, committed.
struct World {
    realm: Realm,
    user: User,
    app: Client,
    other: Client,
}

async fn world(store: &Store, name: &str) -> World {
    let r = realm(name);
    let w = World {
        user: user(&r.id, "alice"),
        app: client(&r.id, "app"),
        other: client(&r.id, "other"),
        realm: r,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_realm(&w.realm).await.unwrap();
    tx.insert_user(&w.user).await.unwrap();
    tx.insert_client(&w.app).await.unwrap();
    tx.insert_client(&w.other).await.unwrap();
    tx.commit().await.unwrap();
    w
}

#[tokio::test]
async fn realm_keys_crud_and_order() {
    for db in backends().await {
        let store = open(&db).await;
        let r = realm("keys");
        let low = key(&r.id, "rsa-low", 50, 3_000);
        let old = key(&r.id, "rsa-old", 100, 1_000);
        let new = key(&r.id, "rsa-new", 100, 2_000);
        let mut hmac = key(&r.id, "hmac-generated", 100, 1_500);
        hmac.provider = "hmac-generated".into();
        hmac.algorithm = "HS512".into();
        hmac.certificate = None;
        let mut enc = key(&r.id, "rsa-enc-generated", 10, 1);
        enc.key_use = KeyUse::Enc;
        enc.algorithm = "RSA-OAEP".into();

        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        for k in [&low, &old, &new, &hmac, &enc] {
            tx.insert_realm_key(k).await.unwrap();
        }
        match tx.insert_realm_key(&low).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "realm key id"),
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        for k in [&low, &old, &new, &hmac, &enc] {
            tx.insert_realm_key(k).await.unwrap();
        }
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let keys = tx.realm_keys(&r.id).await.unwrap();
        assert_eq!(
            keys,
            vec![
                new.clone(),
                hmac.clone(),
                old.clone(),
                low.clone(),
                enc.clone()
            ],
            "{}",
            db.name
        );
        assert!(
            tx.realm_keys(&RealmId::new("nope"))
                .await
                .unwrap()
                .is_empty()
        );

        let mut passive = old.clone();
        passive.active = false;
        passive.enabled = false;
        passive.priority = 500;
        passive.certificate = None;
        assert!(tx.update_realm_key(&passive).await.unwrap());
        let mut ghost = old.clone();
        ghost.id = RealmKeyId::new_random();
        assert!(!tx.update_realm_key(&ghost).await.unwrap());
        let keys = tx.realm_keys(&r.id).await.unwrap();
        assert_eq!(keys[0], passive, "{}", db.name);

        assert!(tx.delete_realm_key(&low.id).await.unwrap());
        assert!(!tx.delete_realm_key(&low.id).await.unwrap());
        assert_eq!(tx.realm_keys(&r.id).await.unwrap().len(), 4);

        assert!(tx.delete_realm(&r.id).await.unwrap());
        assert!(tx.realm_keys(&r.id).await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn user_sessions_round_trip() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "sessions").await;
        let mut online = session(&w.realm.id, &w.user.id, false, 1_000);
        online.remember_me = true;
        online.broker_session_id = Some("idp.broker-session".into());
        online.broker_user_id = Some("idp.user-7".into());
        online.notes = notes(&[
            ("AUTH_TIME", "1000"),
            (
                "KC_DEVICE_NOTE",
                "{\"os\":\"Linux\",\"browser\":\"Firefox/130\"}",
            ),
            ("ユーザー", "日本語 ✓ 🎉 \"quoted\" \\ back\nslash"),
        ]);
        // The offline session shares the online session's id.
        let mut offline = session(&w.realm.id, &w.user.id, true, 1_100);
        offline.id = online.id.clone();
        let later = session(&w.realm.id, &w.user.id, false, 2_000);

        let mut tx = store.begin().await.unwrap();
        tx.insert_user_session(&online).await.unwrap();
        tx.insert_user_session(&offline).await.unwrap();
        tx.insert_user_session(&later).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        match tx.insert_user_session(&online).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "user session id"),
            other => panic!("{}: expected Conflict, got {other:?}", db.name),
        }
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.user_session(&online.id, false).await.unwrap(),
            Some(online.clone()),
            "{}",
            db.name
        );
        assert_eq!(
            tx.user_session(&online.id, true).await.unwrap(),
            Some(offline.clone())
        );
        assert_eq!(tx.user_session(&later.id, true).await.unwrap(), None);
        assert!(tx.user_session_exists(&later.id, false).await.unwrap());
        assert_eq!(
            tx.user_sessions_of_user(&w.user.id, false).await.unwrap(),
            vec![online.clone(), later.clone()]
        );
        assert_eq!(
            tx.user_sessions_of_user(&w.user.id, true).await.unwrap(),
            vec![offline.clone()]
        );

        let new_notes = notes(&[("🔑", "värde"), ("empty", "")]);
        assert!(
            tx.update_user_session_notes(&online.id, false, &new_notes)
                .await
                .unwrap()
        );
        assert!(
            !tx.update_user_session_notes(&UserSessionId::new("nope"), false, &new_notes)
                .await
                .unwrap()
        );
        let read = tx.user_session(&online.id, false).await.unwrap().unwrap();
        assert_eq!(read.notes, new_notes, "{}", db.name);
        // The offline twin is untouched.
        assert_eq!(
            tx.user_session(&online.id, true)
                .await
                .unwrap()
                .unwrap()
                .notes,
            BTreeMap::new()
        );

        assert!(tx.delete_user_session(&online.id, false).await.unwrap());
        assert!(!tx.delete_user_session(&online.id, false).await.unwrap());
        assert!(tx.user_session(&online.id, true).await.unwrap().is_some());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn client_sessions_upsert_list_count_and_delete() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "clients").await;
        let s1 = session(&w.realm.id, &w.user.id, false, 100);
        let s2 = session(&w.realm.id, &w.user.id, false, 200);
        let s3 = session(&w.realm.id, &w.user.id, false, 300);
        let mut off = session(&w.realm.id, &w.user.id, true, 150);
        off.id = s1.id.clone();

        let mut tx = store.begin().await.unwrap();
        for s in [&s1, &s2, &s3, &off] {
            tx.insert_user_session(s).await.unwrap();
        }
        let first = client_session(&s1, &w.app.id, 100);
        tx.upsert_client_session(&first).await.unwrap();
        let mut second = client_session(&s1, &w.app.id, 110);
        second.last_refresh = 120;
        second.redirect_uri = None;
        second.notes = notes(&[("nonce", "n-ñ-🌙"), ("scope", "openid")]);
        second.current_refresh_token = Some("rt-1".into());
        second.refresh_token_use_count = 3;
        tx.upsert_client_session(&second).await.unwrap();
        tx.upsert_client_session(&client_session(&s1, &w.other.id, 105))
            .await
            .unwrap();
        tx.upsert_client_session(&client_session(&s2, &w.app.id, 200))
            .await
            .unwrap();
        tx.upsert_client_session(&client_session(&s3, &w.app.id, 300))
            .await
            .unwrap();
        tx.upsert_client_session(&client_session(&off, &w.app.id, 150))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.client_session(&s1.id, false, &w.app.id).await.unwrap(),
            Some(second.clone()),
            "{}",
            db.name
        );
        let of_s1 = tx.client_sessions_of(&s1.id, false).await.unwrap();
        assert_eq!(of_s1.len(), 2, "{}: one row per client", db.name);
        assert_eq!(of_s1[0].client_id, w.other.id);
        assert_eq!(of_s1[1], second);
        assert_eq!(tx.client_sessions_of(&s1.id, true).await.unwrap().len(), 1);
        assert_eq!(
            tx.client_session(&s1.id, true, &w.other.id).await.unwrap(),
            None
        );

        assert_eq!(
            tx.count_sessions_of_client(&w.app.id, false).await.unwrap(),
            3
        );
        assert_eq!(
            tx.count_sessions_of_client(&w.app.id, true).await.unwrap(),
            1
        );
        assert_eq!(
            tx.count_sessions_of_client(&w.other.id, false)
                .await
                .unwrap(),
            1
        );
        let ids = |v: Vec<UserSession>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(
            ids(tx
                .user_sessions_of_client(&w.app.id, false, 0, 10)
                .await
                .unwrap()),
            vec![s1.id.clone(), s2.id.clone(), s3.id.clone()],
            "{}",
            db.name
        );
        assert_eq!(
            ids(tx
                .user_sessions_of_client(&w.app.id, false, 1, 1)
                .await
                .unwrap()),
            vec![s2.id.clone()]
        );
        assert!(
            tx.user_sessions_of_client(&w.app.id, false, 3, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let offline_sessions = tx
            .user_sessions_of_client(&w.app.id, true, 0, 10)
            .await
            .unwrap();
        assert_eq!(offline_sessions, vec![off.clone()]);

        // Client-session touch only moves forward.
        assert!(
            tx.touch_client_session(&s1.id, false, &w.app.id, 500)
                .await
                .unwrap()
        );
        assert!(
            tx.touch_client_session(&s1.id, false, &w.app.id, 400)
                .await
                .unwrap()
        );
        assert_eq!(
            tx.client_session(&s1.id, false, &w.app.id)
                .await
                .unwrap()
                .unwrap()
                .last_refresh,
            500
        );
        assert!(
            !tx.touch_client_session(&s2.id, false, &w.other.id, 500)
                .await
                .unwrap()
        );

        assert!(
            tx.delete_client_session(&s1.id, false, &w.app.id)
                .await
                .unwrap()
        );
        assert!(
            !tx.delete_client_session(&s1.id, false, &w.app.id)
                .await
                .unwrap()
        );
        assert!(tx.user_session(&s1.id, false).await.unwrap().is_some());
        assert_eq!(
            tx.count_sessions_of_client(&w.app.id, false).await.unwrap(),
            2
        );

        // Deleting the user session takes its client sessions along, and only its own.
        assert!(tx.delete_user_session(&s1.id, false).await.unwrap());
        assert!(
            tx.client_sessions_of(&s1.id, false)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(tx.client_sessions_of(&s1.id, true).await.unwrap().len(), 1);
        assert_eq!(
            tx.count_sessions_of_client(&w.other.id, false)
                .await
                .unwrap(),
            0
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_client_session_needs_its_user_session() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "orphan").await;
        let s = session(&w.realm.id, &w.user.id, false, 1);
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .upsert_client_session(&client_session(&s, &w.app.id, 1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Internal(_)),
            "{}: {err:?}",
            db.name
        );
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn sessions_go_with_their_user_client_and_realm() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "cascade").await;
        let bob = user(&w.realm.id, "bob");
        let a = session(&w.realm.id, &w.user.id, false, 1);
        let mut a_off = session(&w.realm.id, &w.user.id, true, 1);
        a_off.id = a.id.clone();
        let b = session(&w.realm.id, &bob.id, false, 2);
        let kept = world(&store, "kept").await;
        let k = session(&kept.realm.id, &kept.user.id, false, 3);

        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&bob).await.unwrap();
        for s in [&a, &a_off, &b, &k] {
            tx.insert_user_session(s).await.unwrap();
        }
        for (s, c) in [
            (&a, &w.app.id),
            (&a, &w.other.id),
            (&a_off, &w.app.id),
            (&b, &w.app.id),
            (&b, &w.other.id),
            (&k, &kept.app.id),
        ] {
            tx.upsert_client_session(&client_session(s, c, 1))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();

        // The client goes: its client sessions go, the user sessions stay.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_client(&w.other.id).await.unwrap());
        assert_eq!(tx.client_sessions_of(&a.id, false).await.unwrap().len(), 1);
        assert_eq!(tx.client_sessions_of(&b.id, false).await.unwrap().len(), 1);
        assert_eq!(
            tx.count_sessions_of_client(&w.other.id, false)
                .await
                .unwrap(),
            0
        );
        assert!(tx.user_session(&a.id, false).await.unwrap().is_some());
        tx.commit().await.unwrap();

        // The user goes: online and offline sessions and their client sessions go.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_user(&w.user.id).await.unwrap());
        assert_eq!(
            tx.user_session(&a.id, false).await.unwrap(),
            None,
            "{}",
            db.name
        );
        assert_eq!(tx.user_session(&a.id, true).await.unwrap(), None);
        assert!(tx.client_sessions_of(&a.id, true).await.unwrap().is_empty());
        assert!(tx.user_session(&b.id, false).await.unwrap().is_some());
        tx.commit().await.unwrap();

        // The realm goes: everything in it goes, the other realm keeps its sessions.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_realm(&w.realm.id).await.unwrap());
        assert_eq!(tx.user_session(&b.id, false).await.unwrap(), None);
        assert!(
            tx.client_sessions_of(&b.id, false)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            tx.user_session(&k.id, false).await.unwrap(),
            Some(k.clone())
        );
        assert_eq!(tx.client_sessions_of(&k.id, false).await.unwrap().len(), 1);
        tx.commit().await.unwrap();

        assert_tables(&db, &[("user_session", 1), ("client_session", 1)]).await;
    }
}

async fn assert_tables(db: &TestDb, want: &[(&str, i64)]) {
    use gatehouse_store::DbSettings;
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let url = match &db.settings {
        DbSettings::Sqlite { path } => format!("sqlite://{}", path.display()),
        DbSettings::Postgres { url, .. } => url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    for (table, n) in want {
        let got: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(got, *n, "{}: {table}", db.name);
    }
}

#[tokio::test]
async fn bulk_session_deletes() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "bulk").await;
        let other = world(&store, "bulk-other").await;
        let bob = user(&w.realm.id, "bob");
        let a1 = session(&w.realm.id, &w.user.id, false, 1);
        let a2 = session(&w.realm.id, &w.user.id, true, 1);
        let b1 = session(&w.realm.id, &bob.id, false, 1);
        let b2 = session(&w.realm.id, &bob.id, true, 1);
        let b3 = session(&w.realm.id, &bob.id, false, 2);
        let o1 = session(&other.realm.id, &other.user.id, false, 1);
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&bob).await.unwrap();
        for s in [&a1, &a2, &b1, &b2, &b3, &o1] {
            tx.insert_user_session(s).await.unwrap();
        }
        assert_eq!(
            tx.delete_user_sessions_of_user(&w.user.id).await.unwrap(),
            2
        );
        assert_eq!(
            tx.delete_user_sessions_of_user_where(&bob.id, Some(false))
                .await
                .unwrap(),
            2,
            "{}",
            db.name
        );
        assert!(tx.user_session(&b2.id, true).await.unwrap().is_some());
        tx.insert_user_session(&b1).await.unwrap();
        assert_eq!(
            tx.delete_user_sessions_of_realm(&w.realm.id, Some(true))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            tx.delete_user_sessions_of_realm(&w.realm.id, None)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            tx.delete_user_sessions_of_realm(&w.realm.id, Some(false))
                .await
                .unwrap(),
            0
        );
        assert!(tx.user_session(&o1.id, false).await.unwrap().is_some());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn touch_only_moves_forward() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "touch").await;
        let s = session(&w.realm.id, &w.user.id, false, 1_000);
        let mut tx = store.begin().await.unwrap();
        tx.insert_user_session(&s).await.unwrap();
        assert!(tx.touch_user_session(&s.id, false, 1_500).await.unwrap());
        // An older value (a slower node) and the same value change nothing but still say
        // the session exists.
        assert!(tx.touch_user_session(&s.id, false, 1_200).await.unwrap());
        assert!(tx.touch_user_session(&s.id, false, 1_500).await.unwrap());
        let read = tx.user_session(&s.id, false).await.unwrap().unwrap();
        assert_eq!(read.last_refresh, 1_500, "{}", db.name);
        assert_eq!(read.started, 1_000);
        assert!(!tx.touch_user_session(&s.id, true, 2_000).await.unwrap());
        assert!(
            !tx.touch_user_session(&UserSessionId::new("gone"), false, 2_000)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn delete_expired_respects_idle_and_max() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "expiry").await;
        let other = world(&store, "expiry-other").await;
        let mk = |started: i64, last: i64, offline: bool| {
            let mut s = session(&w.realm.id, &w.user.id, offline, started);
            s.last_refresh = last;
            s
        };
        let fresh = mk(900, 990, false);
        let idle = mk(900, 940, false); // last_refresh < 950
        let old = mk(100, 990, false); // started < 500
        let offline_idle = mk(900, 940, true);
        let mut remembered = mk(900, 940, false);
        remembered.remember_me = true;
        let mut elsewhere = session(&other.realm.id, &other.user.id, false, 100);
        elsewhere.last_refresh = 100;

        let mut tx = store.begin().await.unwrap();
        for s in [&fresh, &idle, &old, &offline_idle, &remembered, &elsewhere] {
            tx.insert_user_session(s).await.unwrap();
        }
        tx.upsert_client_session(&client_session(&idle, &w.app.id, 900))
            .await
            .unwrap();

        // Without a maximum only idle sessions go; "remember me" ones set apart first.
        assert_eq!(
            tx.delete_expired_user_sessions_where(&w.realm.id, false, Some(false), 950, 0)
                .await
                .unwrap(),
            1,
            "{}",
            db.name
        );
        assert_eq!(tx.user_session(&idle.id, false).await.unwrap(), None);
        assert!(
            tx.client_sessions_of(&idle.id, false)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            tx.user_session(&remembered.id, false)
                .await
                .unwrap()
                .is_some()
        );
        assert!(tx.user_session(&old.id, false).await.unwrap().is_some());

        // With a maximum, sessions started before it go too.
        assert_eq!(
            tx.delete_expired_user_sessions(&w.realm.id, false, 950, 500)
                .await
                .unwrap(),
            2,
            "{}",
            db.name
        );
        assert_eq!(tx.user_session(&old.id, false).await.unwrap(), None);
        assert_eq!(tx.user_session(&remembered.id, false).await.unwrap(), None);
        assert!(tx.user_session(&fresh.id, false).await.unwrap().is_some());
        // Offline sessions and other realms are separate.
        assert!(
            tx.user_session(&offline_idle.id, true)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            tx.user_session(&elsewhere.id, false)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            tx.delete_expired_user_sessions(&w.realm.id, true, 950, 0)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            tx.delete_expired_user_sessions(&w.realm.id, false, 950, 0)
                .await
                .unwrap(),
            0
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn refresh_token_reuse_sequences() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "refresh").await;
        let s = session(&w.realm.id, &w.user.id, false, 1_000);
        let mut tx = store.begin().await.unwrap();
        tx.insert_user_session(&s).await.unwrap();
        tx.upsert_client_session(&client_session(&s, &w.app.id, 1_000))
            .await
            .unwrap();
        let (sid, app) = (&s.id, &w.app.id);
        let state = |c: Option<ClientSession>| {
            let c = c.unwrap();
            (c.current_refresh_token, c.refresh_token_use_count)
        };

        // max_reuse 0: single use.
        assert_eq!(
            tx.use_refresh_token(sid, false, app, "rt-1", 0)
                .await
                .unwrap(),
            RefreshUse::Ok,
            "{}",
            db.name
        );
        assert_eq!(
            state(tx.client_session(sid, false, app).await.unwrap()),
            (Some("rt-1".to_owned()), 1)
        );
        assert_eq!(
            tx.use_refresh_token(sid, false, app, "rt-1", 0)
                .await
                .unwrap(),
            RefreshUse::Exceeded
        );
        // A failed use changes nothing.
        assert_eq!(
            state(tx.client_session(sid, false, app).await.unwrap()),
            (Some("rt-1".to_owned()), 1)
        );
        // A new token id starts a new count.
        assert_eq!(
            tx.use_refresh_token(sid, false, app, "rt-2", 0)
                .await
                .unwrap(),
            RefreshUse::Ok
        );
        assert_eq!(
            state(tx.client_session(sid, false, app).await.unwrap()),
            (Some("rt-2".to_owned()), 1)
        );
        assert_eq!(
            tx.use_refresh_token(sid, false, app, "rt-2", 0)
                .await
                .unwrap(),
            RefreshUse::Exceeded
        );

        // max_reuse 2: three uses in all.
        for _ in 0..3 {
            assert_eq!(
                tx.use_refresh_token(sid, false, app, "rt-3", 2)
                    .await
                    .unwrap(),
                RefreshUse::Ok
            );
        }
        assert_eq!(
            tx.use_refresh_token(sid, false, app, "rt-3", 2)
                .await
                .unwrap(),
            RefreshUse::Exceeded
        );
        assert_eq!(
            state(tx.client_session(sid, false, app).await.unwrap()),
            (Some("rt-3".to_owned()), 3)
        );

        // Staleness with the token's issue time: the client session was last refreshed at
        // 1_000, so a different token issued before is stale and one issued then or later
        // rotates.
        assert_eq!(
            tx.use_refresh_token_issued_at(sid, false, app, "rt-old", 999, 0)
                .await
                .unwrap(),
            RefreshUse::Stale
        );
        assert_eq!(
            state(tx.client_session(sid, false, app).await.unwrap()),
            (Some("rt-3".to_owned()), 3)
        );
        assert_eq!(
            tx.use_refresh_token_issued_at(sid, false, app, "rt-4", 1_000, 0)
                .await
                .unwrap(),
            RefreshUse::Ok
        );
        assert!(
            tx.touch_client_session(sid, false, app, 1_100)
                .await
                .unwrap()
        );
        // rt-4 again, as the current token: over budget (not stale).
        assert_eq!(
            tx.use_refresh_token_issued_at(sid, false, app, "rt-4", 1_000, 0)
                .await
                .unwrap(),
            RefreshUse::Exceeded
        );
        assert_eq!(
            tx.use_refresh_token_issued_at(sid, false, app, "rt-5", 1_100, 0)
                .await
                .unwrap(),
            RefreshUse::Ok
        );
        // The first token of a client session is never stale.
        let mut fresh = client_session(&s, &w.other.id, 5_000);
        fresh.current_refresh_token = None;
        tx.upsert_client_session(&fresh).await.unwrap();
        assert_eq!(
            tx.use_refresh_token_issued_at(sid, false, &w.other.id, "x", 1, 0)
                .await
                .unwrap(),
            RefreshUse::Ok
        );

        // No client session: online/offline are separate, and a missing one says so.
        assert_eq!(
            tx.use_refresh_token(sid, true, app, "rt-1", 0)
                .await
                .unwrap(),
            RefreshUse::NoClientSession
        );
        assert_eq!(
            tx.use_refresh_token(&UserSessionId::new("nope"), false, app, "rt-1", 0)
                .await
                .unwrap(),
            RefreshUse::NoClientSession
        );
        tx.commit().await.unwrap();
    }
}

/// Eight nodes present one refresh token at once with max reuse 0: exactly one wins, on
/// either engine, each in its own transaction.
#[tokio::test]
async fn refresh_token_race_has_one_winner() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "race").await;
        for round in 0..3 {
            let s = session(&w.realm.id, &w.user.id, false, 1_000);
            let mut cs = client_session(&s, &w.app.id, 1_000);
            if round == 1 {
                // Racing from an existing, different current token.
                cs.current_refresh_token = Some("previous".into());
                cs.refresh_token_use_count = 1;
            }
            let mut tx = store.begin().await.unwrap();
            tx.insert_user_session(&s).await.unwrap();
            tx.upsert_client_session(&cs).await.unwrap();
            tx.commit().await.unwrap();

            let barrier = Arc::new(tokio::sync::Barrier::new(8));
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let store = store.clone();
                let barrier = barrier.clone();
                let (sid, app) = (s.id.clone(), w.app.id.clone());
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let mut tx = store.begin().await?;
                    let got = tx
                        .use_refresh_token_issued_at(&sid, false, &app, "shared", 1_000, 0)
                        .await?;
                    tx.commit().await?;
                    Ok::<_, StoreError>(got)
                }));
            }
            let mut outcomes = Vec::new();
            for t in tasks {
                outcomes.push(t.await.unwrap().unwrap());
            }
            let wins = outcomes.iter().filter(|o| **o == RefreshUse::Ok).count();
            assert_eq!(wins, 1, "{} round {round}: {outcomes:?}", db.name);
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, RefreshUse::Ok | RefreshUse::Exceeded)),
                "{}: {outcomes:?}",
                db.name
            );
            let mut tx = store.begin().await.unwrap();
            let cs = tx
                .client_session(&s.id, false, &w.app.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(cs.current_refresh_token.as_deref(), Some("shared"));
            assert_eq!(cs.refresh_token_use_count, 1, "{}", db.name);
            tx.commit().await.unwrap();
        }
    }
}

#[tokio::test]
async fn single_use_is_single() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.mark_single_use_at("code:abc", 1_060, 1_000)
                .await
                .unwrap(),
            "{}",
            db.name
        );
        assert!(
            !tx.mark_single_use_at("code:abc", 1_060, 1_001)
                .await
                .unwrap(),
            "{}",
            db.name
        );
        assert!(
            !tx.mark_single_use_at("code:abc", 2_000, 1_059)
                .await
                .unwrap()
        );
        // At the expiry second the marker still holds (it expires once `now` passes it).
        assert!(
            !tx.mark_single_use_at("code:abc", 2_000, 1_060)
                .await
                .unwrap()
        );
        // Expired: the key may be used again, once.
        assert!(
            tx.mark_single_use_at("code:abc", 2_000, 1_061)
                .await
                .unwrap(),
            "{}",
            db.name
        );
        assert!(
            !tx.mark_single_use_at("code:abc", 3_000, 1_062)
                .await
                .unwrap()
        );
        assert!(
            tx.mark_single_use_at("ключ-🔑", 2_000, 1_000)
                .await
                .unwrap()
        );
        assert!(
            !tx.mark_single_use_at("ключ-🔑", 2_000, 1_000)
                .await
                .unwrap()
        );
        // The clock-reading form: a far-future expiry blocks, a key is first used once.
        assert!(tx.mark_single_use("action:1", i64::MAX).await.unwrap());
        assert!(!tx.mark_single_use("action:1", i64::MAX).await.unwrap());
        // Markers that expired long ago are taken over with the real clock too.
        assert!(tx.mark_single_use_at("stale", 10, 5).await.unwrap());
        assert!(tx.mark_single_use("stale", i64::MAX).await.unwrap());

        assert_eq!(tx.purge_single_use(1_999).await.unwrap(), 0, "{}", db.name);
        assert_eq!(tx.purge_single_use(2_001).await.unwrap(), 2);
        assert!(tx.mark_single_use_at("ключ-🔑", 5_000, 0).await.unwrap());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn single_use_race_has_one_winner() {
    for db in backends().await {
        let store = open(&db).await;
        for round in 0..3 {
            let key = format!("code:race-{round}");
            if round == 2 {
                // Racing to take over an expired marker.
                let mut tx = store.begin().await.unwrap();
                assert!(tx.mark_single_use_at(&key, 10, 0).await.unwrap());
                tx.commit().await.unwrap();
            }
            let barrier = Arc::new(tokio::sync::Barrier::new(8));
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let store = store.clone();
                let barrier = barrier.clone();
                let key = key.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let mut tx = store.begin().await?;
                    let first = tx.mark_single_use_at(&key, 2_000, 1_000).await?;
                    tx.commit().await?;
                    Ok::<_, StoreError>(first)
                }));
            }
            let mut wins = 0;
            for t in tasks {
                if t.await.unwrap().unwrap() {
                    wins += 1;
                }
            }
            assert_eq!(wins, 1, "{} round {round}", db.name);
        }
    }
}

#[tokio::test]
async fn revoked_tokens() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.is_token_revoked("jti-1").await.unwrap());
        tx.revoke_token("jti-1", 1_300).await.unwrap();
        tx.revoke_token("jti-1", 1_200).await.unwrap();
        tx.revoke_token("jti-2", 1_100).await.unwrap();
        tx.revoke_token("jti-ü-🎫", 5_000).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(tx.is_token_revoked("jti-1").await.unwrap(), "{}", db.name);
        assert!(tx.is_token_revoked("jti-ü-🎫").await.unwrap());
        assert!(!tx.is_token_revoked("jti-3").await.unwrap());
        assert_eq!(
            tx.purge_revoked_tokens(1_200).await.unwrap(),
            1,
            "{}",
            db.name
        );
        assert!(!tx.is_token_revoked("jti-2").await.unwrap());
        // The later expiry of the two revocations of jti-1 was kept.
        assert_eq!(
            tx.purge_revoked_tokens(1_250).await.unwrap(),
            0,
            "{}",
            db.name
        );
        assert_eq!(tx.purge_revoked_tokens(1_301).await.unwrap(), 1);
        assert!(!tx.is_token_revoked("jti-1").await.unwrap());
        assert!(tx.is_token_revoked("jti-ü-🎫").await.unwrap());
        tx.commit().await.unwrap();
    }
}
