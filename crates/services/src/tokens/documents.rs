//! What tokens are made of and how they are signed: the scope plan of a request, the user's
//! roles and groups, and the access, ID and refresh token documents.

#[allow(clippy::wildcard_imports)]
use super::*;

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

/// The grant an access token comes from: the last part of the context Keycloak (26.2 and
/// later, `AccessTokenContext`) encodes in an access token's `jti`, `<session><type><grant>:<id>`,
/// with its grant types' shortcuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantKind {
    /// `authorization_code` (`ac`).
    AuthorizationCode,
    /// `password` (`ro`, resource owner).
    Password,
    /// `client_credentials` (`cc`).
    ClientCredentials,
    /// `refresh_token` (`rt`).
    RefreshToken,
    /// Tokens of an implicit or hybrid authorization response: Keycloak records no grant type
    /// for them, so their grant part is its "unknown", `na`.
    Implicit,
}

impl GrantKind {
    fn shortcut(self) -> &'static str {
        match self {
            GrantKind::AuthorizationCode => "ac",
            GrantKind::Password => "ro",
            GrantKind::ClientCredentials => "cc",
            GrantKind::RefreshToken => "rt",
            GrantKind::Implicit => "na",
        }
    }
}

/// Which session an access token was issued from, as its `jti` prefix says (the first two
/// characters of Keycloak's token context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionKind {
    /// `on`: an online (SSO) session.
    Online,
    /// `of`: an offline session.
    Offline,
    /// `tr`: no stored session (client credentials).
    Transient,
    /// A `jti` without a context (a token made before the prefixes), or one this server does
    /// not know: both kinds of session may be looked up.
    Unknown,
}

impl SessionKind {
    /// Reads the session kind of an access token's `jti`. Only a full, well-formed context
    /// (`[a-z]{6}:`) counts.
    pub(crate) fn of_token_id(jti: &str) -> SessionKind {
        let Some((context, _)) = jti.split_once(':') else {
            return SessionKind::Unknown;
        };
        if context.len() != 6 || !context.bytes().all(|b| b.is_ascii_lowercase()) {
            return SessionKind::Unknown;
        }
        match &context[..2] {
            "on" => SessionKind::Online,
            "of" => SessionKind::Offline,
            "tr" => SessionKind::Transient,
            _ => SessionKind::Unknown,
        }
    }
}

/// An access token's `jti`: Keycloak's token context (session kind; `rt`, a regular, not a
/// lightweight, token; the grant's shortcut), a colon, and a random UUID.
fn access_token_id(session: SessionKind, grant: GrantKind) -> String {
    let session = match session {
        SessionKind::Online | SessionKind::Unknown => "on",
        SessionKind::Offline => "of",
        SessionKind::Transient => "tr",
    };
    format!("{session}rt{}:{}", grant.shortcut(), uuid::Uuid::new_v4())
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
    /// The grant, named in the access token's `jti`.
    pub(crate) grant: GrantKind,
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
                session_id: self.session.as_ref().map(|s| s.id.as_str()),
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

    /// The session kind the access token's `jti` names: offline when the token is an offline
    /// session's (or asks for one), none without a session.
    fn session_kind(&self) -> SessionKind {
        match &self.session {
            None => SessionKind::Transient,
            Some(s) if s.offline || self.plan.offline => SessionKind::Offline,
            Some(_) => SessionKind::Online,
        }
    }

    fn access_claims(&self, exp: i64) -> Map<String, Value> {
        let mut c = self.base(Some(exp), "Bearer");
        // Only the access token carries the context; ID and refresh tokens keep a bare UUID.
        c.insert(
            "jti".into(),
            json!(access_token_id(self.session_kind(), self.grant)),
        );
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_token_ids_carry_keycloaks_token_context() {
        let id = access_token_id(SessionKind::Online, GrantKind::AuthorizationCode);
        let (context, raw) = id.split_once(':').unwrap();
        assert_eq!(context, "onrtac");
        assert!(uuid::Uuid::parse_str(raw).is_ok());
        for (session, grant, context) in [
            (SessionKind::Offline, GrantKind::Password, "ofrtro"),
            (
                SessionKind::Transient,
                GrantKind::ClientCredentials,
                "trrtcc",
            ),
            (SessionKind::Online, GrantKind::RefreshToken, "onrtrt"),
            (SessionKind::Online, GrantKind::Implicit, "onrtna"),
        ] {
            let id = access_token_id(session, grant);
            assert!(id.starts_with(&format!("{context}:")), "{id}");
            assert_eq!(SessionKind::of_token_id(&id), session);
        }
    }

    #[test]
    fn ids_without_a_context_name_no_session_kind() {
        let bare = uuid::Uuid::new_v4().to_string();
        assert_eq!(SessionKind::of_token_id(&bare), SessionKind::Unknown);
        assert_eq!(SessionKind::of_token_id("xxrtac:1"), SessionKind::Unknown);
        assert_eq!(SessionKind::of_token_id("onrt:1"), SessionKind::Unknown);
        assert_eq!(SessionKind::of_token_id("ONRTAC:1"), SessionKind::Unknown);
    }
}
