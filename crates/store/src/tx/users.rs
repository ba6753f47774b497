//! Users, their attributes, required actions, credentials and role mappings.

use gatehouse_model::{
    ClientUuid, Credential, CredentialId, GroupId, RealmId, RoleId, User, UserId, Username,
};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{Tx, delete_by_id, load_list, load_multimap, put_list, put_multimap};
use crate::error::{StoreError, from_sqlx, map_err};
use crate::rows::{RowExt as _, flag};

const SELECT: &str = "SELECT id, realm_id, username, email, first_name, last_name, enabled, \
    email_verified, created_timestamp, federation_link, service_account_client_link, not_before \
    FROM user_entity";

fn user_from_row(r: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::new(r.text("id")?),
        realm_id: RealmId::new(r.text("realm_id")?),
        username: Username::new(r.text("username")?),
        email: r.opt_text("email")?,
        first_name: r.opt_text("first_name")?,
        last_name: r.opt_text("last_name")?,
        enabled: r.flag("enabled")?,
        email_verified: r.flag("email_verified")?,
        created_timestamp: r.long("created_timestamp")?,
        federation_link: r.opt_text("federation_link")?,
        service_account_client_link: r
            .opt_text("service_account_client_link")?
            .map(ClientUuid::new),
        attributes: Default::default(),
        required_actions: Vec::new(),
        not_before: r.long("not_before")?,
    })
}

async fn fetch_users(
    conn: &mut AnyConnection,
    query: Query<'static, sqlx::Any, AnyArguments>,
) -> Result<Vec<User>, StoreError> {
    let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut user = user_from_row(row)?;
        let id = user.id.as_str().to_owned();
        user.attributes = load_multimap(conn, "user_attribute", "user_id", &id).await?;
        user.required_actions =
            load_list(conn, "user_required_action", "user_id", "action", &id).await?;
        out.push(user);
    }
    Ok(out)
}

async fn put_children(conn: &mut AnyConnection, u: &User) -> Result<(), StoreError> {
    let id = u.id.as_str();
    put_multimap(conn, "user_attribute", "user_id", id, &u.attributes).await?;
    put_list(
        conn,
        "user_required_action",
        "user_id",
        "action",
        id,
        &u.required_actions,
    )
    .await
}

/// Keycloak keeps emails lower-cased, so look-ups by email ignore case.
fn lower_email(email: &Option<String>) -> Option<String> {
    email.as_deref().map(str::to_lowercase)
}

fn select(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("{SELECT} {filter}"))
}

fn credential_from_row(r: &AnyRow) -> Result<Credential, StoreError> {
    Ok(Credential {
        id: CredentialId::new(r.text("id")?),
        user_id: UserId::new(r.text("user_id")?),
        credential_type: r.text("type")?,
        user_label: r.opt_text("user_label")?,
        created_date: r.long("created_date")?,
        secret_data: r.text("secret_data")?,
        credential_data: r.text("credential_data")?,
        priority: r.int("priority")?,
    })
}

