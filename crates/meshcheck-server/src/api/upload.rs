//! `POST /api/v1/snapshots`: the archive is streamed to a temporary file under the size cap,
//! verified by the archive reader, stored in the blob store, and only then recorded (pending)
//! and queued for analysis. A failure at any step leaves nothing visible.

use std::io::Write;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, BodyDataStream};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use meshcheck_archive::{Archive, Manifest, Source};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::views::report_url;
use super::{ApiError, base_url};
use crate::auth::Caller;
use crate::blobs::Blob;
use crate::metrics::UploadOutcome;
use crate::state::{AppState, now_micros, rfc3339};
use crate::store::{Inserted, NewSnapshot, Role, Snapshot};
use crate::tokens::{hex, random_hex};

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// Overrides the cluster name taken from the archive (an in-cluster collector's context is
    /// always `in-cluster`).
    cluster: Option<String>,
}

/// Cluster names are shown in lists and pages and used as filters.
fn valid_cluster_name(name: &str) -> bool {
    (1..=253).contains(&name.len()) && !name.chars().any(char::is_control)
}

/// The cluster a snapshot belongs to: the kubeconfig context it was collected from, or
/// `manifests` when it was packed from files.
fn cluster_of(manifest: &Manifest) -> String {
    match (manifest.source, &manifest.context) {
        (Source::Manifests, _) => "manifests".to_owned(),
        (Source::Cluster, Some(context)) if valid_cluster_name(context) => context.clone(),
        (Source::Cluster, _) => "unnamed".to_owned(),
    }
}

fn created_response(
    status: StatusCode,
    snapshot_id: &str,
    cluster: &str,
    collected_at: i64,
    snapshot_status: &str,
    base: &str,
) -> Response {
    (
        status,
        Json(serde_json::json!({
            "id": snapshot_id,
            "cluster": cluster,
            "collected_at": rfc3339(collected_at),
            "report_url": report_url(base, snapshot_id),
            "status": snapshot_status,
        })),
    )
        .into_response()
}

fn duplicate_response(existing: &Snapshot, base: &str) -> Response {
    created_response(
        StatusCode::OK,
        &existing.id,
        &existing.cluster,
        existing.collected_at,
        existing.status.as_str(),
        base,
    )
}

/// An upload received in full: where it is, how big, its SHA-256.
struct Received {
    file: tempfile::NamedTempFile,
    bytes: u64,
    sha256: String,
}

/// How long the rest of a refused upload is read (see [`linger`]).
const LINGER_TIME: Duration = Duration::from_secs(30);

/// Reads and discards the rest of a refused upload in the background while its 413 goes out
/// (with `Connection: close`). Closing a connection with unread data makes the kernel reset
/// it, and a client that writes its whole body before reading (urllib, requests) then sees a
/// broken pipe instead of the 413: nginx's lingering close avoids it the same way. Reading
/// stops once the body passes twice the limit or after `LINGER_TIME`, so a refused upload
/// cannot hold the server for long; a client still sending past that is cut off as before.
fn linger(mut rest: BodyDataStream, mut received: u64, limit: u64) {
    tokio::spawn(async move {
        let drain = async {
            while received <= limit.saturating_mul(2)
                && let Some(Ok(chunk)) = rest.next().await
            {
                received += chunk.len() as u64;
            }
        };
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    });
}

