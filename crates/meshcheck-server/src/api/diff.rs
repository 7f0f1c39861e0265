//! `GET /api/v1/snapshots/{id}/diff/{other}`: drift between two of the tenant's snapshots,
//! from the digests stored with their analyses. The earlier-collected one is the baseline,
//! whichever order the ids come in.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meshcheck_drift::{Drift, SnapshotDigest};
use serde::Deserialize;

use super::ApiError;
use super::snapshots::{find, require_done};
use crate::auth::Caller;
use crate::blobs::Blob;
use crate::state::AppState;
use crate::store::Snapshot;

#[derive(Debug, Deserialize)]
pub struct DiffParams {
    /// Compare snapshots of different clusters (refused by default: the drift is noise).
    #[serde(default)]
    pub any_cluster: bool,
}

async fn digest(state: &AppState, snapshot: &Snapshot) -> Result<SnapshotDigest, ApiError> {
    let Some(bytes) = state
        .blobs
        .get_bytes(&snapshot.id, Blob::Digest)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "snapshot {} was analyzed without drift data; upload it again after deleting it",
                snapshot.id
            ),
        ));
    };
    let text = String::from_utf8_lossy(&bytes);
    SnapshotDigest::from_json(&text)
        .map_err(|error| ApiError::internal(format!("snapshot {}: digest: {error}", snapshot.id)))
}

/// Two snapshots and the drift from the earlier-collected one to the later one.
pub struct SnapshotDrift {
    pub old: Snapshot,
    pub new: Snapshot,
    pub drift: Drift,
}

/// Drift between two of the caller's snapshots, the earlier-collected one as the baseline: the
/// JSON API and the drift page both answer from this.
pub async fn drift_between(
    state: &AppState,
    caller: &Caller,
    id: &str,
    other: &str,
    any_cluster: bool,
) -> Result<SnapshotDrift, ApiError> {
    let first = find(state, caller, id).await?;
    let second = find(state, caller, other).await?;
    require_done(&first)?;
    require_done(&second)?;
    if first.cluster != second.cluster && !any_cluster {
        return Err(ApiError::bad_request(format!(
            "snapshot {} is of cluster {} but {} of cluster {}; add ?any_cluster=true to compare them anyway",
            first.id, first.cluster, second.id, second.cluster
        )));
    }
    let (old, new) = if (first.collected_at, first.seq) <= (second.collected_at, second.seq) {
        (first, second)
    } else {
        (second, first)
    };
    let (old_digest, new_digest) = (digest(state, &old).await?, digest(state, &new).await?);
    let drift =
        tokio::task::spawn_blocking(move || meshcheck_drift::diff(&old_digest, &new_digest))
            .await
            .map_err(|error| ApiError::internal(format!("drift task: {error}")))?;
    Ok(SnapshotDrift { old, new, drift })
}

pub async fn diff(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, other)): Path<(String, String)>,
    Query(params): Query<DiffParams>,
) -> Result<Response, ApiError> {
    let drift = drift_between(&state, &caller, &id, &other, params.any_cluster).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        meshcheck_drift::render_json(&drift.drift),
    )
        .into_response())
}
