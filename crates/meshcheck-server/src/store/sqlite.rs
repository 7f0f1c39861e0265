//! The embedded default: SQLite in WAL mode, one connection behind a mutex (SQLite serialises
//! writers anyway; the server calls it from blocking threads).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::migrations::SQLITE as MIGRATIONS;
use super::{
    AnalysisSummary, AuditEntry, ClusterSummary, Inserted, ListQuery, MetadataStore, Micros,
    NewSnapshot, Role, ScorePoint, SeverityCounts, Snapshot, SnapshotStatus, StoreError,
    StoreResult, TokenRecord, assemble_clusters,
};

pub struct SqliteStore {
    location: String,
    connection: Mutex<Connection>,
}

const SNAPSHOT_COLUMNS: &str = "seq, id, tenant_id, cluster, source, sha256, archive_bytes, \
     collected_at, uploaded_at, status, error, analyzed_at, kubernetes_version, istio_version, \
     score, grade, critical_count, error_count, warning_count, info_count, objects";

const TOKEN_COLUMNS: &str = "tokens.id, tokens.tenant_id, tenants.name, tokens.role, tokens.hash, \
     tokens.created_at, tokens.last_used_at, tokens.revoked_at";

/// The newest snapshot of each of a tenant's clusters (`?1`), with how many it has, among the
/// snapshots `filter` (an `AND ...` clause) keeps.
fn newest_per_cluster(filter: &str) -> String {
    format!(
        "SELECT {SNAPSHOT_COLUMNS}, snapshots_in_cluster FROM ( \
           SELECT *, ROW_NUMBER() OVER (PARTITION BY cluster ORDER BY collected_at DESC, seq DESC) AS row_rank, \
                  COUNT(*) OVER (PARTITION BY cluster) AS snapshots_in_cluster \
           FROM snapshots WHERE tenant_id = ?1 {filter} \
         ) WHERE row_rank = 1 ORDER BY cluster"
    )
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let location = path.display().to_string();
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| StoreError::Database {
                location: location.clone(),
                detail: format!("cannot create the directory: {error}"),
            })?;
        }
        let error = |error: rusqlite::Error| StoreError::Database {
            location: location.clone(),
            detail: error.to_string(),
        };
        let connection = Connection::open(path).map_err(error)?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(error)?;
        // WAL: readers do not block the writer; NORMAL sync is durable across process crashes
        // (the WAL is fsynced at checkpoints), which is what the restart guarantees need.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(error)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(error)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(error)?;
        let store = SqliteStore {
            location,
            connection: Mutex::new(connection),
        };
        store.migrate()?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself usable.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, error: rusqlite::Error) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            detail: error.to_string(),
        }
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::CorruptRow {
            location: self.location.clone(),
            detail,
        }
    }

    fn migrate(&self) -> StoreResult<()> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|error| self.error(error))?;
        transaction
            .execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);")
            .map_err(|error| self.error(error))?;
        let current: i64 = transaction
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |row| row.get(0),
            )
            .map_err(|error| self.error(error))?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(StoreError::SchemaTooNew {
                location: self.location.clone(),
                found: current,
                known,
            });
        }
        for (index, script) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            transaction
                .execute_batch(script)
                .map_err(|error| self.error(error))?;
            transaction
                .execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    [index as i64 + 1],
                )
                .map_err(|error| self.error(error))?;
        }
        transaction.commit().map_err(|error| self.error(error))
    }

    fn token_from_row(&self, row: &Row<'_>) -> rusqlite::Result<StoreResult<TokenRecord>> {
        let role: String = row.get(3)?;
        let role = match role.parse::<Role>() {
            Ok(role) => role,
            Err(detail) => return Ok(Err(self.corrupt(detail))),
        };
        Ok(Ok(TokenRecord {
            id: row.get(0)?,
            tenant_id: row.get(1)?,
            tenant: row.get(2)?,
            role,
            hash: row.get(4)?,
            created_at: row.get(5)?,
            last_used_at: row.get(6)?,
            revoked_at: row.get(7)?,
        }))
    }

    fn snapshot_from_row(&self, row: &Row<'_>) -> rusqlite::Result<StoreResult<Snapshot>> {
        let status: String = row.get(9)?;
        let Some(status) = SnapshotStatus::parse(&status) else {
            return Ok(Err(
                self.corrupt(format!("unknown snapshot status {status:?}"))
            ));
        };
        let counts = match (
            row.get::<_, Option<i64>>(16)?,
            row.get::<_, Option<i64>>(17)?,
            row.get::<_, Option<i64>>(18)?,
            row.get::<_, Option<i64>>(19)?,
        ) {
            (Some(critical), Some(error), Some(warning), Some(info)) => Some(SeverityCounts {
                critical,
                error,
                warning,
                info,
            }),
            _ => None,
        };
        Ok(Ok(Snapshot {
            seq: row.get(0)?,
            id: row.get(1)?,
            tenant_id: row.get(2)?,
            cluster: row.get(3)?,
            source: row.get(4)?,
            sha256: row.get(5)?,
            archive_bytes: row.get(6)?,
            collected_at: row.get(7)?,
            uploaded_at: row.get(8)?,
            status,
            error: row.get(10)?,
            analyzed_at: row.get(11)?,
            kubernetes_version: row.get(12)?,
            istio_version: row.get(13)?,
            score: row.get(14)?,
            grade: row.get(15)?,
            counts,
            objects: row.get(20)?,
        }))
    }

    /// Runs a query and maps every row (`map` may refuse a row with a store error).
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<StoreResult<T>>,
    ) -> StoreResult<Vec<T>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(sql)
            .map_err(|error| self.error(error))?;
        let mut rows = statement.query(params).map_err(|error| self.error(error))?;
        let mut mapped = Vec::new();
        while let Some(row) = rows.next().map_err(|error| self.error(error))? {
            mapped.push(map(row).map_err(|error| self.error(error))??);
        }
        Ok(mapped)
    }

    fn one_snapshot(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> StoreResult<Option<Snapshot>> {
        Ok(self
            .rows(sql, params, |row| self.snapshot_from_row(row))?
            .into_iter()
            .next())
    }
}

