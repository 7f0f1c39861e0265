//! Reading and deleting a tenant's snapshots. Every lookup is scoped by the caller's tenant: an
//! id of another tenant's snapshot answers exactly like an unknown one.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, SnapshotView, base_url, valid_snapshot_id};
use crate::auth::Caller;
use crate::blobs::Blob;
use crate::state::AppState;
use crate::store::{Cursor, ListQuery, Role, Snapshot, SnapshotStatus};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// The caller's snapshot, or 404.
pub async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<Snapshot, ApiError> {
    if !valid_snapshot_id(id) {
        return Err(ApiError::snapshot_not_found());
    }
    let (tenant_id, id) = (caller.tenant_id, id.to_owned());
    state
        .db(move |store| store.snapshot(tenant_id, &id))
        .await?
        .ok_or_else(ApiError::snapshot_not_found)
}

/// 409 unless the analysis is done (a report exists only then).
pub fn require_done(snapshot: &Snapshot) -> Result<(), ApiError> {
    match snapshot.status {
        SnapshotStatus::Done => Ok(()),
        SnapshotStatus::Pending => Err(ApiError::new(
            StatusCode::CONFLICT,
            "the snapshot is still being analyzed (status pending); try again shortly",
        )),
        SnapshotStatus::Failed => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the analysis failed: {}",
                snapshot.error.as_deref().unwrap_or("no reason recorded")
            ),
        )),
    }
}

/// A stored blob as the response body, or 500 when the row says it exists and it does not.
pub async fn blob_response(
    state: &AppState,
    snapshot: &Snapshot,
    blob: Blob,
    content_type: &'static str,
) -> Result<Response, ApiError> {
    let Some(result) = state
        .blobs
        .get(&snapshot.id, blob)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::internal(format!(
            "snapshot {}: {blob:?} missing from the blob store",
            snapshot.id
        )));
    };
    let length = result.meta.size;
    let mut response = Body::from_stream(result.into_stream()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    cluster: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit: between 1 and {MAX_PAGE}"
        )));
    }
    let after = match params.cursor.as_deref().filter(|cursor| !cursor.is_empty()) {
        Some(cursor) => Some(
            Cursor::decode(cursor)
                .ok_or_else(|| ApiError::bad_request("cursor: not one this server handed out"))?,
        ),
        None => None,
    };
    let query = ListQuery {
        tenant_id: caller.tenant_id,
        cluster: params.cluster.filter(|cluster| !cluster.is_empty()),
        // One more than asked tells whether there is a next page.
        limit: limit + 1,
        after,
    };
    let mut snapshots = state.db(move |store| store.list_snapshots(&query)).await?;
    let next_cursor = if snapshots.len() > limit {
        snapshots.truncate(limit);
        snapshots.last().map(|last| Cursor::of(last).encode())
    } else {
        None
    };
    let base = base_url(&state, &headers);
    let snapshots: Vec<SnapshotView> = snapshots
        .into_iter()
        .map(|snapshot| SnapshotView::new(snapshot, &base))
        .collect();
    Ok(Json(serde_json::json!({
        "snapshots": snapshots,
        "next_cursor": next_cursor,
    })))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SnapshotView>, ApiError> {
    let snapshot = find(&state, &caller, &id).await?;
    Ok(Json(SnapshotView::new(
        snapshot,
        &base_url(&state, &headers),
    )))
}

/// The stored `report.json`: exactly what `meshcheck analyze -o json` prints.
pub async fn findings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = find(&state, &caller, &id).await?;
    require_done(&snapshot)?;
    blob_response(&state, &snapshot, Blob::ReportJson, "application/json").await
}

/// A file name safe in a Content-Disposition header.
fn download_name(snapshot: &Snapshot) -> String {
    let cluster: String = snapshot
        .cluster
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let time = crate::state::rfc3339(snapshot.collected_at).replace(':', "");
    format!("meshcheck-{cluster}-{time}.tar.zst")
}

pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Role::Uploader)?;
    let snapshot = find(&state, &caller, &id).await?;
    let mut response = blob_response(&state, &snapshot, Blob::Archive, "application/zstd").await?;
    let disposition = format!("attachment; filename=\"{}\"", download_name(&snapshot));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    let entry = caller.audit("download", Some(&snapshot.id), "ok");
    state.db(move |store| store.audit(&entry)).await?;
    Ok(response)
}

/// Removes the row first (the snapshot disappears at once), then its files; files left by a
/// crash in between are removed by the orphan sweep.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let snapshot = find(&state, &caller, &id).await?;
    let (tenant_id, owned_id) = (caller.tenant_id, snapshot.id.clone());
    if !state
        .db(move |store| store.delete_snapshot(tenant_id, &owned_id))
        .await?
    {
        return Err(ApiError::snapshot_not_found());
    }
    if let Err(error) = state.blobs.delete_snapshot(&snapshot.id).await {
        tracing::warn!(snapshot = %snapshot.id, error = %error, "files left for the orphan sweep");
    }
    tracing::info!(tenant = %caller.tenant, token_id = %caller.token_id, snapshot = %snapshot.id, "snapshot deleted");
    let entry = caller.audit("delete", Some(&snapshot.id), "ok");
    state.db(move |store| store.audit(&entry)).await?;
    Ok(StatusCode::NO_CONTENT)
}
