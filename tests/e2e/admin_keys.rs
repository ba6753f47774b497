//! Key rotation through the admin API's components, as Keycloak's admin console does it: add a
//! key provider with a higher priority (the new key signs, the old one still verifies), make the
//! old one passive (still verifies), remove it (its tokens stop verifying).

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Node, client, databases};

const KEY_PROVIDER: &str = "org.keycloak.keys.KeyProvider";

async fn token(node: &Node) -> String {
    let res = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", "Admin-Pass-1"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn userinfo_status(node: &Node, token: &str) -> u16 {
    client()
        .get(node.url("/realms/master/protocol/openid-connect/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn published_kids(node: &Node) -> Vec<String> {
    let jwks: Value = client()
        .get(node.url("/realms/master/protocol/openid-connect/certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_through_components() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let on = db.name;

        let old_token = token(&node).await;
        let old_kid = kid(&old_token);
        let realm = api.get("/admin/realms/master").await.body;
        let realm_id = realm["id"].as_str().unwrap().to_owned();

        let list = api
            .get(&format!(
                "/admin/realms/master/components?parent={realm_id}&type={KEY_PROVIDER}"
            ))
            .await;
        assert_eq!(list.status, 200, "{on}: {:?}", list.body);
        let components = list.body.as_array().unwrap();
        let rsa = components
            .iter()
            .find(|c| c["providerId"] == "rsa-generated")
            .unwrap_or_else(|| panic!("{on}: {components:?}"));
        assert_eq!(rsa["config"]["algorithm"], json!(["RS256"]));
        assert_eq!(rsa["config"]["keySize"], json!(["2048"]));
        assert_eq!(rsa["providerType"], KEY_PROVIDER);
        for c in components {
            let config = c["config"].as_object().unwrap();
            assert!(
                !config.contains_key("privateKey") && !config.contains_key("secret"),
                "{on}: key material in {c}"
            );
        }
        let old_id = rsa["id"].as_str().unwrap().to_owned();

        // A new RSA key with a higher priority signs from now on; the old one still verifies.
        let created = api
            .post(
                "/admin/realms/master/components",
                &json!({
                    "name": "rsa-rotated",
                    "providerId": "rsa-generated",
                    "providerType": KEY_PROVIDER,
                    "parentId": realm_id,
                    "config": {"priority": ["200"], "keySize": ["3072"]}
                }),
            )
            .await;
        let new_id = created.created_id();
        let one = api
            .get(&format!("/admin/realms/master/components/{new_id}"))
            .await;
        assert_eq!(one.body["config"]["keySize"], json!(["3072"]), "{on}");
        let new_token = token(&node).await;
        let new_kid = kid(&new_token);
        assert_ne!(new_kid, old_kid, "{on}");
        let kids = published_kids(&node).await;
        assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{on}");
        assert_eq!(userinfo_status(&node, &old_token).await, 200, "{on}");
        assert_eq!(userinfo_status(&node, &new_token).await, 200, "{on}");
        let keys = api.get("/admin/realms/master/keys").await.body;
        assert_eq!(keys["active"]["RS256"], new_kid.as_str(), "{on}: {keys}");

        // Passive: still published and verifying, never signing.
        let put = api
            .put(
                &format!("/admin/realms/master/components/{old_id}"),
                &json!({"config": {"active": ["false"]}}),
            )
            .await;
        assert_eq!(put.status, 204, "{on}: {:?}", put.body);
        assert_eq!(userinfo_status(&node, &old_token).await, 200, "{on}");
        assert_eq!(kid(&token(&node).await), new_kid, "{on}");

        // Removed: gone from the key set, and its tokens no longer verify.
        let del = api
            .delete(&format!("/admin/realms/master/components/{old_id}"))
            .await;
        assert_eq!(del.status, 204, "{on}");
        assert!(!published_kids(&node).await.contains(&old_kid), "{on}");
        assert_eq!(userinfo_status(&node, &old_token).await, 401, "{on}");
        assert_eq!(userinfo_status(&node, &new_token).await, 200, "{on}");

        // Other providers, and what is refused (with a token the remaining key signed: the
        // admin's first one died with the old key).
        let api = AdminApi::master(&node).await;
        let ec = api
            .post(
                "/admin/realms/master/components",
                &json!({"name": "ec", "providerId": "ecdsa-generated", "providerType": KEY_PROVIDER,
                        "config": {"ecdsaEllipticCurveKey": ["P-384"], "priority": ["10"]}}),
            )
            .await;
        let ec_id = ec.created_id();
        let ec = api
            .get(&format!("/admin/realms/master/components/{ec_id}"))
            .await;
        assert_eq!(ec.body["config"]["algorithm"], json!(["ES384"]), "{on}");
        assert_eq!(ec.body["config"]["ecdsaEllipticCurveKey"], json!(["P-384"]));
        let bad = api
            .post(
                "/admin/realms/master/components",
                &json!({"name": "x", "providerId": "rsa-imported", "providerType": KEY_PROVIDER}),
            )
            .await;
        assert_eq!(bad.status, 400, "{on}");
        assert!(
            bad.body["errorMessage"]
                .as_str()
                .unwrap()
                .contains("rsa-generated")
        );
        let bad = api
            .post(
                "/admin/realms/master/components",
                &json!({"name": "x", "providerId": "rsa-generated", "providerType": KEY_PROVIDER,
                        "config": {"keySize": ["1000"]}}),
            )
            .await;
        assert_eq!(bad.status, 400, "{on}");
        let bad = api
            .post(
                "/admin/realms/master/components",
                &json!({"name": "ldap", "providerId": "ldap",
                        "providerType": "org.keycloak.storage.UserStorageProvider"}),
            )
            .await;
        assert_eq!(bad.status, 400, "{on}");
        let other_type = api
            .get("/admin/realms/master/components?type=org.keycloak.storage.UserStorageProvider")
            .await;
        assert_eq!(other_type.body, json!([]), "{on}");
        let missing = api.get("/admin/realms/master/components/nope").await;
        assert_eq!(missing.status, 404, "{on}");
        let anonymous = AdminApi::anonymous(&node)
            .get("/admin/realms/master/components")
            .await;
        assert_eq!(anonymous.status, 401, "{on}");
        node.stop();
    }
}
