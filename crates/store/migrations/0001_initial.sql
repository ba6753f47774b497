-- Gatehouse schema, version 1. One file for SQLite and PostgreSQL alike, so it sticks to
-- portable SQL: TEXT, INTEGER, BIGINT, no BOOLEAN (sqlx's Any driver cannot decode SQLite's
-- BOOLEAN columns, so flags are INTEGER 0/1), no BLOB/BYTEA, ON DELETE CASCADE everywhere a
-- realm's data hangs off the realm. Multi-valued data lives in child tables, as in Keycloak.
--
-- Uniqueness under NULL: a UNIQUE constraint treats NULLs as distinct on both engines, so
-- "unique realm-role name" (client_id IS NULL) and "unique top-level group name"
-- (parent_id IS NULL) use partial unique indexes instead of a sentinel value; that keeps the
-- foreign keys (and their cascades) on client_id and parent_id.

CREATE TABLE realm (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    display_name TEXT,
    display_name_html TEXT,
    enabled INTEGER NOT NULL,
    ssl_required TEXT NOT NULL,
    registration_allowed INTEGER NOT NULL,
    registration_email_as_username INTEGER NOT NULL,
    remember_me INTEGER NOT NULL,
    verify_email INTEGER NOT NULL,
    login_with_email_allowed INTEGER NOT NULL,
    duplicate_emails_allowed INTEGER NOT NULL,
    reset_password_allowed INTEGER NOT NULL,
    edit_username_allowed INTEGER NOT NULL,
    access_token_lifespan INTEGER NOT NULL,
    access_token_lifespan_for_implicit_flow INTEGER NOT NULL,
    sso_session_idle_timeout INTEGER NOT NULL,
    sso_session_max_lifespan INTEGER NOT NULL,
    sso_session_idle_timeout_remember_me INTEGER NOT NULL,
    sso_session_max_lifespan_remember_me INTEGER NOT NULL,
    offline_session_idle_timeout INTEGER NOT NULL,
    offline_session_max_lifespan INTEGER NOT NULL,
    client_session_idle_timeout INTEGER NOT NULL,
    client_session_max_lifespan INTEGER NOT NULL,
    access_code_lifespan INTEGER NOT NULL,
    access_code_lifespan_user_action INTEGER NOT NULL,
    access_code_lifespan_login INTEGER NOT NULL,
    action_token_generated_by_admin_lifespan INTEGER NOT NULL,
    action_token_generated_by_user_lifespan INTEGER NOT NULL,
    offline_session_max_lifespan_enabled INTEGER NOT NULL,
    revoke_refresh_token INTEGER NOT NULL,
    refresh_token_max_reuse INTEGER NOT NULL,
    not_before BIGINT NOT NULL,
    brute_force_protected INTEGER NOT NULL,
    permanent_lockout INTEGER NOT NULL,
    max_failure_wait_seconds INTEGER NOT NULL,
    minimum_quick_login_wait_seconds INTEGER NOT NULL,
    wait_increment_seconds INTEGER NOT NULL,
    failure_factor INTEGER NOT NULL,
    max_temporary_lockouts INTEGER NOT NULL,
    quick_login_check_milli_seconds BIGINT NOT NULL,
    max_delta_time_seconds BIGINT NOT NULL,
    default_signature_algorithm TEXT NOT NULL,
    password_policy TEXT,
    -- No foreign key: the default role belongs to the realm, so this would be a cycle; the
    -- role goes when the realm goes.
    default_role_id TEXT,
    CONSTRAINT uk_realm_name UNIQUE (name)
);

CREATE TABLE realm_attribute (
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (realm_id, name)
);

CREATE TABLE client (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    enabled INTEGER NOT NULL,
    public_client INTEGER NOT NULL,
    bearer_only INTEGER NOT NULL,
    standard_flow_enabled INTEGER NOT NULL,
    implicit_flow_enabled INTEGER NOT NULL,
    direct_access_grants_enabled INTEGER NOT NULL,
    service_accounts_enabled INTEGER NOT NULL,
    consent_required INTEGER NOT NULL,
    full_scope_allowed INTEGER NOT NULL,
    frontchannel_logout INTEGER NOT NULL,
    always_display_in_console INTEGER NOT NULL,
    secret TEXT,
    client_authenticator_type TEXT NOT NULL,
    protocol TEXT NOT NULL,
    root_url TEXT,
    base_url TEXT,
    admin_url TEXT,
    created_timestamp BIGINT NOT NULL,
    CONSTRAINT uk_client_client_id UNIQUE (realm_id, client_id)
);

CREATE TABLE client_attribute (
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (client_id, name)
);

CREATE TABLE redirect_uri (
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    pos INTEGER NOT NULL,
    PRIMARY KEY (client_id, value)
);

