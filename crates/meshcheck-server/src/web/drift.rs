//! `GET /snapshots/{id}/diff/{other}`: the drift between two snapshots of a cluster, the drift
//! crate's HTML fragment inside the portal's page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::layout::{Chrome, path_segment, render, short_time};
use super::session::PageCaller;
use crate::api::ApiError;
use crate::api::diff::{DiffParams, drift_between};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "drift.html")]
struct DriftPage {
    chrome: Chrome,
    cluster: String,
    cluster_href: String,
    old_href: String,
    old_time: String,
    new_href: String,
    new_time: String,
    fragment: String,
}

pub async fn page(
    State(state): State<AppState>,
    page_caller: PageCaller,
    Path((id, other)): Path<(String, String)>,
    Query(params): Query<DiffParams>,
) -> Result<Response, ApiError> {
    let compared =
        drift_between(&state, &page_caller.caller, &id, &other, params.any_cluster).await?;
    let drift = compared.drift;
    let fragment =
        tokio::task::spawn_blocking(move || meshcheck_drift::render_html_fragment(&drift))
            .await
            .map_err(|error| ApiError::internal(format!("drift page task: {error}")))?;
    let cluster = compared.new.cluster.clone();
    let page = DriftPage {
        chrome: Chrome::signed_in(format!("Drift of {cluster}"), "fleet", &page_caller),
        cluster_href: format!("/clusters/{}", path_segment(&cluster)),
        cluster,
        old_href: format!("/snapshots/{}", compared.old.id),
        old_time: short_time(compared.old.collected_at),
        new_href: format!("/snapshots/{}", compared.new.id),
        new_time: short_time(compared.new.collected_at),
        fragment,
    };
    render(StatusCode::OK, &page)
}
