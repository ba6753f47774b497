//! Admin REST API, realms: create (with what Keycloak puts in a new realm), read, list, partial
//! update, rename, delete; the 400/401/403/404/409 answers; default groups; keys without
//! secrets; server info; ending sessions; cache clearing; and a realm creator's grant. On
//! SQLite and PostgreSQL.

use std::collections::BTreeMap;

use gatehouse_model::{
    ClientId, Credential, CredentialId, Group, GroupId, RealmName, Role, User, UserId, Username,
};
use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Db, Node, client, databases, open_store};

/// Creates an enabled user with a password in `realm` directly in the node's database (the
/// users endpoints are another slice), with the realm's default role and the given roles:
/// `(client_id or None for a realm role, role name)`.
async fn add_user(
    db: &Db,
    dir: &std::path::Path,
    realm: &str,
    username: &str,
    password: &str,
    roles: &[(Option<&str>, &str)],
) -> UserId {
    let store = open_store(db, dir).await;
    let stored = gatehouse_crypto::hash_password(password, &Default::default()).unwrap();
    let mut tx = store.begin().await.unwrap();
    let realm = tx
        .realm_by_name(&RealmName::new(realm).unwrap())
        .await
        .unwrap()
        .unwrap();
    let user = User {
        id: UserId::new_random(),
        realm_id: realm.id.clone(),
        username: Username::new(username),
        email: None,
        first_name: None,
        last_name: None,
        enabled: true,
        email_verified: false,
        created_timestamp: 0,
        federation_link: None,
        service_account_client_link: None,
        attributes: BTreeMap::new(),
        required_actions: Vec::new(),
        not_before: 0,
    };
    tx.insert_user(&user).await.unwrap();
    tx.insert_credential(&Credential {
        id: CredentialId::new_random(),
        user_id: user.id.clone(),
        credential_type: "password".into(),
        user_label: None,
        created_date: 0,
        secret_data: stored.secret_data,
        credential_data: stored.credential_data,
        priority: 10,
    })
    .await
    .unwrap();
    tx.grant_user_role(&user.id, realm.default_role_id.as_ref().unwrap())
        .await
        .unwrap();
    for (client, name) in roles {
        let role = match client {
            Some(client_id) => {
                let client = tx
                    .client_by_client_id(&realm.id, &ClientId::new(*client_id))
                    .await
                    .unwrap()
                    .unwrap();
                tx.client_role_by_name(&client.id, name).await.unwrap()
            }
            None => tx.realm_role_by_name(&realm.id, name).await.unwrap(),
        };
        tx.grant_user_role(&user.id, &role.unwrap().id)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;
    user.id
}

/// Names of the roles `role` includes directly.
async fn composites(db: &Db, dir: &std::path::Path, role: &Role) -> Vec<String> {
    let store = open_store(db, dir).await;
    let mut tx = store.begin_read().await.unwrap();
    let mut names: Vec<String> = tx
        .composites_of(&role.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    tx.rollback().await.unwrap();
    store.close().await;
    names.sort();
    names
}

/// `(client_id or None, role name)` looked up in `realm`, if both exist.
async fn find_role(
    db: &Db,
    dir: &std::path::Path,
    realm: &str,
    client: Option<&str>,
    name: &str,
) -> Option<Role> {
    let store = open_store(db, dir).await;
    let mut tx = store.begin_read().await.unwrap();
    let realm = tx
        .realm_by_name(&RealmName::new(realm).unwrap())
        .await
        .unwrap()?;
    let role = match client {
        Some(client_id) => match tx
            .client_by_client_id(&realm.id, &ClientId::new(client_id))
            .await
            .unwrap()
        {
            Some(c) => tx.client_role_by_name(&c.id, name).await.unwrap(),
            None => None,
        },
        None => tx.realm_role_by_name(&realm.id, name).await.unwrap(),
    };
    tx.rollback().await.unwrap();
    store.close().await;
    role
}

/// The password grant of `admin-cli` in `realm`: `(status, body)`.
async fn password_grant(node: &Node, realm: &str, username: &str, password: &str) -> (u16, Value) {
    let res = client()
        .post(node.url(&format!("/realms/{realm}/protocol/openid-connect/token")))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn refresh(node: &Node, realm: &str, token: &str) -> (u16, Value) {
    let res = client()
        .post(node.url(&format!("/realms/{realm}/protocol/openid-connect/token")))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", token),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn realm_names(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap_or_else(|| panic!("array: {body}"))
        .iter()
        .map(|r| r["realm"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn realms_lifecycle_permissions_keys_and_sessions() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let d = dir.path();
        let api = AdminApi::master(&node).await;
        let on = db.name;

        // 401 without a token and with a garbage one, before anything else is looked at.
        for who in [
            AdminApi::anonymous(&node),
            AdminApi::with_token(&node, "not.a.token"),
        ] {
            assert_eq!(who.get("/admin/realms").await.status, 401, "{on}");
            assert_eq!(who.get("/admin/serverinfo").await.status, 401, "{on}");
            let r = who.post("/admin/realms", &json!({"realm": "x"})).await;
            assert_eq!(r.status, 401, "{on}");
        }

        // Server info: the version and what Gatehouse implements.
        let info = api.get("/admin/serverinfo").await;
        assert_eq!(info.status, 200, "{on}: {:?}", info.body);
        assert_eq!(info.body["systemInfo"]["version"], "26.0.0", "{on}");
        assert!(info.body["systemInfo"]["uptimeMillis"].is_i64(), "{on}");
        assert_eq!(info.body["themes"]["login"][0]["name"], "gatehouse", "{on}");
        assert_eq!(info.body["profileInfo"]["name"], "community", "{on}");
        let mapper_ids: Vec<&str> = info.body["protocolMapperTypes"]["openid-connect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert!(
            mapper_ids.contains(&"oidc-usermodel-attribute-mapper"),
            "{on}"
        );

        // Create: 201 with the URL, then 409 for the same name, 400 for bad names.
        let created = api
            .post(
                "/admin/realms",
                &json!({"realm": "acme", "enabled": true, "displayName": "Acme",
                        "users": [{"username": "ignored"}], "clients": []}),
            )
            .await;
        assert_eq!(created.status, 201, "{on}: {:?}", created.body);
        assert!(
            created
                .location
                .as_deref()
                .unwrap()
                .ends_with("/admin/realms/acme"),
            "{on}: {:?}",
            created.location
        );
        let again = api
            .post("/admin/realms", &json!({"realm": "acme", "enabled": true}))
            .await;
        assert_eq!(again.status, 409, "{on}");
        assert_eq!(
            again.body["errorMessage"], "Conflict detected. See logs for details",
            "{on}"
        );
        let slash = api.post("/admin/realms", &json!({"realm": "a/b"})).await;
        assert_eq!(slash.status, 400, "{on}: {:?}", slash.body);
        let unnamed = api.post("/admin/realms", &json!({"enabled": true})).await;
        assert_eq!(unnamed.status, 400, "{on}");
        assert_eq!(unnamed.body["errorMessage"], "Realm name cannot be empty");
        let garbage = api
            .post("/admin/realms", &json!(["not", "a", "realm"]))
            .await;
        assert_eq!(garbage.status, 400, "{on}");

        // Read it back.
        let acme = api.get("/admin/realms/acme").await;
        assert_eq!(acme.status, 200, "{on}");
        let acme = acme.body;
        assert_eq!(acme["realm"], "acme");
        assert_eq!(acme["displayName"], "Acme");
        assert_eq!(acme["enabled"], true);
        assert_eq!(acme["sslRequired"], "external");
        assert_eq!(acme["accessTokenLifespan"], 300);
        assert_eq!(acme["defaultRole"]["name"], "default-roles-acme");
        assert_eq!(acme["defaultRole"]["composite"], true);
        assert_eq!(acme["defaultRole"]["clientRole"], false);
        assert_eq!(acme["defaultRole"]["containerId"], acme["id"]);
        assert_eq!(api.get("/admin/realms/nope").await.status, 404, "{on}");

        // List: the admin sees both; the brief form has only the brief fields.
        let list = api.get("/admin/realms").await;
        assert_eq!(list.status, 200, "{on}");
        let names = realm_names(&list.body);
        assert!(
            names.contains(&"master") && names.contains(&"acme"),
            "{on}: {names:?}"
        );
        let brief = api.get("/admin/realms?briefRepresentation=true").await;
        let entry = brief
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["realm"] == "acme")
            .unwrap()
            .clone();
        assert_eq!(entry["displayName"], "Acme");
        assert!(entry.get("accessTokenLifespan").is_none(), "{on}: {entry}");
        // Booleans read as Java reads them: anything but `true` (any case) is false.
        let other = api.get("/admin/realms?briefRepresentation=maybe").await;
        assert_eq!(other.status, 200, "{on}");
        assert!(
            other.body.as_array().unwrap()[0]
                .get("accessTokenLifespan")
                .is_some(),
            "{on}"
        );

        // Partial update keeps the other fields; invalid values are 400.
        let put = api
            .put("/admin/realms/acme", &json!({"accessTokenLifespan": 600}))
            .await;
        assert_eq!(put.status, 204, "{on}: {:?}", put.body);
        let acme = api.get("/admin/realms/acme").await.body;
        assert_eq!(acme["accessTokenLifespan"], 600);
        assert_eq!(acme["displayName"], "Acme");
        assert_eq!(acme["enabled"], true);
        let bad = api
            .put("/admin/realms/acme", &json!({"sslRequired": "sometimes"}))
            .await;
        assert_eq!(bad.status, 400, "{on}");
        let bad = api
            .put("/admin/realms/master", &json!({"realm": "renamed"}))
            .await;
        assert_eq!(bad.status, 400, "{on}");
        assert_eq!(bad.body["errorMessage"], "Can't rename master realm");

        // What Keycloak creates with a realm.
        let realm_admin = find_role(&db, d, "acme", Some("realm-management"), "realm-admin")
            .await
            .expect("realm-management has realm-admin");
        let included = composites(&db, d, &realm_admin).await;
        for wanted in [
            "manage-realm",
            "manage-users",
            "view-clients",
            "impersonation",
        ] {
            assert!(included.iter().any(|r| r == wanted), "{on}: {included:?}");
        }
        let defaults = find_role(&db, d, "acme", None, "default-roles-acme")
            .await
            .unwrap();
        assert_eq!(
            composites(&db, d, &defaults).await,
            [
                "manage-account",
                "offline_access",
                "uma_authorization",
                "view-profile"
            ],
            "{on}"
        );
        let master_manage = find_role(&db, d, "master", Some("acme-realm"), "manage-realm")
            .await
            .expect("master has acme-realm");
        let master_admin = find_role(&db, d, "master", None, "admin").await.unwrap();
        assert!(
            composites(&db, d, &master_admin)
                .await
                .contains(&master_manage.name),
            "{on}"
        );

        // A realm administrator of acme: its own realm only.
        add_user(
            &db,
            d,
            "acme",
            "alice",
            "Alice-Pass-1",
            &[(Some("realm-management"), "realm-admin")],
        )
        .await;
        let alice = AdminApi::login(&node, "acme", "alice", "Alice-Pass-1").await;
        assert_eq!(alice.get("/admin/realms/acme").await.status, 200, "{on}");
        assert_eq!(alice.get("/admin/realms/master").await.status, 403, "{on}");
        assert_eq!(
            alice.delete("/admin/realms/master").await.status,
            403,
            "{on}"
        );
        assert_eq!(
            realm_names(&alice.get("/admin/realms").await.body),
            ["acme"]
        );
        let refused = alice.post("/admin/realms", &json!({"realm": "mine"})).await;
        assert_eq!(refused.status, 403, "{on}");
        assert_eq!(
            alice.get("/admin/serverinfo").await.status,
            200,
            "{on}: any administrator reads the server info"
        );

        // Keys: an active RS256 key with its public key, and no secret anywhere.
        let keys = api.get("/admin/realms/acme/keys").await;
        assert_eq!(keys.status, 200, "{on}");
        let rs256_kid = keys.body["active"]["RS256"].as_str().unwrap().to_owned();
        let all = keys.body["keys"].as_array().unwrap();
        let rsa = all.iter().find(|k| k["kid"] == rs256_kid.as_str()).unwrap();
        assert_eq!(rsa["type"], "RSA");
        assert_eq!(rsa["status"], "ACTIVE");
        assert_eq!(rsa["use"], "SIG");
        assert_eq!(rsa["algorithm"], "RS256");
        assert!(rsa["publicKey"].as_str().unwrap().len() > 200, "{on}");
        assert!(rsa["certificate"].is_string(), "{on}");
        let hmac = all.iter().find(|k| k["algorithm"] == "HS512").unwrap();
        assert_eq!(hmac["type"], "OCT");
        assert!(hmac.get("publicKey").is_none(), "{on}: {hmac}");
        let text = keys.body.to_string();
        let store = open_store(&db, d).await;
        let mut tx = store.begin_read().await.unwrap();
        let acme_id = tx
            .realm_by_name(&RealmName::new("acme").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        for key in tx.realm_keys(&acme_id).await.unwrap() {
            assert!(!text.contains(&key.private_key), "{on}: a secret is listed");
        }
        tx.rollback().await.unwrap();
        store.close().await;

        // Default groups.
        let group = Group {
            id: GroupId::new_random(),
            realm_id: acme_id.clone(),
            parent_id: None,
            name: "staff".into(),
            description: None,
            attributes: BTreeMap::new(),
        };
        let store = open_store(&db, d).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_group(&group).await.unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        let path = format!("/admin/realms/acme/default-groups/{}", group.id);
        assert_eq!(api.put(&path, &json!({})).await.status, 204, "{on}");
        let listed = api.get("/admin/realms/acme/default-groups").await;
        assert_eq!(listed.status, 200, "{on}");
        assert_eq!(listed.body[0]["path"], "/staff", "{on}: {:?}", listed.body);
        assert_eq!(listed.body[0]["id"], group.id.as_str());
        let acme = api.get("/admin/realms/acme").await.body;
        assert_eq!(acme["defaultGroups"], json!(["/staff"]), "{on}");
        let unknown = api
            .put("/admin/realms/acme/default-groups/nope", &json!({}))
            .await;
        assert_eq!(unknown.status, 404, "{on}");
        assert_eq!(unknown.body["error"], "Group not found");
        assert_eq!(api.delete(&path).await.status, 204, "{on}");
        assert_eq!(
            api.get("/admin/realms/acme/default-groups").await.body,
            json!([]),
            "{on}"
        );

        // Sessions: stats, one session ended, then all of them.
        let (status, grant) = password_grant(&node, "acme", "alice", "Alice-Pass-1").await;
        assert_eq!(status, 200, "{on}: {grant}");
        let stats = api.get("/admin/realms/acme/client-session-stats").await;
        assert_eq!(stats.status, 200, "{on}");
        let cli = stats
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["clientId"] == "admin-cli")
            .unwrap_or_else(|| panic!("{on}: {:?}", stats.body));
        assert_eq!(cli["active"], "2", "{on}: {cli}");
        assert_eq!(cli["offline"], "0", "{on}: {cli}");
        let sid = claims(grant["access_token"].as_str().unwrap())["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let session = format!("/admin/realms/acme/sessions/{sid}");
        assert_eq!(api.delete(&session).await.status, 204, "{on}");
        assert_eq!(api.delete(&session).await.status, 404, "{on}");
        let refresh_token = grant["refresh_token"].as_str().unwrap();
        let (status, body) = refresh(&node, "acme", refresh_token).await;
        assert_eq!(status, 400, "{on}: {body}");

        let (_, grant) = password_grant(&node, "acme", "alice", "Alice-Pass-1").await;
        let logout = api.post("/admin/realms/acme/logout-all", &json!({})).await;
        assert_eq!(logout.status, 200, "{on}");
        assert_eq!(logout.body, json!({}), "{on}");
        let (status, body) = refresh(&node, "acme", grant["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 400, "{on}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{on}");
        assert_eq!(
            alice.get("/admin/realms/acme").await.status,
            401,
            "{on}: the admin session of acme ended too"
        );
        let stats = api.get("/admin/realms/acme/client-session-stats").await;
        assert_eq!(stats.body, json!([]), "{on}");

        // Caches: 204 with manage-realm.
        for cache in ["clear-keys-cache", "clear-realm-cache", "clear-user-cache"] {
            let r = api
                .post(&format!("/admin/realms/acme/{cache}"), &json!({}))
                .await;
            assert_eq!(r.status, 204, "{on}: {cache}");
        }
        assert_eq!(
            api.get("/admin/realms/acme/keys").await.body["active"]["RS256"],
            rs256_kid.as_str()
        );

        // A master user with only create-realm: may create, and is granted the new realm.
        add_user(
            &db,
            d,
            "master",
            "creator",
            "Creator-Pass-1",
            &[(None, "create-realm")],
        )
        .await;
        let creator = AdminApi::login(&node, "master", "creator", "Creator-Pass-1").await;
        // Keycloak answers 403 when there is no realm to list.
        assert_eq!(creator.get("/admin/realms").await.status, 403, "{on}");
        let made = creator
            .post("/admin/realms", &json!({"realm": "made", "enabled": true}))
            .await;
        assert_eq!(made.status, 201, "{on}: {:?}", made.body);
        assert_eq!(creator.get("/admin/realms/made").await.status, 200, "{on}");
        assert_eq!(creator.get("/admin/realms/acme").await.status, 403, "{on}");
        assert_eq!(
            realm_names(&creator.get("/admin/realms").await.body),
            ["made"]
        );
        for cache in ["clear-keys-cache", "clear-realm-cache", "clear-user-cache"] {
            let r = creator
                .post(&format!("/admin/realms/acme/{cache}"), &json!({}))
                .await;
            assert_eq!(r.status, 403, "{on}: {cache}");
        }

        // Rename: the master client follows.
        let renamed = api
            .put("/admin/realms/acme", &json!({"realm": "acme2"}))
            .await;
        assert_eq!(renamed.status, 204, "{on}: {:?}", renamed.body);
        assert_eq!(api.get("/admin/realms/acme").await.status, 404, "{on}");
        assert_eq!(api.get("/admin/realms/acme2").await.body["realm"], "acme2");
        assert!(
            find_role(&db, d, "master", Some("acme2-realm"), "manage-realm")
                .await
                .is_some()
        );
        assert!(
            find_role(&db, d, "master", Some("acme-realm"), "manage-realm")
                .await
                .is_none()
        );
        let taken = api
            .put("/admin/realms/acme2", &json!({"realm": "made"}))
            .await;
        assert_eq!(taken.status, 409, "{on}");

        // Delete: master is refused, the realm and its master client go.
        let refused = api.delete("/admin/realms/master").await;
        assert_eq!(refused.status, 400, "{on}");
        assert_eq!(refused.body["errorMessage"], "Can't remove master realm");
        assert_eq!(api.delete("/admin/realms/acme2").await.status, 204, "{on}");
        assert_eq!(api.get("/admin/realms/acme2").await.status, 404, "{on}");
        assert_eq!(api.delete("/admin/realms/acme2").await.status, 404, "{on}");
        assert!(
            find_role(&db, d, "master", Some("acme2-realm"), "manage-realm")
                .await
                .is_none()
        );
        let list = api.get("/admin/realms").await;
        assert_eq!(realm_names(&list.body), ["made", "master"], "{on}");
        node.stop();
    }
}
