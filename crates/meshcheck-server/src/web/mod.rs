//! Pages for browsers. Each page is its own module; they share the API's authentication
//! ([`crate::auth::Caller`]) and its snapshot lookups.

mod report;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/snapshots/{id}", get(report::page))
        .route_layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
}
