//! Token introspection (RFC 7662) as Keycloak 26 answers it.
//!
//! The answer is not the token's own claims: as Keycloak's `AccessTokenIntrospectionProvider`,
//! it keeps the token's basic claims (`exp`, `iat`, `jti`, `iss`, `aud`, `sub`, `typ`, `azp`,
//! `nonce`, `sid`, `scope`) and runs the protocol mappers of the token's scopes again for the
//! introspection response (`introspection.token.claim`), so what a resource server learns is
//! what an administrator allowed introspection to tell, also for refresh tokens. Then come
//! `client_id`, `username`, `act` (an impersonated session), `token_type` and `active`.
//!
//! Who may introspect what (Keycloak 26.6.2, CVE-2026-37979; refresh tokens as 26.8.0): the
//! caller must be a confidential client that authenticated; an access token is active for it
//! only when the caller is in the token's audience, a refresh or offline token only when the
//! caller is the client it was issued to (`azp`). A client with the deprecated compatibility
//! switch `allow.token.introspection.without.audience.check` skips that check.

use gatehouse_model::{Client, ClientSession, Realm, User, UserId, UserSession, UserSessionId};
use serde_json::{Map, Value, json};

use crate::cache::LazyRead;
use crate::claims::{self, Subject, Target};
use crate::tokens::{ClientCredentials, SessionKind, session_alive, verify_token};
use crate::{OAuthError, RequestCtx, Services, now_secs};

/// The client attribute of Keycloak's "Allow token introspection without audience check"
/// (a deprecated compatibility mode set on the client that introspects).
pub(crate) const INTROSPECTION_WITHOUT_AUDIENCE_CHECK: &str =
    "allow.token.introspection.without.audience.check";

/// The user-session note naming who impersonates the session's user.
const IMPERSONATOR_USERNAME: &str = "IMPERSONATOR_USERNAME";

/// The claims an introspection answer takes from the token itself; everything else comes from
/// the introspection mappers (Keycloak's `getAccessTokenFromStoredData`).
const BASIC_CLAIMS: &[&str] = &[
    "exp", "iat", "jti", "iss", "aud", "sub", "typ", "azp", "nonce", "sid", "scope", "cnf",
];

/// `token_type_hint`: the introspection providers Keycloak has (without authorization
/// services, whose `requesting_party_token` Gatehouse does not issue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// `access_token`, also when no hint is given. A refresh or offline token presented with
    /// it is still introspected as one (Keycloak reads its `typ`).
    AccessToken,
    /// `refresh_token`: only a refresh or offline token can be active.
    RefreshToken,
}

impl Hint {
    fn parse(hint: Option<&str>) -> Result<Hint, OAuthError> {
        match hint {
            None | Some("access_token") => Ok(Hint::AccessToken),
            Some("refresh_token") => Ok(Hint::RefreshToken),
            Some(other) => Err(OAuthError::bad_request(
                "invalid_request",
                format!("Unsupported token type [{other}]."),
            )),
        }
    }
}

/// Whether `caller` may see the introspection of a token: an access token's audience must name
/// it, a refresh token must have been issued to it.
fn caller_allowed(
    caller: &str,
    refresh: bool,
    azp: &str,
    token_aud: Option<&Value>,
    answer_aud: Option<&Value>,
) -> bool {
    if refresh {
        return azp == caller;
    }
    // A token without `aud` (lightweight tokens) is judged by what introspection adds.
    match token_aud.or(answer_aud) {
        Some(Value::String(one)) => one == caller,
        Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(caller)),
        _ => false,
    }
}

/// Keycloak's `validateTokenReuse` without counting a use: with "revoke refresh token" on, a
/// refresh token is active only while it may still be used.
fn refresh_token_usable(cs: &ClientSession, jti: &str, iat: i64, max_reuse: i32) -> bool {
    match &cs.current_refresh_token {
        None => true,
        Some(current) if current == jti => cs.refresh_token_use_count <= max_reuse,
        Some(_) => iat >= cs.last_refresh,
    }
}

