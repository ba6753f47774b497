-- Gatehouse schema, version 2: realm keys, durable user and client sessions, single-use
-- markers and revoked access tokens. Same portable dialect as 0001 (TEXT, INTEGER flags,
-- BIGINT times, ON DELETE CASCADE from the owning realm).

-- Realm keys. Keycloak keeps them as components of provider type
-- org.keycloak.keys.KeyProvider; we keep a table of our own and render components at the edge.
CREATE TABLE realm_key (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_use TEXT NOT NULL,
    priority BIGINT NOT NULL,
    enabled INTEGER NOT NULL,
    active INTEGER NOT NULL,
    -- Base64 of the PKCS#8 DER private key, or of the raw secret for HMAC.
    private_key TEXT NOT NULL,
    -- Base64 of the DER certificate.
    certificate TEXT,
    created_timestamp BIGINT NOT NULL
);
CREATE INDEX idx_realm_key_realm ON realm_key (realm_id);

-- Durable user sessions, online (offline = 0) and offline (offline = 1), as Keycloak 26
-- persists both by default. An offline session shares the id of its online session.
-- Times are unix seconds; notes are a JSON object of strings.
CREATE TABLE user_session (
    id TEXT NOT NULL,
    offline INTEGER NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    login_username TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    remember_me INTEGER NOT NULL,
    started BIGINT NOT NULL,
    last_refresh BIGINT NOT NULL,
    broker_session_id TEXT,
    broker_user_id TEXT,
    notes TEXT NOT NULL,
    PRIMARY KEY (id, offline)
);
CREATE INDEX idx_user_session_user ON user_session (realm_id, user_id);
CREATE INDEX idx_user_session_refresh ON user_session (realm_id, last_refresh);
-- The user_id foreign key cascades from user_entity: without an index led by user_id, every
-- user deletion would scan the table on PostgreSQL.
CREATE INDEX idx_user_session_user_id ON user_session (user_id);

CREATE TABLE client_session (
    user_session_id TEXT NOT NULL,
    offline INTEGER NOT NULL,
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    started BIGINT NOT NULL,
    last_refresh BIGINT NOT NULL,
    redirect_uri TEXT,
    notes TEXT NOT NULL,
    current_refresh_token TEXT,
    refresh_token_use_count INTEGER NOT NULL,
    PRIMARY KEY (user_session_id, offline, client_id),
    FOREIGN KEY (user_session_id, offline) REFERENCES user_session (id, offline) ON DELETE CASCADE
);
CREATE INDEX idx_client_session_client ON client_session (client_id);

-- Single use of an authorization code or action token: the first insert of a key wins.
-- `expires` (unix seconds) lets an expired marker be purged or taken over.
CREATE TABLE single_use (
    key TEXT PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX idx_single_use_expires ON single_use (expires);

-- Revoked access tokens (RFC 7009), by token id, kept until the token would have expired.
CREATE TABLE revoked_token (
    id TEXT PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX idx_revoked_token_expires ON revoked_token (expires);