/// Streams the body to a temporary file, refusing it as soon as it passes the cap.
async fn receive(
    state: &AppState,
    version: Version,
    headers: &HeaderMap,
    body: Body,
) -> Result<Received, ApiError> {
    let limit = state.config.max_upload_bytes;
    // HTTP/2 refuses the rest of a body by resetting the stream alone, which clients expect.
    let lingers = version < Version::HTTP_2;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        // A client waiting for `100 Continue` has sent no body and, refused, sends none; reading
        // its body would make hyper send the `100 Continue`.
        let expects_continue = headers
            .get(header::EXPECT)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if lingers && !expects_continue {
            linger(body.into_data_stream(), 0, limit);
        }
        state.metrics.upload(UploadOutcome::TooLarge);
        return Err(ApiError::too_large(limit));
    }
    let mut file = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(&state.upload_dir)
        .map_err(|error| ApiError::internal(format!("{}: {error}", state.upload_dir.display())))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request(format!("the upload was interrupted: {error}"))
        })?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            if lingers {
                linger(stream, bytes, limit);
            }
            state.metrics.upload(UploadOutcome::TooLarge);
            return Err(ApiError::too_large(limit));
        }
        hasher.update(&chunk);
        // Small synchronous writes to a local file: cheaper than a blocking-thread hop per chunk.
        file.write_all(&chunk)
            .map_err(|error| ApiError::internal(format!("{}: {error}", file.path().display())))?;
    }
    file.flush()
        .map_err(|error| ApiError::internal(format!("{}: {error}", file.path().display())))?;
    if bytes == 0 {
        return Err(ApiError::bad_request(
            "empty body: send the archive (meshcheck collect or pack output) as the request body",
        ));
    }
    Ok(Received {
        file,
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

/// Verifies the archive (format, checksums, bomb and traversal limits) and returns its
/// manifest. The error names the archive `upload`, never a server path.
async fn verify(state: &AppState, received: &Received) -> Result<Manifest, ApiError> {
    let _slot = state
        .verify_slots
        .acquire()
        .await
        .map_err(|error| ApiError::internal(format!("verification slots: {error}")))?;
    let file = received.file.reopen().map_err(|error| {
        ApiError::internal(format!("{}: {error}", received.file.path().display()))
    })?;
    let limits = state.config.archive_limits;
    tokio::task::spawn_blocking(move || {
        Archive::from_reader("upload", std::io::BufReader::new(file), &limits)
            .map(|archive| archive.manifest().clone())
    })
    .await
    .map_err(|error| ApiError::internal(format!("verification task: {error}")))?
    .map_err(|error| ApiError::bad_request(error.to_string()))
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<UploadQuery>,
    version: Version,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(Role::Uploader)?;
    if let Some(cluster) = &query.cluster
        && !valid_cluster_name(cluster)
    {
        return Err(ApiError::bad_request(
            "cluster: use 1 to 253 characters without control characters",
        ));
    }
    let base = base_url(&state, &headers);
    let received = receive(&state, version, &headers, body).await?;
    let manifest = match verify(&state, &received).await {
        Ok(manifest) => manifest,
        Err(error) => {
            if error.status == StatusCode::BAD_REQUEST {
                state.metrics.upload(UploadOutcome::Rejected);
                tracing::info!(tenant = %caller.tenant, token_id = %caller.token_id, reason = %error.message, "upload rejected");
                let entry = caller.audit("upload", None, &format!("rejected: {}", error.message));
                state.db(move |store| store.audit(&entry)).await?;
            }
            return Err(error);
        }
    };

    let tenant_id = caller.tenant_id;
    let sha256 = received.sha256.clone();
    if let Some(existing) = state
        .db(move |store| store.snapshot_by_sha256(tenant_id, &sha256))
        .await?
    {
        return duplicate(&state, &caller, &existing, &base).await;
    }

    let id = random_hex(16).map_err(ApiError::internal)?;
    let collected_at = manifest
        .collected_at
        .parse::<jiff::Timestamp>()
        .map(|time| time.as_microsecond())
        .map_err(|error| {
            ApiError::bad_request(format!(
                "upload: manifest.json: collected_at {:?}: {error}",
                manifest.collected_at
            ))
        })?;
    let snapshot = NewSnapshot {
        id: id.clone(),
        tenant_id,
        cluster: query.cluster.unwrap_or_else(|| cluster_of(&manifest)),
        source: manifest.source.as_str().to_owned(),
        sha256: received.sha256.clone(),
        archive_bytes: received.bytes as i64,
        collected_at,
        uploaded_at: now_micros(),
        kubernetes_version: manifest.kubernetes_version.clone(),
    };
    state
        .blobs
        .put_file(&id, Blob::Archive, received.file.path())
        .await
        .map_err(ApiError::internal)?;
    drop(received);
    let insert = snapshot.clone();
    let inserted = match state.db(move |store| store.insert_snapshot(&insert)).await {
        Ok(inserted) => inserted,
        Err(error) => {
            let _ = state.blobs.delete_snapshot(&id).await;
            return Err(error);
        }
    };
    match inserted {
        Inserted::Duplicate(existing) => {
            // The same archive arrived twice at once and the other upload won.
            let _ = state.blobs.delete_snapshot(&id).await;
            duplicate(&state, &caller, &existing, &base).await
        }
        Inserted::New => {
            state.queue.push(id.clone());
            state.metrics.upload(UploadOutcome::Created);
            tracing::info!(
                tenant = %caller.tenant,
                token_id = %caller.token_id,
                snapshot = %id,
                cluster = %snapshot.cluster,
                bytes = snapshot.archive_bytes,
                "snapshot accepted"
            );
            let entry = caller.audit("upload", Some(&id), "created");
            state.db(move |store| store.audit(&entry)).await?;
            Ok(created_response(
                StatusCode::CREATED,
                &id,
                &snapshot.cluster,
                snapshot.collected_at,
                "pending",
                &base,
            ))
        }
    }
}

async fn duplicate(
    state: &AppState,
    caller: &Caller,
    existing: &Snapshot,
    base: &str,
) -> Result<Response, ApiError> {
    state.metrics.upload(UploadOutcome::Duplicate);
    let entry = caller.audit("upload", Some(&existing.id), "duplicate");
    state.db(move |store| store.audit(&entry)).await?;
    Ok(duplicate_response(existing, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_come_from_the_context_or_the_source() {
        let mut manifest: Manifest = serde_json::from_value(serde_json::json!({
            "format_version": 1,
            "meshcheck_version": "0.1.0",
            "collected_at": "2026-11-18T11:06:40Z",
            "source": "cluster",
            "context": "prod-eu",
            "counts": {},
            "members": {},
        }))
        .unwrap();
        assert_eq!(cluster_of(&manifest), "prod-eu");
        manifest.context = Some("bad\nname".to_owned());
        assert_eq!(cluster_of(&manifest), "unnamed");
        manifest.source = Source::Manifests;
        assert_eq!(cluster_of(&manifest), "manifests");
    }
}
