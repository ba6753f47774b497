//! Impersonation (Keycloak's `impersonation` feature, on by default): an administrator with the
//! `impersonation` role signs a browser in as a user. As Keycloak 26 does it, the admin API
//! answers with a link to a one-minute, single-use action token; the browser that follows it
//! gets the user's SSO session (its notes name the impersonator), so the administrator's own
//! browser, not the admin API's caller, holds the cookies.

use gatehouse_model::{Realm, UserId, UserSession, UserSessionId};
use serde_json::{Map, Value, json};

use crate::admin::{AdminIdentity, Permission};
use crate::tokens::verify_token;
use crate::{OAuthError, RequestCtx, ServiceError, Services, SsoCookies, now_secs};

/// `typ` of the action token, as Keycloak names it.
const TOKEN_TYPE: &str = "impersonate";
/// How long the link is good for, as Keycloak's.
const LIFESPAN_SECS: i64 = 60;
/// The user-session notes Keycloak sets on an impersonated session.
const IMPERSONATOR_ID: &str = "IMPERSONATOR_ID";
const IMPERSONATOR_USERNAME: &str = "IMPERSONATOR_USERNAME";

/// What `POST /users/{id}/impersonation` answers.
#[derive(Debug, Clone)]
pub struct ImpersonationStarted {
    /// The administrator is of the impersonated user's realm: their own session was ended.
    pub same_realm: bool,
    /// The action-token link the browser follows to become the user.
    pub redirect: String,
}

/// A followed impersonation link: the SSO cookies of the new session.
#[derive(Debug, Clone)]
pub struct Impersonated {
    /// The cookies that sign the browser in as the user.
    pub cookies: SsoCookies,
    /// The user's username, for the page that says so.
    pub username: String,
    /// The administrator's username.
    pub impersonator: String,
}

fn expired() -> OAuthError {
    OAuthError::bad_request("invalid_token", "Action token is expired or invalid")
}

impl Services {
    /// Starts impersonating `user_id` of `realm` for `who`, who must have the realm's
    /// `impersonation` role. Disabled users and service accounts cannot be impersonated (400).
    pub async fn admin_impersonate(
        &self,
        ctx: &RequestCtx,
        who: &AdminIdentity,
        realm: &Realm,
        user_id: &str,
    ) -> Result<ImpersonationStarted, ServiceError> {
        if !self.features.impersonation {
            return Err(ServiceError::Invalid("Feature not enabled".into()));
        }
        let mut tx = self.store().begin().await?;
        let user = tx
            .user_by_id(&UserId::from(user_id))
            .await?
            .filter(|u| u.realm_id == realm.id)
            .ok_or_else(|| ServiceError::NotFound("User".into()))?;
        who.require(realm, Permission::Impersonation)?;
        if !user.enabled {
            return Err(ServiceError::Invalid("User is disabled".into()));
        }
        if user.service_account_client_link.is_some() {
            return Err(ServiceError::Invalid(
                "Service accounts cannot be impersonated".into(),
            ));
        }
        let admin = tx
            .user_by_id(&who.user_id)
            .await?
            .ok_or_else(|| ServiceError::Unauthorized("administrator vanished".into()))?;
        // An administrator of the same realm stops being themselves in this browser.
        let same_realm = who.realm_id == realm.id && who.session.is_some();
        if let Some(sid) = who.session.as_ref().filter(|_| same_realm) {
            tx.delete_user_session(sid, false).await?;
        }
        tx.commit().await?;

        let now = now_secs();
        let keys = self.realm_keys(realm).await?;
        let mut claims = Map::new();
        claims.insert("typ".into(), json!(TOKEN_TYPE));
        claims.insert("iss".into(), json!(ctx.issuer(realm.name.as_str())));
        claims.insert("sub".into(), json!(user.id.as_str()));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + LIFESPAN_SECS));
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        claims.insert("impersonatorId".into(), json!(admin.id.as_str()));
        claims.insert("impersonator".into(), json!(admin.username.as_str()));
        claims.insert("impersonatorRealm".into(), json!(who.realm_name.as_str()));
        let token = crate::sso::sign_hs512(&keys, &claims)?;
        tracing::info!(
            realm = %realm.name,
            user = %user.id,
            impersonator = %admin.id,
            "impersonation started"
        );
        Ok(ImpersonationStarted {
            same_realm,
            redirect: format!(
                "{}/realms/{}/login-actions/action-token?key={token}",
                ctx.frontend, realm.name
            ),
        })
    }

    /// Follows an impersonation link: the token must verify, be for this realm, unexpired and
    /// used for the first time (across the cluster); the user must still be enabled. Creates
    /// the user's SSO session, noting the impersonator, and returns its cookies.
    pub async fn follow_impersonation(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        key: &str,
    ) -> Result<Impersonated, OAuthError> {
        let keys = self.realm_keys(realm).await?;
        let claims = verify_token(&keys, key).map_err(|_| expired())?;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let now = now_secs();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if text("typ").as_deref() != Some(TOKEN_TYPE)
            || text("iss") != Some(ctx.issuer(realm.name.as_str()))
            || exp <= now
        {
            return Err(expired());
        }
        let (Some(sub), Some(jti)) = (text("sub"), text("jti")) else {
            return Err(expired());
        };
        let impersonator_id = text("impersonatorId").unwrap_or_default();
        let impersonator = text("impersonator").unwrap_or_default();
        let mut tx = self.store().begin().await?;
        if !tx
            .mark_single_use(&format!("impersonate:{jti}"), exp)
            .await?
        {
            return Err(expired());
        }
        let user = tx
            .user_by_id(&UserId::from(sub.as_str()))
            .await?
            .filter(|u| u.enabled && u.realm_id == realm.id)
            .ok_or_else(expired)?;
        let session = UserSessionId::new_random();
        let mut notes = std::collections::BTreeMap::new();
        notes.insert(IMPERSONATOR_ID.to_owned(), impersonator_id);
        notes.insert(IMPERSONATOR_USERNAME.to_owned(), impersonator.clone());
        tx.insert_user_session(&UserSession {
            id: session.clone(),
            offline: false,
            realm_id: realm.id.clone(),
            user_id: user.id.clone(),
            login_username: user.username.to_string(),
            ip_address: ctx.client_ip.to_string(),
            auth_method: TOKEN_TYPE.into(),
            remember_me: false,
            started: now,
            last_refresh: now,
            broker_session_id: None,
            broker_user_id: None,
            notes,
        })
        .await?;
        tx.commit().await?;
        let cookies = crate::sso::identity_cookie(ctx, realm, &keys, &user.id, &session, now)?;
        Ok(Impersonated {
            cookies,
            username: user.username.to_string(),
            impersonator,
        })
    }
}
