//! End-to-end tests: the real `gatehouse` binary, real SQLite files and a real PostgreSQL.
//! One test binary for all of them (STYLE.md), one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_api;
mod admin_clients;
mod admin_groups_roles;
mod admin_impersonation;
mod admin_keys;
mod admin_partial;
mod admin_realms;
mod admin_users;
mod browser;
mod caches;
mod chaos;
mod cluster;
mod consent;
mod handoff;
mod harness;
mod nginx;
mod oauth;
mod oidc;
mod oidc_more;
mod options;
mod proxy;
mod single_use;
mod startup;
mod themes;
mod transfer;
mod welcome;
