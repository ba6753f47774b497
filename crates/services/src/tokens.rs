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
use gatehouse_crypto::{PasswordPolicyHash, StoredPassword, Verified, constant_time_eq};
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
        self.keys.get(self.store(), realm).await
    }

    /// The realm's keys, with an active key for the algorithm `client`'s tokens are signed with.
    pub(crate) async fn issuing_keys(
        &self,
        realm: &Realm,
        client: &Client,
    ) -> Result<Arc<RealmKeys>, ServiceError> {
        self.keys
            .with_signer(self.store(), realm, signing_algorithm(realm, client))
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
        let creds_rows = tx.credentials_of(&user.id).await?;
        tx.rollback().await?;
        if self.login_locked(realm, &user).await? {
            return Err(invalid());
        }
        let Some(stored) = creds_rows.iter().find(|c| c.credential_type == "password") else {
            return Err(invalid());
        };
        let policy = password_policy(realm);
        let verified = self
            .hasher
            .verify(
                password.to_owned(),
                StoredPassword {
                    secret_data: stored.secret_data.clone(),
                    credential_data: stored.credential_data.clone(),
                },
                policy,
            )
            .await?;
        match verified {
            Verified::Mismatch => {
                self.login_failed(realm, &user, &ctx.client_ip.to_string())
                    .await?;
                return Err(invalid());
            }
            Verified::Match { needs_rehash } => {
                if needs_rehash {
                    self.rehash(stored.clone(), password, policy).await;
                }
                self.login_succeeded(realm, &user).await?;
            }
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
        let session = tx.user_session(&session_id, offline).await?;
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
        lazy.finish().await?;
        let mut tx = self.store().begin().await?;
        if realm.revoke_refresh_token {
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
        }
        tx.touch_user_session(&session_id, offline, now).await?;
        tx.touch_client_session(&session_id, offline, &client.id, now)
            .await?;
        tx.commit().await?;
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
    let Some(text) = realm.password_policy.as_deref() else {
        return policy;
    };
    for part in text.split(" and ") {
        let part = part.trim();
        if let Some(alg) = part
            .strip_prefix("hashAlgorithm(")
            .and_then(|p| p.strip_suffix(')'))
        {
            if let Ok(alg) = alg.trim().parse() {
                policy.algorithm = alg;
            }
        } else if let Some(n) = part
            .strip_prefix("hashIterations(")
            .and_then(|p| p.strip_suffix(')'))
        {
            policy.iterations = n.trim().parse().ok();
        }
    }
    policy
}

/// Authenticates the client of a token-endpoint request (`client_secret_basic`,
/// `client_secret_post`, or none for public clients), with Keycloak's errors.
impl Services {
    /// Authenticates the client of a token-endpoint request in a transaction of its own, so
    /// that the single use of a client assertion is recorded whatever the grant does next.
    pub(crate) async fn authenticate(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
    ) -> Result<Client, OAuthError> {
        // Only a client assertion writes (its single-use mark); everything else reads.
        // A client whose keys are at a URL has them fetched before any transaction opens: a
        // slow client must not hold a database lock.
        let remote = match creds.assertion.as_deref() {
            Some(assertion) => self.remote_jwks(realm, creds, assertion).await?,
            None => None,
        };
        let found = match requested_client_id(creds) {
            Some(id) => {
                let (realm_rev, _) = self.revisions().await?;
                let mut lazy = LazyRead::new(self.store());
                let found = self
                    .cached_client(realm_rev, &mut lazy, &realm.id, &id)
                    .await?;
                lazy.finish().await?;
                found
            }
            None => None,
        };
        // Only a client assertion writes (its single-use mark); a secret needs no transaction.
        if creds.assertion.is_some() {
            let mut tx = self.store().begin().await?;
            let client =
                authenticate_client(Some(&mut tx), ctx, realm, creds, found, remote.as_deref())
                    .await?;
            tx.commit().await?;
            Ok(client)
        } else {
            authenticate_client(None, ctx, realm, creds, found, remote.as_deref()).await
        }
    }
}

impl Services {
    /// The key set a `client-jwt` client publishes at its `jwks.url`, when it uses one; `None`
    /// for every other client (their keys, if any, are stored with them).
    async fn remote_jwks(
        &self,
        realm: &Realm,
        creds: &ClientCredentials,
        assertion: &str,
    ) -> Result<Option<std::sync::Arc<Value>>, OAuthError> {
        let Some(client_id) = creds
            .client_id
            .clone()
            .or_else(|| assertion_subject(assertion))
        else {
            return Ok(None);
        };
        let mut tx = self.store().begin_read().await?;
        let client = tx
            .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(&client_id))
            .await?;
        tx.rollback().await?;
        let Some(url) = client.as_ref().and_then(jwks_url) else {
            return Ok(None);
        };
        let kid = jose::decode(assertion).ok().and_then(|j| j.kid.clone());
        match self
            .client_keys
            .get(&self.outbound, url, kid.as_deref())
            .await
        {
            Ok(jwks) => Ok(Some(jwks)),
            Err(why) => Err(OAuthError::bad_request(
                "unauthorized_client",
                format!("Client authentication with signed JWT failed: {why}"),
            )),
        }
    }
}

