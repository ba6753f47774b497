//! Admin REST API rules for users (Keycloak 26's `UsersResource` and `UserResource`): search
//! and count, create with credentials and groups, partial update, passwords, credentials,
//! sessions and logout, and the member listings of groups and roles.

use std::collections::BTreeMap;

use gatehouse_model::rep::session::UserSessionRepresentation;
use gatehouse_model::rep::user::{CredentialRepresentation, UserAccess, UserRepresentation};
use gatehouse_model::{
    ClientUuid, Credential, CredentialId, Group, GroupId, Realm, User, UserId, UserSession,
    Username,
};
use gatehouse_store::{StoreError, TextMatch, Tx, UserFilter};
use serde_json::{Value, json};

use super::{AdminIdentity, Permission};
use crate::tokens::password_policy;
use crate::{RequestCtx, ServiceError, Services, now_millis, now_secs};

/// Keycloak's `DEFAULT_MAX_RESULTS`.
const DEFAULT_MAX: i64 = 100;
/// The required action a temporary password sets.
const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";
/// Where a permanent brute-force lockout is recorded on the user.
const DISABLED_REASON: &str = "disabledReason";

/// A user write Keycloak refuses with a body of its own rather than `{"errorMessage": ..}`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRefusal {
    /// `{"error": .., "error_description": ..}`: a refused password (`error` is Keycloak's
    /// message key, e.g. `invalidPasswordMinLengthMessage`) or a missing one.
    Error {
        /// Keycloak's error code or message key.
        error: String,
        /// The English text, when Keycloak sends one.
        description: Option<String>,
    },
    /// `{"field": .., "errorMessage": .., "params": [..]}`: a user-profile validation error.
    Field {
        /// The attribute at fault.
        field: &'static str,
        /// Keycloak's message key.
        message: &'static str,
        /// The message's parameters (the attribute name first).
        params: Vec<Value>,
    },
}

impl UserRefusal {
    /// Keycloak's JSON body for this refusal (always a 400).
    pub fn body(&self) -> Value {
        match self {
            UserRefusal::Error {
                error,
                description: None,
            } => json!({ "error": error }),
            UserRefusal::Error {
                error,
                description: Some(d),
            } => json!({ "error": error, "error_description": d }),
            UserRefusal::Field {
                field,
                message,
                params,
            } => json!({ "field": field, "errorMessage": message, "params": params }),
        }
    }
}

/// The outcome of a user write: done, or refused with Keycloak's 400 body.
pub type UserWrite<T> = Result<T, UserRefusal>;

/// The criteria of `GET /users` and `GET /users/count`, as Keycloak's query parameters.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// Matched against username, email, first and last name: prefix by default, `*` as a
    /// wildcard, `"..."` for an exact match; whitespace separates terms that must all match.
    /// `id:<id>` finds one user by id.
    pub search: Option<String>,
    /// Username filter (substring, or exact with `exact`).
    pub username: Option<String>,
    /// First-name filter.
    pub first_name: Option<String>,
    /// Last-name filter.
    pub last_name: Option<String>,
    /// Email filter.
    pub email: Option<String>,
    /// Whether the four filters above (and `q`) match exactly.
    pub exact: Option<bool>,
    /// Enabled users only (or disabled ones only).
    pub enabled: Option<bool>,
    /// Verified emails only (or unverified ones only).
    pub email_verified: Option<bool>,
    /// Attribute search, `key:value key2:value2`.
    pub q: Option<String>,
    /// Offset of the page.
    pub first: Option<i64>,
    /// Size of the page (100 by default; negative for all).
    pub max: Option<i64>,
    /// Brief representations.
    pub brief: bool,
    /// Users linked to this identity provider (none can be: brokering does not exist yet).
    pub idp_alias: Option<String>,
    /// Users with this id at an identity provider (none, as above).
    pub idp_user_id: Option<String>,
}

