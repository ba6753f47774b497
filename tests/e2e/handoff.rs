//! Logins in progress live in the distributed `authenticationSessions` cache, on as many nodes
//! as `--spi-cache-embedded--default--authentication-sessions-owners` says. A login outlives
//! the node that owns it (the one its `AUTH_SESSION_ID` route names): with one owner when that
//! node is told to stop (it hands its entries over before it exits), with two when it is
//! killed (the backup carries on). With one owner killed, the login is gone, and the browser
//! starts it again from `KC_RESTART` once, with no loop. The nodes share PostgreSQL and are
//! called directly.

use serde_json::Value;

use crate::cluster::management;
use crate::harness::{Node, await_view, client, databases, free_port};
use crate::nginx::{
    APP, CALLBACK, REALM, auth_session_set, auth_url, code_of, post_login, setup_realm, start_nodes,
};
use crate::oauth::{code_grant, post_form, token_url};

/// The route of the `AUTH_SESSION_ID` cookie a response sets.
fn route_of(response: &reqwest::Response) -> String {
    auth_session_set(response)
        .and_then(|c| c.split_once('.').map(|(_, route)| route.to_owned()))
        .unwrap_or_else(|| panic!("no routed AUTH_SESSION_ID: {response:?}"))
}

/// The post of a login whose only copy died: Keycloak's answer is a restart from
/// `KC_RESTART`, a redirect to a new tab's login page saying so; posting that page signs in.
async fn restarted(browser: &reqwest::Client, posted: reqwest::Response) -> reqwest::Response {
    assert_eq!(posted.status(), 302, "{posted:?}");
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/login-actions/authenticate"),
        "{location}"
    );
    let page = browser.get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200, "{location}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Login will start from the beginning"),
        "{html}"
    );
    post_login(browser, &html).await
}

/// `/cluster`'s entry for the `authenticationSessions` cache.
async fn auth_sessions_status(node: &Node) -> Value {
    let status = management(node, "/cluster").await;
    status["distributedCaches"]
        .as_array()
        .and_then(|caches| {
            caches
                .iter()
                .find(|c| c["name"] == "authenticationSessions")
                .cloned()
        })
        .unwrap_or_else(|| panic!("{status}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_in_progress_outlives_its_owner() {
    for (owners, signal) in [
        ("1", libc::SIGTERM),
        ("2", libc::SIGKILL),
        ("1", libc::SIGKILL),
    ] {
        let lost = owners == "1" && signal == libc::SIGKILL;
        let Some(db) = databases().await.into_iter().find(|d| d.name == "postgres") else {
            // Only without a PostgreSQL; CI sets GATEHOUSE_REQUIRE_PG so this never passes
            // silently.
            return;
        };
        let names = ["own1", "own2", "own3"];
        let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
        let dirs: Vec<_> = names.iter().map(|_| tempfile::tempdir().unwrap()).collect();
        // The pages and form posts go to the first node, which is never stopped.
        let hostname = format!("http://127.0.0.1:{}", ports[0]);
        let mut nodes = start_nodes(
            &dirs,
            &db,
            &names,
            &ports,
            &[
                "--hostname",
                &hostname,
                "--health-enabled",
                "true",
                "--http-management-port",
                "0",
                "--spi-cache-embedded--default--authentication-sessions-owners",
                owners,
            ],
        );
        await_view(&nodes.iter().collect::<Vec<_>>(), &names);
        setup_realm(&nodes[0]).await;

        // A login whose owner is another node than the one serving it.
        let mut started = 0;
        let (browser, html, route) = loop {
            started += 1;
            let browser = client();
            let page = browser.get(auth_url(&hostname)).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let route = route_of(&page);
            assert!(names.contains(&route.as_str()), "{route}");
            if route != names[0] {
                break (browser, page.text().await.unwrap(), route);
            }
        };
        let copies: u64 = owners.parse().unwrap();
        let mut held = 0;
        for node in &nodes {
            let status = auth_sessions_status(node).await;
            assert_eq!(status["owners"], copies, "{status}");
            held += status["entries"].as_u64().unwrap();
        }
        // Exactly `owners` copies of each login in progress, across the cluster.
        assert_eq!(held, copies * started, "owners {owners}");

        let victim = names.iter().position(|n| *n == route).unwrap();
        let (status, log) = nodes.remove(victim).stop_with(signal);
        if signal == libc::SIGTERM {
            assert!(status.success(), "{log}");
            assert!(
                log.contains("distributed caches: handed 1 copies"),
                "owners {owners}: {log}"
            );
        }
        // At once, before the survivors agree on a view without the owner: the first node
        // waits for that view and asks the new owner.
        let mut posted = post_login(&browser, &html).await;
        if lost {
            posted = restarted(&browser, posted).await;
        }
        let code = code_of(&posted);
        let url = token_url(&hostname, REALM);
        let (status, tokens) = post_form(&url, Some(APP), &code_grant(&code, CALLBACK)).await;
        assert_eq!(status, 200, "owners {owners}: {tokens}");
        assert!(tokens["access_token"].is_string(), "{tokens}");
        for node in nodes {
            node.stop();
        }
    }
}
