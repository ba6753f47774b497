//! Admin REST API rules for a user's consents (Keycloak 26's `UserResource.getConsents` and
//! `revokeConsent`): the consents the user gave and the clients holding an offline token of
//! the user, and their revocation.

use std::collections::BTreeSet;

use gatehouse_model::rep::consent::{AdditionalGrantRepresentation, ConsentGrantRepresentation};
use gatehouse_model::{ClientId, ClientUuid, Realm};

use super::{AdminIdentity, Permission};
use crate::{RequestCtx, ServiceError, Services};

impl Services {
    /// `GET /users/{id}/consents`: each consent with the names of its client scopes (the
    /// client's `clientId` when the client itself was approved), then each client that holds
    /// an offline token of the user without a consent; an offline token shows as an
    /// `additionalGrants` entry. Needs `view-users`.
    pub async fn admin_user_consents(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<Vec<ConsentGrantRepresentation>, ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ViewUsers)
            .await?;
        let mut tx = self.store().begin_read().await?;
        let consents = tx.consents_of_user(&user.id).await?;
        let offline: BTreeSet<ClientUuid> = tx
            .clients_with_offline_token(&user.id)
            .await?
            .into_iter()
            .collect();
        let additional = |client: &ClientUuid| {
            if offline.contains(client) {
                vec![AdditionalGrantRepresentation::offline_token(
                    client.as_str(),
                )]
            } else {
                Vec::new()
            }
        };
        let mut with_consent = Vec::new();
        for consent in &consents {
            let Some(client) = tx.client_by_id(&consent.client_id).await? else {
                continue;
            };
            let mut names = Vec::new();
            for scope in &consent.scopes {
                if let Some(s) = tx.client_scope_by_id(scope).await? {
                    names.push(s.name);
                }
            }
            if consent.client_granted {
                names.push(client.client_id.to_string());
            }
            names.sort();
            with_consent.push(ConsentGrantRepresentation {
                client_id: client.client_id.to_string(),
                granted_client_scopes: names,
                created_date: Some(consent.created),
                last_updated_date: Some(consent.last_updated),
                additional_grants: additional(&client.id),
            });
        }
        let consented: BTreeSet<&ClientUuid> = consents.iter().map(|c| &c.client_id).collect();
        let mut offline_only = Vec::new();
        for id in offline.iter().filter(|c| !consented.contains(c)) {
            if let Some(client) = tx.client_by_id(id).await? {
                offline_only.push(ConsentGrantRepresentation {
                    client_id: client.client_id.to_string(),
                    granted_client_scopes: Vec::new(),
                    created_date: None,
                    last_updated_date: None,
                    additional_grants: additional(&client.id),
                });
            }
        }
        tx.rollback().await?;
        with_consent.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        offline_only.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        with_consent.extend(offline_only);
        Ok(with_consent)
    }

    /// `DELETE /users/{id}/consents/{clientId}`: revokes the user's consent to the client and
    /// the client's offline tokens of the user (an offline session left without clients ends
    /// with them); with a consent revoked, the client's online sessions of the user end too,
    /// with a back-channel logout where the client has a URL for it (Keycloak's
    /// `UserConsentManager.revokeConsentToClient`). 404 `Client not found` for an unknown
    /// client, `Consent nor offline token not found` when there is nothing to revoke. Needs
    /// `manage-users`.
    pub async fn admin_revoke_consent(
        &self,
        ctx: &RequestCtx,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        client_id: &str,
    ) -> Result<(), ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ManageUsers)
            .await?;
        let mut tx = self.store().begin().await?;
        let client = tx
            .client_by_client_id(&realm.id, &ClientId::new(client_id))
            .await?
            .ok_or_else(|| ServiceError::NotFound(CONSENT_CLIENT.into()))?;
        let revoked_consent = tx.delete_consent(&user.id, &client.id).await?;
        let mut revoked_offline = false;
        for session in tx.user_sessions_of_user(&user.id, true).await? {
            if tx
                .delete_client_session(&session.id, true, &client.id)
                .await?
            {
                revoked_offline = true;
                if tx.client_sessions_of(&session.id, true).await?.is_empty() {
                    tx.delete_user_session(&session.id, true).await?;
                }
            }
        }
        if !revoked_consent && !revoked_offline {
            tx.rollback().await?;
            return Err(ServiceError::NotFound("Consent nor offline token".into()));
        }
        let mut notify = Vec::new();
        if revoked_consent {
            let url = client
                .attributes
                .get("backchannel.logout.url")
                .filter(|u| !u.is_empty())
                .cloned();
            for session in tx.user_sessions_of_user(&user.id, false).await? {
                let ended = tx
                    .delete_client_session(&session.id, false, &client.id)
                    .await?;
                if let (true, Some(url)) = (ended, &url) {
                    notify.push((session, url.clone()));
                }
            }
        }
        tx.commit().await?;
        for (session, url) in notify {
            self.backchannel_logout(ctx, realm, &session, vec![(client.clone(), url)])
                .await;
        }
        Ok(())
    }
}

/// The `NotFound` subject of an unknown client in a consent path, which Keycloak words
/// `Client not found` (its client resources say `Could not find client`).
pub const CONSENT_CLIENT: &str = "Consent client";
