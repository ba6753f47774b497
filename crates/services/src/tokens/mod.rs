//! OAuth 2.0 grants and the token documents they issue, in Keycloak's shapes.
//!
//! Grants: `password`, `client_credentials`, `refresh_token` (the authorization code grant comes
//! with the login pages). Access and ID tokens are signed with the realm's active key for the
//! client's algorithm (RS256 by default); refresh and offline tokens with the realm's HS512 key,
//! as Keycloak signs them, which also makes them cheap to verify.
//!
//! Sessions are durable (Keycloak 26's persistent sessions): a grant writes the user session and
//! client session to the database, so a restart of every node logs nobody out.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use gatehouse_crypto::jose::{self, Algorithm, SigningKey};
use gatehouse_crypto::{PasswordPolicyHash, constant_time_eq};
use gatehouse_model::{
    Client, ClientSession, ClientUuid, ProtocolMapper, Realm, RealmName, Role, RoleId, User,
    UserId, UserSession, UserSessionId, Username,
};
use gatehouse_store::{RefreshUse, StoreError, Tx};
use serde_json::{Map, Value, json};

use crate::cache::LazyRead;
use crate::claims::{self, Subject, Target};
use crate::keys::RealmKeys;
use crate::{OAuthError, RequestCtx, ServiceError, Services, now_secs};

mod client_auth;
mod documents;

pub(crate) use documents::{
    GrantKind, Issue, ScopePlan, SessionKind, SessionRef, SubjectData, allowed_origins,
    expand_composites, user_role_sources,
};

const INVALID_CLIENT: &str = "Invalid client or Invalid client credentials";
/// Keycloak's session note holding the authentication time (seconds).
const AUTH_TIME: &str = "AUTH_TIME";

