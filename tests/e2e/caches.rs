//! Caches in front of the database never serve what another node changed: node B answers from
//! warm caches, node A changes the client, its mapper and the service account's roles through
//! the admin API, and the very next grant on node B shows every change, round after round.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Node, client, databases};

async fn grant(node: &Node) -> (u16, Value) {
    let res = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cached"),
            ("client_secret", "cached-secret"),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    if status != 200 {
        return (status, body);
    }
    use base64::Engine;
    let token = body["access_token"].as_str().unwrap();
    let part = token.split('.').nth(1).unwrap();
    let claims = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap();
    (status, claims)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_on_one_node_is_seen_by_the_next_request_on_another() {
    for db in databases().await {
        // On SQLite both processes share one database file in one folder.
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node_a = Node::start(a.path(), &args, &ADMIN_ENV);
        let b_dir = if db.name == "sqlite" {
            a.path()
        } else {
            b.path()
        };
        let mut b_args = args.clone();
        b_args.extend(["--metrics-enabled", "true", "--http-management-port", "0"]);
        let node_b = Node::start(b_dir, &b_args, &[]);
        let on = db.name;
        let api = AdminApi::master(&node_a).await;
        let id = api
            .post(
                "/admin/realms/master/clients",
                &json!({"clientId": "cached", "secret": "cached-secret",
                        "serviceAccountsEnabled": true,
                        "protocolMappers": [{"name": "round", "protocol": "openid-connect",
                            "protocolMapper": "oidc-hardcoded-claim-mapper",
                            "config": {"claim.name": "round", "claim.value": "0",
                                       "jsonType.label": "String", "access.token.claim": "true"}}]}),
            )
            .await
            .created_id();
        let mapper = api
            .get(&format!(
                "/admin/realms/master/clients/{id}/protocol-mappers/models"
            ))
            .await
            .body[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let sa = api
            .get(&format!(
                "/admin/realms/master/clients/{id}/service-account-user"
            ))
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        api.post(
            "/admin/realms/master/roles",
            &json!({"name": "cache-probe"}),
        )
        .await;
        let role = api.get("/admin/realms/master/roles/cache-probe").await.body;

        for round in 1..=25 {
            // Warm node B's caches with this round's state.
            for _ in 0..2 {
                assert_eq!(grant(&node_b).await.0, 200, "{on}");
            }
            // Change the mapper and the role mapping on node A...
            let put = api
                .put(
                    &format!("/admin/realms/master/clients/{id}/protocol-mappers/models/{mapper}"),
                    &json!({"id": mapper, "name": "round", "protocol": "openid-connect",
                            "protocolMapper": "oidc-hardcoded-claim-mapper",
                            "config": {"claim.name": "round", "claim.value": round.to_string(),
                                       "jsonType.label": "String", "access.token.claim": "true"}}),
                )
                .await;
            assert_eq!(put.status, 204, "{on}: {:?}", put.body);
            let path = format!("/admin/realms/master/users/{sa}/role-mappings/realm");
            let mapped = if round % 2 == 1 {
                api.post(&path, &json!([role])).await
            } else {
                api.delete_with(&path, &json!([role])).await
            };
            assert_eq!(mapped.status, 204, "{on}");
            // ...and the very next grant on node B shows both.
            let (status, claims) = grant(&node_b).await;
            assert_eq!(status, 200, "{on}");
            assert_eq!(claims["round"], round.to_string(), "{on}: round {round}");
            let has_role = claims["realm_access"]["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "cache-probe"));
            assert_eq!(has_role, round % 2 == 1, "{on}: round {round}: {claims}");
        }

        // The warm grants were answered from node B's caches, not from the database.
        let metrics = client()
            .get(node_b.management_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let hits = |cache: &str| -> f64 {
            metrics
                .lines()
                .find(|l| {
                    l.starts_with("vendor_statistics_hits_total")
                        && l.contains(&format!("cache=\"{cache}\""))
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        for cache in ["clients", "clientScopes", "users", "roleMappings"] {
            assert!(hits(cache) >= 25.0, "{on}: {cache} hits\n{metrics}");
        }

        // Disabling the client on A refuses it on B at once; clearing caches is allowed.
        let put = api
            .put(
                &format!("/admin/realms/master/clients/{id}"),
                &json!({"enabled": false}),
            )
            .await;
        assert_eq!(put.status, 204);
        assert_eq!(grant(&node_b).await.0, 401, "{on}");
        let cleared = api
            .post("/admin/realms/master/clear-realm-cache", &json!({}))
            .await;
        assert_eq!(cleared.status, 204);
        drop(node_b);
        node_a.stop();
    }
}