impl MetadataStore for SqliteStore {
    fn ensure_tenant(&self, name: &str, now: Micros) -> StoreResult<i64> {
        let connection = self.lock();
        connection
            .execute(
                "INSERT INTO tenants (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![name, now],
            )
            .map_err(|error| self.error(error))?;
        connection
            .query_row("SELECT id FROM tenants WHERE name = ?1", [name], |row| {
                row.get(0)
            })
            .map_err(|error| self.error(error))
    }

    fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.lock()
            .execute(
                "INSERT INTO tokens (id, tenant_id, role, hash, created_at, last_used_at, revoked_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.id,
                    token.tenant_id,
                    token.role.as_str(),
                    token.hash,
                    token.created_at,
                    token.last_used_at,
                    token.revoked_at
                ],
            )
            .map_err(|error| self.error(error))?;
        Ok(())
    }

    fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let connection = self.lock();
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id WHERE tokens.id = ?1"
        );
        connection
            .query_row(&sql, [id], |row| self.token_from_row(row))
            .optional()
            .map_err(|error| self.error(error))?
            .transpose()
    }

    fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id \
             ORDER BY tenants.name, tokens.created_at, tokens.id"
        );
        self.rows(&sql, [], |row| self.token_from_row(row))
    }

    fn revoke_token(&self, id: &str, now: Micros) -> StoreResult<bool> {
        let connection = self.lock();
        let exists = connection
            .query_row("SELECT 1 FROM tokens WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map_err(|error| self.error(error))?
            .is_some();
        connection
            .execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now],
            )
            .map_err(|error| self.error(error))?;
        connection
            .execute("DELETE FROM sessions WHERE token_id = ?1", [id])
            .map_err(|error| self.error(error))?;
        Ok(exists)
    }

    fn touch_token(&self, id: &str, now: Micros) -> StoreResult<()> {
        self.lock()
            .execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id, now],
            )
            .map_err(|error| self.error(error))?;
        Ok(())
    }

    fn snapshot_by_sha256(&self, tenant_id: i64, sha256: &str) -> StoreResult<Option<Snapshot>> {
        self.one_snapshot(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ?1 AND sha256 = ?2"
            ),
            params![tenant_id, sha256],
        )
    }

    fn insert_snapshot(&self, snapshot: &NewSnapshot) -> StoreResult<Inserted> {
        let connection = self.lock();
        let inserted = connection
            .execute(
                "INSERT INTO snapshots (id, tenant_id, cluster, source, sha256, archive_bytes, \
                 collected_at, uploaded_at, status, kubernetes_version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) \
                 ON CONFLICT (tenant_id, sha256) DO NOTHING",
                params![
                    snapshot.id,
                    snapshot.tenant_id,
                    snapshot.cluster,
                    snapshot.source,
                    snapshot.sha256,
                    snapshot.archive_bytes,
                    snapshot.collected_at,
                    snapshot.uploaded_at,
                    snapshot.kubernetes_version,
                ],
            )
            .map_err(|error| self.error(error))?;
        drop(connection);
        if inserted == 1 {
            return Ok(Inserted::New);
        }
        self.snapshot_by_sha256(snapshot.tenant_id, &snapshot.sha256)?
            .map(|existing| Inserted::Duplicate(Box::new(existing)))
            .ok_or_else(|| {
                self.corrupt(format!(
                    "snapshot {} neither inserted nor found",
                    snapshot.id
                ))
            })
    }

    fn snapshot(&self, tenant_id: i64, id: &str) -> StoreResult<Option<Snapshot>> {
        self.one_snapshot(
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ?1 AND id = ?2"),
            params![tenant_id, id],
        )
    }

    fn snapshot_unscoped(&self, id: &str) -> StoreResult<Option<Snapshot>> {
        self.one_snapshot(
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?1"),
            params![id],
        )
    }

    fn list_snapshots(&self, query: &ListQuery) -> StoreResult<Vec<Snapshot>> {
        // Keyset pagination: rows strictly after the cursor in (collected_at DESC, seq DESC).
        let (after_time, after_seq) = match query.after {
            Some(cursor) => (cursor.collected_at, cursor.seq),
            None => (i64::MAX, i64::MAX),
        };
        let limit = query.limit as i64;
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots \
             WHERE tenant_id = ?1 AND (?2 IS NULL OR cluster = ?2) \
               AND (collected_at < ?3 OR (collected_at = ?3 AND seq < ?4)) \
             ORDER BY collected_at DESC, seq DESC LIMIT ?5"
        );
        self.rows(
            &sql,
            params![query.tenant_id, query.cluster, after_time, after_seq, limit],
            |row| self.snapshot_from_row(row),
        )
    }

    fn pending_ids(&self, uploaded_before: Micros) -> StoreResult<Vec<String>> {
        self.rows(
            "SELECT id FROM snapshots WHERE status = 'pending' AND uploaded_at < ?1 ORDER BY seq",
            [uploaded_before],
            |row| row.get(0).map(Ok),
        )
    }

    fn finish_analysis(&self, id: &str, summary: &AnalysisSummary) -> StoreResult<bool> {
        let updated = self
            .lock()
            .execute(
                "UPDATE snapshots SET status = 'done', error = NULL, analyzed_at = ?2, \
                 kubernetes_version = COALESCE(?3, kubernetes_version), istio_version = ?4, \
                 score = ?5, grade = ?6, critical_count = ?7, error_count = ?8, \
                 warning_count = ?9, info_count = ?10, objects = ?11 \
                 WHERE id = ?1 AND status = 'pending'",
                params![
                    id,
                    summary.analyzed_at,
                    summary.kubernetes_version,
                    summary.istio_version,
                    summary.score,
                    summary.grade,
                    summary.counts.critical,
                    summary.counts.error,
                    summary.counts.warning,
                    summary.counts.info,
                    summary.objects,
                ],
            )
            .map_err(|error| self.error(error))?;
        Ok(updated == 1)
    }

    fn fail_analysis(&self, id: &str, error: &str, now: Micros) -> StoreResult<bool> {
        let updated = self
            .lock()
            .execute(
                "UPDATE snapshots SET status = 'failed', error = ?2, analyzed_at = ?3 \
                 WHERE id = ?1 AND status = 'pending'",
                params![id, error, now],
            )
            .map_err(|error| self.error(error))?;
        Ok(updated == 1)
    }

    fn delete_snapshot(&self, tenant_id: i64, id: &str) -> StoreResult<bool> {
        let deleted = self
            .lock()
            .execute(
                "DELETE FROM snapshots WHERE tenant_id = ?1 AND id = ?2",
                params![tenant_id, id],
            )
            .map_err(|error| self.error(error))?;
        Ok(deleted == 1)
    }

    fn delete_snapshot_unscoped(&self, id: &str) -> StoreResult<bool> {
        let deleted = self
            .lock()
            .execute("DELETE FROM snapshots WHERE id = ?1", [id])
            .map_err(|error| self.error(error))?;
        Ok(deleted == 1)
    }

    fn uploaded_before(&self, time: Micros) -> StoreResult<Vec<(i64, String)>> {
        self.rows(
            "SELECT tenant_id, id FROM snapshots WHERE uploaded_at < ?1 ORDER BY seq",
            [time],
            |row| Ok(Ok((row.get(0)?, row.get(1)?))),
        )
    }

    fn all_snapshot_ids(&self) -> StoreResult<HashSet<String>> {
        Ok(self
            .rows("SELECT id FROM snapshots", [], |row| row.get(0).map(Ok))?
            .into_iter()
            .collect())
    }

    fn clusters(&self, tenant_id: i64, history: usize) -> StoreResult<Vec<ClusterSummary>> {
        let last = self.rows(&newest_per_cluster(""), [tenant_id], |row| {
            Ok(self
                .snapshot_from_row(row)?
                .map(|snapshot| (snapshot, row.get(21).unwrap_or(0))))
        })?;
        let done = self.rows(
            &newest_per_cluster("AND status = 'done'"),
            [tenant_id],
            |row| Ok(self.snapshot_from_row(row)?.map(|snapshot| (snapshot, 0))),
        )?;
        let points = self.rows(
            "SELECT cluster, collected_at, score FROM ( \
               SELECT cluster, collected_at, seq, score, \
                      ROW_NUMBER() OVER (PARTITION BY cluster ORDER BY collected_at DESC, seq DESC) AS row_rank \
               FROM snapshots WHERE tenant_id = ?1 AND status = 'done' AND score IS NOT NULL \
             ) WHERE row_rank <= ?2 ORDER BY cluster, collected_at, seq",
            params![tenant_id, history as i64],
            |row| {
                Ok(Ok((
                    row.get(0)?,
                    ScorePoint {
                        collected_at: row.get(1)?,
                        score: row.get(2)?,
                    },
                )))
            },
        )?;
        Ok(assemble_clusters(
            last,
            done.into_iter().map(|(snapshot, _)| snapshot),
            points,
        ))
    }

    fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.lock()
            .execute(
                "INSERT INTO audit_log (time, tenant_id, token_id, action, snapshot_id, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    entry.time,
                    entry.tenant_id,
                    entry.token_id,
                    entry.action,
                    entry.snapshot_id,
                    entry.outcome
                ],
            )
            .map_err(|error| self.error(error))?;
        Ok(())
    }

    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.rows(
            "SELECT time, tenant_id, token_id, action, snapshot_id, outcome FROM audit_log \
             ORDER BY id DESC LIMIT ?1",
            [limit as i64],
            |row| {
                Ok(Ok(AuditEntry {
                    time: row.get(0)?,
                    tenant_id: row.get(1)?,
                    token_id: row.get(2)?,
                    action: row.get(3)?,
                    snapshot_id: row.get(4)?,
                    outcome: row.get(5)?,
                }))
            },
        )
    }
}

#[path = "sqlite_sessions.rs"]
mod sessions;

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
