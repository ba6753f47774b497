//! `Tx`: one database transaction and every read and write the services need.
//!
//! Reads that find nothing return `Ok(None)` (or an empty list); a write that clashes with a
//! unique name returns `StoreError::Conflict` naming what clashed. On PostgreSQL a failed
//! statement aborts the transaction, so after an error the caller should roll back.

mod auth;
mod clients;
mod consents;
mod failures;
mod groups;
mod keys;
mod realms;
mod roles;
mod scopes;
mod sessions;
mod tokens;
mod users;

pub use users::{TextMatch, UserFilter};

use std::collections::BTreeMap;

use sqlx::{Any, AnyConnection, AssertSqlSafe, Transaction};

use crate::error::{StoreError, from_sqlx};
use crate::rows::RowExt as _;

/// An open transaction on a pooled connection. Dropping it without `commit` rolls back.
pub struct Tx {
    tx: Transaction<'static, Any>,
    /// A write touched what nodes cache (realms, clients, roles, groups, users, client scopes,
    /// mappers, keys): `commit` moves the cache revision on in the same transaction.
    changed: bool,
    hook: Option<std::sync::Arc<dyn crate::CommitHook>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl Tx {
    pub(crate) fn new(
        tx: Transaction<'static, Any>,
        hook: Option<std::sync::Arc<dyn crate::CommitHook>>,
    ) -> Self {
        Tx {
            tx,
            changed: false,
            hook,
        }
    }

    /// Marks this transaction as changing cached data. Every write method of the cached
    /// tables calls it first, so no change can leave a cache entry looking current.
    fn changed(&mut self) {
        self.changed = true;
    }

    /// The cache revision as this transaction sees it.
    pub async fn cache_revision(&mut self) -> Result<i64, StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT revision FROM cache_revision WHERE id = 1")
            .fetch_one(self.conn())
            .await
            .map_err(from_sqlx)
    }

    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Makes every write of this transaction durable; one that changed cached data also
    /// moves the cache revision on, atomically with the change.
    /// The commit hook (the cluster) hears of the new revision before this returns.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let mut revision = None;
        if self.changed {
            sqlx::query("UPDATE cache_revision SET revision = revision + 1 WHERE id = 1")
                .execute(self.conn())
                .await
                .map_err(from_sqlx)?;
            if self.hook.is_some() {
                revision = Some(self.cache_revision().await?);
            }
        }
        let hook = self.hook.take();
        self.tx.commit().await.map_err(from_sqlx)?;
        if let (Some(hook), Some(revision)) = (hook, revision) {
            hook.committed(revision).await;
        }
        Ok(())
    }

    /// Discards every write of this transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await.map_err(from_sqlx)
    }
}

/// Table and column names below are always string literals of this crate, never input, which
/// is what makes the `AssertSqlSafe` formatting sound.
type Ident = &'static str;

fn sql(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}

/// Replaces the single-valued attributes of `owner` in `table (owner_col, name, value)`.
async fn put_map(
    conn: &mut AnyConnection,
    table: Ident,
    owner_col: Ident,
    owner: &str,
    values: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    sqlx::query(sql(format!("DELETE FROM {table} WHERE {owner_col} = $1")))
        .bind(owner)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let insert = format!("INSERT INTO {table} ({owner_col}, name, value) VALUES ($1, $2, $3)");
    for (name, value) in values {
        sqlx::query(sql(insert.clone()))
            .bind(owner)
            .bind(name.as_str())
            .bind(value.as_str())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    }
    Ok(())
}

async fn load_map(
    conn: &mut AnyConnection,
    table: Ident,
    owner_col: Ident,
    owner: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT name, value FROM {table} WHERE {owner_col} = $1"
    )))
    .bind(owner)
    .fetch_all(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    rows.iter()
        .map(|r| Ok((r.text("name")?, r.text("value")?)))
        .collect()
}

/// Replaces the multi-valued attributes of `owner` in `table (owner_col, name, pos, value)`;
/// `pos` keeps each list in its order.
async fn put_multimap(
    conn: &mut AnyConnection,
    table: Ident,
    owner_col: Ident,
    owner: &str,
    values: &BTreeMap<String, Vec<String>>,
) -> Result<(), StoreError> {
    sqlx::query(sql(format!("DELETE FROM {table} WHERE {owner_col} = $1")))
        .bind(owner)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let insert =
        format!("INSERT INTO {table} ({owner_col}, name, pos, value) VALUES ($1, $2, $3, $4)");
    for (name, list) in values {
        for (pos, value) in list.iter().enumerate() {
            sqlx::query(sql(insert.clone()))
                .bind(owner)
                .bind(name.as_str())
                .bind(position(pos)?)
                .bind(value.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
        }
    }
    Ok(())
}

async fn load_multimap(
    conn: &mut AnyConnection,
    table: Ident,
    owner_col: Ident,
    owner: &str,
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT name, value FROM {table} WHERE {owner_col} = $1 ORDER BY name, pos"
    )))
    .bind(owner)
    .fetch_all(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rows {
        out.entry(r.text("name")?)
            .or_default()
            .push(r.text("value")?);
    }
    Ok(out)
}

/// Replaces the ordered set `table (owner_col, value_col, pos)`; duplicates are dropped, as
/// Keycloak keeps these as sets.
async fn put_list(
    conn: &mut AnyConnection,
    table: Ident,
    owner_col: Ident,
    value_col: Ident,
    owner: &str,
    values: &[String],
) -> Result<(), StoreError> {
    sqlx::query(sql(format!("DELETE FROM {table} WHERE {owner_col} = $1")))
        .bind(owner)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let insert = format!(
        "INSERT INTO {table} ({owner_col}, {value_col}, pos) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING"
    );
    for (pos, value) in values.iter().enumerate() {
        sqlx::query(sql(insert.clone()))
            .bind(owner)
            .bind(value.as_str())
            .bind(position(pos)?)
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    }
    Ok(())
}

async fn load_list(
    conn: &mut AnyConnection,
    table: Ident,
    owner_col: Ident,
    value_col: Ident,
    owner: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT {value_col} AS v FROM {table} WHERE {owner_col} = $1 ORDER BY pos"
    )))
    .bind(owner)
    .fetch_all(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    rows.iter().map(|r| r.text("v")).collect()
}

fn position(pos: usize) -> Result<i32, StoreError> {
    i32::try_from(pos).map_err(|_| StoreError::Internal("list too long".to_owned()))
}

/// Runs a `DELETE` and says whether it removed anything.
async fn delete_by_id(
    conn: &mut AnyConnection,
    table: Ident,
    id: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(sql(format!("DELETE FROM {table} WHERE id = $1")))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    Ok(done.rows_affected() > 0)
}
