//! Realm default groups and per-client session counts, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_model::{
    Client, ClientId, ClientSession, ClientUuid, Group, GroupId, Realm, RealmId, RealmName, User,
    UserId, UserSession, UserSessionId, Username,
};
use gatehouse_store::Store;
use gatehouse_store::testing::{TestDb, backends};

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.options("store-test")).await.unwrap();
    store.migrate(Duration::from_secs(30)).await.unwrap();
    store
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

#[tokio::test]
async fn default_groups_are_added_removed_and_cascade() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let realm = Realm::new(RealmId::new_random(), RealmName::new("acme").unwrap());
        let other = Realm::new(RealmId::new_random(), RealmName::new("other").unwrap());
        tx.insert_realm(&realm).await.unwrap();
        tx.insert_realm(&other).await.unwrap();
        let staff = group(&realm.id, None, "staff");
        let sub = group(&realm.id, Some(&staff.id), "sub");
        let elsewhere = group(&other.id, None, "staff");
        for g in [&staff, &sub, &elsewhere] {
            tx.insert_group(g).await.unwrap();
        }
        assert!(
            tx.realm_default_group_ids(&realm.id)
                .await
                .unwrap()
                .is_empty()
        );
        tx.add_realm_default_group(&realm.id, &staff.id)
            .await
            .unwrap();
        tx.add_realm_default_group(&realm.id, &staff.id)
            .await
            .unwrap();
        tx.add_realm_default_group(&realm.id, &sub.id)
            .await
            .unwrap();
        tx.add_realm_default_group(&other.id, &elsewhere.id)
            .await
            .unwrap();
        let mut want = vec![staff.id.clone(), sub.id.clone()];
        want.sort();
        assert_eq!(
            tx.realm_default_group_ids(&realm.id).await.unwrap(),
            want,
            "{}",
            db.name
        );

        assert!(
            tx.remove_realm_default_group(&realm.id, &staff.id)
                .await
                .unwrap()
        );
        assert!(
            !tx.remove_realm_default_group(&realm.id, &staff.id)
                .await
                .unwrap()
        );
        // A group of another realm is not this realm's default group.
        assert!(
            !tx.remove_realm_default_group(&realm.id, &elsewhere.id)
                .await
                .unwrap()
        );
        assert_eq!(
            tx.realm_default_group_ids(&realm.id).await.unwrap(),
            vec![sub.id.clone()]
        );

        // Deleting the group (here through its parent) removes the row.
        tx.add_realm_default_group(&realm.id, &staff.id)
            .await
            .unwrap();
        assert!(tx.delete_group(&staff.id).await.unwrap());
        assert!(
            tx.realm_default_group_ids(&realm.id)
                .await
                .unwrap()
                .is_empty(),
            "{}",
            db.name
        );

        // Deleting the realm removes its rows.
        assert!(tx.delete_realm(&other.id).await.unwrap());
        assert!(
            tx.realm_default_group_ids(&other.id)
                .await
                .unwrap()
                .is_empty()
        );
        tx.commit().await.unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn client_session_counts_per_client() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let realm = Realm::new(RealmId::new_random(), RealmName::new("acme").unwrap());
        tx.insert_realm(&realm).await.unwrap();
        let app = Client::new(
            ClientUuid::new_random(),
            realm.id.clone(),
            ClientId::new("app"),
        );
        let idle = Client::new(
            ClientUuid::new_random(),
            realm.id.clone(),
            ClientId::new("idle"),
        );
        tx.insert_client(&app).await.unwrap();
        tx.insert_client(&idle).await.unwrap();
        let user = User {
            id: UserId::new_random(),
            realm_id: realm.id.clone(),
            username: Username::new("alice"),
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            email_verified: false,
            created_timestamp: 0,
            federation_link: None,
            service_account_client_link: None,
            attributes: BTreeMap::new(),
            required_actions: Vec::new(),
            not_before: 0,
        };
        tx.insert_user(&user).await.unwrap();
        for (n, offline) in [(1, false), (2, false), (1, true)] {
            let id = UserSessionId::new(format!("s{n}"));
            tx.insert_user_session(&UserSession {
                id: id.clone(),
                offline,
                realm_id: realm.id.clone(),
                user_id: user.id.clone(),
                login_username: "alice".into(),
                ip_address: "127.0.0.1".into(),
                auth_method: "openid-connect".into(),
                remember_me: false,
                started: 1,
                last_refresh: 1,
                broker_session_id: None,
                broker_user_id: None,
                notes: BTreeMap::new(),
            })
            .await
            .unwrap();
            tx.upsert_client_session(&ClientSession {
                user_session_id: id,
                offline,
                client_id: app.id.clone(),
                started: 1,
                last_refresh: 1,
                redirect_uri: None,
                notes: BTreeMap::new(),
                current_refresh_token: None,
                refresh_token_use_count: 0,
            })
            .await
            .unwrap();
        }
        let counts = tx.client_session_counts(&realm.id).await.unwrap();
        assert_eq!(counts, vec![(app.id.clone(), 2, 1)], "{}", db.name);
        tx.commit().await.unwrap();
        store.close().await;
    }
}
