//! Metadata storage: tenants, tokens, snapshots and the audit log, behind [`MetadataStore`] so
//! that another database can be added without touching the handlers. Implementations are
//! synchronous; the server calls them on blocking threads ([`crate::state::AppState::db`]).

mod migrations;
mod postgres;
mod sqlite;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What a token may do. Each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read snapshots, findings and reports.
    Viewer,
    /// Also upload and download archives.
    Uploader,
    /// Also delete snapshots.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Uploader => "uploader",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "uploader" => Ok(Role::Uploader),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (expected viewer, uploader or admin)"
            )),
        }
    }
}

/// A snapshot's analysis state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotStatus {
    Pending,
    Done,
    Failed,
}

impl SnapshotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Pending => "pending",
            SnapshotStatus::Done => "done",
            SnapshotStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<SnapshotStatus> {
        match text {
            "pending" => Some(SnapshotStatus::Pending),
            "done" => Some(SnapshotStatus::Done),
            "failed" => Some(SnapshotStatus::Failed),
            _ => None,
        }
    }
}

/// Times are microseconds since the Unix epoch (UTC) everywhere in the store.
pub type Micros = i64;

/// A stored token: never the token itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The public part of the token (`mck_<id>_…`), used to list and revoke it.
    pub id: String,
    pub tenant_id: i64,
    pub tenant: String,
    pub role: Role,
    /// SHA-256 of the whole token, lowercase hex.
    pub hash: String,
    pub created_at: Micros,
    pub last_used_at: Option<Micros>,
    pub revoked_at: Option<Micros>,
}

/// A snapshot accepted for analysis; its archive blob is already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSnapshot {
    pub id: String,
    pub tenant_id: i64,
    pub cluster: String,
    /// `cluster` or `manifests` (the archive manifest's source).
    pub source: String,
    pub sha256: String,
    pub archive_bytes: i64,
    pub collected_at: Micros,
    pub uploaded_at: Micros,
    pub kubernetes_version: Option<String>,
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    pub critical: i64,
    pub error: i64,
    pub warning: i64,
    pub info: i64,
}

/// What an analysis found, kept on the snapshot row for lists and the fleet view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisSummary {
    pub kubernetes_version: Option<String>,
    pub istio_version: Option<String>,
    pub score: i64,
    pub grade: String,
    pub counts: SeverityCounts,
    pub objects: i64,
    pub analyzed_at: Micros,
}

/// A snapshot row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Upload order; breaks ties between snapshots collected at the same second.
    pub seq: i64,
    pub id: String,
    pub tenant_id: i64,
    pub cluster: String,
    pub source: String,
    pub sha256: String,
    pub archive_bytes: i64,
    pub collected_at: Micros,
    pub uploaded_at: Micros,
    pub status: SnapshotStatus,
    pub error: Option<String>,
    pub analyzed_at: Option<Micros>,
    pub kubernetes_version: Option<String>,
    pub istio_version: Option<String>,
    pub score: Option<i64>,
    pub grade: Option<String>,
    pub counts: Option<SeverityCounts>,
    pub objects: Option<i64>,
}

/// Where a page of snapshots continues: the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub collected_at: Micros,
    pub seq: i64,
}

impl Cursor {
    pub fn of(snapshot: &Snapshot) -> Cursor {
        Cursor {
            collected_at: snapshot.collected_at,
            seq: snapshot.seq,
        }
    }

