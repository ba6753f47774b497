//! Single sign-on and logout: the `KEYCLOAK_IDENTITY` cookie that lets a browser with an SSO
//! session sign in to a second client without a password, and RP-initiated logout that ends
//! the session for every client.

use gatehouse_crypto::jose::{self, Algorithm};
use gatehouse_model::{Realm, User, UserId, UserSession, UserSessionId};
use serde_json::{Map, Value, json};

use crate::keys::RealmKeys;
use crate::login::{AuthFailure, redirect_uri_allowed};
use crate::tokens::{session_alive, verify_token};
use crate::{RequestCtx, ServiceError, Services, now_secs};

/// The values of the SSO cookies a successful login sets.
#[derive(Debug, Clone)]
pub struct SsoCookies {
    /// `KEYCLOAK_IDENTITY`: a token naming the user and the SSO session (HttpOnly).
    pub identity: String,
    /// `KEYCLOAK_SESSION`: a hash of the session id that the session iframe compares (readable
    /// by scripts, so it must not be the id itself).
    pub session: String,
    /// Seconds the cookies live: the SSO session's maximum lifespan.
    pub max_age: i64,
}

/// What RP-initiated logout asks of the browser next.
#[derive(Debug, Clone)]
pub enum LogoutStep {
    /// Without proof of who asks (no `id_token_hint`), Keycloak asks the user to confirm; the
    /// confirmation form posts this code back.
    Confirm {
        /// A signed, short-lived code naming the logout request.
        code: String,
    },
    /// The session is ended: clear the cookies, then redirect here (or show "logged out").
    Done {
        /// `post_logout_redirect_uri` with `state`, when one was given and allowed.
        redirect: Option<String>,
    },
}

/// The parameters of an RP-initiated logout request.
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    /// `id_token_hint`.
    pub id_token_hint: Option<String>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `state`.
    pub state: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

pub(crate) fn sign_hs512(
    keys: &RealmKeys,
    claims: &Map<String, Value>,
) -> Result<String, ServiceError> {
    let key = keys
        .signer(Algorithm::HS512)
        .ok_or_else(|| internal("realm has no HS512 key"))?;
    let payload = serde_json::to_vec(claims).map_err(internal)?;
    key.sign(&payload, Some("JWT")).map_err(internal)
}

/// Builds the SSO cookies for a new session.
pub(crate) fn identity_cookie(
    ctx: &RequestCtx,
    realm: &Realm,
    keys: &RealmKeys,
    user: &UserId,
    session: &UserSessionId,
    now: i64,
) -> Result<SsoCookies, ServiceError> {
    let max_age = i64::from(realm.sso_session_max_lifespan);
    let mut claims = Map::new();
    claims.insert("exp".into(), json!(now + max_age));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    claims.insert("iss".into(), json!(ctx.issuer(realm.name.as_str())));
    claims.insert("sub".into(), json!(user.as_str()));
    claims.insert("typ".into(), json!("Serialized-ID"));
    claims.insert("sid".into(), json!(session.as_str()));
    Ok(SsoCookies {
        identity: sign_hs512(keys, &claims)?,
        session: jose::thumbprint_sha256_b64url(session.as_str().as_bytes()),
        max_age,
    })
}

