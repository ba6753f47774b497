//! Admin REST API, roles and groups: realm and client role CRUD, composites, roles by id, role
//! mappings of users and groups (direct, effective, available) down to the access token, the
//! group tree (children, paths, search, counts), memberships, and the 400/401/403/404/409
//! answers, on SQLite and PostgreSQL.

use std::path::Path;

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_ENV, AdminApi, Answer};
use crate::harness::{Db, Node, client, databases, open_store, register_client};

const M: &str = "/admin/realms/master";

/// Creates a user in master directly in the database with the bootstrap admin's password
/// (`Admin-Pass-1`, by copying its credential), the realm's default role and the given roles of
/// the `master-realm` client; returns its id.
async fn add_user(db: &Db, cwd: &Path, username: &str, management_roles: &[&str]) -> String {
    use gatehouse_model::{Credential, CredentialId, RealmName, User, UserId, Username};
    let store = open_store(db, cwd).await;
    let mut tx = store.begin().await.unwrap();
    let realm = tx
        .realm_by_name(&RealmName::new("master").unwrap())
        .await
        .unwrap()
        .unwrap();
    let admin = tx
        .user_by_username(&realm.id, &Username::new("admin"))
        .await
        .unwrap()
        .unwrap();
    let password = tx.credentials_of(&admin.id).await.unwrap().remove(0);
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
        attributes: Default::default(),
        required_actions: Vec::new(),
        not_before: 0,
    };
    tx.insert_user(&user).await.unwrap();
    tx.insert_credential(&Credential {
        id: CredentialId::new_random(),
        user_id: user.id.clone(),
        ..password
    })
    .await
    .unwrap();
    tx.grant_user_role(&user.id, realm.default_role_id.as_ref().unwrap())
        .await
        .unwrap();
    let management = tx
        .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new("master-realm"))
        .await
        .unwrap()
        .unwrap();
    for name in management_roles {
        let role = tx
            .client_role_by_name(&management.id, name)
            .await
            .unwrap()
            .unwrap();
        tx.grant_user_role(&user.id, &role.id).await.unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;
    user.id.to_string()
}

/// The internal id of a master client.
async fn client_uuid(db: &Db, cwd: &Path, client_id: &str) -> String {
    let store = open_store(db, cwd).await;
    let mut tx = store.begin_read().await.unwrap();
    let realm = tx
        .realm_by_name(&gatehouse_model::RealmName::new("master").unwrap())
        .await
        .unwrap()
        .unwrap();
    let c = tx
        .client_by_client_id(&realm.id, &gatehouse_model::ClientId::new(client_id))
        .await
        .unwrap()
        .unwrap();
    tx.rollback().await.unwrap();
    store.close().await;
    c.id.to_string()
}