/// The client's `jwks.url`, when `use.jwks.url` is on.
fn jwks_url(client: &Client) -> Option<&str> {
    (client.client_authenticator_type == "client-jwt"
        && client
            .attributes
            .get("use.jwks.url")
            .is_some_and(|v| v == "true"))
    .then(|| client.attributes.get("jwks.url").map(String::as_str))
    .flatten()
    .filter(|u| !u.is_empty())
}

/// The client a token-endpoint request names: `client_id`, or the subject of its assertion.
fn requested_client_id(creds: &ClientCredentials) -> Option<String> {
    let from_assertion = creds.assertion.as_deref().and_then(assertion_subject);
    creds
        .client_id
        .clone()
        .or(from_assertion)
        .filter(|c| !c.is_empty())
}

/// Checks the request's credentials against `found`, the client it names as read (through the
/// cache) by the caller. `tx` is a write transaction when the request carries a client
/// assertion, whose single use it records.
async fn authenticate_client(
    tx: Option<&mut Tx>,
    ctx: &RequestCtx,
    realm: &Realm,
    creds: &ClientCredentials,
    found: Option<Client>,
    remote_jwks: Option<&Value>,
) -> Result<Client, OAuthError> {
    let not_found = || OAuthError::unauthorized("invalid_client", INVALID_CLIENT);
    let client = found.filter(|c| c.enabled).ok_or_else(not_found)?;
    if client.protocol != "openid-connect" {
        return Err(OAuthError::bad_request(
            "invalid_client",
            "Wrong client protocol.",
        ));
    }
    if client.bearer_only {
        return Err(OAuthError::bad_request(
            "invalid_client",
            "Bearer-only not allowed",
        ));
    }
    if client.public_client {
        return Ok(client);
    }
    match client.client_authenticator_type.as_str() {
        "client-jwt" | "client-secret-jwt" => {
            let jwt_failed = |why: &str| {
                OAuthError::bad_request(
                    "unauthorized_client",
                    format!("Client authentication with signed JWT failed: {why}"),
                )
            };
            if creds.assertion_type.as_deref() != Some(JWT_BEARER) {
                return Err(jwt_failed(
                    "Parameter client_assertion_type is missing or bad",
                ));
            }
            let Some(assertion) = creds.assertion.as_deref() else {
                return Err(jwt_failed("client_assertion parameter missing"));
            };
            let audiences = [
                ctx.issuer(realm.name.as_str()),
                ctx.backend_url(realm.name.as_str(), "/protocol/openid-connect/token"),
                ctx.issuer(realm.name.as_str()) + "/protocol/openid-connect/token",
            ];
            let now = now_secs();
            let (jti, exp) =
                verify_client_assertion(&client, assertion, remote_jwks, &audiences, now)
                    .map_err(|why| jwt_failed(&why))?;
            // An assertion is single use across the cluster: one atomic insert decides.
            let key = format!("client-assertion:{}:{jti}", client.id);
            let tx = tx.ok_or_else(|| {
                OAuthError::Service(ServiceError::Internal(
                    "client assertion checked without a transaction".into(),
                ))
            })?;
            if !tx.mark_single_use(&key, exp).await? {
                return Err(jwt_failed("Token reuse detected"));
            }
        }
        _ => {
            let ok = match (creds.secret.as_deref(), client.secret.as_deref()) {
                (Some(given), Some(expected)) => {
                    constant_time_eq(given.as_bytes(), expected.as_bytes())
                }
                _ => false,
            };
            if !ok {
                return Err(OAuthError::unauthorized(
                    "unauthorized_client",
                    INVALID_CLIENT,
                ));
            }
        }
    }
    Ok(client)
}

