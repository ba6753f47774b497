//! The cache revision moves on with every committed change to cached data, and only then, on
//! SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use gatehouse_model::{Realm, RealmId, RealmName};
use gatehouse_store::Store;
use gatehouse_store::testing::{TestDb, backends};

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.options("store-test")).await.unwrap();
    store.migrate(Duration::from_secs(30)).await.unwrap();
    store
}

#[tokio::test]
async fn revision_moves_with_committed_changes_only() {
    for db in backends().await {
        let store = open(&db).await;
        let start = store.cache_revision().await.unwrap();

        // A change that is rolled back leaves the revision alone.
        let mut tx = store.begin().await.unwrap();
        let mut realm = Realm::new(RealmId::new_random(), RealmName::new("acme").unwrap());
        tx.insert_realm(&realm).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(store.cache_revision().await.unwrap(), start);

        // A committed change moves it on, and the transaction sees its own revision.
        let mut tx = store.begin().await.unwrap();
        tx.insert_realm(&realm).await.unwrap();
        assert_eq!(tx.cache_revision().await.unwrap(), start);
        tx.commit().await.unwrap();
        assert_eq!(store.cache_revision().await.unwrap(), start + 1);

        // Reads, and writes of what is not cached (single-use marks), leave it alone.
        let mut tx = store.begin().await.unwrap();
        tx.realm_by_id(&realm.id).await.unwrap();
        assert!(tx.mark_single_use("code-1", i64::MAX).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.cache_revision().await.unwrap(), start + 1);

        // Updates and deletes count too.
        let mut tx = store.begin().await.unwrap();
        realm.access_token_lifespan = 60;
        tx.update_realm(&realm).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.delete_realm(&realm.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.cache_revision().await.unwrap(), start + 3);
        store.close().await;
    }
}
