//! How snapshots look in API answers.

use axum::http::{HeaderMap, header};
use serde::Serialize;

use crate::state::{AppState, rfc3339};
use crate::store::{SeverityCounts, Snapshot, SnapshotStatus};

/// Snapshot ids are 128 random bits in lowercase hex.
pub fn valid_snapshot_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// `scheme://host` for the URLs handed out: `--public-url` when set, else the request's Host
/// (only when it looks like a host name, so a forged header cannot inject markup), else the
/// listen address.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = &state.config.public_url {
        return public.trim_end_matches('/').to_owned();
    }
    let scheme = if state.tls { "https" } else { "http" };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.len() <= 255
                && host
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.address.to_string());
    format!("{scheme}://{host}")
}

#[derive(Debug, Serialize)]
pub struct SummaryView {
    pub score: Option<i64>,
    pub grade: Option<String>,
    #[serde(flatten)]
    pub counts: SeverityCounts,
    pub objects: Option<i64>,
}

/// A snapshot as `GET /api/v1/snapshots[/{id}]` shows it.
#[derive(Debug, Serialize)]
pub struct SnapshotView {
    pub id: String,
    pub cluster: String,
    pub source: String,
    pub collected_at: String,
    pub uploaded_at: String,
    pub status: SnapshotStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analyzed_at: Option<String>,
    pub sha256: String,
    pub archive_bytes: i64,
    pub kubernetes_version: Option<String>,
    pub istio_version: Option<String>,
    /// Present once the analysis is done.
    pub summary: Option<SummaryView>,
    pub url: String,
    pub report_url: String,
    pub findings_url: String,
}

impl SnapshotView {
    pub fn new(snapshot: Snapshot, base: &str) -> SnapshotView {
        let summary = snapshot.counts.map(|counts| SummaryView {
            score: snapshot.score,
            grade: snapshot.grade.clone(),
            counts,
            objects: snapshot.objects,
        });
        SnapshotView {
            url: format!("{base}/api/v1/snapshots/{}", snapshot.id),
            report_url: report_url(base, &snapshot.id),
            findings_url: format!("{base}/api/v1/snapshots/{}/findings", snapshot.id),
            collected_at: rfc3339(snapshot.collected_at),
            uploaded_at: rfc3339(snapshot.uploaded_at),
            analyzed_at: snapshot.analyzed_at.map(rfc3339),
            id: snapshot.id,
            cluster: snapshot.cluster,
            source: snapshot.source,
            status: snapshot.status,
            error: snapshot.error,
            sha256: snapshot.sha256,
            archive_bytes: snapshot.archive_bytes,
            kubernetes_version: snapshot.kubernetes_version,
            istio_version: snapshot.istio_version,
            summary,
        }
    }
}

pub fn report_url(base: &str, id: &str) -> String {
    format!("{base}/snapshots/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_are_32_lowercase_hex_digits() {
        assert!(valid_snapshot_id(&"0a".repeat(16)));
        for bad in [
            "",
            "../etc",
            &"0A".repeat(16),
            &"0".repeat(31),
            &"g".repeat(32),
        ] {
            assert!(!valid_snapshot_id(bad), "{bad}");
        }
    }
}