/// An `admin-cli` access token of a master user, and its claims.
async fn sign_in(node: &Node, username: &str) -> (String, Value) {
    let res = client()
        .post(node.url("/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", username),
            ("password", "Admin-Pass-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    (token, serde_json::from_slice(&bytes).unwrap())
}

fn names(answer: &Answer) -> Vec<String> {
    let mut out: Vec<String> = answer
        .body
        .as_array()
        .unwrap_or_else(|| panic!("array: {:?}", answer))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn ok(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{answer:?}");
}

fn error_message(answer: &Answer) -> &str {
    answer.body["errorMessage"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_groups_and_mappings_through_the_admin_api() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev", "--http-port", "0"];
        args.extend(db.args.iter().map(String::as_str));
        let node = Node::start(dir.path(), &args, &ADMIN_ENV);
        let api = AdminApi::master(&node).await;
        let name = db.name;

        // --- realm roles ---------------------------------------------------------------
        let created = api
            .post(
                &format!("{M}/roles"),
                &json!({"name": "editor", "description": "Edits things",
                        "attributes": {"team": ["a", "b"]}}),
            )
            .await;
        ok(&created, 201);
        assert!(
            created
                .location
                .as_deref()
                .unwrap()
                .ends_with("/admin/realms/master/roles/editor"),
            "{name}: {created:?}"
        );
        let again = api
            .post(&format!("{M}/roles"), &json!({"name": "editor"}))
            .await;
        ok(&again, 409);
        assert_eq!(
            error_message(&again),
            "Role with name editor already exists"
        );
        ok(
            &api.post(&format!("{M}/roles"), &json!({"description": "x"}))
                .await,
            400,
        );
        ok(&api.post(&format!("{M}/roles"), &json!([1])).await, 400);

        let editor = api.get(&format!("{M}/roles/editor")).await;
        ok(&editor, 200);
        assert_eq!(editor.body["description"], "Edits things");
        assert_eq!(editor.body["composite"], false);
        assert_eq!(editor.body["clientRole"], false);
        assert_eq!(editor.body["attributes"], json!({"team": ["a", "b"]}));
        let editor_id = editor.body["id"].as_str().unwrap().to_owned();
        let realm_id = editor.body["containerId"].as_str().unwrap().to_owned();

        let list = api.get(&format!("{M}/roles")).await;
        ok(&list, 200);
        let listed = names(&list);
        for expected in ["admin", "create-realm", "default-roles-master", "editor"] {
            assert!(listed.contains(&expected.to_owned()), "{name}: {listed:?}");
        }
        let brief = list.body.as_array().unwrap();
        assert!(brief.iter().all(|r| r.get("attributes").is_none()));
        let full = api
            .get(&format!("{M}/roles?briefRepresentation=false"))
            .await;
        assert!(
            full.body
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["attributes"].is_object())
        );
        let found = api.get(&format!("{M}/roles?search=EDIT")).await;
        assert_eq!(names(&found), ["editor"], "{name}");
        let found = api.get(&format!("{M}/roles?search=things")).await;
        assert_eq!(
            names(&found),
            ["editor"],
            "{name}: search looks at descriptions too"
        );
        let page = api.get(&format!("{M}/roles?first=1&max=2")).await;
        assert_eq!(page.body.as_array().unwrap().len(), 2);
        ok(&api.get(&format!("{M}/roles?first=abc")).await, 400);

        let renamed = api
            .put(
                &format!("{M}/roles/editor"),
                &json!({"name": "editor", "description": "Changed"}),
            )
            .await;
        ok(&renamed, 204);
        let editor = api.get(&format!("{M}/roles/editor")).await;
        assert_eq!(editor.body["description"], "Changed");
        assert_eq!(editor.body["attributes"], json!({"team": ["a", "b"]}));
        let clash = api
            .put(&format!("{M}/roles/editor"), &json!({"name": "admin"}))
            .await;
        ok(&clash, 409);
        assert_eq!(error_message(&clash), "Role with name admin already exists");

        let missing = api.get(&format!("{M}/roles/nope")).await;
        ok(&missing, 404);
        assert_eq!(missing.body["error"], "Role not found");
        ok(&api.delete(&format!("{M}/roles/nope")).await, 404);
        let default_role = api.delete(&format!("{M}/roles/default-roles-master")).await;
        ok(&default_role, 400);
        assert_eq!(
            error_message(&default_role),
            "default-roles-master is default role of the realm and cannot be removed."
        );
        ok(&api.get("/admin/realms/nowhere/roles").await, 404);

        // A role with spaces in its name, created with composites named in the body.
        let spaced = api
            .post(
                &format!("{M}/roles"),
                &json!({"name": "night shift", "composite": true,
                        "composites": {"realm": ["offline_access"]}}),
            )
            .await;
        ok(&spaced, 201);
        assert!(spaced.location.unwrap().ends_with("/roles/night%20shift"));
        let spaced = api
            .get(&format!("{M}/roles/night%20shift/composites"))
            .await;
        assert_eq!(names(&spaced), ["offline_access"], "{name}");
        ok(&api.delete(&format!("{M}/roles/night%20shift")).await, 204);
        ok(&api.get(&format!("{M}/roles/night%20shift")).await, 404);

        // --- composites and roles by id ---------------------------------------------------
        ok(
            &api.post(&format!("{M}/roles"), &json!({"name": "reader"}))
                .await,
            201,
        );
        let reader = api.get(&format!("{M}/roles/reader")).await.body;
        let reader_id = reader["id"].as_str().unwrap().to_owned();
        assert_eq!(reader["containerId"], realm_id.as_str());
        ok(
            &api.post(
                &format!("{M}/roles/editor/composites"),
                &json!([{"id": reader_id}]),
            )
            .await,
            204,
        );
        assert_eq!(
            api.get(&format!("{M}/roles/editor")).await.body["composite"],
            true
        );
        assert_eq!(
            names(&api.get(&format!("{M}/roles/editor/composites")).await),
            ["reader"]
        );
        assert_eq!(
            names(&api.get(&format!("{M}/roles/editor/composites/realm")).await),
            ["reader"]
        );
        ok(
            &api.post(
                &format!("{M}/roles/editor/composites"),
                &json!([{"id": "nope"}]),
            )
            .await,
            404,
        );
        let by_id = api.get(&format!("{M}/roles-by-id/{editor_id}")).await;
        ok(&by_id, 200);
        assert_eq!(by_id.body["name"], "editor");
        assert_eq!(
            names(
                &api.get(&format!("{M}/roles-by-id/{editor_id}/composites"))
                    .await
            ),
            ["reader"]
        );
        ok(&api.get(&format!("{M}/roles-by-id/nope")).await, 404);
        ok(
            &api.put(
                &format!("{M}/roles-by-id/{reader_id}"),
                &json!({"name": "reader", "description": "Reads"}),
            )
            .await,
            204,
        );
        assert_eq!(
            api.get(&format!("{M}/roles/reader")).await.body["description"],
            "Reads"
        );

        // --- client roles -----------------------------------------------------------------
        register_client(&db, dir.path(), "app", |_| {}).await;
        let app = client_uuid(&db, dir.path(), "app").await;
        let app_roles = format!("{M}/clients/{app}/roles");
        let created = api.post(&app_roles, &json!({"name": "app-admin"})).await;
        ok(&created, 201);
        assert!(
            created
                .location
                .unwrap()
                .ends_with(&format!("/clients/{app}/roles/app-admin"))
        );
        ok(
            &api.post(&app_roles, &json!({"name": "app-admin"})).await,
            409,
        );
        ok(&api.post(&app_roles, &json!({"name": "editor"})).await, 201);
        assert_eq!(
            names(&api.get(&app_roles).await),
            ["app-admin", "editor"],
            "{name}"
        );
        let app_admin = api.get(&format!("{app_roles}/app-admin")).await;
        ok(&app_admin, 200);
        assert_eq!(app_admin.body["clientRole"], true);
        assert_eq!(app_admin.body["containerId"], app.as_str());
        let app_admin_id = app_admin.body["id"].as_str().unwrap().to_owned();
        ok(&api.delete(&format!("{app_roles}/editor")).await, 204);
        let no_client = api.get(&format!("{M}/clients/nope/roles")).await;
        ok(&no_client, 404);
        assert_eq!(no_client.body["error"], "Could not find client");
        ok(
            &api.get(&format!("{M}/clients/nope/roles/app-admin")).await,
            404,
        );
        ok(&api.get(&format!("{app_roles}/nope")).await, 404);

        ok(
            &api.post(
                &format!("{M}/roles/editor/composites"),
                &json!([{"id": app_admin_id}]),
            )
            .await,
            204,
        );
        assert_eq!(
            names(
                &api.get(&format!("{M}/roles/editor/composites/clients/{app}"))
                    .await
            ),
            ["app-admin"]
        );
        assert_eq!(
            names(&api.get(&format!("{M}/roles/editor/composites/realm")).await),
            ["reader"]
        );
        ok(
            &api.get(&format!("{M}/roles/editor/composites/clients/nope"))
                .await,
            404,
        );

        // --- role mappings of a user ----------------------------------------------------------
        let alice = add_user(&db, dir.path(), "alice", &[]).await;
        let rm = format!("{M}/users/{alice}/role-mappings");
        let editor_rep = api.get(&format!("{M}/roles/editor")).await.body;
        ok(
            &api.post(&format!("{rm}/realm"), &json!([editor_rep])).await,
            204,
        );
        let direct = api.get(&format!("{rm}/realm")).await;
        assert_eq!(names(&direct), ["default-roles-master", "editor"], "{name}");
        let effective = names(&api.get(&format!("{rm}/realm/composite")).await);
        for expected in ["editor", "reader", "offline_access", "uma_authorization"] {
            assert!(
                effective.contains(&expected.to_owned()),
                "{name}: {effective:?}"
            );
        }
        let full = api
            .get(&format!("{rm}/realm/composite?briefRepresentation=false"))
            .await;
        assert!(
            full.body
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["attributes"].is_object())
        );
        let available = names(&api.get(&format!("{rm}/realm/available")).await);
        assert!(
            available.contains(&"reader".to_owned()),
            "{name}: {available:?}"
        );
        assert!(!available.contains(&"editor".to_owned()));
        assert!(!available.contains(&"default-roles-master".to_owned()));
        assert_eq!(
            names(&api.get(&format!("{rm}/clients/{app}/composite")).await),
            ["app-admin"]
        );
        assert!(names(&api.get(&format!("{rm}/clients/{app}")).await).is_empty());
        assert_eq!(
            names(&api.get(&format!("{rm}/clients/{app}/available")).await),
            ["app-admin"]
        );
        let all = api.get(&rm).await;
        ok(&all, 200);
        assert!(all.body.get("clientMappings").is_none(), "{name}: {all:?}");
        assert_eq!(all.body["realmMappings"].as_array().unwrap().len(), 2);

        ok(
            &api.post(
                &format!("{rm}/clients/{app}"),
                &json!([{"name": "app-admin"}]),
            )
            .await,
            204,
        );
        let all = api.get(&rm).await.body;
        assert_eq!(all["clientMappings"]["app"]["id"], app.as_str());
        assert_eq!(all["clientMappings"]["app"]["client"], "app");
        assert_eq!(
            all["clientMappings"]["app"]["mappings"][0]["name"],
            "app-admin"
        );
        assert!(names(&api.get(&format!("{rm}/clients/{app}/available")).await).is_empty());
        ok(
            &api.delete_with(
                &format!("{rm}/clients/{app}"),
                &json!([{"name": "app-admin"}]),
            )
            .await,
            204,
        );
        assert!(api.get(&rm).await.body.get("clientMappings").is_none());

        let unknown = api
            .post(&format!("{rm}/realm"), &json!([{"name": "nope"}]))
            .await;
        ok(&unknown, 404);
        assert_eq!(unknown.body["error"], "Role not found");
        let wrong_id = json!([{"name": "reader", "id": editor_id}]);
        ok(&api.post(&format!("{rm}/realm"), &wrong_id).await, 404);
        ok(
            &api.post(&format!("{rm}/clients/{app}"), &json!([{"name": "reader"}]))
                .await,
            404,
        );
        ok(
            &api.post(&format!("{M}/users/nope/role-mappings/realm"), &json!([]))
                .await,
            404,
        );
        ok(
            &api.get(&format!("{M}/users/nope/role-mappings")).await,
            404,
        );
        ok(&api.get(&format!("{rm}/clients/nope")).await, 404);

        ok(
            &api.delete_with(&format!("{rm}/realm"), &json!([{"name": "editor"}]))
                .await,
            204,
        );
        let effective = names(&api.get(&format!("{rm}/realm/composite")).await);
        assert!(
            !effective.contains(&"reader".to_owned()),
            "{name}: {effective:?}"
        );
        assert!(effective.contains(&"offline_access".to_owned()));

        // --- groups -----------------------------------------------------------------------------
        let groups = format!("{M}/groups");
        let staff = api
            .post(&groups, &json!({"name": "staff"}))
            .await
            .created_id();
        let dup = api.post(&groups, &json!({"name": "staff"})).await;
        ok(&dup, 409);
        assert_eq!(
            error_message(&dup),
            "Top level group named 'staff' already exists."
        );
        let nameless = api.post(&groups, &json!({"name": " "})).await;
        ok(&nameless, 400);
        assert_eq!(error_message(&nameless), "Group name is missing");
        ok(&api.post(&groups, &json!({"name": "guests"})).await, 201);

        let child = api
            .post(
                &format!("{groups}/{staff}/children"),
                &json!({"name": "engineering", "attributes": {"floor": ["3"]}}),
            )
            .await;
        ok(&child, 201);
        assert_eq!(child.body["path"], "/staff/engineering");
        assert_eq!(child.body["parentId"], staff.as_str());
        let eng = child.created_id();
        let sibling = api
            .post(
                &format!("{groups}/{staff}/children"),
                &json!({"name": "engineering"}),
            )
            .await;
        ok(&sibling, 409);
        assert_eq!(
            error_message(&sibling),
            "Sibling group named 'engineering' already exists."
        );
        let platform = api
            .post(
                &format!("{groups}/{eng}/children"),
                &json!({"name": "platform"}),
            )
            .await
            .created_id();
        ok(
            &api.post(&format!("{groups}/nope/children"), &json!({"name": "x"}))
                .await,
            404,
        );

        let top = api.get(&groups).await;
        ok(&top, 200);
        assert_eq!(names(&top), ["guests", "staff"], "{name}");
        let staff_rep = &top.body.as_array().unwrap()[1];
        assert_eq!(staff_rep["path"], "/staff");
        assert_eq!(staff_rep["subGroupCount"], 1);
        assert_eq!(staff_rep["subGroups"], json!([]));
        assert_eq!(staff_rep["access"]["manage"], true);
        assert!(staff_rep.get("attributes").is_none(), "brief by default");
        let searched = api.get(&format!("{groups}?search=PLAT")).await;
        ok(&searched, 200);
        assert_eq!(names(&searched), ["staff"], "{name}: {searched:?}");
        let trail = &searched.body[0]["subGroups"][0];
        assert_eq!(trail["name"], "engineering");
        assert_eq!(trail["subGroups"][0]["path"], "/staff/engineering/platform");
        let flat = api
            .get(&format!("{groups}?search=plat&populateHierarchy=false"))
            .await;
        assert_eq!(names(&flat), ["platform"]);
        let by_attribute = api
            .get(&format!("{groups}?q=floor:3&populateHierarchy=false"))
            .await;
        assert_eq!(names(&by_attribute), ["engineering"], "{name}");
        let paged = api.get(&format!("{groups}?first=1&max=1")).await;
        assert_eq!(names(&paged), ["staff"]);

        assert_eq!(
            api.get(&format!("{groups}/count")).await.body,
            json!({"count": 4})
        );
        assert_eq!(
            api.get(&format!("{groups}/count?top=true")).await.body,
            json!({"count": 2})
        );
        assert_eq!(
            api.get(&format!("{groups}/count?search=ENG")).await.body,
            json!({"count": 1})
        );

        let eng_rep = api.get(&format!("{groups}/{eng}")).await;
        ok(&eng_rep, 200);
        assert_eq!(eng_rep.body["path"], "/staff/engineering");
        assert_eq!(eng_rep.body["attributes"], json!({"floor": ["3"]}));
        assert_eq!(eng_rep.body["realmRoles"], json!([]));
        assert_eq!(eng_rep.body["subGroupCount"], 1);
        ok(&api.get(&format!("{groups}/nope")).await, 404);
        let kids = api.get(&format!("{groups}/{staff}/children")).await;
        assert_eq!(names(&kids), ["engineering"]);
        assert_eq!(
            kids.body[0]["attributes"],
            json!({"floor": ["3"]}),
            "full by default"
        );

        ok(
            &api.put(&format!("{groups}/{eng}"), &json!({"name": "eng"}))
                .await,
            204,
        );
        let eng_rep = api.get(&format!("{groups}/{eng}")).await.body;
        assert_eq!(eng_rep["path"], "/staff/eng");
        assert_eq!(
            eng_rep["attributes"],
            json!({"floor": ["3"]}),
            "absent attributes stay"
        );
        let rename_clash = api
            .put(&format!("{groups}/{staff}"), &json!({"name": "guests"}))
            .await;
        ok(&rename_clash, 409);
        assert_eq!(
            error_message(&rename_clash),
            "Sibling group named 'guests' already exists."
        );
        ok(&api.put(&format!("{groups}/{eng}"), &json!({})).await, 400);

        // A realm role mapped to a group reaches a member of a subgroup in its access token.
        let editor_rep = api.get(&format!("{M}/roles/editor")).await.body;
        ok(
            &api.post(
                &format!("{groups}/{eng}/role-mappings/realm"),
                &json!([editor_rep]),
            )
            .await,
            204,
        );
        assert_eq!(
            api.get(&format!("{groups}/{eng}")).await.body["realmRoles"],
            json!(["editor"])
        );
        assert_eq!(
            names(
                &api.get(&format!(
                    "{groups}/{platform}/role-mappings/realm/composite"
                ))
                .await
            ),
            ["editor", "reader"],
            "{name}: a group inherits its parents' roles"
        );
        let holders = api.get(&format!("{M}/roles/editor/groups")).await;
        assert_eq!(names(&holders), ["eng"]);

        ok(
            &api.put(&format!("{M}/users/{alice}/groups/{platform}"), &json!({}))
                .await,
            204,
        );
        ok(
            &api.put(&format!("{M}/users/{alice}/groups/{platform}"), &json!({}))
                .await,
            204,
        );
        let memberships = api.get(&format!("{M}/users/{alice}/groups")).await;
        assert_eq!(names(&memberships), ["platform"]);
        assert_eq!(memberships.body[0]["path"], "/staff/eng/platform");
        assert_eq!(
            api.get(&format!("{M}/users/{alice}/groups/count"))
                .await
                .body,
            json!({"count": 1})
        );
        let effective = names(&api.get(&format!("{rm}/realm/composite")).await);
        assert!(
            effective.contains(&"editor".to_owned()),
            "{name}: {effective:?}"
        );
        let (_, claims) = sign_in(&node, "alice").await;
        let roles = claims["realm_access"]["roles"].as_array().unwrap();
        assert!(roles.contains(&json!("editor")), "{name}: {claims}");
        assert!(roles.contains(&json!("reader")), "{name}: {claims}");
        assert_eq!(
            claims["resource_access"]["app"]["roles"],
            json!(["app-admin"])
        );

        ok(
            &api.put(&format!("{M}/users/nope/groups/{platform}"), &json!({}))
                .await,
            404,
        );
        let no_group = api
            .put(&format!("{M}/users/{alice}/groups/nope"), &json!({}))
            .await;
        ok(&no_group, 404);
        assert_eq!(no_group.body["error"], "Group not found");
        ok(
            &api.delete(&format!("{M}/users/{alice}/groups/{platform}"))
                .await,
            204,
        );
        assert_eq!(
            api.get(&format!("{M}/users/{alice}/groups/count"))
                .await
                .body,
            json!({"count": 0})
        );

        // Moving a group: to the top, and back under a parent; never under itself.
        ok(
            &api.post(&groups, &json!({"id": platform, "name": "platform"}))
                .await,
            204,
        );
        assert_eq!(
            api.get(&format!("{groups}/{platform}")).await.body["path"],
            "/platform"
        );
        ok(
            &api.post(
                &format!("{groups}/{staff}/children"),
                &json!({"id": platform, "name": "platform"}),
            )
            .await,
            204,
        );
        assert_eq!(
            api.get(&format!("{groups}/{platform}")).await.body["path"],
            "/staff/platform"
        );
        ok(
            &api.post(
                &format!("{groups}/{eng}/children"),
                &json!({"id": staff, "name": "staff"}),
            )
            .await,
            400,
        );

        ok(&api.delete(&format!("{groups}/{staff}")).await, 204);
        ok(&api.get(&format!("{groups}/{eng}")).await, 404);
        assert_eq!(names(&api.get(&groups).await), ["guests"]);

        // --- 401 and 403 --------------------------------------------------------------------------
        let anonymous = AdminApi::anonymous(&node);
        ok(&anonymous.get(&format!("{M}/roles")).await, 401);
        ok(&anonymous.get(&groups).await, 401);
        let (alice_token, _) = sign_in(&node, "alice").await;
        let nobody = AdminApi::with_token(&node, &alice_token);
        ok(&nobody.get(&format!("{M}/roles")).await, 403);
        ok(&nobody.get(&groups).await, 403);
        ok(&nobody.get(&rm).await, 403);
        ok(
            &nobody
                .post(&format!("{M}/roles"), &json!({"name": "x"}))
                .await,
            403,
        );

        // A help desk that manages users may map ordinary roles but not the master `admin` role,
        // and may not change roles themselves.
        add_user(&db, dir.path(), "helpdesk", &["manage-users", "view-users"]).await;
        let (desk_token, _) = sign_in(&node, "helpdesk").await;
        let desk = AdminApi::with_token(&node, &desk_token);
        let reader_rep = api.get(&format!("{M}/roles/reader")).await.body;
        ok(
            &desk
                .post(&format!("{rm}/realm"), &json!([reader_rep]))
                .await,
            204,
        );
        let admin_rep = api.get(&format!("{M}/roles/admin")).await.body;
        ok(
            &desk.post(&format!("{rm}/realm"), &json!([admin_rep])).await,
            403,
        );
        ok(
            &desk
                .put(&format!("{M}/roles/reader"), &json!({"name": "r"}))
                .await,
            403,
        );
        let desk_view = desk.get(&rm).await;
        ok(&desk_view, 200);
        assert_eq!(
            desk_view.body,
            json!({}),
            "{name}: roles it may not view are left out"
        );
        let desk_groups = desk.get(&groups).await;
        assert_eq!(names(&desk_groups), ["guests"]);
        assert_eq!(desk_groups.body[0]["access"]["manage"], true);

        node.stop();
    }
}
