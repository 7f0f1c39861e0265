//! Analysis off the request path: snapshot ids go into a queue; a dispatcher starts at most
//! `workers` analyses at a time, each on a blocking thread. A snapshot stays `pending` until
//! its reports are stored, so a restart finds it pending and queues it again, and replicas
//! sharing a database pick up what a dead replica left pending (see [`requeue_stale`]). Two
//! runs of the same snapshot are harmless: the first to finish records it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use meshcheck_archive::{Archive, Limits};
use meshcheck_pipeline::{AnalyzeOptions, LoadedInput, analyze};
use meshcheck_report::{Report, render_html, render_json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::blobs::Blob;
use crate::state::{AppState, now_micros};
use crate::store::{AnalysisSummary, SeverityCounts, SnapshotStatus};

/// The sending side of the analysis queue.
#[derive(Debug, Clone)]
pub struct AnalysisQueue {
    sender: mpsc::UnboundedSender<String>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Snapshots queued or being analysed by this process (each is queued once).
    active: Arc<Mutex<HashSet<String>>>,
}

impl AnalysisQueue {
    pub fn new(
        metrics: Arc<crate::metrics::Metrics>,
    ) -> (AnalysisQueue, mpsc::UnboundedReceiver<String>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queue = AnalysisQueue {
            sender,
            metrics,
            active: Arc::new(Mutex::new(HashSet::new())),
        };
        (queue, receiver)
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a snapshot unless this process already has it.
    pub fn push(&self, id: String) {
        if !self.active().insert(id.clone()) {
            return;
        }
        // The receiver lives as long as the server; after shutdown the row stays pending and
        // the next start picks it up.
        if self.sender.send(id).is_ok() {
            self.metrics.queued();
        }
    }

    fn done(&self, id: &str) {
        self.active().remove(id);
    }
}

/// Pending snapshots uploaded more than `stale_after` ago that this process is not working on:
/// their replica died or was stopped. Queues them here.
pub async fn requeue_stale(state: &AppState, stale_after: Duration) -> Result<usize, String> {
    let cutoff = now_micros() - stale_after.as_micros() as i64;
    let ids = state
        .db(move |store| store.pending_ids(cutoff))
        .await
        .map_err(|error| error.message)?;
    let mut queued = 0;
    for id in ids {
        if !state.queue.active().contains(&id) {
            state.queue.push(id);
            queued += 1;
        }
    }
    Ok(queued)
}

/// Starts the dispatcher. Abort the handle to stop taking new work.
pub fn start(
    state: AppState,
    mut receiver: mpsc::UnboundedReceiver<String>,
    workers: usize,
) -> JoinHandle<()> {
    let slots = Arc::new(Semaphore::new(workers));
    tokio::spawn(async move {
        while let Some(id) = receiver.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            state.metrics.dequeued();
            let state = state.clone();
            tokio::spawn(async move {
                run(&state, &id).await;
                state.queue.done(&id);
                drop(permit);
            });
        }
    })
}

/// Why an analysis did not finish.
enum Failure {
    /// The snapshot cannot be analysed (its content, or a bug): recorded on the row as failed.
    Analysis(String),
    /// Storage could not be read or written: the snapshot stays pending and is tried again
    /// (by the stale sweep or the next start); the detail, which may name server paths, goes
    /// to the log only.
    Storage(String),
}

/// Analyses one snapshot and records the outcome: done, failed with a reason, or (storage
/// trouble) still pending.
async fn run(state: &AppState, id: &str) {
    let started = Instant::now();
    let owned_id = id.to_owned();
    let snapshot = match state
        .db(move |store| store.snapshot_unscoped(&owned_id))
        .await
    {
        Ok(Some(snapshot)) if snapshot.status == SnapshotStatus::Pending => snapshot,
        // Deleted, or analysed already (queued twice).
        Ok(_) => return,
        Err(error) => {
            tracing::error!(snapshot = id, error = %error.message, "cannot read the snapshot to analyze");
            return;
        }
    };
    let outcome = analyze_snapshot(state, id, state.config.archive_limits).await;
    let ok = outcome.is_ok();
    let owned_id = id.to_owned();
    let recorded = match outcome {
        Ok(summary) => {
            state
                .db(move |store| store.finish_analysis(&owned_id, &summary))
                .await
        }
        Err(Failure::Storage(error)) => {
            tracing::error!(snapshot = id, error = %error, "storage error; the snapshot stays pending and is retried");
            return;
        }
        Err(Failure::Analysis(error)) => {
            tracing::warn!(snapshot = id, cluster = %snapshot.cluster, error = %error, "analysis failed");
            state
                .db(move |store| store.fail_analysis(&owned_id, &error, now_micros()))
                .await
        }
    };
    let took = started.elapsed();
    state.metrics.finished(ok, took);
    match recorded {
        Ok(true) => tracing::info!(
            snapshot = id,
            cluster = %snapshot.cluster,
            ok,
            seconds = took.as_secs_f64(),
            "analysis finished"
        ),
        // Another run (another replica) recorded it first, or the snapshot was deleted while
        // it was analysed: then remove what this run wrote.
        Ok(false) => {
            let owned_id = id.to_owned();
            if let Ok(None) = state
                .db(move |store| store.snapshot_unscoped(&owned_id))
                .await
                && let Err(error) = state.blobs.delete_snapshot(id).await
            {
                tracing::warn!(snapshot = id, error = %error, "cannot remove reports of a deleted snapshot");
            }
        }
        Err(error) => {
            tracing::error!(snapshot = id, error = %error.message, "cannot record the analysis")
        }
    }
}

/// Loads the archive, analyses it and stores both reports; the summary goes on the row.
async fn analyze_snapshot(
    state: &AppState,
    id: &str,
    limits: Limits,
) -> Result<AnalysisSummary, Failure> {
    let archive = state
        .blobs
        .get_bytes(id, Blob::Archive)
        .await
        .map_err(|error| Failure::Storage(error.to_string()))?
        .ok_or_else(|| {
            Failure::Analysis("the archive file is missing from the blob store".to_owned())
        })?;
    let (summary, files) = tokio::task::spawn_blocking(move || analyze_archive(&archive, limits))
        .await
        .map_err(|error| {
            Failure::Analysis(if error.is_panic() {
                "the analysis crashed (a bug in meshcheck)".to_owned()
            } else {
                format!("the analysis was cancelled: {error}")
            })
        })?
        .map_err(Failure::Analysis)?;
    for (blob, bytes) in files {
        state
            .blobs
            .put_bytes(id, blob, bytes)
            .await
            .map_err(|error| Failure::Storage(error.to_string()))?;
    }
    Ok(summary)
}

/// The summary for the row, and the files to store: both reports and the drift digest.
fn analyze_archive(
    archive: &[u8],
    limits: Limits,
) -> Result<(AnalysisSummary, [(Blob, Bytes); 3]), String> {
    let archive =
        Archive::from_reader("archive", archive, &limits).map_err(|error| error.to_string())?;
    let input = LoadedInput::from_archive(&archive).map_err(|error| format!("{error:#}"))?;
    drop(archive);
    let analysis = analyze(
        input,
        AnalyzeOptions {
            digest: true,
            ..AnalyzeOptions::default()
        },
    );
    let report = analysis.report;
    let digest = analysis
        .digest
        .ok_or_else(|| "the analysis made no drift digest (a bug in meshcheck)".to_owned())?;
    let files = [
        (Blob::ReportJson, Bytes::from(render_json(&report))),
        (Blob::ReportHtml, Bytes::from(render_html(&report))),
        (Blob::Digest, Bytes::from(digest.to_json())),
    ];
    Ok((summarize(&report), files))
}

/// The figures the lists and the fleet view show.
pub fn summarize(report: &Report) -> AnalysisSummary {
    let count = |severity: &str| {
        report
            .summary
            .by_severity
            .get(severity)
            .copied()
            .unwrap_or(0) as i64
    };
    let inventory = report.inventory.as_ref();
    let istio_version = inventory.and_then(|inventory| {
        inventory
            .control_planes
            .iter()
            .find_map(|plane| plane.version.clone())
            .or_else(|| {
                inventory
                    .proxy_versions
                    .first()
                    .map(|proxy| proxy.version.clone())
            })
    });
    let kubernetes_version = inventory
        .and_then(|inventory| inventory.kubernetes_version.clone())
        .or_else(|| {
            report
                .cluster
                .as_ref()
                .and_then(|cluster| cluster.kubernetes_version.clone())
        });
    let grade = serde_json::to_value(report.summary.score.grade)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    AnalysisSummary {
        kubernetes_version,
        istio_version,
        score: i64::from(report.summary.score.overall),
        grade,
        counts: SeverityCounts {
            critical: count("critical"),
            error: count("error"),
            warning: count("warning"),
            info: count("info"),
        },
        objects: report.input.objects as i64,
        analyzed_at: now_micros(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_archive_fails_with_one_line() {
        let error = analyze_archive(b"not an archive", Limits::default()).unwrap_err();
        assert!(error.starts_with("archive: "), "{error}");
        assert_eq!(error.lines().count(), 1);
    }
}