/// RFC 7523's client assertion type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client an assertion claims to come from (`sub`), read before it can be verified because
/// the key to verify it with is the client's.
fn assertion_subject(jwt: &str) -> Option<String> {
    let jws = jose::decode(jwt).ok()?;
    let claims = jws.claims().ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Verifies a client assertion (RFC 7523): signed with the client's secret (`client-secret-jwt`,
/// HS*) or with a key of its JWKS (`client-jwt`: fetched from `jwks.url`, or `jwks.string`), issued and subject
/// the client, for this realm, not expired. Returns its `jti` and `exp` for the replay check.
fn verify_client_assertion(
    client: &Client,
    jwt: &str,
    remote_jwks: Option<&Value>,
    audiences: &[String],
    now: i64,
) -> Result<(String, i64), String> {
    let jws = jose::decode(jwt).map_err(|e| e.to_string())?;
    let key = if client.client_authenticator_type == "client-secret-jwt" {
        if !jws.alg.is_symmetric() {
            return Err(format!("unexpected algorithm {}", jws.alg));
        }
        let secret = client.secret.as_deref().ok_or("client has no secret")?;
        jose::VerifyingKey::hmac(jws.alg, secret.as_bytes()).map_err(|e| e.to_string())?
    } else {
        if jws.alg.is_symmetric() {
            return Err(format!("unexpected algorithm {}", jws.alg));
        }
        let stored;
        let jwks = match (remote_jwks, jwks_url(client)) {
            (Some(jwks), _) => jwks,
            (None, Some(_)) => return Err("client's keys could not be fetched".into()),
            (None, None) => {
                let text = client
                    .attributes
                    .get("jwks.string")
                    .filter(|_| {
                        client
                            .attributes
                            .get("use.jwks.string")
                            .is_some_and(|v| v == "true")
                    })
                    .ok_or("client has no public keys configured")?;
                stored = serde_json::from_str::<Value>(text)
                    .map_err(|_| "client's jwks.string is not JSON")?;
                &stored
            }
        };
        jose::VerifyingKey::from_jwks(jwks, jws.kid.as_deref(), jws.alg)
            .map_err(|e| e.to_string())?
    };
    jws.verify_with(&key)
        .map_err(|_| "signature is invalid".to_owned())?;
    let claims = jws.claims().map_err(|e| e.to_string())?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let client_id = client.client_id.as_str();
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err("issuer and subject must be the client".into());
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err("Token audience doesn't match domain".into());
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("Token exp claim is required")?;
    if exp <= now {
        return Err("Token is not active".into());
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + 10)
    {
        return Err("Token is not active".into());
    }
    let jti = text("jti").ok_or("Token jti claim is required")?.to_owned();
    Ok((jti, exp))
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
    const SKEW: i64 = 120;
    let (idle, max) = lifespans(realm, s.offline);
    let idle_ok = idle <= 0 || s.last_refresh + i64::from(idle) + SKEW > now;
    let max_ok = max <= 0 || s.started + i64::from(max) > now;
    idle_ok && max_ok
}

/// (idle, max) seconds for online or offline sessions; 0 means no limit.
fn lifespans(realm: &Realm, offline: bool) -> (i32, i32) {
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

/// Which client scopes a request gets, and what its `scope` string says.
#[derive(Clone)]
pub(crate) struct ScopePlan {
    /// Mappers of the client and of every granted scope.
    pub(crate) mappers: Vec<ProtocolMapper>,
    /// The space-separated scope string for the response and the token.
    pub(crate) granted: String,
    /// `openid` was asked for: issue an ID token.
    pub(crate) openid: bool,
    /// `offline_access` was granted.
    pub(crate) offline: bool,
}

impl ScopePlan {
    pub(crate) async fn resolve(
        tx: &mut Tx,
        client: &Client,
        requested: Option<&str>,
    ) -> Result<ScopePlan, OAuthError> {
        let requested: HashSet<&str> = requested.unwrap_or_default().split_whitespace().collect();
        let mut names = BTreeSet::new();
        let mut mappers = tx.protocol_mappers_of_client(&client.id).await?;
        let mut offline = false;
        for (scope_id, default) in tx.client_scopes_of(&client.id).await? {
            let Some(scope) = tx.client_scope_by_id(&scope_id).await? else {
                continue;
            };
            if !default && !requested.contains(scope.name.as_str()) {
                continue;
            }
            if scope.name == "offline_access" {
                offline = true;
            }
            if scope
                .attributes
                .get("include.in.token.scope")
                .is_none_or(|v| v == "true")
            {
                names.insert(scope.name.clone());
            }
            mappers.extend(tx.protocol_mappers_of_scope(&scope.id).await?);
        }
        let openid = requested.contains("openid");
        let mut granted: Vec<&str> = Vec::new();
        if openid {
            granted.push("openid");
        }
        granted.extend(names.iter().map(String::as_str));
        Ok(ScopePlan {
            mappers,
            granted: granted.join(" "),
            openid,
            offline,
        })
    }
}

/// The user's roles and groups, resolved once per grant.
#[derive(Clone)]
pub(crate) struct SubjectData {
    pub(crate) realm_roles: BTreeSet<String>,
    pub(crate) client_roles: BTreeMap<String, BTreeSet<String>>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) group_paths: Vec<String>,
}

impl SubjectData {
    pub(crate) async fn load(
        tx: &mut Tx,
        user: &User,
        client: &Client,
    ) -> Result<SubjectData, OAuthError> {
        let (start, group_paths) = user_role_sources(tx, &user.id).await?;
        let mut realm_roles = BTreeSet::new();
        let mut by_client: BTreeMap<ClientUuid, BTreeSet<String>> = BTreeMap::new();
        for role in expand_composites(tx, start).await? {
            match &role.client {
                None => {
                    realm_roles.insert(role.name.clone());
                }
                Some(c) => {
                    by_client
                        .entry(c.clone())
                        .or_default()
                        .insert(role.name.clone());
                }
            }
        }
        let mut client_roles = BTreeMap::new();
        for (uuid, roles) in by_client {
            if let Some(c) = tx.client_by_id(&uuid).await? {
                client_roles.insert(c.client_id.to_string(), roles);
            }
        }
        Ok(SubjectData {
            realm_roles,
            client_roles,
            allowed_origins: allowed_origins(client),
            group_paths,
        })
    }
}

/// The roles a user holds directly and through each of its groups and their ancestors (members
/// inherit the roles of a group's ancestors too), with the paths (`/a/b`) of its groups.
pub(crate) async fn user_role_sources(
    tx: &mut Tx,
    user: &UserId,
) -> Result<(Vec<RoleId>, Vec<String>), StoreError> {
    let groups = tx.groups_of_user(user).await?;
    let mut start: Vec<RoleId> = tx.user_role_ids(user).await?;
    let mut group_paths = Vec::new();
    for group in &groups {
        let mut path = vec![group.name.clone()];
        let mut current = Some(group.clone());
        while let Some(g) = current {
            start.extend(tx.group_role_ids(&g.id).await?);
            current = match &g.parent_id {
                Some(parent) => {
                    let p = tx.group_by_id(parent).await?;
                    if let Some(p) = &p {
                        path.push(p.name.clone());
                    }
                    p
                }
                None => None,
            };
        }
        path.reverse();
        group_paths.push(format!("/{}", path.join("/")));
    }
    Ok((start, group_paths))
}

/// Every role reachable from `start` through composites, each once, breadth-first: the
/// effective roles of whoever holds `start`. Cycles (which Keycloak allows) are harmless.
pub(crate) async fn expand_composites(
    tx: &mut Tx,
    start: Vec<RoleId>,
) -> Result<Vec<Role>, StoreError> {
    let mut seen: HashSet<RoleId> = HashSet::new();
    let mut queue: VecDeque<RoleId> = start.into_iter().collect();
    let mut out = Vec::new();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(role) = tx.role_by_id(&id).await? else {
            continue;
        };
        for child in tx.composites_of(&role.id).await? {
            queue.push_back(child.id);
        }
        out.push(role);
    }
    Ok(out)
}

