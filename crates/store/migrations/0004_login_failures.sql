-- Brute-force detection (Keycloak's loginFailures): one row per user with recent failed logins.
-- In the database so that failures counted on every node lock the user on all of them.
-- previous_failure keeps the failure before the last one, so the quick-login check can be made
-- from the row one atomic upsert returns.
CREATE TABLE login_failure (
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    num_failures INTEGER NOT NULL,
    num_temporary_lockouts INTEGER NOT NULL,
    last_failure BIGINT NOT NULL,
    previous_failure BIGINT NOT NULL,
    last_ip TEXT,
    failed_login_not_before BIGINT NOT NULL,
    PRIMARY KEY (realm_id, user_id)
);
CREATE INDEX idx_login_failure_user ON login_failure (user_id);