impl Services {
    /// `token/introspect`: authenticates the calling client (a confidential one), then answers
    /// `{"active": false}` for anything not currently valid or not the caller's to see, and
    /// otherwise Keycloak's introspection document.
    pub async fn introspect(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        creds: &ClientCredentials,
        token: Option<&str>,
        token_type_hint: Option<&str>,
    ) -> Result<Value, OAuthError> {
        let caller = self
            .authenticate(ctx, realm, creds)
            .await
            .map_err(|e| match e {
                OAuthError::Service(e) => OAuthError::Service(e),
                _ => OAuthError::unauthorized("invalid_request", "Authentication failed."),
            })?;
        if caller.public_client {
            return Err(OAuthError::Forbidden {
                error: "invalid_request",
                description: "Client not allowed.".into(),
            });
        }
        let Some(token) = token else {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "Token not provided.",
            ));
        };
        let hint = Hint::parse(token_type_hint)?;
        Ok(
            match self.introspection(ctx, realm, &caller, token, hint).await? {
                Some(answer) => Value::Object(answer),
                None => json!({"active": false}),
            },
        )
    }

    /// The introspection document of an active token the caller may see, or `None`.
    async fn introspection(
        &self,
        ctx: &RequestCtx,
        realm: &Realm,
        caller: &Client,
        token: &str,
        hint: Hint,
    ) -> Result<Option<Map<String, Value>>, OAuthError> {
        let keys = self.realm_keys(realm).await?;
        let Ok(claims) = verify_token(&keys, token) else {
            return Ok(None);
        };
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let typ = text("typ").unwrap_or_default();
        let refresh = matches!(typ, "Refresh" | "Offline");
        if hint == Hint::RefreshToken && !refresh {
            return Ok(None);
        }
        let now = now_secs();
        let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
        let expired = claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp <= now);
        if expired
            || iat < realm.not_before
            || text("iss") != Some(ctx.issuer(realm.name.as_str()).as_str())
        {
            return Ok(None);
        }
        let Some(azp) = text("azp") else {
            return Ok(None);
        };
        let (realm_rev, user_rev) = self.revisions().await?;
        let mut lazy = LazyRead::new(self.store());
        let found = self
            .introspected_token(realm_rev, &mut lazy, realm, &claims, azp, refresh, now)
            .await;
        let found = match found {
            Ok(Some(found)) => found,
            other => {
                lazy.finish().await?;
                return other.map(|_| None);
            }
        };
        let Found {
            client,
            session,
            user,
            client_session,
        } = found;
        // The mappers of the scopes the token was issued with, for the introspection response.
        let plan = self
            .cached_plan(realm_rev, &mut lazy, &client, text("scope"))
            .await?;
        if session.as_ref().is_some_and(|s| s.offline) {
            // An offline session counts only while the client may still have offline access.
            let offline = self
                .cached_plan(realm_rev, &mut lazy, &client, Some("offline_access"))
                .await?;
            if !offline.offline {
                lazy.finish().await?;
                return Ok(None);
            }
        }
        let subject_data = self
            .cached_subject(user_rev, &mut lazy, &user, &client)
            .await?;
        lazy.finish().await?;

        let mut answer = Map::new();
        for name in BASIC_CLAIMS {
            if let Some(v) = claims.get(*name) {
                answer.insert((*name).to_owned(), v.clone());
            }
        }
        static NO_NOTES: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
            std::sync::OnceLock::new();
        let notes = session
            .as_ref()
            .map(|s| &s.notes)
            .unwrap_or_else(|| NO_NOTES.get_or_init(Default::default));
        let acr = text("acr")
            .or_else(|| {
                client_session
                    .as_ref()
                    .and_then(|cs| cs.notes.get("acr"))
                    .map(String::as_str)
            })
            .unwrap_or("1");
        let mappers: Vec<_> = plan.mappers.iter().collect();
        let subject = Subject {
            user: &user,
            client_id: client.client_id.as_str(),
            realm_roles: &subject_data.realm_roles,
            client_roles: &subject_data.client_roles,
            allowed_origins: &subject_data.allowed_origins,
            session_notes: notes,
            acr,
            group_paths: &subject_data.group_paths,
            session_id: text("sid"),
        };
        claims::apply(&mappers, &subject, Target::Introspection, &mut answer);
        answer.insert("client_id".into(), json!(azp));
        if answer.get("scope").and_then(Value::as_str) == Some("") {
            answer.remove("scope");
        }
        if !answer.contains_key("username") {
            let username = answer
                .get("preferred_username")
                .cloned()
                .unwrap_or_else(|| json!(user.username.as_str()));
            answer.insert("username".into(), username);
        }
        if let Some(actor) = notes.get(IMPERSONATOR_USERNAME) {
            answer.insert("act".into(), json!({"sub": actor}));
        }
        answer.insert("token_type".into(), json!(typ));
        answer.insert("active".into(), json!(true));

        let caller_id = caller.client_id.as_str();
        if !caller_allowed(
            caller_id,
            refresh,
            azp,
            claims.get("aud"),
            answer.get("aud"),
        ) {
            if caller
                .attributes
                .get(INTROSPECTION_WITHOUT_AUDIENCE_CHECK)
                .is_some_and(|v| v == "true")
            {
                tracing::warn!(
                    client = caller_id,
                    token_client = azp,
                    "token introspected without audience check (per-client setting)"
                );
            } else {
                tracing::debug!(
                    client = caller_id,
                    token_client = azp,
                    "introspection denied: the client is not in the token's audience"
                );
                return Ok(None);
            }
        }
        Ok(Some(answer))
    }

    /// The client, session and user an introspected token stands on, when all of them are
    /// still valid for it (Keycloak's `verifyClient`, `verifyUserSession`, user and reuse
    /// checks); `None` when any is not.
    #[allow(clippy::too_many_arguments)]
    async fn introspected_token(
        &self,
        realm_rev: Option<i64>,
        lazy: &mut LazyRead<'_>,
        realm: &Realm,
        claims: &Map<String, Value>,
        azp: &str,
        refresh: bool,
        now: i64,
    ) -> Result<Option<Found>, OAuthError> {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
        let Some(client) = self
            .cached_client(realm_rev, lazy, &realm.id, azp)
            .await?
            .filter(|c| c.enabled)
        else {
            return Ok(None);
        };
        let jti = text("jti").unwrap_or_default();
        if !jti.is_empty() && lazy.tx().await?.is_token_revoked(jti).await? {
            return Ok(None);
        }
        let kind = SessionKind::of_token_id(jti);
        let Some(sid) = text("sid") else {
            // A token without a session: only a client's own (client credentials) token.
            if refresh || !matches!(kind, SessionKind::Transient | SessionKind::Unknown) {
                return Ok(None);
            }
            let Some(sub) = text("sub") else {
                return Ok(None);
            };
            let user = lazy.tx().await?.user_by_id(&UserId::from(sub)).await?;
            return Ok(user
                .filter(|u| u.enabled && iat >= u.not_before)
                .map(|user| Found {
                    client,
                    session: None,
                    user,
                    client_session: None,
                }));
        };
        let sid = UserSessionId::from(sid);
        // Which session stores to look in: a refresh token's `typ` says it; an access token's
        // `jti` context does, or both for a token without one.
        let offline_choices: &[bool] = match (refresh, text("typ"), kind) {
            (true, Some("Offline"), _) => &[true],
            (true, _, _) => &[false],
            (false, _, SessionKind::Online) => &[false],
            (false, _, SessionKind::Offline) => &[true],
            (false, _, _) => &[false, true],
        };
        for &offline in offline_choices {
            let tx = lazy.tx().await?;
            let Some(session) = tx.user_session(&sid, offline).await? else {
                continue;
            };
            let Some(cs) = tx.client_session(&sid, offline, &client.id).await? else {
                continue;
            };
            // A token issued before its session (or its client's part of it) started belongs
            // to an earlier session with the same id: not this one's.
            if !session_alive(realm, &session, now) || iat < session.started || iat < cs.started {
                return Ok(None);
            }
            if refresh
                && realm.revoke_refresh_token
                && !refresh_token_usable(
                    &cs,
                    text("jti").unwrap_or_default(),
                    iat,
                    realm.refresh_token_max_reuse,
                )
            {
                return Ok(None);
            }
            let user = tx.user_by_id(&session.user_id).await?;
            return Ok(user
                .filter(|u| u.enabled && iat >= u.not_before)
                .map(|user| Found {
                    client,
                    session: Some(session),
                    user,
                    client_session: Some(cs),
                }));
        }
        Ok(None)
    }
}