/// The client's web origins with `+` expanded to the origins of its redirect URIs.
pub(crate) fn allowed_origins(client: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for origin in &client.web_origins {
        if origin == "+" {
            for uri in &client.redirect_uris {
                if let Some(o) = origin_of(uri).filter(|o| !out.contains(o)) {
                    out.push(o);
                }
            }
        } else if !out.contains(origin) {
            out.push(origin.clone());
        }
    }
    out
}

fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() || host.contains('*') {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

pub(crate) struct SessionRef<'a> {
    pub(crate) id: &'a UserSessionId,
    pub(crate) started: i64,
    pub(crate) offline: bool,
    pub(crate) notes: &'a BTreeMap<String, String>,
    pub(crate) acr: &'a str,
}

/// Tokens delivered in an authorization response (implicit and hybrid flows).
pub(crate) struct FrontChannel {
    pub(crate) access_token: Option<String>,
    pub(crate) id_token: Option<String>,
    pub(crate) expires_in: i64,
}

/// One issuance: everything the token documents are made from.
pub(crate) struct Issue<'a> {
    pub(crate) ctx: &'a RequestCtx,
    pub(crate) realm: &'a Realm,
    pub(crate) client: &'a Client,
    pub(crate) user: &'a User,
    pub(crate) subject: &'a SubjectData,
    pub(crate) plan: &'a ScopePlan,
    pub(crate) session: Option<SessionRef<'a>>,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) now: i64,
}