impl Tx {
    /// Stores a new user; `Conflict("username")` if the realm has that username already.
    /// The email is stored lower-cased.
    pub async fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        self.changed();
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO user_entity (id, realm_id, username, email, first_name, last_name, \
             enabled, email_verified, created_timestamp, federation_link, \
             service_account_client_link, not_before) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(u.id.as_str())
        .bind(u.realm_id.as_str())
        .bind(u.username.as_str())
        .bind(lower_email(&u.email))
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(flag(u.enabled))
        .bind(flag(u.email_verified))
        .bind(u.created_timestamp)
        .bind(u.federation_link.as_deref())
        .bind(
            u.service_account_client_link
                .as_ref()
                .map(ClientUuid::as_str),
        )
        .bind(u.not_before)
        .execute(&mut *conn)
        .await
        .map_err(map_err("username"))?;
        put_children(conn, u).await
    }

    /// The user with this id.
    pub async fn user_by_id(&mut self, id: &UserId) -> Result<Option<User>, StoreError> {
        let q = sqlx::query(select("WHERE id = $1")).bind(id.as_str().to_owned());
        Ok(fetch_users(self.conn(), q).await?.pop())
    }

    /// The realm's user with this username.
    pub async fn user_by_username(
        &mut self,
        realm: &RealmId,
        username: &Username,
    ) -> Result<Option<User>, StoreError> {
        let q = sqlx::query(select("WHERE realm_id = $1 AND username = $2"))
            .bind(realm.as_str().to_owned())
            .bind(username.as_str().to_owned());
        Ok(fetch_users(self.conn(), q).await?.pop())
    }

    /// The realm's user with this email (any case). Where duplicates are allowed, the oldest.
    pub async fn user_by_email(
        &mut self,
        realm: &RealmId,
        email: &str,
    ) -> Result<Option<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE realm_id = $1 AND email = $2 ORDER BY created_timestamp, id LIMIT 1",
        ))
        .bind(realm.as_str().to_owned())
        .bind(email.to_lowercase());
        Ok(fetch_users(self.conn(), q).await?.pop())
    }

    /// How many users the realm has (service-account users included).
    pub async fn count_users(&mut self, realm: &RealmId) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM user_entity WHERE realm_id = $1")
            .bind(realm.as_str())
            .fetch_one(self.conn())
            .await
            .map_err(from_sqlx)
    }

    /// A page of the realm's users by username: skip `first`, return at most `max`.
    pub async fn list_users(
        &mut self,
        realm: &RealmId,
        first: i64,
        max: i64,
    ) -> Result<Vec<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE realm_id = $1 ORDER BY username LIMIT $2 OFFSET $3",
        ))
        .bind(realm.as_str().to_owned())
        .bind(max.max(0))
        .bind(first.max(0));
        fetch_users(self.conn(), q).await
    }

    /// Replaces the user row, attributes and required actions; false if there is no such user.
    pub async fn update_user(&mut self, u: &User) -> Result<bool, StoreError> {
        self.changed();
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE user_entity SET username = $2, email = $3, first_name = $4, last_name = $5, \
             enabled = $6, email_verified = $7, created_timestamp = $8, federation_link = $9, \
             service_account_client_link = $10, not_before = $11 WHERE id = $1",
        )
        .bind(u.id.as_str())
        .bind(u.username.as_str())
        .bind(lower_email(&u.email))
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(flag(u.enabled))
        .bind(flag(u.email_verified))
        .bind(u.created_timestamp)
        .bind(u.federation_link.as_deref())
        .bind(
            u.service_account_client_link
                .as_ref()
                .map(ClientUuid::as_str),
        )
        .bind(u.not_before)
        .execute(&mut *conn)
        .await
        .map_err(map_err("username"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        put_children(conn, u).await?;
        Ok(true)
    }

    /// Deletes the user with everything hanging off it.
    pub async fn delete_user(&mut self, id: &UserId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "user_entity", id.as_str()).await
    }

    /// Stores a new credential.
    pub async fn insert_credential(&mut self, c: &Credential) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO credential (id, user_id, type, user_label, created_date, secret_data, \
             credential_data, priority) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id.as_str())
        .bind(c.user_id.as_str())
        .bind(c.credential_type.as_str())
        .bind(c.user_label.as_deref())
        .bind(c.created_date)
        .bind(c.secret_data.as_str())
        .bind(c.credential_data.as_str())
        .bind(c.priority)
        .execute(self.conn())
        .await
        .map_err(map_err("credential id"))?;
        Ok(())
    }

    /// The user's credentials, lowest priority value first.
    pub async fn credentials_of(&mut self, user: &UserId) -> Result<Vec<Credential>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, type, user_label, created_date, secret_data, credential_data, \
             priority FROM credential WHERE user_id = $1 ORDER BY priority, created_date, id",
        )
        .bind(user.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Replaces a credential (say, after a re-hash); false if there is no such credential.
    pub async fn update_credential(&mut self, c: &Credential) -> Result<bool, StoreError> {
        self.changed();
        let done = sqlx::query(
            "UPDATE credential SET type = $2, user_label = $3, created_date = $4, \
             secret_data = $5, credential_data = $6, priority = $7 WHERE id = $1",
        )
        .bind(c.id.as_str())
        .bind(c.credential_type.as_str())
        .bind(c.user_label.as_deref())
        .bind(c.created_date)
        .bind(c.secret_data.as_str())
        .bind(c.credential_data.as_str())
        .bind(c.priority)
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a credential.
    pub async fn delete_credential(&mut self, id: &CredentialId) -> Result<bool, StoreError> {
        self.changed();
        delete_by_id(self.conn(), "credential", id.as_str()).await
    }

    /// Grants a role to a user directly; granting it twice is harmless.
    pub async fn grant_user_role(
        &mut self,
        user: &UserId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        self.changed();
        sqlx::query(
            "INSERT INTO user_role_mapping (user_id, role_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user.as_str())
        .bind(role.as_str())
        .execute(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    /// Takes a directly granted role away; false if it was not granted.
    pub async fn revoke_user_role(
        &mut self,
        user: &UserId,
        role: &RoleId,
    ) -> Result<bool, StoreError> {
        self.changed();
        let done = sqlx::query("DELETE FROM user_role_mapping WHERE user_id = $1 AND role_id = $2")
            .bind(user.as_str())
            .bind(role.as_str())
            .execute(self.conn())
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// The roles granted to the user directly (not through groups or composites).
    pub async fn user_role_ids(&mut self, user: &UserId) -> Result<Vec<RoleId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT role_id FROM user_role_mapping WHERE user_id = $1 ORDER BY role_id",
        )
        .bind(user.as_str())
        .fetch_all(self.conn())
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(RoleId::new).collect())
    }

    /// The users granted a role directly, by username.
    pub async fn users_with_role(&mut self, role: &RoleId) -> Result<Vec<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE id IN (SELECT user_id FROM user_role_mapping WHERE role_id = $1) \
             ORDER BY username",
        ))
        .bind(role.as_str().to_owned());
        fetch_users(self.conn(), q).await
    }
}

