//! Keycloak's `RealmRepresentation`: the fields Keycloak 26 emits for
//! `GET /admin/realms/{realm}` that Gatehouse's [`Realm`] holds, and the partial update of
//! `PUT /admin/realms/{realm}`.
//!
//! Keycloak's representation has hundreds of fields (and a realm import file carries `users`,
//! `clients`, `roles`, ...); those Gatehouse does not model are accepted and ignored, as serde
//! ignores unknown fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Realm, RealmName, SslRequired};

/// The realm's default role, shaped as Keycloak's brief `RoleRepresentation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultRoleRepresentation {
    /// The role's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `default-roles-<realm>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `${role_default-roles}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Always true: the default role is a composite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<bool>,
    /// Always false: it is a realm role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_role: Option<bool>,
    /// The realm's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}

/// Keycloak's `RealmRepresentation`, for the fields Gatehouse keeps. On input every field is
/// optional, and an absent field keeps what is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmRepresentation {
    /// Internal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The realm's name (used in URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Name shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Name shown to users, as HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name_html: Option<String>,
    /// Tokens issued before this time (epoch seconds) are invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// Default JWS algorithm for tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_signature_algorithm: Option<String>,
    /// Refresh tokens are single use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_refresh_token: Option<bool>,
    /// How often a refresh token may be reused when revocation is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_max_reuse: Option<i32>,
    /// Access token lifespan, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifespan: Option<i32>,
    /// Access token lifespan for the implicit flow, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifespan_for_implicit_flow: Option<i32>,
    /// SSO session idle timeout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_session_idle_timeout: Option<i32>,
    /// SSO session maximum lifespan, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_session_max_lifespan: Option<i32>,
    /// SSO session idle timeout with "remember me", seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_session_idle_timeout_remember_me: Option<i32>,
    /// SSO session maximum lifespan with "remember me", seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_session_max_lifespan_remember_me: Option<i32>,
    /// Offline session idle timeout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_session_idle_timeout: Option<i32>,
    /// Whether the offline session maximum lifespan applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_session_max_lifespan_enabled: Option<bool>,
    /// Offline session maximum lifespan, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_session_max_lifespan: Option<i32>,
    /// Client session idle timeout, seconds (0: the SSO session's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_session_idle_timeout: Option<i32>,
    /// Client session maximum lifespan, seconds (0: the SSO session's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_session_max_lifespan: Option<i32>,
    /// Authorization code lifespan, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_code_lifespan: Option<i32>,
    /// Time for a required action during login, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_code_lifespan_user_action: Option<i32>,
    /// Time to complete a login, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_code_lifespan_login: Option<i32>,
    /// Lifespan of action tokens an administrator sends, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_token_generated_by_admin_lifespan: Option<i32>,
    /// Lifespan of action tokens a user requests, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_token_generated_by_user_lifespan: Option<i32>,
    /// A disabled realm refuses logins and tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `none`, `external` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_required: Option<String>,
    /// Users may register themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_allowed: Option<bool>,
    /// Registration uses the email as the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_email_as_username: Option<bool>,
    /// The login page offers "remember me".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_me: Option<bool>,
    /// Users must verify their email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_email: Option<bool>,
    /// Users may log in with their email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_with_email_allowed: Option<bool>,
    /// Several users may share an email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_emails_allowed: Option<bool>,
    /// The login page offers "forgot password".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_password_allowed: Option<bool>,
    /// Users may change their username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_username_allowed: Option<bool>,
    /// Brute-force detection is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brute_force_protected: Option<bool>,
    /// Lock users out permanently after too many failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_lockout: Option<bool>,
    /// Temporary lockouts before a permanent one (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_temporary_lockouts: Option<i32>,
    /// Longest temporary lockout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failure_wait_seconds: Option<i32>,
    /// Lockout after failures in quick succession, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_quick_login_wait_seconds: Option<i32>,
    /// Lockout increment, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_increment_seconds: Option<i32>,
    /// Two failures closer than this (milliseconds) count as a quick login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_login_check_milli_seconds: Option<i64>,
    /// Failure count resets after this long, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delta_time_seconds: Option<i32>,
    /// Failures before a lockout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_factor: Option<i32>,
    /// Keycloak's password policy string, e.g. `length(8) and digits(1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<String>,
    /// The composite role every user of the realm gets (read only here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<DefaultRoleRepresentation>,
    /// Paths of the realm's default groups; Keycloak leaves the field out when there are none
    /// (read only here: `PUT /default-groups/{id}` changes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_groups: Option<Vec<String>>,
    /// The login theme's name; absent (or `""` on input) for the server's default theme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_theme: Option<String>,
    /// Users may pick a language among `supportedLocales`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internationalization_enabled: Option<bool>,
    /// The language tags offered when internationalization is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_locales: Option<Vec<String>>,
    /// The language when nothing in the request decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// Other realm attributes. On update each given attribute is set (a `null` value removes
    /// it); attributes not named are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Option<String>>>,
}