impl Issue<'_> {
    pub(crate) fn tokens(
        &self,
        keys: &RealmKeys,
        with_refresh: bool,
    ) -> Result<TokenResponse, OAuthError> {
        let signer = self.signer(keys)?;
        let lifespan = self
            .client
            .attributes
            .get("access.token.lifespan")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(i64::from(self.realm.access_token_lifespan));
        let mut exp = self.now + lifespan;
        if let Some(s) = &self.session {
            // An access token never outlives its session.
            let (_, max) = lifespans(self.realm, s.offline);
            if max > 0 {
                exp = exp.min(s.started + i64::from(max));
            }
        }
        let access = self.access_claims(exp);
        let access_token = sign(signer, &access)?;
        let id_token = if self.plan.openid {
            Some(sign(
                signer,
                &self.id_claims(exp, Some(&access_token), None, signer.algorithm()),
            )?)
        } else {
            None
        };
        let (refresh_token, refresh_expires_in) = match (&self.session, with_refresh) {
            (Some(s), true) => {
                let hmac = keys.signer(Algorithm::HS512).ok_or_else(|| {
                    OAuthError::Service(ServiceError::Internal("realm has no HS512 key".into()))
                })?;
                let refresh_exp = self.refresh_exp(s);
                let claims = self.refresh_claims(s, refresh_exp);
                let expires_in = refresh_exp.map_or(0, |e| e - self.now);
                (Some(sign(hmac, &claims)?), expires_in)
            }
            _ => (None, 0),
        };
        Ok(TokenResponse {
            access_token,
            expires_in: exp - self.now,
            refresh_token,
            refresh_expires_in,
            id_token,
            not_before_policy: self.realm.not_before,
            session_state: self.session.as_ref().map(|s| s.id.to_string()),
            scope: self.plan.granted.clone(),
        })
    }

    /// The tokens of an implicit or hybrid authorization response: an access token (with the
    /// realm's implicit-flow lifespan) when `access` is set, an ID token when `id` is set (with
    /// `at_hash` and `c_hash` for what comes with it). Never a refresh token, as Keycloak.
    pub(crate) fn front_channel(
        &self,
        keys: &RealmKeys,
        access: bool,
        id: bool,
        code: Option<&str>,
    ) -> Result<FrontChannel, OAuthError> {
        let signer = self.signer(keys)?;
        let lifespan = i64::from(self.realm.access_token_lifespan_for_implicit_flow);
        let mut exp = self.now + lifespan;
        if let Some(s) = &self.session {
            let (_, max) = lifespans(self.realm, s.offline);
            if max > 0 {
                exp = exp.min(s.started + i64::from(max));
            }
        }
        let access_token = if access {
            Some(sign(signer, &self.access_claims(exp))?)
        } else {
            None
        };
        let id_token = if id {
            Some(sign(
                signer,
                &self.id_claims(exp, access_token.as_deref(), code, signer.algorithm()),
            )?)
        } else {
            None
        };
        Ok(FrontChannel {
            access_token,
            id_token,
            expires_in: exp - self.now,
        })
    }

    fn signer<'k>(&self, keys: &'k RealmKeys) -> Result<&'k Arc<SigningKey>, OAuthError> {
        let alg = signing_algorithm(self.realm, self.client);
        keys.signer(alg).ok_or_else(|| {
            OAuthError::Service(ServiceError::Internal(format!(
                "realm has no active {alg} key"
            )))
        })
    }

    /// When the refresh token expires. An offline token carries no `exp` unless the realm caps
    /// offline sessions (Keycloak's `refresh_expires_in: 0`); its idle limit is enforced on the
    /// session instead, where a refresh can extend it.
    fn refresh_exp(&self, s: &SessionRef<'_>) -> Option<i64> {
        let (idle, max) = lifespans(self.realm, s.offline);
        let idle_exp = (idle > 0 && !s.offline).then(|| self.now + i64::from(idle));
        let max_exp = (max > 0).then(|| s.started + i64::from(max));
        match (idle_exp, max_exp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn subject(&self) -> (Subject<'_>, &BTreeMap<String, String>) {
        static EMPTY: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
        let notes = self
            .session
            .as_ref()
            .map(|s| s.notes)
            .unwrap_or_else(|| EMPTY.get_or_init(BTreeMap::new));
        (
            Subject {
                user: self.user,
                client_id: self.client.client_id.as_str(),
                realm_roles: &self.subject.realm_roles,
                client_roles: &self.subject.client_roles,
                allowed_origins: &self.subject.allowed_origins,
                session_notes: notes,
                acr: self.session.as_ref().map_or("1", |s| s.acr),
                group_paths: &self.subject.group_paths,
            },
            notes,
        )
    }

    fn base(&self, exp: Option<i64>, typ: &str) -> Map<String, Value> {
        let mut c = Map::new();
        if let Some(exp) = exp {
            c.insert("exp".into(), json!(exp));
        }
        c.insert("iat".into(), json!(self.now));
        c.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        c.insert(
            "iss".into(),
            json!(self.ctx.issuer(self.realm.name.as_str())),
        );
        c.insert("typ".into(), json!(typ));
        c.insert("azp".into(), json!(self.client.client_id.as_str()));
        if let Some(s) = &self.session {
            c.insert("sid".into(), json!(s.id.as_str()));
        }
        c
    }

    fn access_claims(&self, exp: i64) -> Map<String, Value> {
        let mut c = self.base(Some(exp), "Bearer");
        let mappers: Vec<&ProtocolMapper> = self.plan.mappers.iter().collect();
        let (subject, _) = self.subject();
        claims::apply(&mappers, &subject, Target::Access, &mut c);
        // `sub` comes from the basic scope's mapper; a client without that scope still gets it,
        // as Keycloak 26 keeps it for lightweight clients.
        c.entry("sub")
            .or_insert_with(|| json!(self.user.id.as_str()));
        if self.session.is_none() {
            // Service-account tokens say who the client is, as Keycloak's session notes do.
            c.insert("clientHost".into(), json!(self.ctx.client_ip.to_string()));
            c.insert(
                "clientAddress".into(),
                json!(self.ctx.client_ip.to_string()),
            );
            c.insert("client_id".into(), json!(self.client.client_id.as_str()));
        }
        c.insert("scope".into(), json!(self.plan.granted));
        c
    }

    /// ID token claims; `at_hash` for an access token issued with it, `c_hash` for a code
    /// issued with it (OpenID Connect Core §3.3.2.11, the hybrid flow).
    fn id_claims(
        &self,
        exp: i64,
        access_token: Option<&str>,
        code: Option<&str>,
        alg: Algorithm,
    ) -> Map<String, Value> {
        let mut c = self.base(Some(exp), "ID");
        c.insert("aud".into(), json!(self.client.client_id.as_str()));
        c.insert("sub".into(), json!(self.user.id.as_str()));
        if let Some(nonce) = self.nonce {
            c.insert("nonce".into(), json!(nonce));
        }
        if let Some(token) = access_token {
            c.insert(
                "at_hash".into(),
                json!(jose::half_hash(alg, token.as_bytes())),
            );
        }
        if let Some(code) = code {
            c.insert(
                "c_hash".into(),
                json!(jose::half_hash(alg, code.as_bytes())),
            );
        }
        let mappers: Vec<&ProtocolMapper> = self.plan.mappers.iter().collect();
        let (subject, _) = self.subject();
        claims::apply(&mappers, &subject, Target::Id, &mut c);
        c
    }

    fn refresh_claims(&self, s: &SessionRef<'_>, exp: Option<i64>) -> Map<String, Value> {
        let typ = if s.offline { "Offline" } else { "Refresh" };
        let mut c = self.base(exp, typ);
        let issuer = self.ctx.issuer(self.realm.name.as_str());
        c.insert("aud".into(), json!(issuer));
        c.insert("sub".into(), json!(self.user.id.as_str()));
        c.insert("scope".into(), json!(self.plan.granted));
        c
    }
}

fn sign(key: &SigningKey, claims: &Map<String, Value>) -> Result<String, OAuthError> {
    let payload = serde_json::to_vec(claims)
        .map_err(|e| OAuthError::Service(ServiceError::Internal(e.to_string())))?;
    key.sign(&payload, Some("JWT"))
        .map_err(|e| OAuthError::Service(ServiceError::Internal(e.to_string())))
}
