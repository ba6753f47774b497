//! The durable entities, one struct per Keycloak model. Defaults follow Keycloak 26.

use std::collections::BTreeMap;
use std::fmt;

use crate::ModelError;
use crate::ids::{
    ClientId, ClientScopeId, ClientUuid, CredentialId, GroupId, ProtocolMapperId, RealmId,
    RealmName, RoleId, UserId, Username,
};

/// Keycloak's "Require SSL" realm setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslRequired {
    /// HTTPS is never required.
    None,
    /// HTTPS is required for requests from non-private addresses (Keycloak's default).
    #[default]
    External,
    /// HTTPS is required for every request.
    All,
}

impl SslRequired {
    /// The lower-case form Keycloak uses in JSON and in its database.
    pub fn as_str(self) -> &'static str {
        match self {
            SslRequired::None => "none",
            SslRequired::External => "external",
            SslRequired::All => "all",
        }
    }

    /// Parses `none`, `external` or `all`, ignoring case as Keycloak does.
    pub fn parse(value: &str) -> Result<Self, ModelError> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Ok(SslRequired::None),
            "external" => Ok(SslRequired::External),
            "all" => Ok(SslRequired::All),
            _ => Err(ModelError::InvalidSslRequired(value.to_owned())),
        }
    }
}

impl fmt::Display for SslRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A realm and its settings. Lifespans and timeouts are in seconds unless the name says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Realm {
    /// Internal id.
    pub id: RealmId,
    /// Unique name, used in URLs.
    pub name: RealmName,
    /// Name shown to users.
    pub display_name: Option<String>,
    /// Name shown to users, as HTML.
    pub display_name_html: Option<String>,
    /// A disabled realm refuses logins and tokens.
    pub enabled: bool,
    /// When HTTPS is required.
    pub ssl_required: SslRequired,
    /// Users may register themselves.
    pub registration_allowed: bool,
    /// Registration uses the email as the username.
    pub registration_email_as_username: bool,
    /// The login page offers "remember me".
    pub remember_me: bool,
    /// Users must verify their email.
    pub verify_email: bool,
    /// Users may log in with their email.
    pub login_with_email_allowed: bool,
    /// Several users may share an email.
    pub duplicate_emails_allowed: bool,
    /// The login page offers "forgot password".
    pub reset_password_allowed: bool,
    /// Users may change their username.
    pub edit_username_allowed: bool,
    /// Access token lifespan.
    pub access_token_lifespan: i32,
    /// Access token lifespan for the implicit flow.
    pub access_token_lifespan_for_implicit_flow: i32,
    /// SSO session idle timeout.
    pub sso_session_idle_timeout: i32,
    /// SSO session maximum lifespan.
    pub sso_session_max_lifespan: i32,
    /// SSO session idle timeout with "remember me" (0 = same as without).
    pub sso_session_idle_timeout_remember_me: i32,
    /// SSO session maximum lifespan with "remember me" (0 = same as without).
    pub sso_session_max_lifespan_remember_me: i32,
    /// Offline session idle timeout.
    pub offline_session_idle_timeout: i32,
    /// Offline session maximum lifespan (applies when enabled below).
    pub offline_session_max_lifespan: i32,
    /// Client session idle timeout (0 = the SSO session's).
    pub client_session_idle_timeout: i32,
    /// Client session maximum lifespan (0 = the SSO session's).
    pub client_session_max_lifespan: i32,
    /// Authorization code lifespan.
    pub access_code_lifespan: i32,
    /// Time a user has for a required action during login.
    pub access_code_lifespan_user_action: i32,
    /// Time a user has to complete the login.
    pub access_code_lifespan_login: i32,
    /// Lifespan of action tokens an administrator sends.
    pub action_token_generated_by_admin_lifespan: i32,
    /// Lifespan of action tokens a user requests.
    pub action_token_generated_by_user_lifespan: i32,
    /// Whether `offline_session_max_lifespan` applies.
    pub offline_session_max_lifespan_enabled: bool,
    /// Refresh tokens are single use (with `refresh_token_max_reuse`).
    pub revoke_refresh_token: bool,
    /// How often a refresh token may be reused when revocation is on.
    pub refresh_token_max_reuse: i32,
    /// Tokens issued before this time (epoch seconds) are invalid.
    pub not_before: i64,
    /// Brute-force detection is on.
    pub brute_force_protected: bool,
    /// Lock users out permanently after too many failures.
    pub permanent_lockout: bool,
    /// Longest temporary lockout.
    pub max_failure_wait_seconds: i32,
    /// Lockout after failures in quick succession.
    pub minimum_quick_login_wait_seconds: i32,
    /// Lockout increment per failure-factor reached.
    pub wait_increment_seconds: i32,
    /// Failures before a lockout.
    pub failure_factor: i32,
    /// Temporary lockouts before a permanent one (0 = unlimited).
    pub max_temporary_lockouts: i32,
    /// Two failures closer than this (milliseconds) count as a quick login.
    pub quick_login_check_milli_seconds: i64,
    /// Failure count resets after this long.
    pub max_delta_time_seconds: i64,
    /// Default JWS algorithm for tokens.
    pub default_signature_algorithm: String,
    /// Keycloak's password policy string, e.g. `length(8) and digits(1)`.
    pub password_policy: Option<String>,
    /// The composite `default-roles-<realm>` role every user gets.
    pub default_role_id: Option<RoleId>,
    /// The login theme's name (Keycloak's `loginTheme`); `None`: the server's default theme.
    pub login_theme: Option<String>,
    /// Users may pick a language among `supported_locales`; when off, pages are in English.
    pub internationalization_enabled: bool,
    /// The language tags offered when internationalization is on, in the order given.
    pub supported_locales: Vec<String>,
    /// The language when nothing in the request decides (with internationalization on).
    pub default_locale: Option<String>,
    /// Other realm attributes, kept as Keycloak keeps them.
    pub attributes: BTreeMap<String, String>,
}

