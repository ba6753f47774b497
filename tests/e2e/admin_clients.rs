//! Admin REST API end-to-end: clients, client scopes and protocol mappers, driven over HTTP
//! against the real binary on SQLite and PostgreSQL, with tokens proving that what the API
//! stored is what the token endpoint uses.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi, Answer};
use crate::harness::{Node, client, databases};

const BASE: &str = "/admin/realms/master";

/// `(status, body)` of a token request.
async fn token(node: &Node, form: &[(&str, &str)]) -> (u16, Value) {
    let r = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn client_credentials(node: &Node, id: &str, secret: &str) -> (u16, Value) {
    token(
        node,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await
}

fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn scopes_of(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

fn names(answer: &Answer) -> Vec<String> {
    let mut v: Vec<String> = answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn scope_id(api: &AdminApi, name: &str) -> String {
    let all = api.get(&format!("{BASE}/client-scopes")).await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    all.body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("scope {name}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn hardcoded(name: &str, claim: &str, value: &str) -> Value {
    json!({
        "name": name,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {
            "claim.name": claim,
            "claim.value": value,
            "jsonType.label": "String",
            "access.token.claim": "true",
            "id.token.claim": "false",
            "userinfo.token.claim": false
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_scopes_and_mappers_through_the_admin_api() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let db = db.name;

        // 401 without a token.
        let r = AdminApi::anonymous(&node)
            .get(&format!("{BASE}/clients"))
            .await;
        assert_eq!(r.status, 401, "{db}");

        // A confidential client with a service account: the secret is generated.
        let created = api
            .post(
                &format!("{BASE}/clients"),
                &json!({
                    "clientId": "svc-app",
                    "name": "Service app",
                    "serviceAccountsEnabled": true,
                    "standardFlowEnabled": false,
                    "redirectUris": ["https://svc.example/*"],
                    "attributes": {"post.logout.redirect.uris": "+"}
                }),
            )
            .await;
        let svc = created.created_id();
        assert!(
            created
                .location
                .as_deref()
                .unwrap()
                .ends_with(&format!("/admin/realms/master/clients/{svc}"))
        );
        let rep = api.get(&format!("{BASE}/clients/{svc}")).await;
        assert_eq!(rep.status, 200, "{db}: {:?}", rep.body);
        let c = &rep.body;
        assert_eq!(c["id"], svc.as_str());
        assert_eq!(c["clientId"], "svc-app");
        assert_eq!(c["name"], "Service app");
        assert_eq!(c["surrogateAuthRequired"], false);
        assert_eq!(c["publicClient"], false);
        assert_eq!(c["serviceAccountsEnabled"], true);
        assert_eq!(c["clientAuthenticatorType"], "client-secret");
        assert_eq!(c["protocol"], "openid-connect");
        assert_eq!(c["attributes"]["realm_client"], "false");
        assert_eq!(c["attributes"]["post.logout.redirect.uris"], "+");
        assert_eq!(c["access"]["manage"], true);
        assert!(c.get("protocolMappers").is_none(), "{c}");
        let secret = c["secret"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 32);
        assert!(secret.chars().all(|ch| ch.is_ascii_alphanumeric()));
        let defaults: Vec<&str> = c["defaultClientScopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            defaults.contains(&"profile") && defaults.contains(&"email"),
            "{defaults:?}"
        );

        let s = api
            .get(&format!("{BASE}/clients/{svc}/client-secret"))
            .await;
        assert_eq!(s.body, json!({"type": "secret", "value": secret}));
        let (status, body) = client_credentials(&node, "svc-app", &secret).await;
        assert_eq!(status, 200, "{db}: {body}");
        assert_eq!(
            payload(body["access_token"].as_str().unwrap())["azp"],
            "svc-app"
        );
        assert_eq!(scopes_of(&body), ["email", "profile"]);

        // A regenerated secret replaces the old one at once.
        let s = api
            .post(&format!("{BASE}/clients/{svc}/client-secret"), &json!({}))
            .await;
        assert_eq!(s.status, 200);
        assert_eq!(s.body["type"], "secret");
        let new_secret = s.body["value"].as_str().unwrap().to_owned();
        assert_eq!(new_secret.len(), 32);
        assert_ne!(new_secret, secret);
        assert_eq!(client_credentials(&node, "svc-app", &secret).await.0, 401);
        let (status, _) = client_credentials(&node, "svc-app", &new_secret).await;
        assert_eq!(status, 200);

        let sa = api
            .get(&format!("{BASE}/clients/{svc}/service-account-user"))
            .await;
        assert_eq!(sa.status, 200, "{:?}", sa.body);
        assert_eq!(sa.body["username"], "service-account-svc-app");
        assert_eq!(sa.body["enabled"], true);

        // A public client with the standard flow: no secret shown.
        let spa = api
            .post(
                &format!("{BASE}/clients"),
                &json!({
                    "clientId": "spa",
                    "publicClient": true,
                    "standardFlowEnabled": true,
                    "directAccessGrantsEnabled": true,
                    "redirectUris": ["http://localhost:3000/*"],
                    "webOrigins": ["+"]
                }),
            )
            .await
            .created_id();
        let c = api.get(&format!("{BASE}/clients/{spa}")).await.body;
        assert_eq!(c["publicClient"], true);
        assert_eq!(c["standardFlowEnabled"], true);
        assert!(c.get("secret").is_none(), "{c}");
        assert_eq!(c["webOrigins"], json!(["+"]));
        let r = api
            .get(&format!("{BASE}/clients/{spa}/service-account-user"))
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body["errorMessage"],
            "Service account not enabled for the client 'spa'"
        );

        // Listing and search.
        let all = api.get(&format!("{BASE}/clients")).await;
        let ids: Vec<&str> = all
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["clientId"].as_str().unwrap())
            .collect();
        for id in ["admin-cli", "security-admin-console", "svc-app", "spa"] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        let realm_client = all
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["clientId"] == "master-realm")
            .unwrap();
        assert_eq!(realm_client["attributes"]["realm_client"], "true");
        let one = api.get(&format!("{BASE}/clients?clientId=svc-app")).await;
        assert_eq!(one.body.as_array().unwrap().len(), 1);
        assert_eq!(one.body[0]["id"], svc.as_str());
        let exact = api.get(&format!("{BASE}/clients?clientId=svc")).await;
        assert_eq!(exact.body, json!([]));
        let found = api
            .get(&format!("{BASE}/clients?clientId=SVC&search=true"))
            .await;
        assert_eq!(found.body.as_array().unwrap().len(), 1, "{:?}", found.body);
        let page = api.get(&format!("{BASE}/clients?first=1&max=2")).await;
        assert_eq!(page.body.as_array().unwrap().len(), 2);
        assert_eq!(page.body[0]["clientId"], ids[1]);
        let bad = api.get(&format!("{BASE}/clients?first=abc")).await;
        assert_eq!(bad.status, 400);

        // A partial update keeps what it does not name.
        let r = api
            .put(
                &format!("{BASE}/clients/{svc}"),
                &json!({"description": "does things"}),
            )
            .await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        let c = api.get(&format!("{BASE}/clients/{svc}")).await.body;
        assert_eq!(c["description"], "does things");
        assert_eq!(c["name"], "Service app");
        assert_eq!(c["redirectUris"], json!(["https://svc.example/*"]));
        assert_eq!(c["secret"], new_secret.as_str());
        assert_eq!(c["attributes"]["post.logout.redirect.uris"], "+");

        // 409, 404, 400.
        let r = api
            .post(&format!("{BASE}/clients"), &json!({"clientId": "svc-app"}))
            .await;
        assert_eq!(r.status, 409);
        assert_eq!(
            r.body,
            json!({"errorMessage": "Client svc-app already exists"})
        );
        let r = api.get(&format!("{BASE}/clients/does-not-exist")).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "Could not find client");
        let r = api
            .put(&format!("{BASE}/clients/does-not-exist"), &json!({}))
            .await;
        assert_eq!(r.status, 404);
        let r = api
            .post(
                &format!("{BASE}/clients"),
                &json!({"clientId": "evil", "redirectUris": ["javascript:alert(1)"]}),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body["errorMessage"],
            "A redirect URI uses an illegal scheme"
        );
        let r = api
            .put(
                &format!("{BASE}/clients/{spa}"),
                &json!({"redirectUris": ["https://x.example/cb#frag"]}),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body["errorMessage"],
            "Redirect URIs must not contain an URI fragment"
        );
        let r = api
            .post(&format!("{BASE}/clients"), &json!({"name": "x"}))
            .await;
        assert_eq!(r.status, 400);
        let r = api.get(&format!("{BASE}/clients?clientId=evil")).await;
        assert_eq!(r.body, json!([]), "a refused client is not stored");

        // Default and optional scopes; the token's scope follows.
        let phone = scope_id(&api, "phone").await;
        let profile = scope_id(&api, "profile").await;
        let optional = api
            .get(&format!("{BASE}/clients/{svc}/optional-client-scopes"))
            .await;
        assert!(names(&optional).contains(&"phone".to_owned()));
        assert_eq!(
            optional.body[0].as_object().unwrap().len(),
            2,
            "{:?}",
            optional.body
        );
        let r = api
            .put(
                &format!("{BASE}/clients/{svc}/default-client-scopes/{phone}"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 204);
        let r = api
            .delete(&format!(
                "{BASE}/clients/{svc}/default-client-scopes/{profile}"
            ))
            .await;
        assert_eq!(r.status, 204);
        let defaults = api
            .get(&format!("{BASE}/clients/{svc}/default-client-scopes"))
            .await;
        let d = names(&defaults);
        assert!(
            d.contains(&"phone".to_owned()) && !d.contains(&"profile".to_owned()),
            "{d:?}"
        );
        assert!(
            !names(
                &api.get(&format!("{BASE}/clients/{svc}/optional-client-scopes"))
                    .await
            )
            .contains(&"phone".to_owned())
        );
        let (_, body) = client_credentials(&node, "svc-app", &new_secret).await;
        assert_eq!(scopes_of(&body), ["email", "phone"]);
        let r = api
            .put(
                &format!("{BASE}/clients/{svc}/optional-client-scopes/nope"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "Client scope not found");

        // A hardcoded claim mapper on the client reaches the access token.
        let m = api
            .post(
                &format!("{BASE}/clients/{svc}/protocol-mappers/models"),
                &hardcoded("tier", "tier", "gold"),
            )
            .await;
        let mapper = m.created_id();
        let r = api
            .post(
                &format!("{BASE}/clients/{svc}/protocol-mappers/models"),
                &hardcoded("tier", "other", "x"),
            )
            .await;
        assert_eq!(r.status, 409);
        assert_eq!(
            r.body["errorMessage"],
            "Protocol mapper exists with same name"
        );
        let r = api
            .post(
                &format!("{BASE}/clients/{svc}/protocol-mappers/models"),
                &json!({"name": "s", "protocol": "openid-connect", "protocolMapper": "script-x"}),
            )
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "ProtocolMapper provider not found");
        let got = api
            .get(&format!(
                "{BASE}/clients/{svc}/protocol-mappers/models/{mapper}"
            ))
            .await;
        assert_eq!(got.body["protocolMapper"], "oidc-hardcoded-claim-mapper");
        assert_eq!(got.body["config"]["userinfo.token.claim"], "false");
        let by_protocol = api
            .get(&format!(
                "{BASE}/clients/{svc}/protocol-mappers/protocol/openid-connect"
            ))
            .await;
        assert_eq!(by_protocol.body.as_array().unwrap().len(), 1);
        let c = api.get(&format!("{BASE}/clients/{svc}")).await.body;
        assert_eq!(c["protocolMappers"][0]["name"], "tier");
        let (_, body) = client_credentials(&node, "svc-app", &new_secret).await;
        assert_eq!(
            payload(body["access_token"].as_str().unwrap())["tier"],
            "gold"
        );
        let mut changed = got.body.clone();
        changed["config"]["claim.value"] = json!("platinum");
        let r = api
            .put(
                &format!("{BASE}/clients/{svc}/protocol-mappers/models/{mapper}"),
                &changed,
            )
            .await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        let (_, body) = client_credentials(&node, "svc-app", &new_secret).await;
        assert_eq!(
            payload(body["access_token"].as_str().unwrap())["tier"],
            "platinum"
        );

        // Client scope CRUD with a mapper, linked to the client.
        let r = api
            .post(
                &format!("{BASE}/client-scopes"),
                &json!({"name": "has space", "protocol": "openid-connect"}),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body["errorMessage"],
            "Unexpected name \"has space\" for ClientScope"
        );
        let extra = api
            .post(
                &format!("{BASE}/client-scopes"),
                &json!({
                    "name": "extra",
                    "description": "Extra things",
                    "protocol": "openid-connect",
                    "protocolMappers": [hardcoded("extra claim", "extra_claim", "yes")]
                }),
            )
            .await
            .created_id();
        let r = api
            .post(
                &format!("{BASE}/client-scopes"),
                &json!({"name": "extra", "protocol": "openid-connect"}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert_eq!(
            r.body,
            json!({"errorMessage": "Client Scope extra already exists"})
        );
        let s = api.get(&format!("{BASE}/client-scopes/{extra}")).await.body;
        assert_eq!(s["name"], "extra");
        assert_eq!(s["attributes"]["include.in.token.scope"], "true");
        assert_eq!(s["protocolMappers"][0]["name"], "extra claim");
        let r = api
            .put(
                &format!("{BASE}/client-scopes/{extra}"),
                &json!({"description": "Changed"}),
            )
            .await;
        assert_eq!(r.status, 204);
        let s = api.get(&format!("{BASE}/client-scopes/{extra}")).await.body;
        assert_eq!(
            (s["name"].as_str(), s["description"].as_str()),
            (Some("extra"), Some("Changed"))
        );
        let r = api
            .post(
                &format!("{BASE}/client-scopes/{extra}/protocol-mappers/add-models"),
                &json!([
                    hardcoded("second", "second", "2"),
                    hardcoded("third", "third", "3")
                ]),
            )
            .await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        let ms = api
            .get(&format!(
                "{BASE}/client-scopes/{extra}/protocol-mappers/models"
            ))
            .await;
        assert_eq!(names(&ms), ["extra claim", "second", "third"]);
        let third = ms
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "third")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{BASE}/client-scopes/{extra}/protocol-mappers/models/{third}");
        assert_eq!(api.delete(&path).await.status, 204);
        let r = api.delete(&path).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "Model not found");
        let r = api
            .put(
                &format!("{BASE}/clients/{svc}/default-client-scopes/{extra}"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 204);
        let (_, body) = client_credentials(&node, "svc-app", &new_secret).await;
        assert_eq!(scopes_of(&body), ["email", "extra", "phone"]);
        let claims = payload(body["access_token"].as_str().unwrap());
        assert_eq!(
            (claims["extra_claim"].as_str(), claims["second"].as_str()),
            (Some("yes"), Some("2"))
        );
        assert!(claims.get("third").is_none());

        // Realm default scopes.
        let r = api
            .put(
                &format!("{BASE}/default-default-client-scopes/{extra}"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 204);
        assert!(
            names(
                &api.get(&format!("{BASE}/default-default-client-scopes"))
                    .await
            )
            .contains(&"extra".to_owned())
        );
        let later = api
            .post(&format!("{BASE}/clients"), &json!({"clientId": "later"}))
            .await
            .created_id();
        assert!(
            names(
                &api.get(&format!("{BASE}/clients/{later}/default-client-scopes"))
                    .await
            )
            .contains(&"extra".to_owned())
        );
        let r = api
            .delete(&format!("{BASE}/default-default-client-scopes/{extra}"))
            .await;
        assert_eq!(r.status, 204);
        assert!(
            !names(
                &api.get(&format!("{BASE}/default-default-client-scopes"))
                    .await
            )
            .contains(&"extra".to_owned())
        );
        let r = api
            .put(
                &format!("{BASE}/default-optional-client-scopes/nope"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "Client scope not found");
        assert!(
            names(
                &api.get(&format!("{BASE}/default-optional-client-scopes"))
                    .await
            )
            .contains(&"phone".to_owned())
        );

        // Deleting a scope in use unlinks it everywhere.
        assert_eq!(
            api.delete(&format!("{BASE}/client-scopes/{extra}"))
                .await
                .status,
            204
        );
        let r = api.get(&format!("{BASE}/client-scopes/{extra}")).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"], "Could not find client scope");
        assert!(
            !names(
                &api.get(&format!("{BASE}/clients/{svc}/default-client-scopes"))
                    .await
            )
            .contains(&"extra".to_owned())
        );

        // The adapter configuration.
        let r = client()
            .get(node.url(&format!(
                "{BASE}/clients/{svc}/installation/providers/keycloak-oidc-keycloak-json"
            )))
            .bearer_auth(admin_token(&node).await)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let conf: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(
            conf,
            json!({
                "realm": "master",
                "auth-server-url": node.url("/"),
                "ssl-required": "external",
                "resource": "svc-app",
                "credentials": {"secret": new_secret},
                "confidential-port": 0
            })
        );
        let spa_conf = api
            .get(&format!(
                "{BASE}/clients/{spa}/installation/providers/keycloak-oidc-keycloak-json"
            ))
            .await;
        assert_eq!(spa_conf.body["public-client"], true);
        assert!(spa_conf.body.get("credentials").is_none());
        let r = api
            .get(&format!("{BASE}/clients/{spa}/installation/providers/nope"))
            .await;
        assert_eq!(r.status, 404);

        // Sessions after a login through the public client.
        let (status, body) = token(
            &node,
            &[
                ("grant_type", "password"),
                ("client_id", "spa"),
                ("username", "admin"),
                ("password", "Admin-Pass-1"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let count = api
            .get(&format!("{BASE}/clients/{spa}/session-count"))
            .await;
        assert_eq!(count.body, json!({"count": 1}));
        let offline = api
            .get(&format!("{BASE}/clients/{spa}/offline-session-count"))
            .await;
        assert_eq!(offline.body, json!({"count": 0}));
        let sessions = api
            .get(&format!("{BASE}/clients/{spa}/user-sessions"))
            .await;
        assert_eq!(sessions.body.as_array().unwrap().len(), 1);
        assert_eq!(sessions.body[0]["username"], "admin");
        assert_eq!(sessions.body[0]["clients"][&spa], "spa");
        assert_eq!(
            api.get(&format!("{BASE}/clients/{spa}/offline-sessions"))
                .await
                .body,
            json!([])
        );

        // 403: a token of a client without realm-management roles.
        let (_, body) = client_credentials(&node, "svc-app", &new_secret).await;
        let outsider = AdminApi::with_token(&node, body["access_token"].as_str().unwrap());
        assert_eq!(outsider.get(&format!("{BASE}/clients")).await.status, 403);
        assert_eq!(
            outsider.get(&format!("{BASE}/clients/{svc}")).await.status,
            403
        );
        assert_eq!(
            outsider
                .post(&format!("{BASE}/clients"), &json!({"clientId": "x"}))
                .await
                .status,
            403
        );
        assert_eq!(
            outsider.get(&format!("{BASE}/client-scopes")).await.status,
            403
        );

        // Delete: gone, and its credentials no longer get tokens.
        assert_eq!(
            api.delete(&format!("{BASE}/clients/{svc}")).await.status,
            204
        );
        assert_eq!(api.get(&format!("{BASE}/clients/{svc}")).await.status, 404);
        assert_eq!(
            api.delete(&format!("{BASE}/clients/{svc}")).await.status,
            404
        );
        let (status, _) = client_credentials(&node, "svc-app", &new_secret).await;
        assert_eq!(status, 401, "{db}");

        // Service accounts turned on later get their user.
        let r = api
            .put(
                &format!("{BASE}/clients/{later}"),
                &json!({"serviceAccountsEnabled": true}),
            )
            .await;
        assert_eq!(r.status, 204);
        let secret = api
            .get(&format!("{BASE}/clients/{later}/client-secret"))
            .await
            .body["value"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            client_credentials(&node, "later", &secret).await.0,
            200,
            "{db}"
        );

        node.stop();
    }
}

/// A fresh master admin access token, for requests the JSON helper cannot make.
async fn admin_token(node: &Node) -> String {
    let (status, body) = token(
        node,
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", "Admin-Pass-1"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    body["access_token"].as_str().unwrap().to_owned()
}
