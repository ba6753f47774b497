-- The realm's login theme and languages (Keycloak's REALM.LOGIN_THEME,
-- INTERNATIONALIZATION_ENABLED, DEFAULT_LOCALE and REALM_SUPPORTED_LOCALES).
-- The supported locales are one comma-separated column: they are read and written whole with
-- the realm row, never queried one by one, and a language tag never contains a comma.
ALTER TABLE realm ADD COLUMN login_theme TEXT;
ALTER TABLE realm ADD COLUMN internationalization_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE realm ADD COLUMN supported_locales TEXT NOT NULL DEFAULT '';
ALTER TABLE realm ADD COLUMN default_locale TEXT;
