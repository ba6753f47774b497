//! The admin console's partial import and partial export, over HTTP.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Node, client, databases};

fn body(policy: &str, secret: &str, extra_user: Option<&str>) -> Value {
    let mut users = vec![json!({
        "username": "Dana", "enabled": true, "email": "dana@example.com",
        "credentials": [{"type": "password", "value": "Dana-Pass-1", "temporary": false}],
        "realmRoles": ["reader"], "clientRoles": {"shop": ["buyer"]}, "groups": ["/staff/sales"]
    })];
    if let Some(name) = extra_user {
        users.push(json!({"username": name, "enabled": true}));
    }
    json!({
        "ifResourceExists": policy,
        "clients": [{"clientId": "shop", "secret": secret, "directAccessGrantsEnabled": true,
                      "redirectUris": ["https://shop.example/*"]}],
        "roles": {
            "realm": [{"name": "reader", "description": "reads"}],
            "client": {"shop": [{"name": "buyer"}]}
        },
        "groups": [{"name": "staff", "subGroups": [{"name": "sales", "realmRoles": ["reader"]}]}],
        "users": users
    })
}

async fn login(node: &Node, secret: &str) -> (u16, Value) {
    let res = client()
        .post(node.url("/realms/part/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "shop"),
            ("client_secret", secret),
            ("username", "dana"),
            ("password", "Dana-Pass-1"),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_import_and_export() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let on = db.name;
        let created = api
            .post("/admin/realms", &json!({"realm": "part", "enabled": true}))
            .await;
        assert_eq!(created.status, 201, "{on}");

        let first = api
            .post(
                "/admin/realms/part/partialImport",
                &body("FAIL", "s-1", None),
            )
            .await;
        assert_eq!(first.status, 200, "{on}: {:?}", first.body);
        assert_eq!(first.body["added"], 5, "{on}: {:?}", first.body);
        assert_eq!(first.body["skipped"], 0);
        let kinds: Vec<&str> = first.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["CLIENT", "REALM_ROLE", "CLIENT_ROLE", "GROUP", "USER"],
            "{on}"
        );
        let (status, token) = login(&node, "s-1").await;
        assert_eq!(status, 200, "{on}: {token}");

        // FAIL with anything present refuses all of it: the new user is not created either.
        let refused = api
            .post(
                "/admin/realms/part/partialImport",
                &body("FAIL", "s-2", Some("erin")),
            )
            .await;
        assert_eq!(refused.status, 409, "{on}: {:?}", refused.body);
        assert_eq!(refused.body["errorMessage"], "Client 'shop' already exists");
        let erin = api
            .get("/admin/realms/part/users?username=erin&exact=true")
            .await;
        assert_eq!(erin.body, json!([]), "{on}");

        let skipped = api
            .post(
                "/admin/realms/part/partialImport",
                &body("SKIP", "s-2", Some("erin")),
            )
            .await;
        assert_eq!(skipped.status, 200, "{on}");
        assert_eq!(skipped.body["skipped"], 5, "{on}: {:?}", skipped.body);
        assert_eq!(skipped.body["added"], 1);
        assert_eq!(
            login(&node, "s-1").await.0,
            200,
            "{on}: SKIP kept the secret"
        );

        let overwritten = api
            .post(
                "/admin/realms/part/partialImport",
                &body("OVERWRITE", "s-3", None),
            )
            .await;
        assert_eq!(overwritten.status, 200, "{on}");
        // Replacing the client takes its roles with it, so its role comes back as added.
        assert_eq!(
            overwritten.body["overwritten"], 4,
            "{on}: {:?}",
            overwritten.body
        );
        assert_eq!(overwritten.body["added"], 1, "{on}");
        assert_eq!(login(&node, "s-1").await.0, 401, "{on}");
        assert_eq!(login(&node, "s-3").await.0, 200, "{on}");

        let export = api
            .post(
                "/admin/realms/part/partial-export?exportClients=true&exportGroupsAndRoles=true",
                &json!({}),
            )
            .await;
        assert_eq!(export.status, 200, "{on}");
        let shop = export.body["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["clientId"] == "shop")
            .unwrap();
        assert_eq!(shop["secret"], "**********", "{on}");
        assert!(export.body.get("users").is_none());
        assert!(export.body.get("components").is_none());
        assert!(
            export.body["roles"]["realm"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == "reader")
        );
        let bare = api
            .post("/admin/realms/part/partial-export", &json!({}))
            .await;
        assert!(bare.body.get("clients").is_none() && bare.body.get("roles").is_none());
        assert_eq!(bare.body["realm"], "part");

        let anonymous = AdminApi::anonymous(&node)
            .post("/admin/realms/part/partial-export", &json!({}))
            .await;
        assert_eq!(anonymous.status, 401, "{on}");
        let bad = api
            .post(
                "/admin/realms/part/partialImport",
                &json!({"ifResourceExists": "MERGE"}),
            )
            .await;
        assert_eq!(bad.status, 400, "{on}");
        node.stop();
    }
}
