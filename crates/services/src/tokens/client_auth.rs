//! Client authentication at the token endpoint: secrets, signed JWT assertions (keys stored with
//! the client or fetched from its `jwks.url`), public clients.

#[allow(clippy::wildcard_imports)]
use super::*;

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