/// How the caller presented its client credentials (parsed by the protocol crate from the
/// `Authorization: Basic` header or the form).
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`, when the client sent one.
    pub secret: Option<String>,
    /// `client_assertion_type` (RFC 7523).
    pub assertion_type: Option<String>,
    /// `client_assertion`: a JWT signed by the client (`private_key_jwt`, `client_secret_jwt`).
    pub assertion: Option<String>,
}

/// The token endpoint's success response.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The refresh (or offline) token, when the grant gives one.
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires; 0 for an offline token without a maximum.
    pub refresh_expires_in: i64,
    /// The ID token, when `openid` was asked for.
    pub id_token: Option<String>,
    /// The realm's not-before policy.
    pub not_before_policy: i64,
    /// The user session id, when there is a session.
    pub session_state: Option<String>,
    /// The granted scopes.
    pub scope: String,
}

impl TokenResponse {
    /// Keycloak's JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_expires_in": self.refresh_expires_in,
            "token_type": "Bearer",
            "not-before-policy": self.not_before_policy,
            "scope": self.scope,
        });
        if let Some(map) = body.as_object_mut() {
            if let Some(t) = &self.refresh_token {
                map.insert("refresh_token".into(), json!(t));
            }
            if let Some(t) = &self.id_token {
                map.insert("id_token".into(), json!(t));
            }
            if let Some(s) = &self.session_state {
                map.insert("session_state".into(), json!(s));
            }
        }
        body
    }
}

impl Services {
    /// A realm by name; `NotFound` when there is none.
    pub async fn realm(&self, name: &str) -> Result<Realm, ServiceError> {
        let name = RealmName::new(name).map_err(|_| ServiceError::NotFound("realm".into()))?;
        self.cached_realm(&name)
            .await?
            .ok_or_else(|| ServiceError::NotFound("realm".into()))
    }

    /// The realm's parsed keys.
    pub async fn realm_keys(&self, realm: &Realm) -> Result<Arc<RealmKeys>, ServiceError> {
        self.keys
            .get(self.store(), realm, self.current_revision().await?)
            .await
    }

    /// The realm's keys, with an active key for the algorithm `client`'s tokens are signed with.
    pub(crate) async fn issuing_keys(
        &self,
        realm: &Realm,
        client: &Client,
    ) -> Result<Arc<RealmKeys>, ServiceError> {
        self.keys
            .with_signer(
                self.store(),
                realm,
                signing_algorithm(realm, client),
                self.current_revision().await?,
            )
            .await
    }

    /// `grant_type=password`: the resource owner password credentials grant.
    pub async fn password_grant(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate(ctx, realm, creds).await?;
        let mut tx = self.store().begin_read().await?;
        if !client.direct_access_grants_enabled {
            return Err(OAuthError::bad_request(
                "unauthorized_client",
                "Client not allowed for direct access grants",
            ));
        }
        if client.consent_required {
            return Err(OAuthError::bad_request(
                "invalid_client",
                "Client requires user consent",
            ));
        }
        let invalid = || OAuthError::unauthorized("invalid_grant", "Invalid user credentials");
        let Some(user) = find_user(&mut tx, realm, username).await? else {
            return Err(invalid());
        };
        let credentials = tx.credentials_of(&user.id).await?;
        tx.rollback().await?;
        let ip = ctx.client_ip.to_string();
        if !self
            .password_matches(realm, &user, credentials, password, &ip)
            .await?
        {
            return Err(invalid());
        }
        if !user.enabled {
            return Err(OAuthError::bad_request("invalid_grant", "Account disabled"));
        }
        if !user.required_actions.is_empty() {
            return Err(OAuthError::bad_request(
                "invalid_grant",
                "Account is not fully set up",
            ));
        }

        let mut tx = self.store().begin().await?;
        let plan = ScopePlan::resolve(&mut tx, &client, scope).await?;
        let subject = SubjectData::load(&mut tx, &user, &client).await?;
        let offline = plan.offline;
        if offline && !subject.realm_roles.contains("offline_access") {
            return Err(OAuthError::bad_request(
                "not_allowed",
                "Offline tokens not allowed for the user or client",
            ));
        }
        let now = now_secs();
        let session_id = UserSessionId::new_random();
        let mut notes = BTreeMap::new();
        notes.insert(AUTH_TIME.to_owned(), now.to_string());
        // With offline_access Keycloak keeps only the offline session (same id); the online
        // one would just expire beside it.
        for flag in [offline] {
            tx.insert_user_session(&UserSession {
                id: session_id.clone(),
                offline: flag,
                realm_id: realm.id.clone(),
                user_id: user.id.clone(),
                login_username: username.to_owned(),
                ip_address: ctx.client_ip.to_string(),
                auth_method: "openid-connect".into(),
                remember_me: false,
                started: now,
                last_refresh: now,
                broker_session_id: None,
                broker_user_id: None,
                notes: notes.clone(),
            })
            .await?;
            tx.upsert_client_session(&ClientSession {
                user_session_id: session_id.clone(),
                offline: flag,
                client_id: client.id.clone(),
                started: now,
                last_refresh: now,
                redirect_uri: None,
                notes: [
                    ("scope".to_owned(), plan.granted.clone()),
                    ("acr".to_owned(), "1".to_owned()),
                ]
                .into(),
                current_refresh_token: None,
                refresh_token_use_count: 0,
            })
            .await?;
        }
        tx.commit().await?;
        let keys = self.issuing_keys(realm, &client).await?;
        let issue = Issue {
            ctx,
            realm,
            client: &client,
            user: &user,
            subject: &subject,
            plan: &plan,
            session: Some(SessionRef {
                id: &session_id,
                started: now,
                offline,
                notes: &notes,
                acr: "1",
            }),
            nonce: None,
            now,
            grant: GrantKind::Password,
        };
        issue.tokens(&keys, true)
    }

    /// `grant_type=client_credentials`: a token for the client's service account.
    pub async fn client_credentials_grant(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate(ctx, realm, creds).await?;
        if client.public_client {
            return Err(OAuthError::unauthorized(
                "unauthorized_client",
                "Public client not allowed to retrieve service account",
            ));
        }
        if !client.service_accounts_enabled {
            return Err(OAuthError::unauthorized(
                "unauthorized_client",
                "Client not enabled to retrieve service account",
            ));
        }
        let account = Username::new(format!("service-account-{}", client.client_id));
        let (realm_rev, user_rev) = self.revisions().await?;
        let mut lazy = LazyRead::new(self.store());
        let user = self
            .cached_user(user_rev, &mut lazy, &realm.id, &account)
            .await?
            .filter(|u| u.service_account_client_link.as_ref() == Some(&client.id))
            .ok_or_else(|| {
                OAuthError::unauthorized(
                    "invalid_request",
                    "The associated service account for the client does not exist",
                )
            })?;
        if !user.enabled {
            return Err(OAuthError::unauthorized(
                "invalid_request",
                format!("User '{}' disabled", user.username),
            ));
        }
        let mut plan = self
            .cached_plan(realm_rev, &mut lazy, &client, scope)
            .await?;
        // Keycloak issues no offline token to a service account through this grant.
        plan.offline = false;
        let subject = self
            .cached_subject(user_rev, &mut lazy, &user, &client)
            .await?;
        lazy.finish().await?;
        let keys = self.issuing_keys(realm, &client).await?;
        let now = now_secs();
        let issue = Issue {
            ctx,
            realm,
            client: &client,
            user: &user,
            subject: &subject,
            plan: &plan,
            session: None,
            nonce: None,
            now,
            grant: GrantKind::ClientCredentials,
        };
        let mut response = issue.tokens(&keys, false)?;
        response.session_state = None;
        Ok(response)
    }

    /// `grant_type=refresh_token`.
    pub async fn refresh_grant(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
        refresh_token: &str,
    ) -> Result<TokenResponse, OAuthError> {
        let invalid = |why: &str| OAuthError::bad_request("invalid_grant", why.to_owned());
        let client = self.authenticate(ctx, realm, creds).await?;
        let keys = self.realm_keys(realm).await?;
        let claims =
            verify_token(&keys, refresh_token).map_err(|_| invalid("Invalid refresh token"))?;
        let offline = match claims.get("typ").and_then(Value::as_str) {
            Some("Refresh") => false,
            Some("Offline") => true,
            _ => return Err(invalid("Invalid refresh token")),
        };
        let now = now_secs();
        if claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp <= now)
        {
            return Err(invalid("Token is not active"));
        }
        if claims.get("iss").and_then(Value::as_str)
            != Some(ctx.issuer(realm.name.as_str()).as_str())
        {
            return Err(invalid(&format!(
                "Invalid token issuer. Expected '{}'",
                ctx.issuer(realm.name.as_str())
            )));
        }
        if claims.get("azp").and_then(Value::as_str) != Some(client.client_id.as_str()) {
            return Err(invalid(
                "Invalid refresh token. Token client and authorized client don't match",
            ));
        }
        let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
        if iat < realm.not_before {
            return Err(invalid("Stale token"));
        }
        let sid = claims
            .get("sid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let session_id = UserSessionId::from(sid);
        // Everything the new tokens are made of is read first, beside other readers; the write
        // that follows (reuse check, session timestamps) is short.
        let mut tx = self.store().begin_read().await?;
        let mut session = tx.user_session(&session_id, offline).await?;
        // This node's refreshes not yet written count for the idle timeout.
        if let Some(s) = session.as_mut()
            && let Some(pending) = self.touches.last_refresh(&session_id, offline)
        {
            s.last_refresh = s.last_refresh.max(pending);
        }
        let session = match session {
            Some(s) if session_alive(realm, &s, now) => s,
            _ => {
                return Err(invalid(if offline {
                    "Offline user session not found"
                } else {
                    "Session not active"
                }));
            }
        };
        let Some(client_session) = tx.client_session(&session_id, offline, &client.id).await?
        else {
            return Err(invalid("Session doesn't have required client"));
        };
        let Some(user) = tx.user_by_id(&session.user_id).await? else {
            return Err(invalid("Unknown user"));
        };
        if !user.enabled {
            return Err(invalid("User disabled"));
        }
        if iat < user.not_before {
            return Err(invalid("Stale token"));
        }
        let scope = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (realm_rev, user_rev) = self.revisions().await?;
        let mut lazy = LazyRead::adopt(self.store(), tx);
        let plan = self
            .cached_plan(realm_rev, &mut lazy, &client, Some(&scope))
            .await?;
        let subject = self
            .cached_subject(user_rev, &mut lazy, &user, &client)
            .await?;
        // A revoked consent stops the tokens issued on it (only consent clients pay the read).
        if client.consent_required
            && !crate::consent::still_granted(lazy.tx().await?, &client, &user.id, Some(&scope))
                .await?
        {
            lazy.finish().await?;
            return Err(crate::consent::consent_withdrawn());
        }
        lazy.finish().await?;
        if realm.revoke_refresh_token {
            let mut tx = self.store().begin().await?;
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let outcome = tx
                .use_refresh_token_issued_at(
                    &session_id,
                    offline,
                    &client.id,
                    jti,
                    iat,
                    realm.refresh_token_max_reuse,
                )
                .await?;
            let refused = match outcome {
                RefreshUse::Ok => None,
                RefreshUse::Stale => Some("Stale token"),
                RefreshUse::Exceeded => Some("Maximum allowed refresh token reuse exceeded"),
                RefreshUse::NoClientSession => Some("Session doesn't have required client"),
            };
            if let Some(why) = refused {
                // Keycloak detaches the client session, so the whole chain of refresh tokens
                // stops working: a replayed token is a sign of theft.
                tx.delete_client_session(&session_id, offline, &client.id)
                    .await?;
                tx.commit().await?;
                return Err(invalid(why));
            }
            tx.commit().await?;
        }
        // Only timestamps are left to write: they go in the next batch.
        self.touches.record(&session_id, offline, &client.id, now);
        let acr = client_session
            .notes
            .get("acr")
            .map(String::as_str)
            .unwrap_or("0");
        // A refreshed token is not a fresh authentication: acr "0" unless the login's acr says
        // more, as Keycloak reports it.
        let acr = if acr == "1" { "1" } else { "0" };
        let keys = self.issuing_keys(realm, &client).await?;
        let issue = Issue {
            ctx,
            realm,
            client: &client,
            user: &user,
            subject: &subject,
            plan: &ScopePlan { offline, ..plan },
            session: Some(SessionRef {
                id: &session_id,
                started: session.started,
                offline,
                notes: &session.notes,
                acr,
            }),
            nonce: None,
            now,
            grant: GrantKind::RefreshToken,
        };
        issue.tokens(&keys, true)
    }

    pub(crate) async fn rehash(
        &self,
        stored: gatehouse_model::Credential,
        password: &str,
        policy: PasswordPolicyHash,
    ) {
        let Ok(new) = self.hasher.hash(password.to_owned(), policy).await else {
            return;
        };
        let updated = gatehouse_model::Credential {
            secret_data: new.secret_data,
            credential_data: new.credential_data,
            ..stored
        };
        let result = async {
            let mut tx = self.store().begin().await?;
            tx.update_credential(&updated).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not re-hash a password with the realm's policy");
        }
    }
}

/// The algorithm a client's access and ID tokens are signed with: the client's
/// `access.token.signed.response.alg`, else the realm's `defaultSignatureAlgorithm`, else RS256.
pub(crate) fn signing_algorithm(realm: &Realm, client: &Client) -> Algorithm {
    client
        .attributes
        .get("access.token.signed.response.alg")
        .filter(|v| !v.is_empty())
        .unwrap_or(&realm.default_signature_algorithm)
        .parse()
        .ok()
        .filter(|a: &Algorithm| !a.is_symmetric())
        .unwrap_or(Algorithm::RS256)
}

/// The realm's password hashing policy (`hashAlgorithm(..)` and `hashIterations(..)` in the
/// password policy string), defaulting to Keycloak 26's argon2id.
pub(crate) fn password_policy(realm: &Realm) -> PasswordPolicyHash {
    let mut policy = PasswordPolicyHash::default();
    for (name, arg) in policy_terms(realm) {
        match name {
            "hashAlgorithm" => {
                if let Ok(alg) = arg.parse() {
                    policy.algorithm = alg;
                }
            }
            "hashIterations" => policy.iterations = arg.parse().ok(),
            _ => {}
        }
    }
    policy
}

/// The terms of the realm's password policy string (`length(8) and digits(1) and notUsername`)
/// as `(name, argument)` pairs, the argument empty when there is none; the one parser of that
/// string, for the hashing policy and for the checks a new password must pass.
pub(crate) fn policy_terms(realm: &Realm) -> impl Iterator<Item = (&str, &str)> {
    realm
        .password_policy
        .as_deref()
        .unwrap_or_default()
        .split(" and ")
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('(') {
            Some((name, rest)) => (name.trim(), rest.trim_end_matches(')').trim()),
            None => (part, ""),
        })
}

pub(crate) async fn find_user(
    tx: &mut Tx,
    realm: &Realm,
    login: &str,
) -> Result<Option<User>, OAuthError> {
    let login = login.trim();
    if login.is_empty() {
        return Ok(None);
    }
    if let Some(user) = tx
        .user_by_username(&realm.id, &Username::new(login))
        .await?
    {
        return Ok(Some(user));
    }
    if realm.login_with_email_allowed && login.contains('@') {
        return Ok(tx.user_by_email(&realm.id, login).await?);
    }
    Ok(None)
}

/// Whether a session is within its idle and maximum lifespans (with Keycloak's 120 s window for
/// clock skew between nodes on the idle check).
pub(crate) fn session_alive(realm: &Realm, s: &UserSession, now: i64) -> bool {
    let (idle, max) = lifespans(realm, s.offline);
    let idle_ok = idle <= 0 || s.last_refresh + i64::from(idle) + SESSION_SKEW > now;
    let max_ok = max <= 0 || s.started + i64::from(max) > now;
    idle_ok && max_ok
}

/// Seconds a session outlives its idle timeout, for clocks and timestamps that lag.
pub(crate) const SESSION_SKEW: i64 = 120;

/// (idle, max) seconds for online or offline sessions; 0 means no limit.
pub(crate) fn lifespans(realm: &Realm, offline: bool) -> (i32, i32) {
    if offline {
        let max = if realm.offline_session_max_lifespan_enabled {
            realm.offline_session_max_lifespan
        } else {
            0
        };
        (realm.offline_session_idle_timeout, max)
    } else {
        (
            realm.sso_session_idle_timeout,
            realm.sso_session_max_lifespan,
        )
    }
}

/// Verifies a token signed by one of the realm's keys and returns its claims.
pub(crate) fn verify_token(
    keys: &RealmKeys,
    token: &str,
) -> Result<Map<String, Value>, jose::JoseError> {
    let jws = jose::decode(token)?;
    let kid = jws
        .kid
        .as_deref()
        .ok_or(jose::JoseError::UnknownKey(String::new()))?;
    let key = keys
        .verifier(kid)
        .ok_or_else(|| jose::JoseError::UnknownKey(kid.to_owned()))?;
    jws.verify_with(key)?;
    match jws.claims()? {
        Value::Object(map) => Ok(map),
        _ => Err(jose::JoseError::Malformed(
            "claims are not an object".into(),
        )),
    }
}