impl Realm {
    /// A realm with Keycloak 26's defaults.
    pub fn new(id: RealmId, name: RealmName) -> Self {
        Realm {
            id,
            name,
            display_name: None,
            display_name_html: None,
            enabled: true,
            ssl_required: SslRequired::External,
            registration_allowed: false,
            registration_email_as_username: false,
            remember_me: false,
            verify_email: false,
            login_with_email_allowed: true,
            duplicate_emails_allowed: false,
            reset_password_allowed: false,
            edit_username_allowed: false,
            access_token_lifespan: 300,
            access_token_lifespan_for_implicit_flow: 900,
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            sso_session_idle_timeout_remember_me: 0,
            sso_session_max_lifespan_remember_me: 0,
            offline_session_idle_timeout: 2_592_000,
            offline_session_max_lifespan: 5_184_000,
            client_session_idle_timeout: 0,
            client_session_max_lifespan: 0,
            access_code_lifespan: 60,
            access_code_lifespan_user_action: 300,
            access_code_lifespan_login: 1800,
            action_token_generated_by_admin_lifespan: 43200,
            action_token_generated_by_user_lifespan: 300,
            offline_session_max_lifespan_enabled: false,
            revoke_refresh_token: false,
            refresh_token_max_reuse: 0,
            not_before: 0,
            brute_force_protected: false,
            permanent_lockout: false,
            max_failure_wait_seconds: 900,
            minimum_quick_login_wait_seconds: 60,
            wait_increment_seconds: 60,
            failure_factor: 30,
            max_temporary_lockouts: 0,
            quick_login_check_milli_seconds: 1000,
            max_delta_time_seconds: 43200,
            default_signature_algorithm: "RS256".to_owned(),
            password_policy: None,
            default_role_id: None,
            login_theme: None,
            internationalization_enabled: false,
            supported_locales: Vec::new(),
            default_locale: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// An OAuth 2.0 / OpenID Connect client.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Internal id.
    pub id: ClientUuid,
    /// The realm it belongs to.
    pub realm_id: RealmId,
    /// The `clientId` applications present; unique in the realm.
    pub client_id: ClientId,
    /// Name shown to users.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// A disabled client cannot get tokens.
    pub enabled: bool,
    /// No secret: the client cannot keep one (browser or native app).
    pub public_client: bool,
    /// Only verifies tokens, never logs anyone in.
    pub bearer_only: bool,
    /// Authorization code flow.
    pub standard_flow_enabled: bool,
    /// Implicit flow.
    pub implicit_flow_enabled: bool,
    /// Resource owner password credentials grant.
    pub direct_access_grants_enabled: bool,
    /// Client credentials grant through a service-account user.
    pub service_accounts_enabled: bool,
    /// Users must consent to the client.
    pub consent_required: bool,
    /// Tokens carry all of the user's roles, not only the client's scope.
    pub full_scope_allowed: bool,
    /// Logout through a front-channel iframe.
    pub frontchannel_logout: bool,
    /// Listed in the account console even without a session.
    pub always_display_in_console: bool,
    /// Client secret for `client-secret` authentication.
    pub secret: Option<String>,
    /// How the client authenticates (`client-secret`, `client-jwt`, ...).
    pub client_authenticator_type: String,
    /// `openid-connect` or `saml`.
    pub protocol: String,
    /// Prefix for relative URLs.
    pub root_url: Option<String>,
    /// Default URL to send users to.
    pub base_url: Option<String>,
    /// Where Keycloak sends back-channel admin requests.
    pub admin_url: Option<String>,
    /// Allowed redirect URIs (patterns).
    pub redirect_uris: Vec<String>,
    /// Allowed CORS origins.
    pub web_origins: Vec<String>,
    /// Other attributes, kept as Keycloak keeps them.
    pub attributes: BTreeMap<String, String>,
    /// Creation time, epoch milliseconds.
    pub created_timestamp: i64,
}

impl Client {
    /// A client with Keycloak's defaults for a new confidential OIDC client.
    pub fn new(id: ClientUuid, realm_id: RealmId, client_id: ClientId) -> Self {
        Client {
            id,
            realm_id,
            client_id,
            name: None,
            description: None,
            enabled: true,
            public_client: false,
            bearer_only: false,
            standard_flow_enabled: true,
            implicit_flow_enabled: false,
            direct_access_grants_enabled: false,
            service_accounts_enabled: false,
            consent_required: false,
            full_scope_allowed: true,
            frontchannel_logout: true,
            always_display_in_console: false,
            secret: None,
            client_authenticator_type: "client-secret".to_owned(),
            protocol: "openid-connect".to_owned(),
            root_url: None,
            base_url: None,
            admin_url: None,
            redirect_uris: Vec::new(),
            web_origins: Vec::new(),
            attributes: BTreeMap::new(),
            created_timestamp: 0,
        }
    }
}

/// A realm role (`client` is `None`) or a client role.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// Internal id.
    pub id: RoleId,
    /// The realm it belongs to (client roles too).
    pub realm_id: RealmId,
    /// The owning client, for a client role.
    pub client: Option<ClientUuid>,
    /// Unique among the realm's roles, or among the client's roles.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Multi-valued attributes.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// A user of a realm.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Internal id.
    pub id: UserId,
    /// The realm it belongs to.
    pub realm_id: RealmId,
    /// Lower-cased; unique in the realm.
    pub username: Username,
    /// Lower-cased email.
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// A disabled user cannot log in.
    pub enabled: bool,
    /// The email was verified.
    pub email_verified: bool,
    /// Creation time, epoch milliseconds.
    pub created_timestamp: i64,
    /// Id of the user-storage provider the user came from.
    pub federation_link: Option<String>,
    /// Set for a client's service-account user.
    pub service_account_client_link: Option<ClientUuid>,
    /// Multi-valued attributes.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Required actions pending (`VERIFY_EMAIL`, `UPDATE_PASSWORD`, ...), in order.
    pub required_actions: Vec<String>,
    /// Tokens issued before this time (epoch seconds) are invalid.
    pub not_before: i64,
}

/// A user's credential (password, OTP, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// Internal id.
    pub id: CredentialId,
    /// The owner.
    pub user_id: UserId,
    /// `password`, `otp`, ...
    pub credential_type: String,
    /// Label the user chose.
    pub user_label: Option<String>,
    /// Creation time, epoch milliseconds.
    pub created_date: i64,
    /// Keycloak's secret JSON (hash, salt), opaque here.
    pub secret_data: String,
    /// Keycloak's credential JSON (algorithm, iterations), opaque here.
    pub credential_data: String,
    /// Lower comes first.
    pub priority: i32,
}

