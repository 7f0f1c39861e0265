//! PostgreSQL (`--database postgres://…`), for several stateless `serve` replicas sharing one
//! database. A few connections are kept and reopened when the server drops them; migrations
//! take an advisory lock so replicas starting together migrate once.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};

use super::migrations::POSTGRES as MIGRATIONS;
use super::{
    AnalysisSummary, AuditEntry, ClusterSummary, Inserted, ListQuery, MetadataStore, Micros,
    NewSnapshot, Role, ScorePoint, SeverityCounts, Snapshot, SnapshotStatus, StoreError,
    StoreResult, TokenRecord, assemble_clusters, redact_url,
};

/// Connections kept open; metadata queries are short, a few cover many concurrent requests.
const CONNECTIONS: usize = 4;
/// Arbitrary, fixed: serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x006d_6573_6863_686b;

const SNAPSHOT_COLUMNS: &str = "seq, id, tenant_id, cluster, source, sha256, archive_bytes, \
     collected_at, uploaded_at, status, error, analyzed_at, kubernetes_version, istio_version, \
     score, grade, critical_count, error_count, warning_count, info_count, objects";

const TOKEN_COLUMNS: &str = "tokens.id, tokens.tenant_id, tenants.name, tokens.role, tokens.hash, \
     tokens.created_at, tokens.last_used_at, tokens.revoked_at";

pub struct PostgresStore {
    url: String,
    /// The URL without its password, for messages.
    location: String,
    connections: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

impl PostgresStore {
    pub fn open(url: &str) -> StoreResult<PostgresStore> {
        let store = PostgresStore {
            url: url.to_owned(),
            location: redact_url(url),
            connections: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        store.with_client(|client| store.migrate(client))?;
        Ok(store)
    }

    fn error(&self, error: postgres::Error) -> StoreError {
        // The driver's message can span lines (DETAIL, HINT): keep one.
        let detail = match error.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => error.to_string(),
        };
        StoreError::Database {
            location: self.location.clone(),
            detail: detail.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::CorruptRow {
            location: self.location.clone(),
            detail,
        }
    }

    /// Runs `operation` on a free connection (or waits for one), connecting when needed; a
    /// connection the server closed is dropped and reopened next time.
    fn with_client<T>(
        &self,
        operation: impl FnOnce(&mut Client) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let slot = self
            .connections
            .iter()
            .find_map(|slot| slot.try_lock().ok())
            .unwrap_or_else(|| {
                let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
                self.connections[index]
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
            });
        let mut slot = slot;
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = Some(Client::connect(&self.url, NoTls).map_err(|error| self.error(error))?);
        }
        let client = slot.as_mut().expect("connected above");
        let result = operation(client);
        if client.is_closed() {
            *slot = None;
        }
        result
    }