/// What an introspected token was found to stand on.
struct Found {
    client: Client,
    /// `None` for a token without a session.
    session: Option<UserSession>,
    user: User,
    client_session: Option<ClientSession>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hints_keycloak_has_providers_for() {
        assert_eq!(Hint::parse(None).unwrap(), Hint::AccessToken);
        assert_eq!(
            Hint::parse(Some("access_token")).unwrap(),
            Hint::AccessToken
        );
        assert_eq!(
            Hint::parse(Some("refresh_token")).unwrap(),
            Hint::RefreshToken
        );
        match Hint::parse(Some("id_token")) {
            Err(OAuthError::BadRequest { error, description }) => {
                assert_eq!(error, "invalid_request");
                assert_eq!(description, "Unsupported token type [id_token].");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn access_tokens_need_the_caller_in_their_audience() {
        let aud = json!(["account", "api"]);
        assert!(caller_allowed("api", false, "web", Some(&aud), None));
        assert!(!caller_allowed("web", false, "web", Some(&aud), None));
        assert!(caller_allowed(
            "api",
            false,
            "web",
            Some(&json!("api")),
            None
        ));
        // No `aud` in the token: what the introspection mappers added counts.
        assert!(caller_allowed(
            "api",
            false,
            "web",
            None,
            Some(&json!("api"))
        ));
        assert!(!caller_allowed("web", false, "web", None, None));
    }

    #[test]
    fn refresh_tokens_only_for_their_client() {
        let aud = json!("http://host/realms/r");
        assert!(caller_allowed("web", true, "web", Some(&aud), None));
        assert!(!caller_allowed(
            "api",
            true,
            "web",
            Some(&json!("api")),
            None
        ));
    }

    #[test]
    fn reuse_of_refresh_tokens_as_keycloak_counts_it() {
        let cs = |current: Option<&str>, count: i32| ClientSession {
            user_session_id: UserSessionId::from("s"),
            offline: false,
            client_id: gatehouse_model::ClientUuid::from("c"),
            started: 100,
            last_refresh: 200,
            redirect_uri: None,
            notes: Default::default(),
            current_refresh_token: current.map(str::to_owned),
            refresh_token_use_count: count,
        };
        assert!(refresh_token_usable(&cs(None, 0), "a", 150, 0));
        assert!(refresh_token_usable(&cs(Some("a"), 0), "a", 150, 0));
        assert!(!refresh_token_usable(&cs(Some("a"), 1), "a", 150, 0));
        assert!(refresh_token_usable(&cs(Some("a"), 1), "a", 150, 1));
        // Another token is current: this one is stale if issued before the last refresh.
        assert!(!refresh_token_usable(&cs(Some("b"), 1), "a", 150, 0));
        assert!(refresh_token_usable(&cs(Some("b"), 1), "a", 250, 0));
    }
}
