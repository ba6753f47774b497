//! `/health`, `/health/live` and `/health/ready` in the MicroProfile Health shape Keycloak uses,
//! so probes and dashboards written for Keycloak read them unchanged.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

/// A probe must answer even when the database hangs: a check slower than this counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

const DB_CHECK: &str = "Keycloak database connections health check";

/// Liveness: the process answers. Never depends on the database, so a database outage does not
/// make an orchestrator restart every node at once.
pub async fn live() -> (StatusCode, Json<Value>) {
    respond(Vec::new())
}

/// Readiness (and `/health`, which has no other checks yet): start-up is done, shutdown has not begun, and the database answers.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    respond(ready_checks(&state).await)
}

async fn ready_checks(state: &AppState) -> Vec<Value> {
    let db = match tokio::time::timeout(CHECK_TIMEOUT, state.services.database_ready()).await {
        Ok(Ok(())) => json!({"name": DB_CHECK, "status": "UP"}),
        Ok(Err(e)) => json!({"name": DB_CHECK, "status": "DOWN", "data": {"error": e.to_string()}}),
        Err(_) => json!({"name": DB_CHECK, "status": "DOWN", "data": {"error": "timed out"}}),
    };
    let startup = if state.readiness.get() {
        json!({"name": "Gatehouse start-up", "status": "UP", "data": {"node": &*state.node_name}})
    } else {
        json!({"name": "Gatehouse start-up", "status": "DOWN", "data": {"node": &*state.node_name}})
    };
    vec![db, startup]
}

fn respond(checks: Vec<Value>) -> (StatusCode, Json<Value>) {
    let up = checks.iter().all(|c| c["status"] == "UP");
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if up { "UP" } else { "DOWN" }, "checks": checks});
    (status, Json(body))
}
