//! `GET /api/v1/clusters`: the fleet, one row per cluster of the tenant.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::views::report_url;
use super::{ApiError, base_url};
use crate::auth::Caller;
use crate::state::{AppState, rfc3339};
use crate::store::{ClusterSummary, SeverityCounts, SnapshotStatus};

const DEFAULT_HISTORY: usize = 30;
const MAX_HISTORY: usize = 365;

#[derive(Debug, Deserialize)]
pub struct ClusterParams {
    /// Scores kept per cluster for the sparkline.
    history: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct LatestView {
    pub id: String,
    pub collected_at: String,
    pub kubernetes_version: Option<String>,
    pub istio_version: Option<String>,
    pub score: Option<i64>,
    pub grade: Option<String>,
    pub counts: Option<SeverityCounts>,
    pub report_url: String,
}

#[derive(Debug, Serialize)]
pub struct HistoryPoint {
    pub collected_at: String,
    pub score: i64,
}

#[derive(Debug, Serialize)]
pub struct ClusterView {
    pub cluster: String,
    pub snapshots: i64,
    pub last_snapshot_id: String,
    pub last_collected_at: String,
    pub last_status: SnapshotStatus,
    /// The newest analysed snapshot: versions, score and counts come from it.
    pub latest: Option<LatestView>,
    /// Scores, oldest first.
    pub history: Vec<HistoryPoint>,
}

impl ClusterView {
    pub fn new(summary: ClusterSummary, base: &str) -> ClusterView {
        ClusterView {
            cluster: summary.cluster,
            snapshots: summary.snapshots,
            last_snapshot_id: summary.last.id,
            last_collected_at: rfc3339(summary.last.collected_at),
            last_status: summary.last.status,
            latest: summary.latest_done.map(|done| LatestView {
                report_url: report_url(base, &done.id),
                id: done.id,
                collected_at: rfc3339(done.collected_at),
                kubernetes_version: done.kubernetes_version,
                istio_version: done.istio_version,
                score: done.score,
                grade: done.grade,
                counts: done.counts,
            }),
            history: summary
                .history
                .into_iter()
                .map(|point| HistoryPoint {
                    collected_at: rfc3339(point.collected_at),
                    score: point.score,
                })
                .collect(),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ClusterParams>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let history = params.history.unwrap_or(DEFAULT_HISTORY).min(MAX_HISTORY);
    let tenant_id = caller.tenant_id;
    let clusters = state
        .db(move |store| store.clusters(tenant_id, history))
        .await?;
    let base = base_url(&state, &headers);
    let clusters: Vec<ClusterView> = clusters
        .into_iter()
        .map(|summary| ClusterView::new(summary, &base))
        .collect();
    Ok(Json(serde_json::json!({ "clusters": clusters })))
}
