//! `GET /clusters/{name}`: a cluster's snapshots, newest first, with links to each report and to
//! the drift from the one before; `GET /compare` sends the compare form to the drift page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::layout::{Chrome, path_segment, query_string, render, short_time};
use super::session::PageCaller;
use crate::api::{ApiError, valid_snapshot_id};
use crate::state::AppState;
use crate::store::{Cursor, ListQuery, Snapshot, SnapshotStatus};

const PAGE: usize = 50;

#[derive(Debug, Deserialize)]
pub struct ClusterParams {
    #[serde(default)]
    cursor: String,
}

struct SnapshotRow {
    time: String,
    status: &'static str,
    error: String,
    score: String,
    grade: String,
    critical: String,
    errors: String,
    warnings: String,
    report_href: Option<String>,
    drift_href: Option<String>,
}

struct Choice {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "cluster.html")]
struct ClusterPage {
    chrome: Chrome,
    cluster: String,
    rows: Vec<SnapshotRow>,
    choices: Vec<Choice>,
    older: Option<String>,
}

fn snapshot_row(snapshot: &Snapshot, previous: Option<&Snapshot>) -> SnapshotRow {
    let done = snapshot.status == SnapshotStatus::Done;
    let count = |pick: fn(&crate::store::SeverityCounts) -> i64| {
        snapshot
            .counts
            .as_ref()
            .map_or_else(|| "—".to_owned(), |counts| pick(counts).to_string())
    };
    SnapshotRow {
        time: short_time(snapshot.collected_at),
        status: snapshot.status.as_str(),
        error: snapshot.error.clone().unwrap_or_default(),
        score: snapshot
            .score
            .map_or_else(|| "—".to_owned(), |score| score.to_string()),
        grade: snapshot.grade.clone().unwrap_or_default(),
        critical: count(|counts| counts.critical),
        errors: count(|counts| counts.error),
        warnings: count(|counts| counts.warning),
        report_href: done.then(|| format!("/snapshots/{}", snapshot.id)),
        drift_href: previous
            .filter(|previous| done && previous.status == SnapshotStatus::Done)
            .map(|previous| format!("/snapshots/{}/diff/{}", previous.id, snapshot.id)),
    }
}

pub async fn page(
    State(state): State<AppState>,
    page_caller: PageCaller,
    Path(cluster): Path<String>,
    Query(params): Query<ClusterParams>,
) -> Result<Response, ApiError> {
    let after = match params.cursor.as_str() {
        "" => None,
        cursor => Some(
            Cursor::decode(cursor)
                .ok_or_else(|| ApiError::bad_request("cursor: not one this server handed out"))?,
        ),
    };
    let query = ListQuery {
        tenant_id: page_caller.caller.tenant_id,
        cluster: Some(cluster.clone()),
        // One more than shown: the drift link of the last row needs the snapshot before it, and
        // it tells whether there is an older page.
        limit: PAGE + 1,
        after,
    };
    let snapshots = state.db(move |store| store.list_snapshots(&query)).await?;
    if snapshots.is_empty() && after.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such cluster"));
    }
    let shown = snapshots.len().min(PAGE);
    let rows = (0..shown)
        .map(|index| snapshot_row(&snapshots[index], snapshots.get(index + 1)))
        .collect();
    let choices = snapshots[..shown]
        .iter()
        .filter(|snapshot| snapshot.status == SnapshotStatus::Done)
        .map(|snapshot| Choice {
            id: snapshot.id.clone(),
            label: format!(
                "{} — {} {}",
                short_time(snapshot.collected_at),
                snapshot.grade.as_deref().unwrap_or(""),
                snapshot
                    .score
                    .map(|score| score.to_string())
                    .unwrap_or_default()
            ),
        })
        .collect();
    let older = (snapshots.len() > PAGE).then(|| {
        format!(
            "/clusters/{}?{}",
            path_segment(&cluster),
            query_string([("cursor", Cursor::of(&snapshots[PAGE - 1]).encode().as_str())])
        )
    });
    let page = ClusterPage {
        chrome: Chrome::signed_in(format!("Cluster {cluster}"), "fleet", &page_caller),
        cluster,
        rows,
        choices,
        older,
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct CompareParams {
    #[serde(default)]
    old: String,
    #[serde(default)]
    new: String,
}

/// `GET /compare?old=ID&new=ID` → the drift page of the two (the page checks they are the
/// caller's and of one cluster).
pub async fn compare(
    _page_caller: PageCaller,
    Query(params): Query<CompareParams>,
) -> Result<Response, ApiError> {
    if !valid_snapshot_id(&params.old) || !valid_snapshot_id(&params.new) {
        return Err(ApiError::bad_request("pick two snapshots to compare"));
    }
    if params.old == params.new {
        return Err(ApiError::bad_request(
            "pick two different snapshots to compare",
        ));
    }
    Ok(Redirect::to(&format!("/snapshots/{}/diff/{}", params.old, params.new)).into_response())
}
