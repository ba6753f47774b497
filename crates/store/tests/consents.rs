//! User consents on SQLite and PostgreSQL: stored, extended, listed, revoked, and gone with the
//! user, the client or a client scope; and the clients holding a user's offline token.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_model::{
    Client, ClientId, ClientScope, ClientScopeId, ClientSession, ClientUuid, Realm, RealmId,
    RealmName, User, UserConsent, UserId, UserSession, UserSessionId, Username,
};
use gatehouse_store::testing::{TestDb, backends};
use gatehouse_store::{Store, Tx};

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.options("store-test")).await.unwrap();
    store.migrate(Duration::from_secs(30)).await.unwrap();
    store
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

fn scope(realm: &RealmId, name: &str) -> ClientScope {
    ClientScope {
        id: ClientScopeId::new_random(),
        realm_id: realm.clone(),
        name: name.to_owned(),
        description: None,
        protocol: "openid-connect".into(),
        attributes: BTreeMap::new(),
    }
}

async fn client(tx: &mut Tx, realm: &RealmId, client_id: &str) -> Client {
    let c = Client::new(
        ClientUuid::new_random(),
        realm.clone(),
        ClientId::new(client_id),
    );
    tx.insert_client(&c).await.unwrap();
    c
}

/// An online or offline session of `user` in which `client` takes part.
async fn session_with(tx: &mut Tx, user: &User, client: &ClientUuid, offline: bool) {
    let id = UserSessionId::new_random();
    tx.insert_user_session(&UserSession {
        id: id.clone(),
        offline,
        realm_id: user.realm_id.clone(),
        user_id: user.id.clone(),
        login_username: user.username.to_string(),
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
        client_id: client.clone(),
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

#[tokio::test]
async fn consents_are_stored_extended_revoked_and_cascade() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let realm = Realm::new(RealmId::new_random(), RealmName::new("acme").unwrap());
        tx.insert_realm(&realm).await.unwrap();
        let app = client(&mut tx, &realm.id, "app").await;
        let other = client(&mut tx, &realm.id, "other").await;
        let (profile, email, phone) = (
            scope(&realm.id, "profile"),
            scope(&realm.id, "email"),
            scope(&realm.id, "phone"),
        );
        for s in [&profile, &email, &phone] {
            tx.insert_client_scope(s).await.unwrap();
        }
        let alice = user(&realm.id, "alice");
        let bob = user(&realm.id, "bob");
        tx.insert_user(&alice).await.unwrap();
        tx.insert_user(&bob).await.unwrap();

        assert_eq!(tx.consent(&alice.id, &app.id).await.unwrap(), None);
        assert!(tx.consents_of_user(&alice.id).await.unwrap().is_empty());

        // First consent.
        let mut consent = UserConsent::new(alice.id.clone(), app.id.clone(), 1_000);
        consent.scopes.insert(profile.id.clone());
        consent.scopes.insert(email.id.clone());
        tx.put_consent(&consent).await.unwrap();
        assert_eq!(
            tx.consent(&alice.id, &app.id).await.unwrap(),
            Some(consent.clone()),
            "{}",
            db.name
        );

        // Extended later: the scopes and the update time change, the creation time stays.
        let mut later = consent.clone();
        later.scopes.insert(phone.id.clone());
        later.client_granted = true;
        later.created = 9_999;
        later.last_updated = 2_000;
        tx.put_consent(&later).await.unwrap();
        let stored = tx.consent(&alice.id, &app.id).await.unwrap().unwrap();
        assert_eq!(stored.created, 1_000, "{}", db.name);
        assert_eq!(stored.last_updated, 2_000);
        assert!(stored.client_granted);
        assert_eq!(stored.scopes.len(), 3);

        let mut to_other = UserConsent::new(alice.id.clone(), other.id.clone(), 3_000);
        to_other.scopes.insert(email.id.clone());
        tx.put_consent(&to_other).await.unwrap();
        let mut bobs = UserConsent::new(bob.id.clone(), app.id.clone(), 4_000);
        bobs.scopes.insert(profile.id.clone());
        tx.put_consent(&bobs).await.unwrap();
        let mine = tx.consents_of_user(&alice.id).await.unwrap();
        assert_eq!(mine.len(), 2, "{}", db.name);
        assert!(
            mine.iter()
                .any(|c| c.client_id == app.id && c.scopes.len() == 3)
        );
        assert!(
            mine.iter()
                .any(|c| c.client_id == other.id && c.scopes == to_other.scopes)
        );

        // A deleted client scope leaves every consent.
        assert!(tx.delete_client_scope(&phone.id).await.unwrap());
        let stored = tx.consent(&alice.id, &app.id).await.unwrap().unwrap();
        assert!(!stored.scopes.contains(&phone.id), "{}", db.name);
        assert_eq!(stored.scopes.len(), 2);

        // Revoking: once, then there is nothing to revoke.
        assert!(tx.delete_consent(&alice.id, &app.id).await.unwrap());
        assert!(!tx.delete_consent(&alice.id, &app.id).await.unwrap());
        assert_eq!(tx.consent(&alice.id, &app.id).await.unwrap(), None);

        // Deleting the client removes the consents to it; deleting the user, the user's.
        assert!(tx.delete_client(&other.id).await.unwrap());
        assert!(
            tx.consents_of_user(&alice.id).await.unwrap().is_empty(),
            "{}",
            db.name
        );
        assert!(tx.delete_user(&bob.id).await.unwrap());
        assert_eq!(tx.consent(&bob.id, &app.id).await.unwrap(), None);
        tx.commit().await.unwrap();

        // And the whole realm.
        let mut tx = store.begin().await.unwrap();
        let again = UserConsent::new(alice.id.clone(), app.id.clone(), 5_000);
        tx.put_consent(&again).await.unwrap();
        assert!(tx.delete_realm(&realm.id).await.unwrap());
        assert!(tx.consents_of_user(&alice.id).await.unwrap().is_empty());
        tx.commit().await.unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn clients_holding_an_offline_token() {
    for db in backends().await {
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let realm = Realm::new(RealmId::new_random(), RealmName::new("acme").unwrap());
        tx.insert_realm(&realm).await.unwrap();
        let app = client(&mut tx, &realm.id, "app").await;
        let web = client(&mut tx, &realm.id, "web").await;
        let alice = user(&realm.id, "alice");
        let bob = user(&realm.id, "bob");
        tx.insert_user(&alice).await.unwrap();
        tx.insert_user(&bob).await.unwrap();
        // Online sessions do not count; two offline sessions of one client count once.
        session_with(&mut tx, &alice, &web.id, false).await;
        session_with(&mut tx, &alice, &app.id, true).await;
        session_with(&mut tx, &alice, &app.id, true).await;
        session_with(&mut tx, &bob, &web.id, true).await;
        assert_eq!(
            tx.clients_with_offline_token(&alice.id).await.unwrap(),
            vec![app.id.clone()],
            "{}",
            db.name
        );
        assert_eq!(
            tx.clients_with_offline_token(&bob.id).await.unwrap(),
            vec![web.id.clone()]
        );
        tx.commit().await.unwrap();
        store.close().await;
    }
}