/// A group of users; groups nest.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Internal id.
    pub id: GroupId,
    /// The realm it belongs to.
    pub realm_id: RealmId,
    /// The parent group; `None` for a top-level group.
    pub parent_id: Option<GroupId>,
    /// Unique among its siblings.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Multi-valued attributes.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// A client scope: a named set of protocol mappers and role scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientScope {
    /// Internal id.
    pub id: ClientScopeId,
    /// The realm it belongs to.
    pub realm_id: RealmId,
    /// Unique in the realm; the `scope` parameter value.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `openid-connect` or `saml`.
    pub protocol: String,
    /// Attributes (`include.in.token.scope`, `display.on.consent.screen`, ...).
    pub attributes: BTreeMap<String, String>,
}

/// What a protocol mapper belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapperOwner {
    /// A mapper defined on a client.
    Client(ClientUuid),
    /// A mapper defined on a client scope.
    ClientScope(ClientScopeId),
}

/// A protocol mapper: adds a claim to tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolMapper {
    /// Internal id.
    pub id: ProtocolMapperId,
    /// Display name.
    pub name: String,
    /// `openid-connect` or `saml`.
    pub protocol: String,
    /// Keycloak's `protocolMapper`, e.g. `oidc-usermodel-attribute-mapper`.
    pub mapper_type: String,
    /// The client or client scope that owns it.
    pub owner: MapperOwner,
    /// The mapper's configuration.
    pub config: BTreeMap<String, String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ssl_required_round_trips() {
        for v in [SslRequired::None, SslRequired::External, SslRequired::All] {
            assert_eq!(SslRequired::parse(v.as_str()).unwrap(), v);
        }
        assert_eq!(
            SslRequired::parse("EXTERNAL").unwrap(),
            SslRequired::External
        );
        assert!(SslRequired::parse("sometimes").is_err());
    }

    #[test]
    fn realm_defaults_match_keycloak() {
        let r = Realm::new(RealmId::new("r"), RealmName::new("test").unwrap());
        assert!(r.enabled);
        assert_eq!(r.ssl_required, SslRequired::External);
        assert_eq!(r.access_token_lifespan, 300);
        assert_eq!(r.sso_session_max_lifespan, 36000);
        assert_eq!(r.offline_session_idle_timeout, 2_592_000);
        assert_eq!(r.failure_factor, 30);
        assert_eq!(r.default_signature_algorithm, "RS256");
    }

    #[test]
    fn client_defaults_match_keycloak() {
        let c = Client::new(
            ClientUuid::new("c"),
            RealmId::new("r"),
            ClientId::new("app"),
        );
        assert!(c.enabled && c.standard_flow_enabled && c.full_scope_allowed);
        assert!(!c.public_client && !c.implicit_flow_enabled);
        assert_eq!(c.client_authenticator_type, "client-secret");
        assert_eq!(c.protocol, "openid-connect");
    }
}
