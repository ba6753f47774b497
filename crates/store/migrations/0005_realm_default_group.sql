-- A realm's default groups (Keycloak's REALM_DEFAULT_GROUPS): every user created in the realm
-- joins them. Deleting the realm or the group removes the row.
CREATE TABLE realm_default_group (
    realm_id TEXT NOT NULL REFERENCES realm (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES keycloak_group (id) ON DELETE CASCADE,
    PRIMARY KEY (realm_id, group_id)
);
CREATE INDEX idx_realm_default_group_group ON realm_default_group (group_id);