impl Services {
    /// The SSO session a `KEYCLOAK_IDENTITY` cookie names, if it is valid and alive and its user
    /// is enabled.
    pub(crate) async fn sso_session(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        identity: Option<&str>,
    ) -> Result<Option<(UserSession, User)>, ServiceError> {
        let Some(identity) = identity.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let keys = self.realm_keys(realm).await?;
        let Ok(claims) = verify_token(&keys, identity) else {
            return Ok(None);
        };
        let now = now_secs();
        let valid = claims.get("typ").and_then(Value::as_str) == Some("Serialized-ID")
            && claims.get("iss").and_then(Value::as_str)
                == Some(ctx.issuer(realm.name.as_str()).as_str())
            && claims
                .get("exp")
                .and_then(Value::as_i64)
                .is_some_and(|e| e > now);
        if !valid {
            return Ok(None);
        }
        let sid = UserSessionId::from(
            claims
                .get("sid")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let mut tx = self.store().begin_read().await?;
        let Some(session) = tx.user_session(&sid, false).await? else {
            return Ok(None);
        };
        if !session_alive(realm, &session, now)
            || claims.get("sub").and_then(Value::as_str) != Some(session.user_id.as_str())
        {
            return Ok(None);
        }
        let user = tx.user_by_id(&session.user_id).await?.filter(|u| u.enabled);
        tx.rollback().await?;
        Ok(user.map(|u| (session, u)))
    }

    /// RP-initiated logout (`end_session_endpoint`). With a valid `id_token_hint` the session
    /// ends at once; without one the user confirms first, as Keycloak asks.
    pub async fn logout(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        request: &LogoutRequest,
        identity: Option<&str>,
    ) -> Result<LogoutStep, AuthFailure> {
        let page = |message: &'static str, arg: &str| AuthFailure::Page {
            message,
            arg: Some(arg.to_owned()),
        };
        let keys = self.realm_keys(realm).await?;
        let hint = match request.id_token_hint.as_deref() {
            Some(token) => {
                let claims = verify_token(&keys, token)
                    .map_err(|_| page("invalidParameterMessage", "id_token_hint"))?;
                // An expired ID token is still a valid hint (OIDC RP-Initiated Logout §2).
                let ok = claims.get("typ").and_then(Value::as_str) == Some("ID")
                    && claims.get("iss").and_then(Value::as_str)
                        == Some(ctx.issuer(realm.name.as_str()).as_str());
                if !ok {
                    return Err(page("invalidParameterMessage", "id_token_hint"));
                }
                Some(claims)
            }
            None => None,
        };
        let hinted_client = hint
            .as_ref()
            .and_then(|c| c.get("azp").or_else(|| c.get("aud")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let (Some(from_hint), Some(given)) = (&hinted_client, &request.client_id)
            && from_hint != given
        {
            return Err(page("invalidParameterMessage", "client_id"));
        }
        let client_id = hinted_client.or_else(|| request.client_id.clone());
        let redirect = match &request.post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let Some(client_id) = &client_id else {
                    return Err(page("invalidParameterMessage", "post_logout_redirect_uri"));
                };
                let mut tx = self.store().begin_read().await?;
                let client = tx
                    .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(client_id))
                    .await?;
                tx.rollback().await?;
                let Some(client) = client else {
                    return Err(page("invalidParameterMessage", "client_id"));
                };
                if !post_logout_allowed(&client, uri, &ctx.frontend) {
                    return Err(page("invalidParameterMessage", "post_logout_redirect_uri"));
                }
                Some(with_state(uri, request.state.as_deref()))
            }
        };
        match hint {
            Some(claims) => {
                let sid = claims
                    .get("sid")
                    .and_then(Value::as_str)
                    .map(UserSessionId::from);
                self.end_session(ctx, realm, sid, identity).await?;
                Ok(LogoutStep::Done { redirect })
            }
            None => {
                let now = now_secs();
                let mut claims = Map::new();
                claims.insert(
                    "exp".into(),
                    json!(now + i64::from(realm.access_code_lifespan_user_action)),
                );
                claims.insert("iat".into(), json!(now));
                claims.insert("iss".into(), json!(ctx.issuer(realm.name.as_str())));
                claims.insert("typ".into(), json!("logout-confirm"));
                if let Some(r) = &redirect {
                    claims.insert("redirect".into(), json!(r));
                }
                Ok(LogoutStep::Confirm {
                    code: sign_hs512(&keys, &claims)?,
                })
            }
        }
    }

    /// The user confirmed the logout: end the browser's SSO session.
    pub async fn confirm_logout(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        code: &str,
        identity: Option<&str>,
    ) -> Result<LogoutStep, AuthFailure> {
        let keys = self.realm_keys(realm).await?;
        let expired = || AuthFailure::Page {
            message: "expiredActionMessage",
            arg: None,
        };
        let claims = verify_token(&keys, code).map_err(|_| expired())?;
        let ok = claims.get("typ").and_then(Value::as_str) == Some("logout-confirm")
            && claims.get("iss").and_then(Value::as_str)
                == Some(ctx.issuer(realm.name.as_str()).as_str())
            && claims
                .get("exp")
                .and_then(Value::as_i64)
                .is_some_and(|e| e > now_secs());
        if !ok {
            return Err(expired());
        }
        self.end_session(ctx, realm, None, identity).await?;
        Ok(LogoutStep::Done {
            redirect: claims
                .get("redirect")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Ends the online session named by `sid` or, failing that, by the browser's cookie.
    async fn end_session(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        sid: Option<UserSessionId>,
        identity: Option<&str>,
    ) -> Result<(), ServiceError> {
        let sid = match sid {
            Some(sid) => Some(sid),
            None => self
                .sso_session(ctx, realm, identity)
                .await?
                .map(|(s, _)| s.id),
        };
        let Some(sid) = sid else {
            return Ok(());
        };
        let mut tx = self.store().begin().await?;
        let session = tx.user_session(&sid, false).await?;
        let mut notify = Vec::new();
        for cs in tx.client_sessions_of(&sid, false).await? {
            if let Some(client) = tx.client_by_id(&cs.client_id).await? {
                let url = client.attributes.get("backchannel.logout.url").cloned();
                if let Some(url) = url.filter(|u| !u.is_empty()) {
                    notify.push((client, url));
                }
            }
        }
        tx.delete_user_session(&sid, false).await?;
        tx.commit().await?;
        if let Some(session) = session {
            self.backchannel_logout(ctx, realm, &session, notify).await;
        }
        Ok(())
    }

    /// OpenID Connect Back-Channel Logout: each client of the ended session that registered a
    /// `backchannel.logout.url` gets a signed logout token. A client that does not answer does
    /// not stop the logout (Keycloak logs it too); the session is already gone.
    pub(crate) async fn backchannel_logout(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        session: &UserSession,
        clients: Vec<(gatehouse_model::Client, String)>,
    ) {
        for (client, url) in clients {
            let result = async {
                let keys = self.issuing_keys(realm, &client).await?;
                let alg = crate::tokens::signing_algorithm(realm, &client);
                let key = keys
                    .signer(alg)
                    .ok_or_else(|| internal(format!("realm has no active {alg} key")))?;
                let now = now_secs();
                let mut claims = Map::new();
                claims.insert("iat".into(), json!(now));
                claims.insert("exp".into(), json!(now + 120));
                claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
                claims.insert("iss".into(), json!(ctx.issuer(realm.name.as_str())));
                claims.insert("aud".into(), json!(client.client_id.as_str()));
                claims.insert("sub".into(), json!(session.user_id.as_str()));
                let with_sid = client
                    .attributes
                    .get("backchannel.logout.session.required")
                    .is_none_or(|v| v == "true");
                if with_sid {
                    claims.insert("sid".into(), json!(session.id.as_str()));
                }
                claims.insert(
                    "events".into(),
                    json!({"http://schemas.openid.net/event/backchannel-logout": {}}),
                );
                let payload = serde_json::to_vec(&claims).map_err(internal)?;
                let token = key.sign(&payload, Some("logout+jwt")).map_err(internal)?;
                let response = self
                    .outbound
                    .post(&url)
                    .form(&[("logout_token", token)])
                    .send()
                    .await
                    .map_err(internal)?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(internal(format!("answered {}", response.status())))
                }
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(client = %client.client_id, error = %e, "back-channel logout failed");
            }
        }
    }
}

/// The client's `post.logout.redirect.uris` attribute (`##`-separated); `+` means "the same as
/// the redirect URIs", as Keycloak reads it.
fn post_logout_allowed(client: &gatehouse_model::Client, uri: &str, base_url: &str) -> bool {
    let Some(list) = client.attributes.get("post.logout.redirect.uris") else {
        return false;
    };
    list.split("##").any(|entry| {
        if entry == "+" {
            redirect_uri_allowed(client, uri, base_url)
        } else {
            let single = gatehouse_model::Client {
                redirect_uris: vec![entry.to_owned()],
                ..client.clone()
            };
            redirect_uri_allowed(&single, uri, base_url)
        }
    })
}

fn with_state(uri: &str, state: Option<&str>) -> String {
    match state {
        Some(state) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let encoded = crate::login::encode(state);
            format!("{uri}{sep}state={encoded}")
        }
        None => uri.to_owned(),
    }
}
