//! User consents: the client scopes a user approved for a client that requires consent, and
//! which clients hold an offline token of a user (the admin API lists both as consents).
//!
//! Consents are read on every login to a consent-requiring client, never cached, so their
//! writes leave the cache revision alone. Deleting the user, the client or a client scope
//! cascades through the foreign keys.

use std::collections::BTreeMap;

use gatehouse_model::{ClientScopeId, ClientUuid, UserConsent, UserId};
use sqlx::any::AnyRow;

use super::Tx;
use crate::error::{StoreError, from_sqlx};
use crate::rows::{RowExt as _, flag};

fn consent_from_row(r: &AnyRow) -> Result<UserConsent, StoreError> {
    Ok(UserConsent {
        user_id: UserId::new(r.text("user_id")?),
        client_id: ClientUuid::new(r.text("client_id")?),
        scopes: Default::default(),
        client_granted: r.flag("client_granted")?,
        created: r.long("created_date")?,
        last_updated: r.long("last_updated_date")?,
    })
}

impl Tx {
    /// The user's consent to the client, if the user gave one.
    pub async fn consent(
        &mut self,
        user: &UserId,
        client: &ClientUuid,
    ) -> Result<Option<UserConsent>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, client_id, client_granted, created_date, last_updated_date \
             FROM user_consent WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user.as_str())
        .bind(client.as_str())
        .fetch_optional(self.conn())
        .await
        .map_err(from_sqlx)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut consent = consent_from_row(&row)?;
        let scopes = sqlx::query(
            "SELECT scope_id FROM user_consent_scope WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user.as_str())
        .bind(client.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        for r in &scopes {
            consent
                .scopes
                .insert(ClientScopeId::new(r.text("scope_id")?));
        }
        Ok(Some(consent))
    }

    /// Every consent the user gave, by client id.
    pub async fn consents_of_user(
        &mut self,
        user: &UserId,
    ) -> Result<Vec<UserConsent>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, client_id, client_granted, created_date, last_updated_date \
             FROM user_consent WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        let mut by_client: BTreeMap<String, UserConsent> = BTreeMap::new();
        for r in &rows {
            let c = consent_from_row(r)?;
            by_client.insert(c.client_id.to_string(), c);
        }
        let scopes =
            sqlx::query("SELECT client_id, scope_id FROM user_consent_scope WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_all(self.conn())
                .await
                .map_err(from_sqlx)?;
        for r in &scopes {
            if let Some(c) = by_client.get_mut(&r.text("client_id")?) {
                c.scopes.insert(ClientScopeId::new(r.text("scope_id")?));
            }
        }
        Ok(by_client.into_values().collect())
    }

    /// Stores the consent as given: a new one, or an existing one with its flag, scopes and
    /// `last_updated` replaced (its `created` time stays the first one stored).
    pub async fn put_consent(&mut self, c: &UserConsent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_consent (user_id, client_id, client_granted, created_date, \
             last_updated_date) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET \
               client_granted = excluded.client_granted, \
               last_updated_date = excluded.last_updated_date",
        )
        .bind(c.user_id.as_str())
        .bind(c.client_id.as_str())
        .bind(flag(c.client_granted))
        .bind(c.created)
        .bind(c.last_updated)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        sqlx::query("DELETE FROM user_consent_scope WHERE user_id = $1 AND client_id = $2")
            .bind(c.user_id.as_str())
            .bind(c.client_id.as_str())
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        for scope in &c.scopes {
            sqlx::query(
                "INSERT INTO user_consent_scope (user_id, client_id, scope_id) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(c.user_id.as_str())
            .bind(c.client_id.as_str())
            .bind(scope.as_str())
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        }
        Ok(())
    }

    /// Revokes the user's consent to the client; says whether there was one.
    pub async fn delete_consent(
        &mut self,
        user: &UserId,
        client: &ClientUuid,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_consent WHERE user_id = $1 AND client_id = $2")
            .bind(user.as_str())
            .bind(client.as_str())
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The clients that hold an offline token of the user: those with a client session in one
    /// of the user's offline sessions, by client id.
    pub async fn clients_with_offline_token(
        &mut self,
        user: &UserId,
    ) -> Result<Vec<ClientUuid>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT cs.client_id AS client_id FROM client_session cs \
             JOIN user_session us ON us.id = cs.user_session_id AND us.offline = cs.offline \
             WHERE us.user_id = $1 AND cs.offline = 1 ORDER BY cs.client_id",
        )
        .bind(user.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|r| Ok(ClientUuid::new(r.text("client_id")?)))
            .collect()
    }
}