    /// Opaque to clients: `<collected_at>.<seq>`.
    pub fn encode(self) -> String {
        format!("{}.{}", self.collected_at, self.seq)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (collected_at, seq) = text.split_once('.')?;
        Some(Cursor {
            collected_at: collected_at.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// One page of a tenant's snapshots, newest (collected) first.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub tenant_id: i64,
    pub cluster: Option<String>,
    pub limit: usize,
    pub after: Option<Cursor>,
}

/// One point of a cluster's score history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScorePoint {
    pub collected_at: Micros,
    pub score: i64,
}

/// One row of the fleet view.
#[derive(Debug, Clone)]
pub struct ClusterSummary {
    pub cluster: String,
    pub snapshots: i64,
    /// The most recently collected snapshot, whatever its status.
    pub last: Snapshot,
    /// The most recently collected analysed snapshot (versions, score, counts come from it).
    pub latest_done: Option<Snapshot>,
    /// Scores of the most recent analysed snapshots, oldest first.
    pub history: Vec<ScorePoint>,
}

/// A browser session of the web UI, as created at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session id (the cookie's value), lowercase hex.
    pub id_hash: String,
    pub tenant_id: i64,
    pub token_id: String,
    pub role: Role,
    /// What the session's forms must carry (compared with what they send).
    pub csrf_secret: String,
    pub created_at: Micros,
    pub expires_at: Micros,
}

/// A live session: unexpired, and its token not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub tenant_id: i64,
    pub tenant: String,
    pub token_id: String,
    pub role: Role,
    pub csrf_secret: String,
    pub expires_at: Micros,
}

/// Sessions of the web UI. Revoking a token ([`MetadataStore::revoke_token`]) deletes its
/// sessions, and lookups refuse a revoked token's sessions as well, so one that slipped in
/// between is dead too.
pub trait SessionStore {
    fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The live session with this id hash at `now`.
    fn session(&self, id_hash: &str, now: Micros) -> StoreResult<Option<SessionRecord>>;
    /// False when there was no such session.
    fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Removes sessions expired at `now`; returns how many.
    fn delete_expired_sessions(&self, now: Micros) -> StoreResult<usize>;
}

/// An audit log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub time: Micros,
    pub tenant_id: Option<i64>,
    pub token_id: Option<String>,
    /// `upload`, `download`, `delete`, `token-use`, `token-denied`, `create-token`,
    /// `revoke-token`, `retention-delete`, `login`, `logout`.
    pub action: String,
    pub snapshot_id: Option<String>,
    pub outcome: String,
}

/// Result of inserting a snapshot: the same archive may already be there for the tenant.
#[derive(Debug, Clone)]
pub enum Inserted {
    New,
    Duplicate(Box<Snapshot>),
}

/// A metadata operation failed; displays as one line naming the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{location}: {detail}")]
    Database { location: String, detail: String },
    #[error(
        "{location}: database schema version {found} is newer than this meshcheck knows ({known}); upgrade meshcheck"
    )]
    SchemaTooNew {
        location: String,
        found: i64,
        known: i64,
    },
    #[error("{location}: corrupt row: {detail}")]
    CorruptRow { location: String, detail: String },
    #[error("unsupported --database URL {url:?}: {reason}")]
    Unsupported { url: String, reason: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The metadata operations the server needs. Tenant-scoped reads take the caller's tenant so
/// that a handler cannot forget it; the few unscoped ones (`*_unscoped`, `pending_ids`) are for
/// the worker and retention, which act on behalf of the server itself.
pub trait MetadataStore: SessionStore + Send + Sync + 'static {
    /// The tenant's id, creating the tenant when new.
    fn ensure_tenant(&self, name: &str, now: Micros) -> StoreResult<i64>;
    fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>>;
    /// False when there is no such token; revoking twice keeps the first time. The token's
    /// sessions end.
    fn revoke_token(&self, id: &str, now: Micros) -> StoreResult<bool>;
    fn touch_token(&self, id: &str, now: Micros) -> StoreResult<()>;

    fn snapshot_by_sha256(&self, tenant_id: i64, sha256: &str) -> StoreResult<Option<Snapshot>>;
    /// Inserts a pending snapshot, or returns the tenant's snapshot with the same SHA-256.
    fn insert_snapshot(&self, snapshot: &NewSnapshot) -> StoreResult<Inserted>;
    fn snapshot(&self, tenant_id: i64, id: &str) -> StoreResult<Option<Snapshot>>;
    fn snapshot_unscoped(&self, id: &str) -> StoreResult<Option<Snapshot>>;
    fn list_snapshots(&self, query: &ListQuery) -> StoreResult<Vec<Snapshot>>;
    /// Ids of pending snapshots uploaded before `time`, oldest upload first.
    fn pending_ids(&self, uploaded_before: Micros) -> StoreResult<Vec<String>>;
    /// Marks a pending snapshot done; false when it is gone or no longer pending.
    fn finish_analysis(&self, id: &str, summary: &AnalysisSummary) -> StoreResult<bool>;
    fn fail_analysis(&self, id: &str, error: &str, now: Micros) -> StoreResult<bool>;
    fn delete_snapshot(&self, tenant_id: i64, id: &str) -> StoreResult<bool>;
    fn delete_snapshot_unscoped(&self, id: &str) -> StoreResult<bool>;
    /// Snapshots uploaded before `time`, as `(tenant_id, id)`.
    fn uploaded_before(&self, time: Micros) -> StoreResult<Vec<(i64, String)>>;
    fn all_snapshot_ids(&self) -> StoreResult<HashSet<String>>;
    /// One row per cluster of the tenant, with up to `history` scores each.
    fn clusters(&self, tenant_id: i64, history: usize) -> StoreResult<Vec<ClusterSummary>>;

    fn audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// The newest audit rows first.
    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}

