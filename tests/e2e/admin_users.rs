//! Admin REST API, users: create with a password and sign in with it, duplicates, search with
//! every filter, paging and counts, brief and full forms, partial updates, password resets,
//! credentials, sessions and logout, member listings, and the 400/401/403/404/409 answers, on
//! SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi};
use crate::harness::{Node, client, databases, open_store};

const USERS: &str = "/admin/realms/master/users";

/// The password grant of `admin-cli` in master: `(status, body)`.
async fn password_grant(node: &Node, username: &str, password: &str) -> (u16, Value) {
    let res = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
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

async fn refresh(node: &Node, token: &str) -> u16 {
    client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", token),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn usernames(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap_or_else(|| panic!("array: {body}"))
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_crud_search_passwords_sessions_and_errors() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let at = |rest: &str| format!("{USERS}{rest}");

        // A group to join on create, written straight into the database.
        let store = open_store(&db, dir.path()).await;
        let mut tx = store.begin().await.unwrap();
        let master = tx
            .realm_by_name(&gatehouse_model::RealmName::new("master").unwrap())
            .await
            .unwrap()
            .unwrap();
        let group = gatehouse_model::Group {
            id: gatehouse_model::GroupId::new_random(),
            realm_id: master.id.clone(),
            parent_id: None,
            name: "team".into(),
            description: None,
            attributes: Default::default(),
        };
        tx.insert_group(&group).await.unwrap();
        tx.commit().await.unwrap();
        store.close().await;

        // 401 without a token.
        let anon = AdminApi::anonymous(&node);
        assert_eq!(anon.get(USERS).await.status, 401, "{}", db.name);

        // 400 without a username.
        let r = api.post(USERS, &json!({"email": "x@example.com"})).await;
        assert_eq!(r.status, 400, "{}: {:?}", db.name, r.body);
        assert_eq!(r.body["errorMessage"], "User name is missing");

        // Create with a password, names, attributes and a group; the username is lower-cased.
        let r = api
            .post(
                USERS,
                &json!({
                    "username": "Alice", "email": "Alice@Example.com", "firstName": "Alice",
                    "lastName": "Smith", "enabled": true, "attributes": {"dept": ["eng"]},
                    "groups": ["/team"],
                    "credentials": [{"type": "password", "value": "Alice-Pass-1",
                                     "temporary": false}]
                }),
            )
            .await;
        let alice = r.created_id();
        assert!(
            r.location
                .as_deref()
                .unwrap()
                .ends_with(&format!("/admin/realms/master/users/{alice}"))
        );
        let (status, tokens) = password_grant(&node, "alice", "Alice-Pass-1").await;
        assert_eq!(status, 200, "{}: {tokens}", db.name);
        let (status, _) = password_grant(&node, "alice@example.com", "Alice-Pass-1").await;
        assert_eq!(status, 200, "{}: login with email", db.name);

        // Duplicates.
        let r = api.post(USERS, &json!({"username": "ALICE"})).await;
        assert_eq!(r.status, 409, "{}", db.name);
        assert_eq!(r.body["errorMessage"], "User exists with same username");
        let r = api
            .post(
                USERS,
                &json!({"username": "alice2", "email": "alice@example.com"}),
            )
            .await;
        assert_eq!(r.status, 409, "{}", db.name);
        assert_eq!(r.body["errorMessage"], "User exists with same email");
        let r = api.post(USERS, &json!({"username": "al"})).await;
        assert_eq!(r.status, 400, "{}", db.name);
        assert_eq!(r.body["errorMessage"], "error-invalid-length");
        let r = api
            .post(USERS, &json!({"username": "zed", "groups": ["/nope"]}))
            .await;
        assert_eq!(r.status, 400, "{}: {:?}", db.name, r.body);

        // More users to search among.
        let bob = api
            .post(
                USERS,
                &json!({"username": "bob", "email": "bob@example.org", "firstName": "Bob",
                        "lastName": "Smithers", "enabled": false, "emailVerified": true}),
            )
            .await
            .created_id();
        api.post(
            USERS,
            &json!({"username": "carol_x", "email": "carol@example.com", "enabled": true,
                    "attributes": {"dept": "Sales"}}),
        )
        .await
        .created_id();

        // The full representation, with the caller's access.
        let r = api.get(&at(&format!("/{alice}"))).await;
        assert_eq!(r.status, 200, "{}", db.name);
        let u = &r.body;
        assert_eq!(u["username"], "alice");
        assert_eq!(u["email"], "alice@example.com");
        assert_eq!(u["firstName"], "Alice");
        assert_eq!(u["enabled"], true);
        assert_eq!(u["emailVerified"], false);
        assert_eq!(u["totp"], false);
        assert_eq!(u["disableableCredentialTypes"], json!([]));
        assert_eq!(u["requiredActions"], json!([]));
        assert_eq!(u["notBefore"], 0);
        assert_eq!(u["attributes"], json!({"dept": ["eng"]}));
        assert!(u["createdTimestamp"].as_i64().unwrap() > 0);
        assert_eq!(
            u["access"],
            json!({"manageGroupMembership": true, "view": true, "mapRoles": true,
                   "impersonate": true, "manage": true})
        );
        assert!(u.get("credentials").is_none());
        let bob_rep = api.get(&at(&format!("/{bob}"))).await.body;
        assert!(bob_rep.get("attributes").is_none(), "{bob_rep}");

        // Search: prefix by default, `*` wildcards, quoted exact; every term must match.
        let search = |q: &str| {
            let api = &api;
            let url = format!("{USERS}?{q}");
            async move { api.get(&url).await }
        };
        assert_eq!(usernames(&search("search=ali").await.body), ["alice"]);
        assert_eq!(
            usernames(&search("search=smith").await.body),
            ["alice", "bob"]
        );
        assert!(usernames(&search("search=mith").await.body).is_empty());
        assert_eq!(
            usernames(&search("search=*mith*").await.body),
            ["alice", "bob"]
        );
        assert_eq!(usernames(&search("search=%22bob%22").await.body), ["bob"]);
        assert_eq!(
            usernames(&search("search=smith%20*.org").await.body),
            ["bob"]
        );
        assert_eq!(usernames(&search("search=carol_").await.body), ["carol_x"]);
        // Field filters are substrings, or exact with `exact=true`.
        assert_eq!(usernames(&search("username=li").await.body), ["alice"]);
        assert!(usernames(&search("username=li&exact=true").await.body).is_empty());
        assert_eq!(
            usernames(&search("username=ALICE&exact=true").await.body),
            ["alice"]
        );
        assert_eq!(
            usernames(&search("email=example.com").await.body),
            ["alice", "carol_x"]
        );
        assert_eq!(usernames(&search("firstName=bo").await.body), ["bob"]);
        assert_eq!(
            usernames(&search("lastName=smith&exact=true").await.body),
            ["alice"]
        );
        assert_eq!(usernames(&search("enabled=false").await.body), ["bob"]);
        assert_eq!(usernames(&search("emailVerified=true").await.body), ["bob"]);
        // `q` matches attribute values exactly (ignoring case) unless `exact=false`.
        assert_eq!(usernames(&search("q=dept:eng").await.body), ["alice"]);
        assert_eq!(usernames(&search("q=dept:SALES").await.body), ["carol_x"]);
        assert!(usernames(&search("q=dept:al").await.body).is_empty());
        assert_eq!(
            usernames(&search("q=dept:al&exact=false").await.body),
            ["carol_x"]
        );
        assert_eq!(
            usernames(&search(&format!("search=id:{bob}")).await.body),
            ["bob"]
        );
        // Paging, by username; the bootstrap admin is a user too.
        assert_eq!(
            usernames(&search("first=1&max=2").await.body),
            ["alice", "bob"]
        );
        assert_eq!(usernames(&search("").await.body).len(), 4);
        let r = search("first=abc").await;
        assert_eq!(r.status, 400, "{}", db.name);
        // Counts take the same filters.
        assert_eq!(api.get(&at("/count")).await.body, json!(4));
        assert_eq!(api.get(&at("/count?search=smith")).await.body, json!(2));
        assert_eq!(
            api.get(&at("/count?email=example.com")).await.body,
            json!(2)
        );
        assert_eq!(api.get(&at("/count?q=dept:eng")).await.body, json!(1));

        // Brief and full forms.
        let brief = search("username=alice&briefRepresentation=true").await.body;
        let b = &brief[0];
        assert_eq!(b["username"], "alice");
        assert_eq!(b["email"], "alice@example.com");
        assert_eq!(b["access"]["view"], true);
        for absent in ["requiredActions", "notBefore", "totp", "attributes"] {
            assert!(b.get(absent).is_none(), "{absent} in brief {b}");
        }
        let full = search("username=alice").await.body;
        assert_eq!(full[0]["requiredActions"], json!([]));
        assert_eq!(full[0]["attributes"], json!({"dept": ["eng"]}));

        // Partial update keeps what is not sent.
        let r = api
            .put(&at(&format!("/{alice}")), &json!({"firstName": "Alicia"}))
            .await;
        assert_eq!(r.status, 204, "{}: {:?}", db.name, r.body);
        let u = api.get(&at(&format!("/{alice}"))).await.body;
        assert_eq!(u["firstName"], "Alicia");
        assert_eq!(u["lastName"], "Smith");
        assert_eq!(u["email"], "alice@example.com");
        assert_eq!(u["attributes"], json!({"dept": ["eng"]}));
        // The username cannot change unless the realm allows it.
        let r = api
            .put(&at(&format!("/{alice}")), &json!({"username": "alice2"}))
            .await;
        assert_eq!(r.status, 400, "{}", db.name);
        assert_eq!(r.body["errorMessage"], "error-user-attribute-read-only");
        let r = api
            .put(
                &at(&format!("/{alice}")),
                &json!({"email": "BOB@example.org"}),
            )
            .await;
        assert_eq!(r.status, 409, "{}", db.name);
        assert_eq!(r.body["errorMessage"], "User exists with same email");

        // Password reset: the old password stops working, the new one works.
        let reset = at(&format!("/{alice}/reset-password"));
        let r = api
            .put(
                &reset,
                &json!({"type": "password", "value": "Alice-Pass-2", "temporary": false}),
            )
            .await;
        assert_eq!(r.status, 204, "{}: {:?}", db.name, r.body);
        assert_eq!(password_grant(&node, "alice", "Alice-Pass-1").await.0, 401);
        let (status, tokens) = password_grant(&node, "alice", "Alice-Pass-2").await;
        assert_eq!(status, 200, "{}: {tokens}", db.name);
        let r = api.put(&reset, &json!({"type": "password"})).await;
        assert_eq!(r.status, 400, "{}", db.name);
        assert_eq!(r.body["error"], "No password provided");

        // Sessions: the login above is listed with its client, and logout ends it.
        let r = api.get(&at(&format!("/{alice}/sessions"))).await;
        assert_eq!(r.status, 200, "{}", db.name);
        let sessions = r.body.as_array().unwrap();
        assert!(!sessions.is_empty(), "{}: {:?}", db.name, r.body);
        assert_eq!(sessions[0]["username"], "alice");
        assert_eq!(sessions[0]["userId"], alice.as_str());
        assert!(
            sessions[0]["clients"]
                .as_object()
                .unwrap()
                .values()
                .any(|c| c == "admin-cli"),
            "{:?}",
            sessions[0]
        );
        let refresh_token = tokens["refresh_token"].as_str().unwrap();
        let r = api.post(&at(&format!("/{alice}/logout")), &json!({})).await;
        assert_eq!(r.status, 204, "{}", db.name);
        assert_eq!(
            api.get(&at(&format!("/{alice}/sessions"))).await.body,
            json!([])
        );
        assert_eq!(refresh(&node, refresh_token).await, 400, "{}", db.name);
        assert!(
            api.get(&at(&format!("/{alice}"))).await.body["notBefore"]
                .as_i64()
                .unwrap()
                > 0
        );
        assert_eq!(
            api.get(&at(&format!("/{alice}/federated-identity")))
                .await
                .body,
            json!([])
        );
        assert_eq!(
            api.get(&at(&format!("/{alice}/consents"))).await.body,
            json!([])
        );

        // A temporary password adds UPDATE_PASSWORD (and the password grant refuses then).
        let r = api
            .put(
                &reset,
                &json!({"type": "password", "value": "Alice-Pass-3", "temporary": true}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", db.name);
        let u = api.get(&at(&format!("/{alice}"))).await.body;
        assert_eq!(u["requiredActions"], json!(["UPDATE_PASSWORD"]));
        assert_eq!(password_grant(&node, "alice", "Alice-Pass-3").await.0, 400);

        // Credentials carry no secrets; one can be deleted.
        let r = api.get(&at(&format!("/{alice}/credentials"))).await;
        assert_eq!(r.status, 200, "{}", db.name);
        let creds = r.body.as_array().unwrap();
        assert_eq!(creds.len(), 1, "{:?}", r.body);
        assert_eq!(creds[0]["type"], "password");
        assert!(creds[0]["createdDate"].as_i64().unwrap() > 0);
        assert!(creds[0]["credentialData"].is_string());
        for secret in ["secretData", "value", "hashedSaltedValue"] {
            assert!(creds[0].get(secret).is_none(), "{secret} in {:?}", creds[0]);
        }
        let cred = creds[0]["id"].as_str().unwrap();
        let r = api
            .delete(&at(&format!("/{alice}/credentials/{cred}")))
            .await;
        assert_eq!(r.status, 204, "{}", db.name);
        assert_eq!(
            api.get(&at(&format!("/{alice}/credentials"))).await.body,
            json!([])
        );
        let r = api
            .delete(&at(&format!("/{alice}/credentials/{cred}")))
            .await;
        assert_eq!(r.status, 404, "{}", db.name);

        // Member listings: the group joined on create and the realm's default role.
        let r = api
            .get(&format!("/admin/realms/master/groups/{}/members", group.id))
            .await;
        assert_eq!(r.status, 200, "{}: {:?}", db.name, r.body);
        assert_eq!(usernames(&r.body), ["alice"]);
        let r = api
            .get("/admin/realms/master/roles/default-roles-master/users?first=1&max=2")
            .await;
        assert_eq!(r.status, 200, "{}: {:?}", db.name, r.body);
        assert_eq!(usernames(&r.body), ["alice", "bob"]);
        let r = api
            .get("/admin/realms/master/roles/default-roles-master/users?briefRepresentation=true")
            .await;
        assert!(r.body[0].get("requiredActions").is_none(), "{:?}", r.body);
        let r = api.get("/admin/realms/master/roles/nope/users").await;
        assert_eq!(r.status, 404, "{}", db.name);

        // The realm's default groups are joined on create.
        let r = api
            .put(
                &format!("/admin/realms/master/default-groups/{}", group.id),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 204, "{}: {:?}", db.name, r.body);
        api.post(USERS, &json!({"username": "dora"}))
            .await
            .created_id();
        let r = api
            .get(&format!(
                "/admin/realms/master/groups/{}/members?briefRepresentation=true",
                group.id
            ))
            .await;
        assert_eq!(usernames(&r.body), ["alice", "dora"], "{}", db.name);

        // 404 for an unknown user.
        let missing = at("/no-such-user");
        assert_eq!(api.get(&missing).await.status, 404);
        assert_eq!(api.get(&missing).await.body["error"], "User not found");
        assert_eq!(api.put(&missing, &json!({})).await.status, 404);
        assert_eq!(api.delete(&missing).await.status, 404);

        // 403 for a master user without admin roles (created through this API).
        api.post(
            USERS,
            &json!({"username": "plain", "enabled": true,
                    "credentials": [{"type": "password", "value": "Plain-Pass-1"}]}),
        )
        .await
        .created_id();
        let plain = AdminApi::login(&node, "master", "plain", "Plain-Pass-1").await;
        assert_eq!(plain.get(USERS).await.status, 403, "{}", db.name);
        assert_eq!(plain.get(&at(&format!("/{alice}"))).await.status, 403);
        assert_eq!(
            plain
                .post(USERS, &json!({"username": "mallory"}))
                .await
                .status,
            403
        );

        // Delete.
        assert_eq!(api.delete(&at(&format!("/{bob}"))).await.status, 204);
        assert_eq!(api.get(&at(&format!("/{bob}"))).await.status, 404);

        node.stop();
    }
}
