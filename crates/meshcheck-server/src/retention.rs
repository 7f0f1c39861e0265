//! Periodic maintenance: `--retain-days` deletes old snapshots, and the orphan sweep removes
//! files that no row refers to (left by a crash between storing a file and recording the row,
//! or between deleting a row and its files).

use std::time::Duration;

use crate::state::{AppState, now_micros};
use crate::store::AuditEntry;

/// Files younger than this are never swept: an upload may be between storing its archive and
/// inserting its row (here or on another replica).
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

/// Deletes snapshots uploaded more than `days` ago; returns how many.
pub async fn prune(state: &AppState, days: u32) -> Result<usize, String> {
    let cutoff = now_micros() - i64::from(days) * 86_400 * 1_000_000;
    let old = state
        .db(move |store| store.uploaded_before(cutoff))
        .await
        .map_err(|error| error.message)?;
    let mut deleted = 0;
    for (tenant_id, id) in old {
        let owned_id = id.clone();
        let removed = state
            .db(move |store| store.delete_snapshot_unscoped(&owned_id))
            .await
            .map_err(|error| error.message)?;
        if !removed {
            continue;
        }
        deleted += 1;
        if let Err(error) = state.blobs.delete_snapshot(&id).await {
            tracing::warn!(snapshot = %id, error = %error, "files left for the orphan sweep");
        }
        let entry = AuditEntry {
            time: now_micros(),
            tenant_id: Some(tenant_id),
            token_id: None,
            action: "retention-delete".to_owned(),
            snapshot_id: Some(id),
            outcome: format!("older than {days} days"),
        };
        state
            .db(move |store| store.audit(&entry))
            .await
            .map_err(|error| error.message)?;
    }
    Ok(deleted)
}

/// Removes files of snapshots that have no row; returns how many snapshots' files.
pub async fn sweep_orphans(state: &AppState) -> Result<usize, String> {
    let files = state
        .blobs
        .snapshot_ids()
        .await
        .map_err(|error| error.to_string())?;
    let rows = state
        .db(|store| store.all_snapshot_ids())
        .await
        .map_err(|error| error.message)?;
    let grace = jiff::SignedDuration::try_from(ORPHAN_GRACE).unwrap_or_default();
    let cutoff = jiff::Timestamp::now() - grace;
    let mut swept = 0;
    for (id, modified) in files {
        if rows.contains(&id) || modified > cutoff {
            continue;
        }
        // Checked again: the row may have appeared since the listing.
        let owned_id = id.clone();
        if state
            .db(move |store| store.snapshot_unscoped(&owned_id))
            .await
            .map_err(|error| error.message)?
            .is_some()
        {
            continue;
        }
        state
            .blobs
            .delete_snapshot(&id)
            .await
            .map_err(|error| error.to_string())?;
        swept += 1;
    }
    Ok(swept)
}

/// Queues pending snapshots no process works on, every quarter of `stale_after`.
pub async fn resume_stale(state: AppState, stale_after: Duration) {
    let mut ticker = tokio::time::interval((stale_after / 4).max(Duration::from_millis(100)));
    // The first tick is immediate, and start-up has just queued every pending snapshot.
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match crate::worker::requeue_stale(&state, stale_after).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "queued snapshots left pending by another process"),
            Err(error) => {
                tracing::error!(error = %error, "cannot look for stale pending snapshots")
            }
        }
    }
}

/// Runs retention (when configured) and the orphan sweep now and then every `interval`.
pub async fn run(state: AppState, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        if let Some(days) = state.config.retain_days {
            match prune(&state, days).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, days, "old snapshots deleted"),
                Err(error) => tracing::error!(error = %error, "retention failed"),
            }
        }
        match state
            .db(|store| store.delete_expired_sessions(now_micros()))
            .await
        {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "expired web sessions removed"),
            Err(error) => tracing::error!(error = %error.message, "cannot remove expired sessions"),
        }
        match sweep_orphans(&state).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "orphan snapshot files removed"),
            Err(error) => tracing::error!(error = %error, "orphan sweep failed"),
        }
    }
}
