//! Realm keys.

use gatehouse_model::{KeyUse, RealmId, RealmKey, RealmKeyId};
use sqlx::any::AnyRow;

use super::{Tx, delete_by_id};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

fn key_from_row(r: &AnyRow) -> Result<RealmKey, StoreError> {
    let key_use = r.text("key_use")?;
    Ok(RealmKey {
        id: RealmKeyId::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        name: r.text("name")?,
        provider: r.text("provider")?,
        algorithm: r.text("algorithm")?,
        key_use: KeyUse::parse(&key_use)
            .map_err(|e| StoreError::Internal(format!("realm_key.key_use: {e}")))?,
        priority: r.long("priority")?,
        enabled: r.flag("enabled")?,
        active: r.flag("active")?,
        private_key: r.text("private_key")?,
        certificate: r.opt_text("certificate")?,
        created_timestamp: r.long("created_timestamp")?,
    })
}

impl Tx {
    /// Stores a new realm key; `Conflict("realm key id")` if the id is taken.
    pub async fn insert_realm_key(&mut self, k: &RealmKey) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO realm_key (id, realm_id, name, provider, algorithm, key_use, priority, \
             enabled, active, private_key, certificate, created_timestamp) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(k.id.as_str())
        .bind(k.realm_id.as_str())
        .bind(k.name.as_str())
        .bind(k.provider.as_str())
        .bind(k.algorithm.as_str())
        .bind(k.key_use.as_str())
        .bind(k.priority)
        .bind(flag(k.enabled))
        .bind(flag(k.active))
        .bind(k.private_key.as_str())
        .bind(k.certificate.as_deref())
        .bind(k.created_timestamp)
        .execute(self.conn())
        .await
        .map_err(map_err("realm key id"))?;
        Ok(())
    }

    /// The realm's keys, highest priority first, then newest first (then by id, so the order
    /// is total).
    pub async fn realm_keys(&mut self, realm: &RealmId) -> Result<Vec<RealmKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, realm_id, name, provider, algorithm, key_use, priority, enabled, active, \
             private_key, certificate, created_timestamp FROM realm_key WHERE realm_id = $1 \
             ORDER BY priority DESC, created_timestamp DESC, id",
        )
        .bind(realm.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        rows.iter().map(key_from_row).collect()
    }

    /// Replaces a key's columns (its realm stays); false if there is no such key.
    pub async fn update_realm_key(&mut self, k: &RealmKey) -> Result<bool, StoreError> {
        self.changed();
        let done = sqlx::query(
            "UPDATE realm_key SET name = $2, provider = $3, algorithm = $4, key_use = $5, \
             priority = $6, enabled = $7, active = $8, private_key = $9, certificate = $10, \
             created_timestamp = $11 WHERE id = $1",
        )
        .bind(k.id.as_str())
        .bind(k.name.as_str())
        .bind(k.provider.as_str())
        .bind(k.algorithm.as_str())
        .bind(k.key_use.as_str())
        .bind(k.priority)
        .bind(flag(k.enabled))
        .bind(flag(k.active))
        .bind(k.private_key.as_str())
        .bind(k.certificate.as_deref())
        .bind(k.created_timestamp)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a key; false if there was no such key.
    pub async fn delete_realm_key(&mut self, id: &RealmKeyId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "realm_key", id.as_str()).await
    }
}
