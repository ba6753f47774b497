-- User consents (Keycloak's USER_CONSENT and USER_CONSENT_CLIENT_SCOPE): what a user approved
-- on the consent screen of a client that requires consent. One row per (user, client); times
-- are epoch milliseconds, as Keycloak reports them. `client_granted` records that the client
-- itself was on the screen (Keycloak stores the client's id among the scope ids; a flag keeps
-- every row of user_consent_scope a real client scope with a foreign key).
--
-- Deleting the user or the client deletes the consent; deleting a client scope takes it out of
-- every consent, as Keycloak's JPA store does. The indexes led by client_id and scope_id keep
-- those cascades from scanning on PostgreSQL.
CREATE TABLE user_consent (
    user_id TEXT NOT NULL REFERENCES user_entity (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    client_granted INTEGER NOT NULL,
    created_date BIGINT NOT NULL,
    last_updated_date BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX idx_user_consent_client ON user_consent (client_id);

CREATE TABLE user_consent_scope (
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope_id TEXT NOT NULL REFERENCES client_scope (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, client_id, scope_id),
    FOREIGN KEY (user_id, client_id) REFERENCES user_consent (user_id, client_id) ON DELETE CASCADE
);
CREATE INDEX idx_user_consent_scope_scope ON user_consent_scope (scope_id);