/// How a text column must match in a [`UserFilter`]. Values are compared as given: the caller
/// lower-cases them, and the store compares against lower-cased columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    /// Equal to this text.
    Equals(String),
    /// SQL `LIKE` this pattern, in which `\` escapes `%`, `_` and `\`.
    Like(String),
}

/// Which users a search returns (Keycloak's user search criteria, already interpreted).
/// Every criterion present must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Each term must match the username, the email, or the lower-cased first or last name.
    pub search: Vec<TextMatch>,
    /// Matches the (lower-case) username.
    pub username: Option<TextMatch>,
    /// Matches the (lower-case) email.
    pub email: Option<TextMatch>,
    /// Matches the lower-cased first name.
    pub first_name: Option<TextMatch>,
    /// Matches the lower-cased last name.
    pub last_name: Option<TextMatch>,
    /// The user is enabled (or not).
    pub enabled: Option<bool>,
    /// The user's email is verified (or not).
    pub email_verified: Option<bool>,
    /// The user has an attribute of this exact name whose lower-cased value matches.
    pub attributes: Vec<(String, TextMatch)>,
    /// Service-account users are returned too.
    pub include_service_accounts: bool,
}

enum Arg {
    Text(String),
    Flag(i32),
}

/// A `WHERE` clause built from constant fragments and numbered placeholders only: no input
/// ever becomes SQL text.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn matches(&mut self, column: &'static str, m: &TextMatch) -> String {
        match m {
            TextMatch::Equals(v) => {
                let p = self.arg(Arg::Text(v.clone()));
                format!("{column} = {p}")
            }
            TextMatch::Like(v) => {
                let p = self.arg(Arg::Text(v.clone()));
                format!("{column} LIKE {p} ESCAPE '\\'")
            }
        }
    }

    fn of(realm: &RealmId, f: &UserFilter) -> Where {
        let mut w = Where::default();
        let p = w.arg(Arg::Text(realm.as_str().to_owned()));
        w.clauses.push(format!("realm_id = {p}"));
        if !f.include_service_accounts {
            w.clauses
                .push("service_account_client_link IS NULL".to_owned());
        }
        for term in &f.search {
            let any = [
                w.matches("username", term),
                w.matches("email", term),
                w.matches("lower(first_name)", term),
                w.matches("lower(last_name)", term),
            ];
            w.clauses.push(format!("({})", any.join(" OR ")));
        }
        let columns = [
            ("username", &f.username),
            ("email", &f.email),
            ("lower(first_name)", &f.first_name),
            ("lower(last_name)", &f.last_name),
        ];
        for (column, m) in columns {
            if let Some(m) = m {
                let c = w.matches(column, m);
                w.clauses.push(c);
            }
        }
        for (column, value) in [("enabled", f.enabled), ("email_verified", f.email_verified)] {
            if let Some(value) = value {
                let p = w.arg(Arg::Flag(flag(value)));
                w.clauses.push(format!("{column} = {p}"));
            }
        }
        for (name, m) in &f.attributes {
            let n = w.arg(Arg::Text(name.clone()));
            let v = w.matches("lower(a.value)", m);
            w.clauses.push(format!(
                "EXISTS (SELECT 1 FROM user_attribute a WHERE a.user_id = user_entity.id \
                 AND a.name = {n} AND {v})"
            ));
        }
        w
    }

    fn sql(&self) -> String {
        format!("WHERE {}", self.clauses.join(" AND "))
    }

    fn bind<'q>(
        self,
        mut q: Query<'q, sqlx::Any, AnyArguments>,
    ) -> Query<'q, sqlx::Any, AnyArguments> {
        for arg in self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v),
                Arg::Flag(v) => q.bind(v),
            };
        }
        q
    }
}

