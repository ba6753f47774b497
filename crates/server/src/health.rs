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
    let mut checks = vec![db, startup];
    if let Some(status) = state.services.cluster_status() {
        // Cut off from some peers, a node still serves correctly (from the database, caches
        // bypassed), so it stays ready; the details say why it is slower.
        checks.push(json!({
            "name": "Gatehouse cluster",
            "status": "UP",
            "data": {
                "view": status.view.as_ref().map(|v| v.to_string()),
                "cachesTrusted": status.caches_trusted,
                "unreachable": status.unreachable,
            }
        }));
    }
    checks
}

/// `/cluster` on the management port: this node's view of its cluster (members, coordinator,
/// view id, each member's address and site) and its caches' figures; 404 when not clustered.
pub async fn cluster(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let Some(status) = state.services.cluster_status() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "this node is not in a cluster (cache=local)"})),
        );
    };
    let members = |v: &gatehouse_services::ClusterView| {
        v.members
            .iter()
            .map(|m| json!({"name": m.name, "address": m.address, "site": m.site}))
            .collect::<Vec<_>>()
    };
    let caches: Vec<Value> = state
        .services
        .cache_stats()
        .into_iter()
        .map(|c| json!({"name": c.name, "entries": c.entries, "hits": c.hits, "misses": c.misses}))
        .collect();
    (
        StatusCode::OK,
        Json(json!({
            "cluster": status.cluster,
            "node": {"name": status.me.name, "address": status.me.address, "site": status.me.site},
            "view": status.view.as_ref().map(|v| json!({
                "id": v.id,
                "coordinator": v.coordinator,
                "members": members(v),
                "text": v.to_string(),
            })),
            "cachesTrusted": status.caches_trusted,
            "unreachable": status.unreachable,
            "invalidations": {
                "sent": status.events_sent,
                "received": status.events_received,
                "acknowledgementsMissed": status.acks_missed,
                "acknowledged": status.acks_complete,
                "acknowledgementMillisP99": status.ack_p99_micros as f64 / 1000.0,
                "acknowledgementMillisMax": status.ack_max_micros as f64 / 1000.0,
            },
            "caches": caches,
            "distributedCaches": status.distributed.iter().map(|d| json!({
                "name": d.name,
                "owners": d.owners,
                "entries": d.entries,
            })).collect::<Vec<_>>(),
        })),
    )
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