CREATE TABLE web_origin (
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    pos INTEGER NOT NULL,
    PRIMARY KEY (client_id, value)
);

CREATE TABLE keycloak_role (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    client_id TEXT REFERENCES client (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT
);
CREATE UNIQUE INDEX uk_realm_role_name ON keycloak_role (realm_id, name) WHERE client_id IS NULL;
CREATE UNIQUE INDEX uk_client_role_name ON keycloak_role (client_id, name) WHERE client_id IS NOT NULL;

CREATE TABLE role_attribute (
    role_id TEXT NOT NULL REFERENCES keycloak_role (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pos INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (role_id, name, pos)
);

CREATE TABLE composite_role (
    composite TEXT NOT NULL REFERENCES keycloak_role (id) ON DELETE CASCADE,
    child_role TEXT NOT NULL REFERENCES keycloak_role (id) ON DELETE CASCADE,
    PRIMARY KEY (composite, child_role)
);
CREATE INDEX idx_composite_child ON composite_role (child_role);

CREATE TABLE user_entity (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    enabled INTEGER NOT NULL,
    email_verified INTEGER NOT NULL,
    created_timestamp BIGINT NOT NULL,
    federation_link TEXT,
    -- A service-account user goes with its client, as in Keycloak.
    service_account_client_link TEXT REFERENCES client (id) ON DELETE CASCADE,
    not_before BIGINT NOT NULL,
    CONSTRAINT uk_user_username UNIQUE (realm_id, username)
);
-- Email uniqueness depends on the realm's duplicateEmailsAllowed, so services decide it.
CREATE INDEX idx_user_email ON user_entity (realm_id, email);
CREATE INDEX idx_user_service_account ON user_entity (service_account_client_link);

CREATE TABLE user_attribute (
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pos INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, name, pos)
);
CREATE INDEX idx_user_attribute_name_value ON user_attribute (name, value);

CREATE TABLE user_required_action (
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    pos INTEGER NOT NULL,
    PRIMARY KEY (user_id, action)
);

CREATE TABLE credential (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    user_label TEXT,
    created_date BIGINT NOT NULL,
    secret_data TEXT NOT NULL,
    credential_data TEXT NOT NULL,
    priority INTEGER NOT NULL
);
CREATE INDEX idx_credential_user ON credential (user_id);

CREATE TABLE user_role_mapping (
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES keycloak_role (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX idx_user_role_mapping_role ON user_role_mapping (role_id);

CREATE TABLE keycloak_group (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES keycloak_group (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT
);
CREATE UNIQUE INDEX uk_top_group_name ON keycloak_group (realm_id, name) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX uk_sub_group_name ON keycloak_group (parent_id, name) WHERE parent_id IS NOT NULL;

CREATE TABLE group_attribute (
    group_id TEXT NOT NULL REFERENCES keycloak_group (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pos INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (group_id, name, pos)
);

CREATE TABLE group_role_mapping (
    group_id TEXT NOT NULL REFERENCES keycloak_group (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES keycloak_role (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);
CREATE INDEX idx_group_role_mapping_role ON group_role_mapping (role_id);

CREATE TABLE user_group_membership (
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES keycloak_group (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX idx_user_group_membership_group ON user_group_membership (group_id);

CREATE TABLE client_scope (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    protocol TEXT NOT NULL,
    CONSTRAINT uk_client_scope_name UNIQUE (realm_id, name)
);

CREATE TABLE client_scope_attribute (
    scope_id TEXT NOT NULL REFERENCES client_scope (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope_id, name)
);

CREATE TABLE default_client_scope (
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    scope_id TEXT NOT NULL REFERENCES client_scope (id) ON DELETE CASCADE,
    default_scope INTEGER NOT NULL,
    PRIMARY KEY (realm_id, scope_id)
);

CREATE TABLE client_scope_client (
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    scope_id TEXT NOT NULL REFERENCES client_scope (id) ON DELETE CASCADE,
    default_scope INTEGER NOT NULL,
    PRIMARY KEY (client_id, scope_id)
);

CREATE TABLE protocol_mapper (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    protocol TEXT NOT NULL,
    protocol_mapper_name TEXT NOT NULL,
    client_id TEXT REFERENCES client (id) ON DELETE CASCADE,
    client_scope_id TEXT REFERENCES client_scope (id) ON DELETE CASCADE,
    CONSTRAINT chk_protocol_mapper_owner CHECK ((client_id IS NULL) <> (client_scope_id IS NULL))
);
CREATE INDEX idx_protocol_mapper_client ON protocol_mapper (client_id);
CREATE INDEX idx_protocol_mapper_scope ON protocol_mapper (client_scope_id);

CREATE TABLE protocol_mapper_config (
    protocol_mapper_id TEXT NOT NULL REFERENCES protocol_mapper (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (protocol_mapper_id, name)
);
