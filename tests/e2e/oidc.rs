//! OAuth 2.0 / OpenID Connect endpoints against the real binary: grants, token contents checked
//! with an independent JOSE implementation (jsonwebtoken), userinfo, introspection, revocation,
//! and sessions that survive a restart and serve on another node.

use serde_json::Value;

use crate::harness::{Db, Node, client, databases, register_client, update_master_realm};

const ADMIN: [(&str, &str); 2] = [
    ("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
    ("KC_BOOTSTRAP_ADMIN_PASSWORD", "Admin-Pass-1"),
];

/// `(status, body)` of a form POST.
async fn post(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = client().post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn token_url(node: &Node, base: &str) -> String {
    node.url(&format!(
        "{base}/realms/master/protocol/openid-connect/token"
    ))
}

/// Verifies a JWT's signature against the realm's published JWKS with jsonwebtoken (not our
/// code), and returns its claims.
async fn verify(node: &Node, base: &str, token: &str, audience: Option<&str>) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = client()
        .get(node.url(&format!(
            "{base}/realms/master/protocol/openid-connect/certs"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("signing key published in certs");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn password_grant_refresh_userinfo_and_errors() {
    for (base, extra) in [
        ("", vec![]),
        ("/auth", vec!["--http-relative-path", "/auth"]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(extra);
        let node = Node::start(dir.path(), &args, &ADMIN);
        let url = token_url(&node, base);

        let (status, body) = post(
            &url,
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
                ("scope", "openid"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 60);
        assert_eq!(body["scope"], "openid email profile");
        let access = body["access_token"].as_str().unwrap();
        let claims = verify(&node, base, access, None).await;
        let issuer = node.url(&format!("{base}/realms/master"));
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["typ"], "Bearer");
        assert_eq!(claims["azp"], "admin-cli");
        assert_eq!(claims["preferred_username"], "admin");
        assert_eq!(claims["sid"], body["session_state"]);
        assert_eq!(claims["acr"], "1");
        assert!(claims["auth_time"].is_i64());
        let roles = claims["realm_access"]["roles"].as_array().unwrap();
        for role in [
            "admin",
            "create-realm",
            "default-roles-master",
            "offline_access",
        ] {
            assert!(roles.contains(&Value::from(role)), "{role} in {roles:?}");
        }
        assert!(
            claims["resource_access"]["master-realm"]["roles"]
                .as_array()
                .unwrap()
                .contains(&Value::from("manage-users"))
        );
        let aud = claims["aud"].as_array().unwrap();
        assert!(
            aud.contains(&Value::from("master-realm")) && aud.contains(&Value::from("account"))
        );

        let id = verify(
            &node,
            base,
            body["id_token"].as_str().unwrap(),
            Some("admin-cli"),
        )
        .await;
        assert_eq!(id["typ"], "ID");
        assert_eq!(id["sub"], claims["sub"]);
        assert!(
            id.get("realm_access").is_none(),
            "roles are not in the ID token"
        );
        let refresh = body["refresh_token"].as_str().unwrap();
        let rt = payload(refresh);
        assert_eq!(rt["typ"], "Refresh");
        assert_eq!(rt["aud"], issuer);
        assert_eq!(body["refresh_expires_in"], 1800);

        // userinfo (GET with a bearer header).
        let info = client()
            .get(node.url(&format!(
                "{base}/realms/master/protocol/openid-connect/userinfo"
            )))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), 200);
        let info: Value = info.json().await.unwrap();
        assert_eq!(info["sub"], claims["sub"]);
        assert_eq!(info["preferred_username"], "admin");
        assert!(info.get("realm_access").is_none());

        // refresh: a new pair, same session.
        let (status, refreshed) = post(
            &url,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "admin-cli"),
                ("refresh_token", refresh),
            ],
        )
        .await;
        assert_eq!(status, 200, "{refreshed}");
        assert_eq!(refreshed["session_state"], body["session_state"]);
        assert_eq!(refreshed["scope"], "openid email profile");
        assert!(refreshed["id_token"].is_string());

        // Errors, with Keycloak's statuses and codes.
        let bad = |form: Vec<(&'static str, String)>| {
            let url = url.clone();
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(&url, &form).await
            }
        };
        let (s, e) = bad(vec![
            ("grant_type", "password".into()),
            ("client_id", "admin-cli".into()),
            ("username", "admin".into()),
            ("password", "wrong".into()),
        ])
        .await;
        assert_eq!((s, e["error"].as_str()), (401, Some("invalid_grant")));
        assert_eq!(e["error_description"], "Invalid user credentials");
        let (s, e) = bad(vec![
            ("grant_type", "password".into()),
            ("client_id", "no-such-client".into()),
            ("username", "admin".into()),
            ("password", "Admin-Pass-1".into()),
        ])
        .await;
        assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
        let (s, e) = bad(vec![("client_id", "admin-cli".into())]).await;
        assert_eq!(
            (s, e["error_description"].as_str()),
            (400, Some("Missing form parameter: grant_type"))
        );
        let (s, e) = bad(vec![
            ("grant_type", "magic".into()),
            ("client_id", "admin-cli".into()),
        ])
        .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );
        let (s, e) = bad(vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", "admin-cli".into()),
            ("refresh_token", access.to_owned()),
        ])
        .await;
        assert_eq!(
            (s, e["error_description"].as_str()),
            (400, Some("Invalid refresh token"))
        );
        let (s, e) = bad(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", "admin-cli".into()),
        ])
        .await;
        assert_eq!(s, 401);
        assert_eq!(
            e["error_description"],
            "Public client not allowed to retrieve service account"
        );
        let dup = client()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=password&grant_type=password&client_id=admin-cli")
            .send()
            .await
            .unwrap();
        assert_eq!(dup.status(), 400);

        // Without openid, userinfo refuses the token.
        let (_, plain) = post(
            &url,
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
            ],
        )
        .await;
        assert_eq!(plain["scope"], "email profile");
        assert!(plain.get("id_token").is_none());
        let info = client()
            .get(node.url(&format!(
                "{base}/realms/master/protocol/openid-connect/userinfo"
            )))
            .bearer_auth(plain["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), 403);
        let info = client()
            .get(node.url(&format!(
                "{base}/realms/master/protocol/openid-connect/userinfo"
            )))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), 401);
        assert!(
            info.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );

        // Realm info and certs.
        let realm: Value = client()
            .get(node.url(&format!("{base}/realms/master")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(realm["realm"], "master");
        assert!(realm["public_key"].as_str().unwrap().starts_with("MII"));
        assert_eq!(
            realm["token-service"],
            format!("{issuer}/protocol/openid-connect")
        );
        let missing = client()
            .get(node.url(&format!("{base}/realms/nope")))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn confidential_client_credentials_introspection_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    // A confidential client with a service account.
    register_client(&Db::sqlite(), dir.path(), "backend-api", |api| {
        api.service_accounts_enabled = true;
        api.direct_access_grants_enabled = true;
        api.secret = Some("backend-secret".into());
    })
    .await;
    // Keycloak 26 answers an introspection only for a client in the token's audience.
    crate::oidc_more::add_client_mapper(
        &node,
        "backend-api",
        crate::oidc_more::audience_mapper("backend-api"),
    )
    .await;

    let url = token_url(&node, "");
    let introspect_url = node.url("/realms/master/protocol/openid-connect/token/introspect");
    let revoke_url = node.url("/realms/master/protocol/openid-connect/revoke");

    // client_secret_basic
    let r = client()
        .post(&url)
        .basic_auth("backend-api", Some("backend-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cc: Value = r.json().await.unwrap();
    assert!(cc.get("refresh_token").is_none() && cc.get("session_state").is_none());
    assert_eq!(cc["refresh_expires_in"], 0);
    let claims = verify(&node, "", cc["access_token"].as_str().unwrap(), None).await;
    assert_eq!(claims["preferred_username"], "service-account-backend-api");
    assert_eq!(claims["client_id"], "backend-api");
    assert!(claims.get("sid").is_none());

    // Wrong secret: Keycloak's quirk is unauthorized_client, not invalid_client.
    let (s, e) = post(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "backend-api"),
            ("client_secret", "nope"),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("unauthorized_client")));

    // A user token to introspect and revoke.
    let (s, user) = post(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("username", "admin"),
            ("password", "Admin-Pass-1"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{user}");
    let access = user["access_token"].as_str().unwrap();
    let refresh = user["refresh_token"].as_str().unwrap();
    let (s, active) = post(
        &introspect_url,
        &[
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("token", access),
        ],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(active["active"], true);
    assert_eq!(active["username"], "admin");
    assert_eq!(active["client_id"], "backend-api");
    let (s, _) = post(
        &introspect_url,
        &[("client_id", "admin-cli"), ("token", access)],
    )
    .await;
    assert_eq!(s, 403, "public clients may not introspect");
    let (_, garbage) = post(
        &introspect_url,
        &[
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("token", "x.y.z"),
        ],
    )
    .await;
    assert_eq!(garbage, serde_json::json!({"active": false}));

    // Revoking the access token makes it inactive; revoking the refresh token ends the session.
    let (s, _) = post(
        &revoke_url,
        &[
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("token", access),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let (_, after) = post(
        &introspect_url,
        &[
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("token", access),
        ],
    )
    .await;
    assert_eq!(after["active"], false);
    let (s, _) = post(
        &revoke_url,
        &[("client_id", "admin-cli"), ("token", refresh)],
    )
    .await;
    assert_eq!(
        s, 400,
        "only the client the token was issued to may revoke it"
    );
    let (s, _) = post(
        &revoke_url,
        &[
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("token", refresh),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = post(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "backend-api"),
            ("client_secret", "backend-secret"),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error_description"].as_str()),
        (400, Some("Session not active"))
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_survive_restart_and_serve_on_another_node() {
    for db in databases().await {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        // One public hostname for both nodes, as behind a load balancer: tokens carry its issuer.
        let mut args: Vec<String> = [
            "start-dev",
            "--http-port",
            "0",
            "--hostname",
            "http://sso.test:8080",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(db.args.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let node = Node::start(a.path(), &args, &ADMIN);
        let (s, body) = post(
            &token_url(&node, ""),
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
                ("scope", "openid offline_access"),
            ],
        )
        .await;
        assert_eq!(s, 200, "{}: {body}", db.name);
        assert_eq!(
            payload(body["refresh_token"].as_str().unwrap())["typ"],
            "Offline"
        );
        assert_eq!(body["refresh_expires_in"], 0);
        assert_eq!(
            payload(body["access_token"].as_str().unwrap())["iss"],
            "http://sso.test:8080/realms/master"
        );
        node.stop();

        // Every node stopped; a node started again (on PostgreSQL: another node with its own
        // folder, the same database) honours the offline token.
        let dir = if db.name == "postgres" {
            b.path()
        } else {
            a.path()
        };
        let node = Node::start(dir, &args, &[]);
        let (s, again) = post(
            &token_url(&node, ""),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "admin-cli"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(s, 200, "{}: {again}", db.name);
        assert_eq!(again["session_state"], body["session_state"]);
        node.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_jwt_client_authentication() {
    use gatehouse_crypto::jose::{Algorithm, SigningKey};
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    // The client's key pair: the server gets the public JWKS; the assertion is signed by
    // jsonwebtoken (not our JOSE code) with the private key.
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks = serde_json::json!({"keys": [key.public_jwk(None).unwrap()]});
    for (id, authenticator) in [
        ("jwt-client", "client-jwt"),
        ("hmac-client", "client-secret-jwt"),
    ] {
        register_client(&Db::sqlite(), dir.path(), id, |c| {
            c.service_accounts_enabled = true;
            c.client_authenticator_type = authenticator.into();
            c.secret = Some("hmac-client-secret-that-is-long-enough".into());
            c.attributes.insert("use.jwks.string".into(), "true".into());
            c.attributes.insert("jwks.string".into(), jwks.to_string());
        })
        .await;
    }

    let token_url = token_url(&node, "");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let assertion = |client: &str, aud: &str, jti: &str, hmac: bool| {
        let claims = serde_json::json!({
            "iss": client, "sub": client, "aud": aud, "jti": jti, "exp": now + 60, "iat": now,
        });
        if hmac {
            let key =
                jsonwebtoken::EncodingKey::from_secret(b"hmac-client-secret-that-is-long-enough");
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims,
                &key,
            )
            .unwrap()
        } else {
            let der = key.to_der();
            let encoding = jsonwebtoken::EncodingKey::from_ec_der(&der);
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.kid = Some(key.kid().to_owned());
            jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
        }
    };
    let grant = |jwt: String| {
        let url = token_url.clone();
        async move {
            post(
                &url,
                &[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", jwt.as_str()),
                ],
            )
            .await
        }
    };
    let issuer = node.url("/realms/master");

    let (s, body) = grant(assertion("jwt-client", &token_url, "a1", false)).await;
    assert_eq!(s, 200, "private_key_jwt: {body}");
    let (s, body) = grant(assertion("hmac-client", &issuer, "h1", true)).await;
    assert_eq!(s, 200, "client_secret_jwt: {body}");

    // Replayed assertion, wrong audience, wrong key type, and a secret instead of a JWT.
    let (s, body) = grant(assertion("jwt-client", &token_url, "a1", false)).await;
    assert_eq!(s, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse"),
        "{body}"
    );
    let (s, _) = grant(assertion(
        "jwt-client",
        "https://elsewhere.example/token",
        "a2",
        false,
    ))
    .await;
    assert_eq!(s, 400);
    let (s, _) = grant(assertion("jwt-client", &token_url, "a3", true)).await;
    assert_eq!(
        s, 400,
        "an HMAC assertion cannot stand in for the client's key pair"
    );
    let (s, _) = post(
        &token_url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "hmac-client"),
            ("client_secret", "hmac-client-secret-that-is-long-enough"),
        ],
    )
    .await;
    assert_eq!(
        s, 400,
        "a client set up for signed JWTs does not take its secret directly"
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn login_failures_lock_the_user_on_every_node() {
    for db in databases().await {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "start-dev",
            "--http-port",
            "0",
            "--hostname",
            "http://sso.test",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(db.args.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let node_a = Node::start(a.path(), &args, &ADMIN);
        // On PostgreSQL a second node shares the database; on SQLite the failures alternate on
        // one node.
        let node_b = (db.name == "postgres").then(|| Node::start(b.path(), &args, &[]));
        update_master_realm(&db, a.path(), |realm| {
            realm.brute_force_protected = true;
            realm.failure_factor = 3;
            realm.quick_login_check_milli_seconds = 0;
        })
        .await;

        let nodes: Vec<&Node> = std::iter::once(&node_a).chain(node_b.as_ref()).collect();
        let attempt = |i: usize, password: &'static str| {
            let url = token_url(nodes[i % nodes.len()], "");
            async move {
                post(
                    &url,
                    &[
                        ("grant_type", "password"),
                        ("client_id", "admin-cli"),
                        ("username", "admin"),
                        ("password", password),
                    ],
                )
                .await
            }
        };
        // Two failures stay under the factor, and a success forgets them.
        assert_eq!(attempt(0, "wrong").await.0, 401);
        assert_eq!(attempt(1, "wrong").await.0, 401);
        assert_eq!(attempt(0, "Admin-Pass-1").await.0, 200, "{}", db.name);
        // Three failures, spread over the nodes, lock the user everywhere; the answer is the
        // same as for a wrong password.
        for i in 0..3 {
            assert_eq!(attempt(i, "wrong").await.0, 401);
        }
        for i in 0..nodes.len() {
            let (s, body) = attempt(i, "Admin-Pass-1").await;
            assert_eq!(s, 401, "{}: locked on node {i}", db.name);
            assert_eq!(body["error_description"], "Invalid user credentials");
        }
        drop(node_b);
        node_a.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_choose_their_token_signature_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    for (id, alg) in [
        ("es-client", "ES256"),
        ("ps-client", "PS256"),
        ("ed-client", "EdDSA"),
    ] {
        register_client(&Db::sqlite(), dir.path(), id, |c| {
            c.public_client = true;
            c.direct_access_grants_enabled = true;
            c.attributes
                .insert("access.token.signed.response.alg".into(), alg.into());
        })
        .await;
    }

    for (id, alg) in [
        ("es-client", jsonwebtoken::Algorithm::ES256),
        ("ps-client", jsonwebtoken::Algorithm::PS256),
        ("ed-client", jsonwebtoken::Algorithm::EdDSA),
    ] {
        let (s, body) = post(
            &token_url(&node, ""),
            &[
                ("grant_type", "password"),
                ("client_id", id),
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
                ("scope", "openid"),
            ],
        )
        .await;
        assert_eq!(s, 200, "{id}: {body}");
        // The realm key for the algorithm is published, and jsonwebtoken verifies with it.
        let jwks: jsonwebtoken::jwk::JwkSet = client()
            .get(node.url("/realms/master/protocol/openid-connect/certs"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for token in [&body["access_token"], &body["id_token"]] {
            let token = token.as_str().unwrap();
            let header = jsonwebtoken::decode_header(token).unwrap();
            assert_eq!(header.alg, alg, "{id}");
            let jwk = jwks
                .find(header.kid.as_deref().unwrap())
                .expect("key published");
            let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.validate_aud = false;
            jsonwebtoken::decode::<Value>(token, &key, &validation).expect("signature verifies");
        }
        // Refresh keeps the algorithm.
        let (s, refreshed) = post(
            &token_url(&node, ""),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(s, 200);
        let header =
            jsonwebtoken::decode_header(refreshed["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(header.alg, alg);
    }
    node.stop();
}

/// A client's key set served over HTTP, as a client publishing `jwks.url` does: a bare HTTP/1.1
/// server on loopback that counts its requests and serves whatever `body` holds.
struct JwksServer {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<String>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    async fn start(body: String) -> JwksServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let body = std::sync::Arc::new(std::sync::Mutex::new(body));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (b, h) = (body.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let text = b.lock().unwrap().clone();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            }
        });
        JwksServer { url, body, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn private_key_jwt_with_keys_at_a_url() {
    use gatehouse_crypto::jose::{Algorithm, SigningKey};
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["start-dev", "--http-port", "0"], &ADMIN);
    let first = SigningKey::generate(Algorithm::ES256).unwrap();
    let second = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks =
        |k: &SigningKey| serde_json::json!({"keys": [k.public_jwk(None).unwrap()]}).to_string();
    let server = JwksServer::start(jwks(&first)).await;
    let url = server.url.clone();
    register_client(&Db::sqlite(), dir.path(), "url-client", |c| {
        c.service_accounts_enabled = true;
        c.client_authenticator_type = "client-jwt".into();
        c.attributes.insert("use.jwks.url".into(), "true".into());
        c.attributes.insert("jwks.url".into(), url);
    })
    .await;
    let token_url = token_url(&node, "");
    let assertion = |key: &SigningKey, jti: &str| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({
            "iss": "url-client", "sub": "url-client", "aud": token_url, "jti": jti,
            "exp": now + 60, "iat": now,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&key.to_der()),
        )
        .unwrap()
    };
    let grant = |jwt: String| {
        let url = token_url.clone();
        async move {
            post(
                &url,
                &[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", jwt.as_str()),
                ],
            )
            .await
        }
    };

    let (s, body) = grant(assertion(&first, "u1")).await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = grant(assertion(&first, "u2")).await;
    assert_eq!(s, 200);
    assert_eq!(server.hits(), 1, "a known key is not fetched again");

    // The client rotates its key. Within 10 s of the last fetch an unknown kid is refused
    // without asking the URL again (no amplification); after that the set is fetched anew.
    *server.body.lock().unwrap() = jwks(&second);
    let (s, _) = grant(assertion(&second, "u3")).await;
    assert_eq!(s, 400);
    assert_eq!(server.hits(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;
    let (s, body) = grant(assertion(&second, "u4")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(server.hits(), 2);
    let (s, _) = grant(assertion(&first, "u5")).await;
    assert_eq!(s, 400, "the retired key no longer authenticates");
    node.stop();
}
