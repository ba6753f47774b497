//! Authentication sessions and authorization codes against real databases: SQLite always,
//! PostgreSQL when `GATEHOUSE_TEST_PG_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_model::{
    AuthCode, Client, ClientId, ClientUuid, CodeUse, Realm, RealmId, RealmName, User, UserId,
    UserSessionId, Username,
};
use gatehouse_store::testing::{TestDb, backends};
use gatehouse_store::{Store, StoreError};

const LOCK_WAIT: Duration = Duration::from_secs(30);

async fn open(db: &TestDb) -> Store {
    let mut opts = db.options("auth-test");
    opts.pool_max = 8;
    let store = Store::connect(&opts).await.unwrap();
    store.migrate(LOCK_WAIT).await.unwrap();
    store
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A realm with one user and two clients, committed.
struct World {
    realm: Realm,
    user: User,
    app: Client,
    other: Client,
}

async fn world(store: &Store, name: &str) -> World {
    let realm = Realm::new(RealmId::new_random(), RealmName::new(name).unwrap());
    let client =
        |c: &str| Client::new(ClientUuid::new_random(), realm.id.clone(), ClientId::new(c));
    let w = World {
        user: User {
            id: UserId::new_random(),
            realm_id: realm.id.clone(),
            username: Username::new("alice"),
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
        },
        app: client("app"),
        other: client("other"),
        realm,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_realm(&w.realm).await.unwrap();
    tx.insert_user(&w.user).await.unwrap();
    tx.insert_client(&w.app).await.unwrap();
    tx.insert_client(&w.other).await.unwrap();
    tx.commit().await.unwrap();
    w
}

fn code(w: &World, client: &ClientUuid, id: &str, expires: i64) -> AuthCode {
    AuthCode {
        id: id.to_owned(),
        realm_id: w.realm.id.clone(),
        client_id: client.clone(),
        user_session_id: UserSessionId::new_random(),
        offline: false,
        expires,
        data: map(&[
            ("redirect_uri", "https://app.example/cb"),
            ("scope", "openid profile"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]),
    }
}

#[tokio::test]
async fn codes_go_with_their_realm_and_client() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "authcascade").await;
        let kept = world(&store, "authkept").await;
        let other_code = code(&w, &w.other.id, "code-other", 2_000);
        let app_code = code(&w, &w.app.id, "code-app", 2_000);
        let kept_code = code(&kept, &kept.app.id, "code-kept", 2_000);

        let mut tx = store.begin().await.unwrap();
        for c in [&other_code, &app_code, &kept_code] {
            tx.insert_auth_code(c).await.unwrap();
        }
        tx.commit().await.unwrap();

        // The client goes: its codes go.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_client(&w.other.id).await.unwrap());
        assert_eq!(
            tx.consume_auth_code("code-other").await.unwrap(),
            CodeUse::Unknown,
            "{}",
            db.name
        );
        tx.commit().await.unwrap();

        // The realm goes: everything of it goes; the other realm keeps its rows.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_realm(&w.realm.id).await.unwrap());
        assert_eq!(
            tx.consume_auth_code("code-app").await.unwrap(),
            CodeUse::Unknown
        );
        assert_eq!(
            tx.consume_auth_code("code-kept").await.unwrap(),
            CodeUse::Fresh(kept_code)
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn auth_code_fresh_then_replayed_then_unknown() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "authcode").await;
        let mut c = code(
            &w,
            &w.app.id,
            "Q2xhaW0tY29kZS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams",
            2_000,
        );
        c.offline = true;
        let mut tx = store.begin().await.unwrap();
        tx.insert_auth_code(&c).await.unwrap();
        let err = tx.insert_auth_code(&c).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{}: {err}", db.name);
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_auth_code(&c).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.consume_auth_code(&c.id).await.unwrap(),
            CodeUse::Fresh(c.clone()),
            "{}",
            db.name
        );
        tx.commit().await.unwrap();
        for _ in 0..2 {
            let mut tx = store.begin().await.unwrap();
            assert_eq!(
                tx.consume_auth_code(&c.id).await.unwrap(),
                CodeUse::Replayed(c.clone()),
                "{}",
                db.name
            );
            tx.commit().await.unwrap();
        }
        // A rolled-back use does not spend the code.
        let other = code(&w, &w.app.id, "rolled-back", 2_000);
        let mut tx = store.begin().await.unwrap();
        tx.insert_auth_code(&other).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.consume_auth_code("rolled-back").await.unwrap(),
            CodeUse::Fresh(_)
        ));
        tx.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.consume_auth_code("rolled-back").await.unwrap(),
            CodeUse::Fresh(_)
        ));
        assert!(matches!(
            tx.consume_auth_code("rolled-back").await.unwrap(),
            CodeUse::Replayed(_)
        ));
        assert_eq!(
            tx.consume_auth_code("never-issued").await.unwrap(),
            CodeUse::Unknown
        );
        tx.commit().await.unwrap();

        // Purged an hour after expiry: then unknown.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.purge_auth_codes(2_000 + 3_600).await.unwrap(),
            0,
            "{}",
            db.name
        );
        assert_eq!(
            tx.purge_auth_codes(2_001 + 3_600).await.unwrap(),
            2,
            "{}",
            db.name
        );
        assert_eq!(tx.consume_auth_code(&c.id).await.unwrap(), CodeUse::Unknown);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn purge_keeps_recent_codes_used_or_not() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "authpurge").await;
        let now = 100_000;
        let ancient = code(&w, &w.app.id, "ancient", now - 3_601);
        let used_recent = code(&w, &w.app.id, "used-recent", now - 60);
        let used_edge = code(&w, &w.app.id, "used-edge", now - 3_600);
        let live = code(&w, &w.app.id, "live", now + 60);
        let mut tx = store.begin().await.unwrap();
        for c in [&ancient, &used_recent, &used_edge, &live] {
            tx.insert_auth_code(c).await.unwrap();
        }
        assert!(matches!(
            tx.consume_auth_code("ancient").await.unwrap(),
            CodeUse::Fresh(_)
        ));
        assert!(matches!(
            tx.consume_auth_code("used-recent").await.unwrap(),
            CodeUse::Fresh(_)
        ));
        assert!(matches!(
            tx.consume_auth_code("used-edge").await.unwrap(),
            CodeUse::Fresh(_)
        ));
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.purge_auth_codes(now).await.unwrap(), 1, "{}", db.name);
        assert_eq!(
            tx.consume_auth_code("ancient").await.unwrap(),
            CodeUse::Unknown
        );
        // Recently expired and used: a replay is still detected.
        assert_eq!(
            tx.consume_auth_code("used-recent").await.unwrap(),
            CodeUse::Replayed(used_recent)
        );
        assert_eq!(
            tx.consume_auth_code("used-edge").await.unwrap(),
            CodeUse::Replayed(used_edge)
        );
        assert_eq!(
            tx.consume_auth_code("live").await.unwrap(),
            CodeUse::Fresh(live)
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn auth_code_race_has_one_winner() {
    for db in backends().await {
        let store = open(&db).await;
        let w = world(&store, "authrace").await;
        for round in 0..3 {
            let c = code(&w, &w.app.id, &format!("race-{round}"), 2_000);
            let mut tx = store.begin().await.unwrap();
            tx.insert_auth_code(&c).await.unwrap();
            tx.commit().await.unwrap();

            let barrier = Arc::new(tokio::sync::Barrier::new(8));
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (store, barrier, id) = (store.clone(), barrier.clone(), c.id.clone());
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let mut tx = store.begin().await?;
                    let got = tx.consume_auth_code(&id).await?;
                    // Hold the transaction a little so the others pile up on the row.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    tx.commit().await?;
                    Ok::<_, StoreError>(got)
                }));
            }
            let mut fresh = 0;
            let mut replayed = 0;
            for t in tasks {
                match t.await.unwrap().unwrap() {
                    CodeUse::Fresh(got) => {
                        assert_eq!(got, c);
                        fresh += 1;
                    }
                    CodeUse::Replayed(got) => {
                        assert_eq!(got, c);
                        replayed += 1;
                    }
                    CodeUse::Unknown => panic!("{}: unknown", db.name),
                }
            }
            assert_eq!((fresh, replayed), (1, 7), "{} round {round}", db.name);
        }
    }
}
