//! The JSON API under `/api/v1`, plus `/healthz` and `/metrics`.

pub(crate) mod clusters;
pub(crate) mod diff;
mod error;
pub(crate) mod snapshots;
mod upload;
mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;
pub use views::{SnapshotView, base_url, valid_snapshot_id};

use crate::state::AppState;

/// Routes of the API; `state.config` sets the time limits.
pub fn router(state: &AppState) -> Router<AppState> {
    let request_timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout);
    let upload_timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.upload_timeout);
    let uploads = Router::new()
        .route("/api/v1/snapshots", post(upload::upload))
        // The handler streams the body to disk under its own cap.
        .route_layer(DefaultBodyLimit::disable())
        .route_layer(upload_timeout);
    let reads = Router::new()
        .route("/api/v1/snapshots", get(snapshots::list))
        .route(
            "/api/v1/snapshots/{id}",
            get(snapshots::show).delete(snapshots::delete),
        )
        .route("/api/v1/snapshots/{id}/findings", get(snapshots::findings))
        .route("/api/v1/snapshots/{id}/archive", get(snapshots::archive))
        .route("/api/v1/snapshots/{id}/diff/{other}", get(diff::diff))
        .route("/api/v1/clusters", get(clusters::list))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route_layer(request_timeout);
    uploads.merge(reads)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