impl RealmRepresentation {
    /// The full representation of `realm`, with its default role and the paths of its default
    /// groups, as `GET /admin/realms/{realm}` answers.
    pub fn new(
        realm: &Realm,
        default_role: Option<DefaultRoleRepresentation>,
        default_groups: Vec<String>,
    ) -> Self {
        RealmRepresentation {
            id: Some(realm.id.to_string()),
            realm: Some(realm.name.to_string()),
            display_name: realm.display_name.clone(),
            display_name_html: realm.display_name_html.clone(),
            not_before: Some(realm.not_before),
            default_signature_algorithm: Some(realm.default_signature_algorithm.clone()),
            revoke_refresh_token: Some(realm.revoke_refresh_token),
            refresh_token_max_reuse: Some(realm.refresh_token_max_reuse),
            access_token_lifespan: Some(realm.access_token_lifespan),
            access_token_lifespan_for_implicit_flow: Some(
                realm.access_token_lifespan_for_implicit_flow,
            ),
            sso_session_idle_timeout: Some(realm.sso_session_idle_timeout),
            sso_session_max_lifespan: Some(realm.sso_session_max_lifespan),
            sso_session_idle_timeout_remember_me: Some(realm.sso_session_idle_timeout_remember_me),
            sso_session_max_lifespan_remember_me: Some(realm.sso_session_max_lifespan_remember_me),
            offline_session_idle_timeout: Some(realm.offline_session_idle_timeout),
            offline_session_max_lifespan_enabled: Some(realm.offline_session_max_lifespan_enabled),
            offline_session_max_lifespan: Some(realm.offline_session_max_lifespan),
            client_session_idle_timeout: Some(realm.client_session_idle_timeout),
            client_session_max_lifespan: Some(realm.client_session_max_lifespan),
            access_code_lifespan: Some(realm.access_code_lifespan),
            access_code_lifespan_user_action: Some(realm.access_code_lifespan_user_action),
            access_code_lifespan_login: Some(realm.access_code_lifespan_login),
            action_token_generated_by_admin_lifespan: Some(
                realm.action_token_generated_by_admin_lifespan,
            ),
            action_token_generated_by_user_lifespan: Some(
                realm.action_token_generated_by_user_lifespan,
            ),
            enabled: Some(realm.enabled),
            ssl_required: Some(realm.ssl_required.as_str().to_owned()),
            registration_allowed: Some(realm.registration_allowed),
            registration_email_as_username: Some(realm.registration_email_as_username),
            remember_me: Some(realm.remember_me),
            verify_email: Some(realm.verify_email),
            login_with_email_allowed: Some(realm.login_with_email_allowed),
            duplicate_emails_allowed: Some(realm.duplicate_emails_allowed),
            reset_password_allowed: Some(realm.reset_password_allowed),
            edit_username_allowed: Some(realm.edit_username_allowed),
            brute_force_protected: Some(realm.brute_force_protected),
            permanent_lockout: Some(realm.permanent_lockout),
            max_temporary_lockouts: Some(realm.max_temporary_lockouts),
            max_failure_wait_seconds: Some(realm.max_failure_wait_seconds),
            minimum_quick_login_wait_seconds: Some(realm.minimum_quick_login_wait_seconds),
            wait_increment_seconds: Some(realm.wait_increment_seconds),
            quick_login_check_milli_seconds: Some(realm.quick_login_check_milli_seconds),
            // Keycloak's field is an int; the model keeps a wider type.
            max_delta_time_seconds: Some(
                i32::try_from(realm.max_delta_time_seconds).unwrap_or(i32::MAX),
            ),
            failure_factor: Some(realm.failure_factor),
            password_policy: realm.password_policy.clone(),
            default_role,
            default_groups: (!default_groups.is_empty()).then_some(default_groups),
            login_theme: realm.login_theme.clone(),
            internationalization_enabled: Some(realm.internationalization_enabled),
            supported_locales: Some(realm.supported_locales.clone()),
            default_locale: realm.default_locale.clone(),
            attributes: Some(
                realm
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
            ),
        }
    }