/// Keycloak's "no maximum" (a negative or absent `max`) as a `LIMIT` both engines accept.
fn limit(max: Option<i64>) -> i64 {
    max.filter(|m| *m >= 0).unwrap_or(i64::MAX)
}

impl Tx {
    /// A page of the realm's users matching `filter`, by username: skip `first`, return at
    /// most `max` (all when `None`).
    pub async fn search_users(
        &mut self,
        realm: &RealmId,
        filter: &UserFilter,
        first: i64,
        max: Option<i64>,
    ) -> Result<Vec<User>, StoreError> {
        let w = Where::of(realm, filter);
        let n = w.args.len();
        let text = format!(
            "{SELECT} {} ORDER BY username LIMIT ${} OFFSET ${}",
            w.sql(),
            n + 1,
            n + 2
        );
        let q = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(text)))
            .bind(limit(max))
            .bind(first.max(0));
        fetch_users(self.conn(), q).await
    }

    /// How many of the realm's users match `filter`.
    pub async fn count_users_matching(
        &mut self,
        realm: &RealmId,
        filter: &UserFilter,
    ) -> Result<i64, StoreError> {
        let w = Where::of(realm, filter);
        let text = format!("SELECT COUNT(*) AS n FROM user_entity {}", w.sql());
        let row = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(text)))
            .fetch_one(self.conn())
            .await
            .map_err(from_sqlx)?;
        row.long("n")
    }

    /// A page of the group's direct members, by username.
    pub async fn group_members(
        &mut self,
        group: &GroupId,
        first: i64,
        max: Option<i64>,
    ) -> Result<Vec<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE id IN (SELECT user_id FROM user_group_membership WHERE group_id = $1) \
             ORDER BY username LIMIT $2 OFFSET $3",
        ))
        .bind(group.as_str().to_owned())
        .bind(limit(max))
        .bind(first.max(0));
        fetch_users(self.conn(), q).await
    }

    /// A page of the users granted a role directly, by username.
    pub async fn role_members(
        &mut self,
        role: &RoleId,
        first: i64,
        max: Option<i64>,
    ) -> Result<Vec<User>, StoreError> {
        let q = sqlx::query(select(
            "WHERE id IN (SELECT user_id FROM user_role_mapping WHERE role_id = $1) \
             ORDER BY username LIMIT $2 OFFSET $3",
        ))
        .bind(role.as_str().to_owned())
        .bind(limit(max))
        .bind(first.max(0));
        fetch_users(self.conn(), q).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use gatehouse_model::{
        Client, ClientId, ClientUuid, Group, GroupId, Realm, RealmId, RealmName, Role, RoleId,
        User, UserId, Username,
    };

    use super::{TextMatch, UserFilter};
    use crate::Store;
    use crate::testing::backends;

    fn user(realm: &RealmId, name: &str, first: &str, last: &str, email: &str) -> User {
        User {
            id: UserId::new_random(),
            realm_id: realm.clone(),
            username: Username::new(name),
            email: Some(email.to_owned()),
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            enabled: true,
            email_verified: false,
            created_timestamp: 0,
            federation_link: None,
            service_account_client_link: None,
            attributes: Default::default(),
            required_actions: Vec::new(),
            not_before: 0,
        }
    }

    fn names(users: &[User]) -> Vec<&str> {
        users.iter().map(|u| u.username.as_str()).collect()
    }

    fn like(p: &str) -> TextMatch {
        TextMatch::Like(p.to_owned())
    }

    #[tokio::test]
    async fn user_search_filters_pages_and_counts() {
        for db in backends().await {
            let store = Store::connect(&db.options("users-test")).await.unwrap();
            store.migrate(Duration::from_secs(30)).await.unwrap();
            let realm = Realm::new(RealmId::new_random(), RealmName::new("search").unwrap());
            let mut tx = store.begin().await.unwrap();
            tx.insert_realm(&realm).await.unwrap();
            let rid = &realm.id;
            let mut alice = user(rid, "alice", "Alice", "Smith", "alice@example.com");
            alice.attributes.insert("dept".into(), vec!["Eng".into()]);
            alice.email_verified = true;
            let mut bob = user(rid, "bob", "Bob", "Smithers", "bob@example.org");
            bob.enabled = false;
            bob.attributes.insert("dept".into(), vec!["sales".into()]);
            let carol = user(rid, "carol_1", "Carol", "Jones", "carol@example.com");
            for u in [&carol, &bob, &alice] {
                tx.insert_user(u).await.unwrap();
            }
            let client = Client::new(ClientUuid::new_random(), rid.clone(), ClientId::new("svc"));
            tx.insert_client(&client).await.unwrap();
            let mut sa = user(rid, "service-account-svc", "", "", "sa@example.com");
            sa.service_account_client_link = Some(client.id.clone());
            tx.insert_user(&sa).await.unwrap();

            let all = UserFilter::default();
            let found = tx.search_users(rid, &all, 0, None).await.unwrap();
            assert_eq!(names(&found), ["alice", "bob", "carol_1"], "{}", db.name);
            assert_eq!(tx.count_users_matching(rid, &all).await.unwrap(), 3);
            let with_sa = UserFilter {
                include_service_accounts: true,
                ..Default::default()
            };
            assert_eq!(tx.count_users_matching(rid, &with_sa).await.unwrap(), 4);
            let page = tx.search_users(rid, &all, 1, Some(1)).await.unwrap();
            assert_eq!(names(&page), ["bob"], "{}", db.name);

            // A search term matches any of the four columns; terms must all match.
            let f = UserFilter {
                search: vec![like("smith%")],
                ..Default::default()
            };
            let found = tx.search_users(rid, &f, 0, None).await.unwrap();
            assert_eq!(names(&found), ["alice", "bob"], "{}", db.name);
            let f = UserFilter {
                search: vec![like("smith%"), like("%.org")],
                ..Default::default()
            };
            let found = tx.search_users(rid, &f, 0, None).await.unwrap();
            assert_eq!(names(&found), ["bob"], "{}", db.name);
            // `_` escaped is a literal underscore, not "any character".
            let f = UserFilter {
                search: vec![like("carol\\_%")],
                ..Default::default()
            };
            assert_eq!(tx.count_users_matching(rid, &f).await.unwrap(), 1);
            let f = UserFilter {
                search: vec![like("caro\\_%")],
                ..Default::default()
            };
            assert_eq!(tx.count_users_matching(rid, &f).await.unwrap(), 0);

            let f = UserFilter {
                last_name: Some(TextMatch::Equals("smith".into())),
                ..Default::default()
            };
            let found = tx.search_users(rid, &f, 0, None).await.unwrap();
            assert_eq!(names(&found), ["alice"], "{}", db.name);
            let f = UserFilter {
                email: Some(like("%example.com%")),
                enabled: Some(true),
                ..Default::default()
            };
            let found = tx.search_users(rid, &f, 0, None).await.unwrap();
            assert_eq!(names(&found), ["alice", "carol_1"], "{}", db.name);
            let f = UserFilter {
                email_verified: Some(true),
                ..Default::default()
            };
            assert_eq!(tx.count_users_matching(rid, &f).await.unwrap(), 1);
            let f = UserFilter {
                attributes: vec![("dept".into(), TextMatch::Equals("eng".into()))],
                ..Default::default()
            };
            let found = tx.search_users(rid, &f, 0, None).await.unwrap();
            assert_eq!(names(&found), ["alice"], "{}", db.name);
            let f = UserFilter {
                attributes: vec![("dept".into(), like("%a%")), ("dept".into(), like("%s%"))],
                ..Default::default()
            };
            let found = tx.search_users(rid, &f, 0, None).await.unwrap();
            assert_eq!(names(&found), ["bob"], "{}", db.name);

            // Paged members of a group and holders of a role, by username.
            let group = Group {
                id: GroupId::new_random(),
                realm_id: rid.clone(),
                parent_id: None,
                name: "g".into(),
                description: None,
                attributes: Default::default(),
            };
            tx.insert_group(&group).await.unwrap();
            let role = Role {
                id: RoleId::new_random(),
                realm_id: rid.clone(),
                client: None,
                name: "r".into(),
                description: None,
                attributes: Default::default(),
            };
            tx.insert_role(&role).await.unwrap();
            for u in [&carol, &alice, &bob] {
                tx.join_group(&u.id, &group.id).await.unwrap();
                tx.grant_user_role(&u.id, &role.id).await.unwrap();
            }
            let members = tx.group_members(&group.id, 1, Some(5)).await.unwrap();
            assert_eq!(names(&members), ["bob", "carol_1"], "{}", db.name);
            let holders = tx.role_members(&role.id, 0, Some(2)).await.unwrap();
            assert_eq!(names(&holders), ["alice", "bob"], "{}", db.name);
            tx.rollback().await.unwrap();
            store.close().await;
        }
    }
}
