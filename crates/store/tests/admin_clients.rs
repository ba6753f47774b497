//! The queries the admin API's clients slice adds: client search and pages, and the
//! service-account user of a client. SQLite always, PostgreSQL when configured.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_model::{
    Client, ClientId, ClientUuid, Realm, RealmId, RealmName, User, UserId, Username,
};
use gatehouse_store::Store;
use gatehouse_store::testing::{TestDb, backends};

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.options("store-test")).await.unwrap();
    store.migrate(Duration::from_secs(30)).await.unwrap();
    store
}

fn client(realm: &RealmId, client_id: &str) -> Client {
    Client::new(
        ClientUuid::new_random(),
        realm.clone(),
        ClientId::new(client_id),
    )
}

fn ids(clients: Vec<Client>) -> Vec<String> {
    clients
        .into_iter()
        .map(|c| c.client_id.into_string())
        .collect()
}

#[tokio::test]
async fn client_search_is_a_case_insensitive_substring_with_pages() {
    for db in backends().await {
        let store = open(&db).await;
        let r = Realm::new(RealmId::new_random(), RealmName::new("search").unwrap());
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        for id in ["Web-App", "web_api", "mobile", "webx%"] {
            let mut c = client(&r.id, id);
            c.redirect_uris = vec![format!("https://{id}/*")];
            tx.insert_client(&c).await.unwrap();
        }
        let all = tx.search_clients(&r.id, None, 0, 100).await.unwrap();
        assert_eq!(
            ids(all.clone()),
            ["Web-App", "mobile", "web_api", "webx%"],
            "{}",
            db.name
        );
        assert_eq!(all[0].redirect_uris, ["https://Web-App/*"]);
        assert_eq!(
            ids(tx.search_clients(&r.id, Some("WEB"), 0, 100).await.unwrap()),
            ["Web-App", "web_api", "webx%"]
        );
        // `_` and `%` are literal, not LIKE wildcards.
        assert_eq!(
            ids(tx.search_clients(&r.id, Some("b_"), 0, 100).await.unwrap()),
            ["web_api"]
        );
        assert_eq!(
            ids(tx.search_clients(&r.id, Some("x%"), 0, 100).await.unwrap()),
            ["webx%"]
        );
        assert_eq!(
            ids(tx.search_clients(&r.id, None, 1, 2).await.unwrap()),
            ["mobile", "web_api"]
        );
        assert!(
            tx.search_clients(&r.id, Some("nope"), 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn service_account_user_is_found_by_its_client_link() {
    for db in backends().await {
        let store = open(&db).await;
        let r = Realm::new(RealmId::new_random(), RealmName::new("sa").unwrap());
        let c = client(&r.id, "svc");
        let other = client(&r.id, "plain");
        let user = User {
            id: UserId::new_random(),
            realm_id: r.id.clone(),
            username: Username::new("service-account-svc"),
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            email_verified: false,
            created_timestamp: 1,
            federation_link: None,
            service_account_client_link: Some(c.id.clone()),
            attributes: BTreeMap::new(),
            required_actions: Vec::new(),
            not_before: 0,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&r).await.unwrap();
        tx.insert_client(&c).await.unwrap();
        tx.insert_client(&other).await.unwrap();
        tx.insert_user(&user).await.unwrap();
        assert_eq!(
            tx.service_account_user_id(&c.id).await.unwrap(),
            Some(user.id.clone()),
            "{}",
            db.name
        );
        assert_eq!(tx.service_account_user_id(&other.id).await.unwrap(), None);
        // The user goes with its client.
        assert!(tx.delete_client(&c.id).await.unwrap());
        assert_eq!(tx.user_by_id(&user.id).await.unwrap(), None);
        tx.rollback().await.unwrap();
    }
}
