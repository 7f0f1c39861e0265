//! Pages for browsers: sign-in, the fleet, a cluster's snapshots, a snapshot's report, the drift
//! between two snapshots. They authenticate with a session cookie ([`session`]) or, like the
//! API, a bearer token; errors become pages for browsers ([`layout::html_errors`]).

mod assets;
mod cluster;
mod drift;
mod fleet;
mod layout;
mod report;
mod session;
mod sparkline;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(fleet::page))
        .route("/login", get(session::form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/clusters/{name}", get(cluster::page))
        .route("/compare", get(cluster::compare))
        .route("/snapshots/{id}", get(report::page))
        .route("/snapshots/{id}/diff/{other}", get(drift::page))
        .route("/assets/portal.css", get(assets::style))
        .route("/assets/portal.js", get(assets::script))
        .route("/assets/favicon.svg", get(assets::icon))
        .route("/favicon.ico", get(assets::icon))
        .route_layer(from_fn(layout::html_errors))
        .route_layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
}