/// The fleet rows from the newest snapshot of each cluster (with the cluster's snapshot count),
/// the newest analysed one of each, and `(cluster, point)` scores oldest first.
fn assemble_clusters(
    last: Vec<(Snapshot, i64)>,
    done: impl IntoIterator<Item = Snapshot>,
    points: Vec<(String, ScorePoint)>,
) -> Vec<ClusterSummary> {
    let mut done: std::collections::HashMap<String, Snapshot> = done
        .into_iter()
        .map(|snapshot| (snapshot.cluster.clone(), snapshot))
        .collect();
    let mut histories: std::collections::HashMap<String, Vec<ScorePoint>> =
        std::collections::HashMap::new();
    for (cluster, point) in points {
        histories.entry(cluster).or_default().push(point);
    }
    last.into_iter()
        .map(|(last, snapshots)| ClusterSummary {
            latest_done: done.remove(&last.cluster),
            history: histories.remove(&last.cluster).unwrap_or_default(),
            cluster: last.cluster.clone(),
            snapshots,
            last,
        })
        .collect()
}

/// Opens the metadata store named by `--database` (default: SQLite in the data directory) and
/// runs its migrations.
pub fn open(data_dir: &Path, database: Option<&str>) -> StoreResult<Box<dyn MetadataStore>> {
    match database {
        None => Ok(Box::new(SqliteStore::open(&data_dir.join("meshcheck.db"))?)),
        Some(url) => {
            if let Some(path) = url.strip_prefix("sqlite://") {
                if path.is_empty() {
                    return Err(StoreError::Unsupported {
                        url: url.to_owned(),
                        reason: "no file path after sqlite://".to_owned(),
                    });
                }
                Ok(Box::new(SqliteStore::open(Path::new(path))?))
            } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(Box::new(PostgresStore::open(url)?))
            } else {
                Err(StoreError::Unsupported {
                    url: redact_url(url),
                    reason:
                        "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE or sqlite://PATH"
                            .to_owned(),
                })
            }
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_what_they_allow() {
        assert!(Role::Viewer < Role::Uploader && Role::Uploader < Role::Admin);
        for role in [Role::Viewer, Role::Uploader, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().unwrap_err().contains("root"));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            collected_at: 1_795_000_000_000_000,
            seq: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "12", "a.b", "1.2.3"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        // Nothing listens on port 1: the connection fails, and the message names the database.
        let message = open(
            Path::new("/nonexistent"),
            Some("postgres://meshcheck:hunter2@127.0.0.1:1/meshcheck"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("127.0.0.1:1"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        let message = open(Path::new("/nonexistent"), Some("mysql://u:hunter2@db/x"))
            .err()
            .unwrap()
            .to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
