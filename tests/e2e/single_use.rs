//! Single use across a cluster, under concurrency: the same authorization code, the same
//! refresh token (`revokeRefreshToken`, no reuse) and the same impersonation link sent to two
//! nodes at the same instant give exactly one success, round after round. The nodes share
//! PostgreSQL and are called directly, without a load balancer.

use serde_json::{Value, json};

use crate::admin_api::AdminApi;

use crate::harness::{Node, client, databases, free_port};
use crate::nginx::{
    APP, CALLBACK, REALM, USER, auth_url, code_of, post_login, setup_realm, start_nodes,
};
use crate::oauth::{code_grant, password_grant, post_form, refresh_grant, token_url};

const ROUNDS: usize = 20;

/// Sends `form` to the token endpoint of `a` and of `b` at once; the two statuses and bodies.
async fn race_token(a: &Node, b: &Node, form: &[(&str, &str)]) -> (u16, u16, Value, Value) {
    let send = |node: &Node| {
        let url = token_url(&node.url(""), REALM);
        async move { post_form(&url, Some(APP), form).await }
    };
    let ((sa, ba), (sb, bb)) = tokio::join!(send(a), send(b));
    (sa, sb, ba, bb)
}

/// Exactly one of the two answers is a success and the other the given refusal.
fn exactly_one(what: &str, round: usize, (sa, sb, ba, bb): (u16, u16, Value, Value)) -> Value {
    let (won, lost) = match (sa, sb) {
        (200, 400) => (ba, bb),
        (400, 200) => (bb, ba),
        _ => panic!("{what}, round {round}: statuses {sa} and {sb}: {ba} / {bb}"),
    };
    assert_eq!(
        lost["error"], "invalid_grant",
        "{what}, round {round}: {lost}"
    );
    won
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_refresh_tokens_and_action_tokens_are_single_use_across_nodes() {
    let Some(db) = databases().await.into_iter().find(|d| d.name == "postgres") else {
        // Only without a PostgreSQL; CI sets GATEHOUSE_REQUIRE_PG so this never passes silently.
        return;
    };
    let names = ["race1", "race2", "race3"];
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let dirs: Vec<_> = names.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    // One issuer for the cluster (tokens name it): the first node's address. Logins go there,
    // since the form posts to it; the races go to any two nodes.
    let hostname = format!("http://127.0.0.1:{}", ports[0]);
    let nodes = start_nodes(&dirs, &db, &names, &ports, &["--hostname", &hostname]);
    let api = setup_realm(&nodes[0]).await;
    let user = api
        .get(&format!("/admin/realms/{REALM}/users?username={}", USER.0))
        .await
        .body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for round in 0..ROUNDS {
        // Each round on another pair of nodes.
        let (a, b, c) = (&nodes[round % 3], &nodes[(round + 1) % 3], &nodes[0]);

        // The same code at two nodes: one token response, and the replay refused.
        let browser = client();
        let page = browser.get(auth_url(&hostname)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let code = code_of(&post_login(&browser, &page.text().await.unwrap()).await);
        let won = exactly_one(
            "code",
            round,
            race_token(a, b, &code_grant(&code, CALLBACK)).await,
        );
        assert!(won["access_token"].is_string(), "{won}");

        // The same refresh token at two nodes (a session of its own: the replayed code above
        // ended the one it made): one new token pair.
        let (status, granted) = post_form(
            &token_url(&c.url(""), REALM),
            Some(APP),
            &[&password_grant(USER.0, USER.1)[..], &[("scope", "openid")]].concat(),
        )
        .await;
        assert_eq!(status, 200, "{granted}");
        let refresh = granted["refresh_token"].as_str().unwrap();
        let won = exactly_one(
            "refresh token",
            round,
            race_token(a, b, &refresh_grant(refresh)).await,
        );
        assert!(won["refresh_token"].is_string(), "{won}");

        // The same impersonation link followed at two nodes: one browser signed in.
        // A fresh administrator token: the master realm's last a minute.
        let api = AdminApi::master(c).await;
        let started = api
            .post(
                &format!("/admin/realms/{REALM}/users/{user}/impersonation"),
                &json!({}),
            )
            .await;
        assert_eq!(started.status, 200, "{:?}", started.body);
        let link = started.body["redirect"].as_str().unwrap();
        let path = &link[link.find("/realms/").unwrap()..];
        let follow = |node: &Node| {
            let url = node.url(path);
            async move {
                let page = client().get(url).send().await.unwrap();
                let status = page.status().as_u16();
                let signed_in = page
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|c| c.to_str().ok())
                    .any(|c| {
                        c.starts_with("KEYCLOAK_IDENTITY=") && !c.starts_with("KEYCLOAK_IDENTITY=;")
                    });
                (status, signed_in, page.text().await.unwrap_or_default())
            }
        };
        let ((sa, ia, ta), (sb, ib, tb)) = tokio::join!(follow(a), follow(b));
        let outcomes = [(sa, ia), (sb, ib)];
        assert!(
            outcomes.contains(&(200, true)) && outcomes.contains(&(400, false)),
            "impersonation, round {round}: {outcomes:?}\n{ta}\n{tb}"
        );
    }
    for node in nodes {
        node.stop();
    }
}
