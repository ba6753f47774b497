-- Gatehouse schema, version 10: logins in progress moved to the distributed
-- `authenticationSessions` cache (as Keycloak keeps them), so their table goes. A login that
-- was in progress during the upgrade restarts from its KC_RESTART cookie.
DROP TABLE auth_session;