/// `foo` -> `foo%`, `*foo*` -> `%foo%`, `"foo"` -> exactly `foo`, as Keycloak's
/// `getSearchOptionPredicateArray` reads a search term.
fn search_term(term: &str) -> TextMatch {
    let term = term.to_lowercase();
    if term.len() >= 2 && term.starts_with('"') && term.ends_with('"') {
        return TextMatch::Equals(term[1..term.len() - 1].to_owned());
    }
    let mut pattern = escape_like(&term).replace('*', "%");
    if !pattern.ends_with('%') {
        pattern.push('%');
    }
    TextMatch::Like(pattern)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn field_match(value: &str, exact: bool) -> TextMatch {
    let value = value.to_lowercase();
    if exact {
        TextMatch::Equals(value)
    } else {
        TextMatch::Like(format!("%{}%", escape_like(&value)))
    }
}

/// Keycloak's `SearchQueryUtils.getFields`: `key:value` pairs separated by spaces; a key or
/// value with spaces is quoted (`"my key":"my value"`).
fn query_fields(q: &str) -> Vec<(String, String)> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
        .into_iter()
        .filter_map(|t| {
            let (k, v) = t.split_once(':')?;
            (!k.trim().is_empty()).then(|| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The store filter Keycloak's `UsersResource.getUsers` builds: `search` wins over the field
/// filters; service accounts are left out of a `search` and of an unfiltered listing, and
/// included when any field filter is given. `q` attributes match exactly unless `exact=false`.
fn filter_of(s: &UserSearch) -> UserFilter {
    let fields = s.q.as_deref().map(query_fields).unwrap_or_default();
    if let Some(search) = &s.search {
        return UserFilter {
            search: search.split_whitespace().map(search_term).collect(),
            enabled: s.enabled,
            ..Default::default()
        };
    }
    let filtered = s.username.is_some()
        || s.first_name.is_some()
        || s.last_name.is_some()
        || s.email.is_some()
        || s.email_verified.is_some()
        || s.enabled.is_some()
        || s.exact.is_some()
        || !fields.is_empty();
    if !filtered {
        return UserFilter::default();
    }
    let exact = s.exact.unwrap_or(false);
    let attribute_exact = s.exact.unwrap_or(true);
    UserFilter {
        username: s.username.as_deref().map(|v| field_match(v, exact)),
        email: s.email.as_deref().map(|v| field_match(v, exact)),
        first_name: s.first_name.as_deref().map(|v| field_match(v, exact)),
        last_name: s.last_name.as_deref().map(|v| field_match(v, exact)),
        enabled: s.enabled,
        email_verified: s.email_verified,
        attributes: fields
            .into_iter()
            .map(|(k, v)| (k, field_match(&v, attribute_exact)))
            .collect(),
        include_service_accounts: true,
        ..Default::default()
    }
}

/// The `id:<id>` form of `search`.
fn search_id(s: &UserSearch) -> Option<UserId> {
    s.search
        .as_deref()
        .and_then(|v| v.strip_prefix("id:"))
        .map(|id| UserId::new(id.trim()))
}

/// What `who` may do with the realm's users (Keycloak's `UserPermissions.getAccess` without
/// fine-grained permissions).
fn access(who: &AdminIdentity, realm: &Realm) -> UserAccess {
    let manage = who.may(realm, Permission::ManageUsers);
    UserAccess {
        manage_group_membership: manage,
        view: who.may(realm, Permission::ViewUsers),
        map_roles: manage,
        impersonate: who.may(realm, Permission::Impersonation),
        manage,
    }
}

/// The policies of Keycloak's password policy string that check the password itself, with
/// Keycloak's message keys and English texts. Hashing policies are read elsewhere; others
/// (history, blacklist, regex) are not enforced yet.
fn check_password(realm: &Realm, user: &User, password: &str) -> Result<(), UserRefusal> {
    let refuse = |key: &str, text: String| {
        Err(UserRefusal::Error {
            error: key.to_owned(),
            description: Some(text),
        })
    };
    for (name, arg) in crate::tokens::policy_terms(realm) {
        let n = |default: usize| arg.parse::<usize>().unwrap_or(default);
        let count = |f: fn(&char) -> bool| password.chars().filter(f).count();
        match name {
            "length" if password.chars().count() < n(8) => {
                return refuse(
                    "invalidPasswordMinLengthMessage",
                    format!("Invalid password: minimum length {}.", n(8)),
                );
            }
            "maxLength" if password.chars().count() > n(64) => {
                return refuse(
                    "invalidPasswordMaxLengthMessage",
                    format!("Invalid password: maximum length {}.", n(64)),
                );
            }
            "digits" if count(char::is_ascii_digit) < n(1) => {
                return refuse(
                    "invalidPasswordMinDigitsMessage",
                    format!(
                        "Invalid password: must contain at least {} numerical digits.",
                        n(1)
                    ),
                );
            }
            "lowerCase" if count(|c| c.is_lowercase()) < n(1) => {
                return refuse(
                    "invalidPasswordMinLowerCaseCharsMessage",
                    format!(
                        "Invalid password: must contain at least {} lower case characters.",
                        n(1)
                    ),
                );
            }
            "upperCase" if count(|c| c.is_uppercase()) < n(1) => {
                return refuse(
                    "invalidPasswordMinUpperCaseCharsMessage",
                    format!(
                        "Invalid password: must contain at least {} upper case characters.",
                        n(1)
                    ),
                );
            }
            "specialChars" if count(|c| !c.is_alphanumeric()) < n(1) => {
                return refuse(
                    "invalidPasswordMinSpecialCharsMessage",
                    format!(
                        "Invalid password: must contain at least {} special characters.",
                        n(1)
                    ),
                );
            }
            "notUsername" if password.eq_ignore_ascii_case(user.username.as_str()) => {
                return refuse(
                    "invalidPasswordNotUsernameMessage",
                    "Invalid password: must not be equal to the username.".to_owned(),
                );
            }
            "notEmail"
                if user
                    .email
                    .as_deref()
                    .is_some_and(|e| password.eq_ignore_ascii_case(e)) =>
            {
                return refuse(
                    "invalidPasswordNotEmailMessage",
                    "Invalid password: must not be equal to the email.".to_owned(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// A password to store, hashed before any transaction opens (hashing is slow).
struct NewPassword {
    secret_data: String,
    credential_data: String,
    temporary: bool,
}

/// The realm's group with this path (`/top/sub`, the leading slash optional).
async fn group_by_path(
    tx: &mut Tx,
    realm: &Realm,
    path: &str,
) -> Result<Option<Group>, StoreError> {
    let mut names = path.trim().trim_matches('/').split('/');
    let Some(top) = names.next().filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let mut current = tx
        .top_level_groups(&realm.id)
        .await?
        .into_iter()
        .find(|g| g.name == top);
    for name in names {
        let Some(parent) = current else {
            return Ok(None);
        };
        current = tx
            .subgroups(&parent.id)
            .await?
            .into_iter()
            .find(|g| g.name == name);
    }
    Ok(current)
}

/// Replaces the user's password credential (or adds the first one), keeping its id.
async fn store_password(tx: &mut Tx, user: &UserId, p: NewPassword) -> Result<(), StoreError> {
    let existing = tx
        .credentials_of(user)
        .await?
        .into_iter()
        .find(|c| c.credential_type == "password");
    match existing {
        Some(old) => {
            tx.update_credential(&Credential {
                secret_data: p.secret_data,
                credential_data: p.credential_data,
                created_date: now_millis(),
                ..old
            })
            .await?;
        }
        None => {
            tx.insert_credential(&Credential {
                id: CredentialId::new_random(),
                user_id: user.clone(),
                credential_type: "password".into(),
                user_label: None,
                created_date: now_millis(),
                secret_data: p.secret_data,
                credential_data: p.credential_data,
                priority: 10,
            })
            .await?;
        }
    }
    Ok(())
}

fn user_exists() -> ServiceError {
    ServiceError::Conflict("User exists with same username".into())
}

fn email_exists() -> ServiceError {
    ServiceError::Conflict("User exists with same email".into())
}

fn missing_username() -> ServiceError {
    ServiceError::Invalid("User name is missing".into())
}

impl Services {
    /// The realm's user `id`, or Keycloak's 404 (`User not found`) when it is not there, then
    /// 403 unless `who` has `permission` (Keycloak answers 404 to anyone who may query users).
    pub(super) async fn admin_target_user(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        permission: Permission,
    ) -> Result<User, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let user = tx.user_by_id(&UserId::new(id)).await?;
        tx.rollback().await?;
        let user = user
            .filter(|u| u.realm_id == realm.id)
            .ok_or_else(|| ServiceError::NotFound("User".into()))?;
        who.require(realm, permission)?;
        Ok(user)
    }

    /// Hashes the passwords of a representation's credentials after checking the realm's
    /// policy; other credential types are not supported and are skipped.
    async fn new_password(
        &self,
        realm: &Realm,
        user: &User,
        creds: Option<&[CredentialRepresentation]>,
    ) -> Result<UserWrite<Option<NewPassword>>, ServiceError> {
        let Some(cred) = creds.into_iter().flatten().rev().find(|c| {
            c.credential_type.as_deref().unwrap_or("password") == "password" && c.value.is_some()
        }) else {
            return Ok(Ok(None));
        };
        let value = cred.value.as_deref().unwrap_or_default();
        if let Err(refusal) = check_password(realm, user, value) {
            return Ok(Err(refusal));
        }
        let stored = self
            .hasher
            .hash(value.to_owned(), password_policy(realm))
            .await?;
        Ok(Ok(Some(NewPassword {
            secret_data: stored.secret_data,
            credential_data: stored.credential_data,
            temporary: cred.temporary.unwrap_or(false),
        })))
    }

    /// `GET /users`: a page of the realm's users matching `search`, by username, with what
    /// the caller may do with each. A caller that may only query users sees none, as Keycloak.
    pub async fn admin_search_users(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        search: &UserSearch,
    ) -> Result<Vec<UserRepresentation>, ServiceError> {
        if !who.may(realm, Permission::ViewUsers)
            || (search.search.is_none()
                && (search.idp_alias.is_some() || search.idp_user_id.is_some()))
        {
            return Ok(Vec::new());
        }
        let mut tx = self.store().begin_read().await?;
        let users = if let Some(id) = search_id(search) {
            tx.user_by_id(&id)
                .await?
                .filter(|u| u.realm_id == realm.id)
                .into_iter()
                .collect()
        } else {
            tx.search_users(
                &realm.id,
                &filter_of(search),
                search.first.unwrap_or(0),
                Some(search.max.unwrap_or(DEFAULT_MAX)),
            )
            .await?
        };
        tx.rollback().await?;
        let access = access(who, realm);
        Ok(users
            .iter()
            .map(|u| {
                let mut rep = UserRepresentation::of(u, search.brief);
                rep.access = Some(access);
                rep
            })
            .collect())
    }

    /// `GET /users/count`: how many users match `search` (paging and `exact` ignored, as
    /// Keycloak's count ignores them); 0 for a caller that may not view users.
    pub async fn admin_count_users(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        search: &UserSearch,
    ) -> Result<i64, ServiceError> {
        if !who.may(realm, Permission::ViewUsers) {
            return Ok(0);
        }
        let mut tx = self.store().begin_read().await?;
        let count = if let Some(id) = search_id(search) {
            i64::from(
                tx.user_by_id(&id)
                    .await?
                    .is_some_and(|u| u.realm_id == realm.id),
            )
        } else {
            let mut criteria = search.clone();
            criteria.exact = None;
            let mut filter = filter_of(&criteria);
            // Keycloak counts service accounts in a `search`, but not in a bare count.
            filter.include_service_accounts =
                criteria.search.is_some() || filter != UserFilter::default();
            tx.count_users_matching(&realm.id, &filter).await?
        };
        tx.rollback().await?;
        Ok(count)
    }

    /// `POST /users`: creates a user with its password, groups, the realm's default role and
    /// default groups, in one transaction. Returns the new id, or Keycloak's refusal.
    pub async fn admin_create_user(
        &self,
        realm: &Realm,
        rep: &UserRepresentation,
    ) -> Result<UserWrite<UserId>, ServiceError> {
        let username = if realm.registration_email_as_username {
            rep.email.clone()
        } else {
            rep.username.clone()
        };
        let username = username
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .ok_or_else(missing_username)?;
        if !(3..=255).contains(&username.chars().count()) {
            return Ok(Err(UserRefusal::Field {
                field: "username",
                message: "error-invalid-length",
                params: vec![json!("username"), json!(3), json!(255)],
            }));
        }
        let id = match &rep.id {
            None => UserId::new_random(),
            Some(id) => match uuid::Uuid::parse_str(id) {
                Ok(u) if u.to_string() == *id => UserId::new(id.clone()),
                _ => return Err(ServiceError::Invalid("Invalid user ID".into())),
            },
        };
        let mut user = User {
            id,
            realm_id: realm.id.clone(),
            username: Username::new(&username),
            email: None,
            first_name: None,
            last_name: None,
            enabled: false,
            email_verified: false,
            created_timestamp: rep.created_timestamp.unwrap_or_else(now_millis),
            federation_link: None,
            service_account_client_link: None,
            attributes: BTreeMap::new(),
            required_actions: Vec::new(),
            not_before: 0,
        };
        rep.apply_to(&mut user).map_err(ServiceError::Invalid)?;
        let password = match self
            .new_password(realm, &user, rep.credentials.as_deref())
            .await?
        {
            Ok(p) => p,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if password.as_ref().is_some_and(|p| p.temporary)
            && !user.required_actions.iter().any(|a| a == UPDATE_PASSWORD)
        {
            user.required_actions.push(UPDATE_PASSWORD.to_owned());
        }

        let mut tx = self.store().begin().await?;
        if rep.id.is_some() && tx.user_by_id(&user.id).await?.is_some() {
            return Err(ServiceError::Conflict("User with ID already exists".into()));
        }
        if tx
            .user_by_username(&realm.id, &user.username)
            .await?
            .is_some()
        {
            return Err(user_exists());
        }
        if let Some(email) = &user.email
            && !realm.duplicate_emails_allowed
            && tx.user_by_email(&realm.id, email).await?.is_some()
        {
            return Err(email_exists());
        }
        match tx.insert_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(user_exists()),
            Err(e) => return Err(e.into()),
        }
        for path in rep.groups.iter().flatten() {
            let group = group_by_path(&mut tx, realm, path).await?.ok_or_else(|| {
                ServiceError::Invalid(format!("Unable to find group specified by path: {path}"))
            })?;
            tx.join_group(&user.id, &group.id).await?;
        }
        if let Some(p) = password {
            store_password(&mut tx, &user.id, p).await?;
        }
        if let Some(role) = &realm.default_role_id {
            tx.grant_user_role(&user.id, role).await?;
        }
        super::realms::join_default_groups(&mut tx, &realm.id, &user.id).await?;
        match tx.commit().await {
            Ok(()) => Ok(Ok(user.id)),
            Err(StoreError::Conflict(_)) => Err(user_exists()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /users/{id}`: the full representation with the caller's access.
    pub async fn admin_get_user(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<UserRepresentation, ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ViewUsers)
            .await?;
        let mut rep = UserRepresentation::from(&user);
        rep.access = Some(access(who, realm));
        Ok(rep)
    }

    /// `PUT /users/{id}`: a partial update. The username changes only where the realm allows
    /// it (Keycloak's `error-user-attribute-read-only` otherwise); emails stay unique unless
    /// duplicates are allowed; enabling a locked-out user forgets its login failures;
    /// credentials in the body are set.
    pub async fn admin_update_user(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        rep: &UserRepresentation,
    ) -> Result<UserWrite<()>, ServiceError> {
        let current = self
            .admin_target_user(who, realm, id, Permission::ManageUsers)
            .await?;
        let mut user = current.clone();
        rep.apply_to(&mut user).map_err(ServiceError::Invalid)?;
        if realm.registration_email_as_username {
            if let Some(email) = &user.email
                && user.email != current.email
            {
                user.username = Username::new(email);
            }
        } else if let Some(name) = &rep.username {
            if name.trim().is_empty() {
                return Err(missing_username());
            }
            let name = Username::new(name.trim());
            if name != current.username {
                if !realm.edit_username_allowed {
                    return Ok(Err(UserRefusal::Field {
                        field: "username",
                        message: "error-user-attribute-read-only",
                        params: vec![json!("username")],
                    }));
                }
                user.username = name;
            }
        }
        let password = match self
            .new_password(realm, &user, rep.credentials.as_deref())
            .await?
        {
            Ok(p) => p,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if password.as_ref().is_some_and(|p| p.temporary)
            && !user.required_actions.iter().any(|a| a == UPDATE_PASSWORD)
        {
            user.required_actions.push(UPDATE_PASSWORD.to_owned());
        }

        let mut tx = self.store().begin().await?;
        if user.username != current.username
            && tx
                .user_by_username(&realm.id, &user.username)
                .await?
                .is_some_and(|other| other.id != user.id)
        {
            return Err(user_exists());
        }
        if let Some(email) = &user.email
            && user.email != current.email
            && !realm.duplicate_emails_allowed
            && tx
                .user_by_email(&realm.id, email)
                .await?
                .is_some_and(|other| other.id != user.id)
        {
            return Err(email_exists());
        }
        if rep.enabled == Some(true) {
            let locked = tx
                .login_failure(&realm.id, &user.id)
                .await?
                .is_some_and(|f| f.failed_login_not_before > now_secs());
            if !current.enabled || locked {
                tx.clear_login_failure(&realm.id, &user.id).await?;
            }
            if user
                .attributes
                .get(DISABLED_REASON)
                .is_some_and(|v| v.iter().any(|r| r == "permanentLockout"))
            {
                user.attributes.remove(DISABLED_REASON);
            }
        }
        match tx.update_user(&user).await {
            Ok(true) => {}
            Ok(false) => return Err(ServiceError::NotFound("User".into())),
            Err(StoreError::Conflict(_)) => return Err(user_exists()),
            Err(e) => return Err(e.into()),
        }
        if let Some(p) = password {
            store_password(&mut tx, &user.id, p).await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// `DELETE /users/{id}`: the user with its credentials, sessions and memberships.
    pub async fn admin_delete_user(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<(), ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ManageUsers)
            .await?;
        let mut tx = self.store().begin().await?;
        let removed = tx.delete_user(&user.id).await?;
        tx.commit().await?;
        if removed {
            Ok(())
        } else {
            Err(ServiceError::NotFound("User".into()))
        }
    }

    /// `PUT /users/{id}/reset-password`: replaces the password. `temporary` makes the user
    /// change it at the next login; a permanent one clears that required action.
    pub async fn admin_reset_password(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        cred: &CredentialRepresentation,
    ) -> Result<UserWrite<()>, ServiceError> {
        let mut user = self
            .admin_target_user(who, realm, id, Permission::ManageUsers)
            .await?;
        let Some(value) = cred.value.as_deref() else {
            return Ok(Err(UserRefusal::Error {
                error: "No password provided".into(),
                description: None,
            }));
        };
        if value.trim().is_empty() {
            return Ok(Err(UserRefusal::Error {
                error: "Empty password not allowed".into(),
                description: None,
            }));
        }
        let single = [CredentialRepresentation {
            credential_type: Some("password".into()),
            value: Some(value.to_owned()),
            ..Default::default()
        }];
        let password = match self.new_password(realm, &user, Some(&single)).await? {
            Ok(Some(p)) => p,
            Ok(None) => return Err(ServiceError::Internal("password not hashed".into())),
            Err(refusal) => return Ok(Err(refusal)),
        };
        user.required_actions.retain(|a| a != UPDATE_PASSWORD);
        if cred.temporary == Some(true) {
            user.required_actions.push(UPDATE_PASSWORD.to_owned());
        }
        let mut tx = self.store().begin().await?;
        store_password(&mut tx, &user.id, password).await?;
        if !tx.update_user(&user).await? {
            return Err(ServiceError::NotFound("User".into()));
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// `GET /users/{id}/credentials`: the user's credentials, without secrets.
    pub async fn admin_user_credentials(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<Vec<CredentialRepresentation>, ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ViewUsers)
            .await?;
        let mut tx = self.store().begin_read().await?;
        let creds = tx.credentials_of(&user.id).await?;
        tx.rollback().await?;
        Ok(creds.iter().map(CredentialRepresentation::from).collect())
    }

    async fn admin_user_credential(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        credential: &str,
    ) -> Result<(Tx, Credential), ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ManageUsers)
            .await?;
        let mut tx = self.store().begin().await?;
        let found = tx
            .credentials_of(&user.id)
            .await?
            .into_iter()
            .find(|c| c.id.as_str() == credential)
            .ok_or_else(|| ServiceError::NotFound("Credential".into()))?;
        Ok((tx, found))
    }

    /// `DELETE /users/{id}/credentials/{credentialId}`.
    pub async fn admin_delete_credential(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        credential: &str,
    ) -> Result<(), ServiceError> {
        let (mut tx, found) = self
            .admin_user_credential(who, realm, id, credential)
            .await?;
        tx.delete_credential(&found.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `PUT /users/{id}/credentials/{credentialId}/userLabel`: renames a credential.
    pub async fn admin_set_credential_label(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        credential: &str,
        label: &str,
    ) -> Result<(), ServiceError> {
        let (mut tx, mut found) = self
            .admin_user_credential(who, realm, id, credential)
            .await?;
        found.user_label = Some(label.trim().to_owned()).filter(|l| !l.is_empty());
        tx.update_credential(&found).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_reps(
        &self,
        user: &User,
        sessions: Vec<UserSession>,
        only_client: Option<&ClientUuid>,
    ) -> Result<Vec<UserSessionRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let mut out = Vec::with_capacity(sessions.len());
        for s in sessions {
            let client_sessions = tx.client_sessions_of(&s.id, s.offline).await?;
            let mut last_access = None;
            let mut clients = Vec::new();
            for cs in &client_sessions {
                if only_client == Some(&cs.client_id) {
                    last_access = Some(cs.last_refresh);
                }
                if let Some(c) = tx.client_by_id(&cs.client_id).await? {
                    clients.push((c.id.to_string(), c.client_id.to_string()));
                }
            }
            if only_client.is_some() && last_access.is_none() {
                continue;
            }
            let mut rep = UserSessionRepresentation::new(&s, user.username.as_str(), clients);
            if let Some(t) = last_access {
                rep.last_access = t * 1000;
            }
            out.push(rep);
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// `GET /users/{id}/sessions`: the user's online sessions with their clients.
    pub async fn admin_user_sessions(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<Vec<UserSessionRepresentation>, ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ViewUsers)
            .await?;
        let mut tx = self.store().begin_read().await?;
        let sessions = tx.user_sessions_of_user(&user.id, false).await?;
        tx.rollback().await?;
        self.session_reps(&user, sessions, None).await
    }

    /// `GET /users/{id}/offline-sessions/{clientUuid}`: the user's offline sessions the client
    /// takes part in, each with the client's last refresh as `lastAccess`.
    pub async fn admin_user_offline_sessions(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
        client: &str,
    ) -> Result<Vec<UserSessionRepresentation>, ServiceError> {
        let user = self
            .admin_target_user(who, realm, id, Permission::ViewUsers)
            .await?;
        let mut tx = self.store().begin_read().await?;
        let client = tx
            .client_by_id(&ClientUuid::new(client))
            .await?
            .filter(|c| c.realm_id == realm.id)
            .ok_or_else(|| ServiceError::NotFound("Client".into()))?;
        let sessions = tx.user_sessions_of_user(&user.id, true).await?;
        tx.rollback().await?;
        self.session_reps(&user, sessions, Some(&client.id)).await
    }

    /// `POST /users/{id}/logout`: sets the user's not-before to now (so every token issued
    /// so far, offline ones included, stops working) and ends the online sessions, notifying
    /// clients with a back-channel logout URL, as Keycloak's `UserResource.logout`.
    pub async fn admin_logout_user(
        &self,
        ctx: &RequestCtx,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<(), ServiceError> {
        let mut user = self
            .admin_target_user(who, realm, id, Permission::ManageUsers)
            .await?;
        user.not_before = now_secs();
        let mut tx = self.store().begin().await?;
        let sessions = tx.user_sessions_of_user(&user.id, false).await?;
        let mut notify = Vec::new();
        for s in &sessions {
            let mut clients = Vec::new();
            for cs in tx.client_sessions_of(&s.id, false).await? {
                if let Some(client) = tx.client_by_id(&cs.client_id).await? {
                    let url = client.attributes.get("backchannel.logout.url").cloned();
                    if let Some(url) = url.filter(|u| !u.is_empty()) {
                        clients.push((client, url));
                    }
                }
            }
            notify.push((s.clone(), clients));
        }
        tx.update_user(&user).await?;
        tx.delete_user_sessions_of_user_where(&user.id, Some(false))
            .await?;
        tx.commit().await?;
        for (session, clients) in notify {
            if !clients.is_empty() {
                self.backchannel_logout(ctx, realm, &session, clients).await;
            }
        }
        Ok(())
    }

    /// For the user's read-only listings that are empty until their feature exists
    /// (federated identities): 404 for an unknown user, else 403 without the role.
    pub async fn admin_check_user(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        id: &str,
    ) -> Result<(), ServiceError> {
        self.admin_target_user(who, realm, id, Permission::ViewUsers)
            .await
            .map(|_| ())
    }

    /// `GET /groups/{id}/members`: a page of the group's direct members, by username.
    pub async fn admin_group_members(
        &self,
        realm: &Realm,
        group: &str,
        first: Option<i64>,
        max: Option<i64>,
        brief: bool,
    ) -> Result<Vec<UserRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let group = tx
            .group_by_id(&GroupId::new(group))
            .await?
            .filter(|g| g.realm_id == realm.id)
            .ok_or_else(|| ServiceError::NotFound("Group".into()))?;
        let users = tx
            .group_members(
                &group.id,
                first.unwrap_or(0),
                Some(max.unwrap_or(DEFAULT_MAX)),
            )
            .await?;
        tx.rollback().await?;
        Ok(users
            .iter()
            .map(|u| UserRepresentation::of(u, brief))
            .collect())
    }

    /// `GET /roles/{name}/users` (realm role, `client` `None`) and
    /// `GET /clients/{id}/roles/{name}/users`: a page of the users holding the role directly,
    /// by username. The caller needs to view the role's container as well as query users.
    #[allow(clippy::too_many_arguments)]
    pub async fn admin_role_users(
        &self,
        who: &AdminIdentity,
        realm: &Realm,
        client: Option<&str>,
        role: &str,
        first: Option<i64>,
        max: Option<i64>,
        brief: bool,
    ) -> Result<Vec<UserRepresentation>, ServiceError> {
        let mut tx = self.store().begin_read().await?;
        let role = match client {
            None => {
                who.require(realm, Permission::ViewRealm)?;
                tx.realm_role_by_name(&realm.id, role).await?
            }
            Some(client) => {
                let client = tx
                    .client_by_id(&ClientUuid::new(client))
                    .await?
                    .filter(|c| c.realm_id == realm.id)
                    .ok_or_else(|| ServiceError::NotFound("Client".into()))?;
                who.require(realm, Permission::ViewClients)?;
                tx.client_role_by_name(&client.id, role).await?
            }
        }
        .ok_or_else(|| ServiceError::NotFound("Role".into()))?;
        let users = tx
            .role_members(
                &role.id,
                first.unwrap_or(0),
                Some(max.unwrap_or(DEFAULT_MAX)),
            )
            .await?;
        tx.rollback().await?;
        Ok(users
            .iter()
            .map(|u| UserRepresentation::of(u, brief))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_model::{RealmId, RealmName};

    #[test]
    fn search_terms_follow_keycloak() {
        assert_eq!(search_term("Foo"), TextMatch::Like("foo%".into()));
        assert_eq!(search_term("*foo*"), TextMatch::Like("%foo%".into()));
        assert_eq!(search_term("\"Foo\""), TextMatch::Equals("foo".into()));
        assert_eq!(search_term("a_b"), TextMatch::Like("a\\_b%".into()));
        // As in Keycloak, a term ending in an escaped `%` gets no wildcard appended.
        assert_eq!(search_term("a%"), TextMatch::Like("a\\%".into()));
        assert_eq!(field_match("x_y", false), TextMatch::Like("%x\\_y%".into()));
    }

    #[test]
    fn query_fields_split_pairs() {
        assert_eq!(
            query_fields("dept:eng \"full name\":\"Ada L\" bad"),
            vec![
                ("dept".to_owned(), "eng".to_owned()),
                ("full name".to_owned(), "Ada L".to_owned())
            ]
        );
    }

    #[test]
    fn filters_include_service_accounts_only_when_filtered() {
        let s = UserSearch {
            search: Some("a b".into()),
            username: Some("ignored".into()),
            ..Default::default()
        };
        let f = filter_of(&s);
        assert_eq!(f.search.len(), 2);
        assert!(f.username.is_none() && !f.include_service_accounts);
        assert_eq!(filter_of(&UserSearch::default()), UserFilter::default());
        let s = UserSearch {
            q: Some("dept:Eng".into()),
            ..Default::default()
        };
        let f = filter_of(&s);
        assert!(f.include_service_accounts);
        assert_eq!(
            f.attributes,
            vec![("dept".to_owned(), TextMatch::Equals("eng".into()))]
        );
    }

    #[test]
    fn password_policies_refuse_with_keycloak_keys() {
        let mut realm = Realm::new(RealmId::new("r"), RealmName::new("r").expect("name"));
        realm.password_policy = Some("length(10) and digits(2) and notUsername".into());
        let user = User {
            id: UserId::new("u"),
            realm_id: realm.id.clone(),
            username: Username::new("alice12345"),
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
        let key = |p: &str| match check_password(&realm, &user, p) {
            Ok(()) => "ok".to_owned(),
            Err(UserRefusal::Error { error, .. }) => error,
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(key("short1"), "invalidPasswordMinLengthMessage");
        assert_eq!(key("longenough1"), "invalidPasswordMinDigitsMessage");
        assert_eq!(key("ALICE12345"), "invalidPasswordNotUsernameMessage");
        assert_eq!(key("longenough12"), "ok");
    }
}