    /// Keycloak's brief form (`briefRepresentation=true`): id, name, display names, enabled.
    pub fn brief(realm: &Realm) -> Self {
        RealmRepresentation {
            id: Some(realm.id.to_string()),
            realm: Some(realm.name.to_string()),
            display_name: realm.display_name.clone(),
            display_name_html: realm.display_name_html.clone(),
            enabled: Some(realm.enabled),
            ..Default::default()
        }
    }

    /// Only the name: what Keycloak lists for a realm the caller administers without being
    /// allowed to view it.
    pub fn name_only(realm: &Realm) -> Self {
        RealmRepresentation {
            realm: Some(realm.name.to_string()),
            ..Default::default()
        }
    }

    /// Applies the fields present to `target`, as Keycloak's realm update does: absent fields
    /// keep their value. Refuses an invalid `realm` name or `sslRequired` value, and zero or
    /// negative login and user-action lifespans given together (Keycloak's rule), changing
    /// nothing then. `id`, `defaultRole` and `defaultGroups` are ignored.
    pub fn apply_to(&self, target: &mut Realm) -> Result<(), String> {
        let name = match &self.realm {
            Some(name) => Some(RealmName::new(name.as_str()).map_err(|e| e.to_string())?),
            None => None,
        };
        let ssl = match &self.ssl_required {
            Some(v) => Some(SslRequired::parse(v).map_err(|e| e.to_string())?),
            None => None,
        };
        if let (Some(login), Some(action)) = (
            self.access_code_lifespan_login,
            self.access_code_lifespan_user_action,
        ) && (login < 1 || action < 1)
        {
            return Err(
                "AccessCodeLifespanLogin or AccessCodeLifespanUserAction cannot be 0".to_owned(),
            );
        }
        fn set<T: Clone>(field: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *field = v.clone();
            }
        }
        if let Some(name) = name {
            target.name = name;
        }
        if let Some(ssl) = ssl {
            target.ssl_required = ssl;
        }
        let t = target;
        if self.display_name.is_some() {
            t.display_name = self.display_name.clone().filter(|v| !v.is_empty());
        }
        if self.display_name_html.is_some() {
            t.display_name_html = self.display_name_html.clone().filter(|v| !v.is_empty());
        }
        set(&mut t.not_before, &self.not_before);
        set(
            &mut t.default_signature_algorithm,
            &self.default_signature_algorithm,
        );
        set(&mut t.revoke_refresh_token, &self.revoke_refresh_token);
        set(
            &mut t.refresh_token_max_reuse,
            &self.refresh_token_max_reuse,
        );
        set(&mut t.access_token_lifespan, &self.access_token_lifespan);
        set(
            &mut t.access_token_lifespan_for_implicit_flow,
            &self.access_token_lifespan_for_implicit_flow,
        );
        set(
            &mut t.sso_session_idle_timeout,
            &self.sso_session_idle_timeout,
        );
        set(
            &mut t.sso_session_max_lifespan,
            &self.sso_session_max_lifespan,
        );
        set(
            &mut t.sso_session_idle_timeout_remember_me,
            &self.sso_session_idle_timeout_remember_me,
        );
        set(
            &mut t.sso_session_max_lifespan_remember_me,
            &self.sso_session_max_lifespan_remember_me,
        );
        set(
            &mut t.offline_session_idle_timeout,
            &self.offline_session_idle_timeout,
        );
        set(
            &mut t.offline_session_max_lifespan_enabled,
            &self.offline_session_max_lifespan_enabled,
        );
        set(
            &mut t.offline_session_max_lifespan,
            &self.offline_session_max_lifespan,
        );
        set(
            &mut t.client_session_idle_timeout,
            &self.client_session_idle_timeout,
        );
        set(
            &mut t.client_session_max_lifespan,
            &self.client_session_max_lifespan,
        );
        set(&mut t.access_code_lifespan, &self.access_code_lifespan);
        set(
            &mut t.access_code_lifespan_user_action,
            &self.access_code_lifespan_user_action,
        );
        set(
            &mut t.access_code_lifespan_login,
            &self.access_code_lifespan_login,
        );
        set(
            &mut t.action_token_generated_by_admin_lifespan,
            &self.action_token_generated_by_admin_lifespan,
        );
        set(
            &mut t.action_token_generated_by_user_lifespan,
            &self.action_token_generated_by_user_lifespan,
        );
        set(&mut t.enabled, &self.enabled);
        set(&mut t.registration_allowed, &self.registration_allowed);
        set(
            &mut t.registration_email_as_username,
            &self.registration_email_as_username,
        );
        set(&mut t.remember_me, &self.remember_me);
        set(&mut t.verify_email, &self.verify_email);
        set(
            &mut t.login_with_email_allowed,
            &self.login_with_email_allowed,
        );
        set(
            &mut t.duplicate_emails_allowed,
            &self.duplicate_emails_allowed,
        );
        set(&mut t.reset_password_allowed, &self.reset_password_allowed);
        set(&mut t.edit_username_allowed, &self.edit_username_allowed);
        set(&mut t.brute_force_protected, &self.brute_force_protected);
        set(&mut t.permanent_lockout, &self.permanent_lockout);
        set(&mut t.max_temporary_lockouts, &self.max_temporary_lockouts);
        set(
            &mut t.max_failure_wait_seconds,
            &self.max_failure_wait_seconds,
        );
        set(
            &mut t.minimum_quick_login_wait_seconds,
            &self.minimum_quick_login_wait_seconds,
        );
        set(&mut t.wait_increment_seconds, &self.wait_increment_seconds);
        set(
            &mut t.quick_login_check_milli_seconds,
            &self.quick_login_check_milli_seconds,
        );
        if let Some(v) = self.max_delta_time_seconds {
            t.max_delta_time_seconds = i64::from(v);
        }
        set(&mut t.failure_factor, &self.failure_factor);
        if let Some(policy) = &self.password_policy {
            t.password_policy = (!policy.trim().is_empty()).then(|| policy.clone());
        }
        // The admin console sends `""` for "the server's default" theme and locale.
        if let Some(theme) = &self.login_theme {
            t.login_theme = (!theme.is_empty()).then(|| theme.clone());
        }
        set(
            &mut t.internationalization_enabled,
            &self.internationalization_enabled,
        );
        if let Some(locales) = &self.supported_locales {
            // A set in Keycloak: the first occurrence of a tag keeps its place.
            t.supported_locales.clear();
            for tag in locales.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
                if !t.supported_locales.iter().any(|l| l == tag) {
                    t.supported_locales.push(tag.to_owned());
                }
            }
        }
        if let Some(locale) = &self.default_locale {
            t.default_locale = (!locale.is_empty()).then(|| locale.clone());
        }
        if let Some(attributes) = &self.attributes {
            for (name, value) in attributes {
                match value {
                    Some(value) => {
                        t.attributes.insert(name.clone(), value.clone());
                    }
                    None => {
                        t.attributes.remove(name);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A default group as `GET /admin/realms/{realm}/default-groups` lists it: Keycloak's brief
/// `GroupRepresentation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultGroupRepresentation {
    /// The group's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `/parent/child`.
    pub path: String,
    /// The parent's id, for a subgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Always empty in the brief form.
    #[serde(default)]
    pub sub_groups: Vec<DefaultGroupRepresentation>,
}

/// Keycloak's `KeysMetadataRepresentation` (`GET /admin/realms/{realm}/keys`): the realm's keys
/// without any secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysMetadataRepresentation {
    /// For each algorithm with an active key, the `kid` of the one that signs.
    pub active: BTreeMap<String, String>,
    /// Every key, active, passive or disabled.
    pub keys: Vec<KeyMetadataRepresentation>,
}

/// One key of [`KeysMetadataRepresentation`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyMetadataRepresentation {
    /// The key provider's (component's) id.
    pub provider_id: String,
    /// Its priority.
    pub provider_priority: i64,
    /// The key id.
    pub kid: String,
    /// `ACTIVE`, `PASSIVE` or `DISABLED`.
    pub status: String,
    /// `RSA`, `EC`, `OKP` or `OCT`.
    #[serde(rename = "type")]
    pub key_type: String,
    /// The JWA algorithm.
    pub algorithm: String,
    /// Base64 DER SubjectPublicKeyInfo; absent for HMAC keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Base64 DER certificate, when the key has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// `SIG` or `ENC`.
    #[serde(rename = "use")]
    pub key_use: String,
}

/// One entry of `GET /admin/realms/{realm}/client-session-stats`: Keycloak sends the counts as
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSessionStat {
    /// The client's internal id.
    pub id: String,
    /// Its `clientId`.
    pub client_id: String,
    /// Online sessions with the client, as a decimal string.
    pub active: String,
    /// Offline sessions with the client, as a decimal string.
    pub offline: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::RealmId;
    use serde_json::json;

    fn realm() -> Realm {
        let mut r = Realm::new(RealmId::new("r1"), RealmName::new("acme").unwrap());
        r.display_name = Some("Acme".into());
        r.attributes
            .insert("frontendUrl".into(), "https://x".into());
        r.login_theme = Some("acme".into());
        r.internationalization_enabled = true;
        r.supported_locales = vec!["en".into(), "de".into()];
        r.default_locale = Some("de".into());
        r
    }

    #[test]
    fn renders_keycloak_field_names() {
        let role = DefaultRoleRepresentation {
            id: Some("role-1".into()),
            name: Some("default-roles-acme".into()),
            description: Some("${role_default-roles}".into()),
            composite: Some(true),
            client_role: Some(false),
            container_id: Some("r1".into()),
        };
        let v =
            serde_json::to_value(RealmRepresentation::new(&realm(), Some(role), vec![])).unwrap();
        assert_eq!(v["id"], "r1");
        assert_eq!(v["realm"], "acme");
        assert_eq!(v["displayName"], "Acme");
        assert_eq!(v["sslRequired"], "external");
        assert_eq!(v["accessTokenLifespan"], 300);
        assert_eq!(v["ssoSessionIdleTimeoutRememberMe"], 0);
        assert_eq!(v["bruteForceProtected"], false);
        assert_eq!(v["quickLoginCheckMilliSeconds"], 1000);
        assert_eq!(v["defaultSignatureAlgorithm"], "RS256");
        assert_eq!(v["notBefore"], 0);
        assert_eq!(v["defaultRole"]["clientRole"], false);
        assert_eq!(v["defaultRole"]["containerId"], "r1");
        assert_eq!(v["attributes"]["frontendUrl"], "https://x");
        assert_eq!(v["loginTheme"], "acme");
        assert_eq!(v["internationalizationEnabled"], true);
        assert_eq!(v["supportedLocales"], json!(["en", "de"]));
        assert_eq!(v["defaultLocale"], "de");
        assert!(v.get("defaultGroups").is_none());
        assert!(v.get("passwordPolicy").is_none());
        let brief = serde_json::to_value(RealmRepresentation::brief(&realm())).unwrap();
        assert_eq!(
            brief,
            json!({"id": "r1", "realm": "acme", "displayName": "Acme", "enabled": true})
        );
    }

    #[test]
    fn partial_update_changes_only_what_is_given() {
        let mut r = realm();
        let rep: RealmRepresentation = serde_json::from_value(json!({
            "accessTokenLifespan": 600,
            "sslRequired": "NONE",
            "users": [{"username": "ignored"}],
            "attributes": {"frontendUrl": null, "x": "y"}
        }))
        .unwrap();
        rep.apply_to(&mut r).unwrap();
        assert_eq!(r.access_token_lifespan, 600);
        assert_eq!(r.ssl_required, SslRequired::None);
        assert_eq!(r.display_name.as_deref(), Some("Acme"));
        assert_eq!(r.name.as_str(), "acme");
        assert!(!r.attributes.contains_key("frontendUrl"));
        assert_eq!(r.attributes["x"], "y");
        assert_eq!(r.login_theme.as_deref(), Some("acme"));
        assert_eq!(r.supported_locales, ["en", "de"]);
    }

    #[test]
    fn theme_and_locales_update() {
        let mut r = realm();
        let rep: RealmRepresentation = serde_json::from_value(json!({
            "loginTheme": "",
            "internationalizationEnabled": false,
            "supportedLocales": ["fr", " fr", "pt-BR", ""],
            "defaultLocale": ""
        }))
        .unwrap();
        rep.apply_to(&mut r).unwrap();
        assert_eq!(r.login_theme, None);
        assert!(!r.internationalization_enabled);
        assert_eq!(r.supported_locales, ["fr", "pt-BR"]);
        assert_eq!(r.default_locale, None);
        let v = serde_json::to_value(RealmRepresentation::new(&r, None, vec![])).unwrap();
        assert!(v.get("loginTheme").is_none());
        assert_eq!(v["supportedLocales"], json!(["fr", "pt-BR"]));
    }

    #[test]
    fn invalid_values_change_nothing() {
        for body in [
            json!({"sslRequired": "sometimes", "accessTokenLifespan": 1}),
            json!({"realm": "a/b", "accessTokenLifespan": 1}),
            json!({"realm": "", "accessTokenLifespan": 1}),
            json!({"accessCodeLifespanLogin": 0, "accessCodeLifespanUserAction": 60,
                   "accessTokenLifespan": 1}),
        ] {
            let mut r = realm();
            let rep: RealmRepresentation = serde_json::from_value(body.clone()).unwrap();
            assert!(rep.apply_to(&mut r).is_err(), "{body}");
            assert_eq!(r, realm(), "{body}");
        }
    }

    #[test]
    fn a_get_answer_can_be_put_back() {
        let mut r = realm();
        let echoed = serde_json::to_value(RealmRepresentation::new(
            &r,
            Some(DefaultRoleRepresentation::default()),
            vec!["/staff".into()],
        ))
        .unwrap();
        let rep: RealmRepresentation = serde_json::from_value(echoed).unwrap();
        rep.apply_to(&mut r).unwrap();
        assert_eq!(r, realm());
    }
}
