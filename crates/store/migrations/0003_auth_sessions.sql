-- Gatehouse schema, version 3: authentication sessions (logins in progress) and authorization
-- codes. Same portable dialect as 0001 and 0002 (TEXT, INTEGER flags, BIGINT unix seconds,
-- JSON objects of strings in TEXT, ON DELETE CASCADE from the owner).

-- Keycloak's authentication sessions: the root id is the AUTH_SESSION_ID cookie, one row per
-- browser tab (tab_id). Short-lived; kept here so that every node sees them.
CREATE TABLE auth_session (
    id TEXT NOT NULL,
    tab_id TEXT NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    -- Set once the user is identified.
    user_id TEXT REFERENCES user_entity (id) ON DELETE CASCADE,
    -- The authorization request, a JSON object of strings.
    params TEXT NOT NULL,
    -- Flow state, a JSON object of strings.
    notes TEXT NOT NULL,
    PRIMARY KEY (id, tab_id)
);
CREATE INDEX idx_auth_session_expires ON auth_session (expires);
-- Keeps the cascade from user_entity from scanning the table on PostgreSQL.
CREATE INDEX idx_auth_session_user ON auth_session (user_id);

-- Authorization codes. `used` flips from 0 to 1 in one guarded UPDATE, so exactly one token
-- request wins; a used row is kept for an hour past expiry so that a replay is still seen.
-- user_session_id has no foreign key: a replay must be recognised even after the user
-- session it points to is gone (and revoking it is then the caller's no-op).
CREATE TABLE auth_code (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    user_session_id TEXT NOT NULL,
    offline INTEGER NOT NULL,
    expires BIGINT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    -- redirect_uri, scope, nonce, PKCE challenge, ...: a JSON object of strings.
    data TEXT NOT NULL
);
CREATE INDEX idx_auth_code_expires ON auth_code (expires);
