//! Reading tokens back: userinfo and revocation (RFC 7009); introspection is in
//! `introspection.rs`.

use gatehouse_model::{ClientUuid, Realm, UserSessionId};
use serde_json::{Map, Value, json};

use crate::claims::{self, Subject, Target};
use crate::tokens::{ClientCredentials, verify_token};
use crate::{OAuthError, RequestCtx, Services, now_secs};

/// Why a bearer token was refused; the protocol crate answers 401 with `invalid_token`.
fn invalid_token(description: &str) -> OAuthError {
    OAuthError::unauthorized("invalid_token", description.to_owned())
}

impl Services {
    /// `userinfo`: the claims of the token's user, through the userinfo mappers of the token's
    /// scopes.
    pub async fn userinfo(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        bearer: &str,
    ) -> Result<Value, OAuthError> {
        let claims = self
            .active_claims(ctx, realm, bearer)
            .await?
            .ok_or_else(|| invalid_token("Token verification failed"))?;
        if claims.get("typ").and_then(Value::as_str) != Some("Bearer") {
            return Err(invalid_token("Token verification failed"));
        }
        let has_openid = claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|s| s.split(' ').any(|s| s == "openid"));
        if !has_openid {
            return Err(OAuthError::Forbidden {
                error: "insufficient_scope",
                description: "Missing openid scope".into(),
            });
        }
        let azp = claims
            .get("azp")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let scope = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut tx = self.store().begin_read().await?;
        let client = tx
            .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(azp))
            .await?
            .ok_or_else(|| invalid_token("Client not found"))?;
        let user = tx
            .user_by_id(&gatehouse_model::UserId::from(sub))
            .await?
            .ok_or_else(|| invalid_token("User not found"))?;
        let plan = crate::tokens::ScopePlan::resolve(&mut tx, &client, Some(scope)).await?;
        let data = crate::tokens::SubjectData::load(&mut tx, &user, &client).await?;
        let notes = match claims.get("sid").and_then(Value::as_str) {
            Some(sid) => tx
                .user_session(&UserSessionId::from(sid), false)
                .await?
                .or(tx.user_session(&UserSessionId::from(sid), true).await?)
                .map(|s| s.notes)
                .unwrap_or_default(),
            None => Default::default(),
        };
        tx.rollback().await?;
        let acr = claims.get("acr").and_then(Value::as_str).unwrap_or("0");
        let mut out = Map::new();
        out.insert("sub".into(), json!(user.id.as_str()));
        let mappers: Vec<_> = plan.mappers.iter().collect();
        let subject = Subject {
            user: &user,
            client_id: client.client_id.as_str(),
            realm_roles: &data.realm_roles,
            client_roles: &data.client_roles,
            allowed_origins: &data.allowed_origins,
            session_notes: &notes,
            acr,
            group_paths: &data.group_paths,
            session_id: claims.get("sid").and_then(Value::as_str),
        };
        claims::apply(&mappers, &subject, Target::Userinfo, &mut out);
        Ok(Value::Object(out))
    }

    /// `revoke`: ends the client's session for a refresh or offline token, or blocks an access
    /// token until it expires. Unknown and invalid tokens are not an error (RFC 7009 §2.2).
    pub async fn revoke(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
        token: &str,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate(ctx, realm, creds).await?;
        let keys = self.realm_keys(realm).await?;
        let Ok(claims) = verify_token(&keys, token) else {
            return Ok(());
        };
        if claims.get("iss").and_then(Value::as_str)
            != Some(ctx.issuer(realm.name.as_str()).as_str())
        {
            return Ok(());
        }
        let typ = claims
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(typ, "Refresh" | "Offline" | "Bearer") {
            return Err(OAuthError::bad_request(
                "unsupported_token_type",
                "Unsupported token type",
            ));
        }
        if claims.get("azp").and_then(Value::as_str) != Some(client.client_id.as_str()) {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "Unmatching clients",
            ));
        }
        let exp = claims.get("exp").and_then(Value::as_i64);
        let mut tx = self.store().begin().await?;
        match claims.get("typ").and_then(Value::as_str) {
            Some(typ @ ("Refresh" | "Offline")) => {
                let offline = typ == "Offline";
                let sid = UserSessionId::from(
                    claims
                        .get("sid")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
                revoke_client_session(&mut tx, &sid, offline, &client.id).await?;
            }
            Some("Bearer") => {
                if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
                    tx.revoke_token(jti, exp.unwrap_or_else(|| now_secs() + 86_400))
                        .await?;
                }
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(())
    }

    /// The claims of a token that verifies, is not expired or revoked, and whose session and
    /// user are still there; `None` otherwise.
    pub(crate) async fn active_claims(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        token: &str,
    ) -> Result<Option<Map<String, Value>>, OAuthError> {
        let keys = self.realm_keys(realm).await?;
        let Ok(claims) = verify_token(&keys, token) else {
            return Ok(None);
        };
        let now = now_secs();
        if claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp <= now)
        {
            return Ok(None);
        }
        if claims.get("iss").and_then(Value::as_str)
            != Some(ctx.issuer(realm.name.as_str()).as_str())
        {
            return Ok(None);
        }
        let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
        if iat < realm.not_before {
            return Ok(None);
        }
        let mut tx = self.store().begin_read().await?;
        let jti = claims.get("jti").and_then(Value::as_str);
        if let Some(jti) = jti
            && tx.is_token_revoked(jti).await?
        {
            return Ok(None);
        }
        let offline = claims.get("typ").and_then(Value::as_str) == Some("Offline");
        if let Some(sid) = claims.get("sid").and_then(Value::as_str) {
            let sid = UserSessionId::from(sid);
            let session = match tx.user_session(&sid, offline).await? {
                Some(s) => Some(s),
                // An access token from an offline grant points at the offline session.
                None if !offline => tx.user_session(&sid, true).await?,
                None => None,
            };
            let Some(session) = session.filter(|s| crate::tokens::session_alive(realm, s, now))
            else {
                return Ok(None);
            };
            let azp = claims
                .get("azp")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let client = tx
                .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(azp))
                .await?;
            let Some(client) = client else {
                return Ok(None);
            };
            if tx
                .client_session(&sid, session.offline, &client.id)
                .await?
                .is_none()
            {
                return Ok(None);
            }
        }
        if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
            match tx.user_by_id(&gatehouse_model::UserId::from(sub)).await? {
                Some(user) if user.enabled && iat >= user.not_before => {}
                _ => return Ok(None),
            }
        }
        tx.rollback().await?;
        Ok(Some(claims))
    }
}

/// Removes one client from a session; a session left with no client ends.
async fn revoke_client_session(
    tx: &mut gatehouse_store::Tx,
    sid: &UserSessionId,
    offline: bool,
    client: &ClientUuid,
) -> Result<(), OAuthError> {
    tx.delete_client_session(sid, offline, client).await?;
    if tx.client_sessions_of(sid, offline).await?.is_empty() {
        tx.delete_user_session(sid, offline).await?;
    }
    Ok(())
}