    fn migrate(&self, client: &mut Client) -> StoreResult<()> {
        let mut transaction = client.transaction().map_err(|error| self.error(error))?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|error| self.error(error))?;
        transaction
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .map_err(|error| self.error(error))?;
        let current: i64 = transaction
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .map_err(|error| self.error(error))?
            .get(0);
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
                .batch_execute(script)
                .map_err(|error| self.error(error))?;
            transaction
                .execute(
                    "INSERT INTO schema_version (version) VALUES ($1)",
                    &[&(index as i64 + 1)],
                )
                .map_err(|error| self.error(error))?;
        }
        transaction.commit().map_err(|error| self.error(error))
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        self.with_client(|client| client.query(sql, params).map_err(|error| self.error(error)))
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.with_client(|client| {
            client
                .execute(sql, params)
                .map_err(|error| self.error(error))
        })
    }

    fn token_from_row(&self, row: &Row) -> StoreResult<TokenRecord> {
        let role: String = row.get(3);
        Ok(TokenRecord {
            id: row.get(0),
            tenant_id: row.get(1),
            tenant: row.get(2),
            role: role
                .parse::<Role>()
                .map_err(|detail| self.corrupt(detail))?,
            hash: row.get(4),
            created_at: row.get(5),
            last_used_at: row.get(6),
            revoked_at: row.get(7),
        })
    }

    fn snapshot_from_row(&self, row: &Row) -> StoreResult<Snapshot> {
        let status: String = row.get(9);
        let status = SnapshotStatus::parse(&status)
            .ok_or_else(|| self.corrupt(format!("unknown snapshot status {status:?}")))?;
        let counts = match (
            row.get::<_, Option<i64>>(16),
            row.get::<_, Option<i64>>(17),
            row.get::<_, Option<i64>>(18),
            row.get::<_, Option<i64>>(19),
        ) {
            (Some(critical), Some(error), Some(warning), Some(info)) => Some(SeverityCounts {
                critical,
                error,
                warning,
                info,
            }),
            _ => None,
        };
        Ok(Snapshot {
            seq: row.get(0),
            id: row.get(1),
            tenant_id: row.get(2),
            cluster: row.get(3),
            source: row.get(4),
            sha256: row.get(5),
            archive_bytes: row.get(6),
            collected_at: row.get(7),
            uploaded_at: row.get(8),
            status,
            error: row.get(10),
            analyzed_at: row.get(11),
            kubernetes_version: row.get(12),
            istio_version: row.get(13),
            score: row.get(14),
            grade: row.get(15),
            counts,
            objects: row.get(20),
        })
    }

    fn snapshots(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Snapshot>> {
        self.query(sql, params)?
            .iter()
            .map(|row| self.snapshot_from_row(row))
            .collect()
    }

    fn one_snapshot(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Snapshot>> {
        Ok(self.snapshots(sql, params)?.into_iter().next())
    }

    fn ids(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<String>> {
        Ok(self
            .query(sql, params)?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }
}

#[path = "postgres_sessions.rs"]
mod sessions;

impl Drop for PostgresStore {
    /// Closing a synchronous client blocks on its own runtime, which panics on a thread that
    /// drives async tasks (the server drops its store there): close them on a plain thread.
    fn drop(&mut self) {
        let clients: Vec<Client> = self
            .connections
            .iter_mut()
            .filter_map(|slot| {
                slot.get_mut()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take()
            })
            .collect();
        if !clients.is_empty() {
            let _ = std::thread::spawn(move || drop(clients)).join();
        }
    }
}

impl MetadataStore for PostgresStore {
    fn ensure_tenant(&self, name: &str, now: Micros) -> StoreResult<i64> {
        self.execute(
            "INSERT INTO tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &now],
        )?;
        let rows = self.query("SELECT id FROM tenants WHERE name = $1", &[&name])?;
        rows.first()
            .map(|row| row.get(0))
            .ok_or_else(|| self.corrupt(format!("tenant {name:?} neither inserted nor found")))
    }

    fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.execute(
            "INSERT INTO tokens (id, tenant_id, role, hash, created_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &token.id,
                &token.tenant_id,
                &token.role.as_str(),
                &token.hash,
                &token.created_at,
                &token.last_used_at,
                &token.revoked_at,
            ],
        )?;
        Ok(())
    }

    fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id WHERE tokens.id = $1"
        );
        self.query(&sql, &[&id])?
            .first()
            .map(|row| self.token_from_row(row))
            .transpose()
    }

    fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id \
             ORDER BY tenants.name, tokens.created_at, tokens.id"
        );
        self.query(&sql, &[])?
            .iter()
            .map(|row| self.token_from_row(row))
            .collect()
    }

    fn revoke_token(&self, id: &str, now: Micros) -> StoreResult<bool> {
        let exists = !self
            .query("SELECT 1 FROM tokens WHERE id = $1", &[&id])?
            .is_empty();
        self.execute(
            "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &now],
        )?;
        self.execute("DELETE FROM sessions WHERE token_id = $1", &[&id])?;
        Ok(exists)
    }

    fn touch_token(&self, id: &str, now: Micros) -> StoreResult<()> {
        self.execute(
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn snapshot_by_sha256(&self, tenant_id: i64, sha256: &str) -> StoreResult<Option<Snapshot>> {
        self.one_snapshot(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = $1 AND sha256 = $2"
            ),
            &[&tenant_id, &sha256],
        )
    }

    fn insert_snapshot(&self, snapshot: &NewSnapshot) -> StoreResult<Inserted> {
        let inserted = self.execute(
            "INSERT INTO snapshots (id, tenant_id, cluster, source, sha256, archive_bytes, \
             collected_at, uploaded_at, status, kubernetes_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) \
             ON CONFLICT (tenant_id, sha256) DO NOTHING",
            &[
                &snapshot.id,
                &snapshot.tenant_id,
                &snapshot.cluster,
                &snapshot.source,
                &snapshot.sha256,
                &snapshot.archive_bytes,
                &snapshot.collected_at,
                &snapshot.uploaded_at,
                &snapshot.kubernetes_version,
            ],
        )?;
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
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = $1 AND id = $2"),
            &[&tenant_id, &id],
        )
    }

    fn snapshot_unscoped(&self, id: &str) -> StoreResult<Option<Snapshot>> {
        self.one_snapshot(
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE id = $1"),
            &[&id],
        )
    }

    fn list_snapshots(&self, query: &ListQuery) -> StoreResult<Vec<Snapshot>> {
        let (after_time, after_seq) = match query.after {
            Some(cursor) => (cursor.collected_at, cursor.seq),
            None => (i64::MAX, i64::MAX),
        };
        let limit = query.limit as i64;
        self.snapshots(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots \
                 WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR cluster = $2) \
                   AND (collected_at < $3 OR (collected_at = $3 AND seq < $4)) \
                 ORDER BY collected_at DESC, seq DESC LIMIT $5"
            ),
            &[
                &query.tenant_id,
                &query.cluster,
                &after_time,
                &after_seq,
                &limit,
            ],
        )
    }

    fn pending_ids(&self, uploaded_before: Micros) -> StoreResult<Vec<String>> {
        self.ids(
            "SELECT id FROM snapshots WHERE status = 'pending' AND uploaded_at < $1 ORDER BY seq",
            &[&uploaded_before],
        )
    }

    fn finish_analysis(&self, id: &str, summary: &AnalysisSummary) -> StoreResult<bool> {
        let updated = self.execute(
            "UPDATE snapshots SET status = 'done', error = NULL, analyzed_at = $2, \
             kubernetes_version = COALESCE($3, kubernetes_version), istio_version = $4, \
             score = $5, grade = $6, critical_count = $7, error_count = $8, \
             warning_count = $9, info_count = $10, objects = $11 \
             WHERE id = $1 AND status = 'pending'",
            &[
                &id,
                &summary.analyzed_at,
                &summary.kubernetes_version,
                &summary.istio_version,
                &summary.score,
                &summary.grade,
                &summary.counts.critical,
                &summary.counts.error,
                &summary.counts.warning,
                &summary.counts.info,
                &summary.objects,
            ],
        )?;
        Ok(updated == 1)
    }

    fn fail_analysis(&self, id: &str, error: &str, now: Micros) -> StoreResult<bool> {
        let updated = self.execute(
            "UPDATE snapshots SET status = 'failed', error = $2, analyzed_at = $3 \
             WHERE id = $1 AND status = 'pending'",
            &[&id, &error, &now],
        )?;
        Ok(updated == 1)
    }

    fn delete_snapshot(&self, tenant_id: i64, id: &str) -> StoreResult<bool> {
        Ok(self.execute(
            "DELETE FROM snapshots WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )? == 1)
    }

    fn delete_snapshot_unscoped(&self, id: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM snapshots WHERE id = $1", &[&id])? == 1)
    }

    fn uploaded_before(&self, time: Micros) -> StoreResult<Vec<(i64, String)>> {
        Ok(self
            .query(
                "SELECT tenant_id, id FROM snapshots WHERE uploaded_at < $1 ORDER BY seq",
                &[&time],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    fn all_snapshot_ids(&self) -> StoreResult<HashSet<String>> {
        Ok(self
            .ids("SELECT id FROM snapshots", &[])?
            .into_iter()
            .collect())
    }

    fn clusters(&self, tenant_id: i64, history: usize) -> StoreResult<Vec<ClusterSummary>> {
        let ranked = |filter: &str| {
            format!(
                "SELECT {SNAPSHOT_COLUMNS}, snapshots_in_cluster FROM ( \
                   SELECT *, ROW_NUMBER() OVER (PARTITION BY cluster ORDER BY collected_at DESC, seq DESC) AS row_rank, \
                          COUNT(*) OVER (PARTITION BY cluster) AS snapshots_in_cluster \
                   FROM snapshots WHERE tenant_id = $1 {filter} \
                 ) ranked WHERE row_rank = 1 ORDER BY cluster"
            )
        };
        let last = self
            .query(&ranked(""), &[&tenant_id])?
            .iter()
            .map(|row| Ok((self.snapshot_from_row(row)?, row.get::<_, i64>(21))))
            .collect::<StoreResult<Vec<(Snapshot, i64)>>>()?;
        let done = self.snapshots(&ranked("AND status = 'done'"), &[&tenant_id])?;
        let points = self
            .query(
                "SELECT cluster, collected_at, score FROM ( \
                   SELECT cluster, collected_at, seq, score, \
                          ROW_NUMBER() OVER (PARTITION BY cluster ORDER BY collected_at DESC, seq DESC) AS row_rank \
                   FROM snapshots WHERE tenant_id = $1 AND status = 'done' AND score IS NOT NULL \
                 ) ranked WHERE row_rank <= $2 ORDER BY cluster, collected_at, seq",
                &[&tenant_id, &(history as i64)],
            )?
            .iter()
            .map(|row| {
                (
                    row.get(0),
                    ScorePoint {
                        collected_at: row.get(1),
                        score: row.get(2),
                    },
                )
            })
            .collect();
        Ok(assemble_clusters(last, done, points))
    }

    fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.execute(
            "INSERT INTO audit_log (time, tenant_id, token_id, action, snapshot_id, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &entry.time,
                &entry.tenant_id,
                &entry.token_id,
                &entry.action,
                &entry.snapshot_id,
                &entry.outcome,
            ],
        )?;
        Ok(())
    }

    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        Ok(self
            .query(
                "SELECT time, tenant_id, token_id, action, snapshot_id, outcome FROM audit_log \
                 ORDER BY id DESC LIMIT $1",
                &[&(limit as i64)],
            )?
            .iter()
            .map(|row| AuditEntry {
                time: row.get(0),
                tenant_id: row.get(1),
                token_id: row.get(2),
                action: row.get(3),
                snapshot_id: row.get(4),
                outcome: row.get(5),
            })
            .collect())
    }
}
