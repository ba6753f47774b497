//! Prometheus metrics with the names Keycloak (Quarkus/Micrometer) publishes, so existing
//! dashboards work: `http_server_requests_seconds` by route template and status, and the
//! database pool as `agroal_*`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// The process-wide recorder. Installed once; later calls (tests building several apps) reuse it.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then ours simply sees nothing.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Records one request under its route template (never the raw path, which would let a client
/// create unbounded label values).
pub async fn track(req: Request, next: Next) -> Response {
    let uri = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "UNKNOWN".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    record(method, uri, response.status(), started);
    response
}

/// The fallback for unknown paths: counted as Keycloak counts them, under `NOT_FOUND`.
pub async fn not_found(req: Request) -> Response {
    record(
        req.method().as_str().to_owned(),
        "NOT_FOUND".to_owned(),
        StatusCode::NOT_FOUND,
        Instant::now(),
    );
    StatusCode::NOT_FOUND.into_response()
}

fn record(method: String, uri: String, status: StatusCode, started: Instant) {
    let outcome = match status.as_u16() {
        100..=199 => "INFORMATIONAL",
        200..=299 => "SUCCESS",
        300..=399 => "REDIRECTION",
        400..=499 => "CLIENT_ERROR",
        _ => "SERVER_ERROR",
    };
    handle();
    metrics::histogram!(
        "http_server_requests_seconds",
        "method" => method,
        "uri" => uri,
        "status" => status.as_u16().to_string(),
        "outcome" => outcome,
    )
    .record(started.elapsed().as_secs_f64());
}

/// `/metrics`: the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let pool = state.services.store().pool_stats();
    let active = pool.size.saturating_sub(pool.idle);
    handle();
    metrics::gauge!("agroal_active_count", "datasource" => "default").set(f64::from(active));
    metrics::gauge!("agroal_available_count", "datasource" => "default").set(f64::from(pool.idle));
    metrics::gauge!("agroal_max_size", "datasource" => "default").set(f64::from(pool.max));
    // Per-cache figures under Keycloak's (Infinispan's) metric names, read at scrape time.
    for c in state.services.cache_stats() {
        metrics::gauge!("vendor_statistics_approximate_entries", "cache" => c.name)
            .set(c.entries as f64);
        metrics::gauge!("vendor_statistics_hits_total", "cache" => c.name).set(c.hits as f64);
        metrics::gauge!("vendor_statistics_misses_total", "cache" => c.name).set(c.misses as f64);
    }
    if let Some(c) = state.services.cluster_status() {
        let (id, members) = c.view.as_ref().map_or((0, 0), |v| (v.id, v.members.len()));
        metrics::gauge!("gatehouse_cluster_view_id").set(id as f64);
        metrics::gauge!("gatehouse_cluster_members").set(members as f64);
        metrics::gauge!("gatehouse_cluster_caches_trusted")
            .set(f64::from(u8::from(c.caches_trusted)));
        metrics::gauge!("gatehouse_cluster_unreachable_nodes").set(c.unreachable.len() as f64);
        metrics::gauge!("gatehouse_cluster_invalidations_sent_total").set(c.events_sent as f64);
        metrics::gauge!("gatehouse_cluster_invalidations_received_total")
            .set(c.events_received as f64);
        metrics::gauge!("gatehouse_cluster_acknowledgements_missed_total")
            .set(c.acks_missed as f64);
        for d in &c.distributed {
            metrics::gauge!("vendor_statistics_approximate_entries", "cache" => d.name)
                .set(d.entries as f64);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}
