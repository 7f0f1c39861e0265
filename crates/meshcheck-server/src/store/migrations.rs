//! Schema migrations: ordered SQL scripts; `schema_version` records how many have run. A
//! migration is never edited once released; a change is a new entry at the end.

/// Migration `n` (1-based) is `MIGRATIONS[n - 1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: tenants, tokens, snapshots, audit log.
    r#"
CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id),
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'uploader', 'admin')),
    hash          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE TABLE snapshots (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    tenant_id           INTEGER NOT NULL REFERENCES tenants (id),
    cluster             TEXT NOT NULL,
    source              TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    archive_bytes       INTEGER NOT NULL,
    collected_at        INTEGER NOT NULL,
    uploaded_at         INTEGER NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    error               TEXT,
    analyzed_at         INTEGER,
    kubernetes_version  TEXT,
    istio_version       TEXT,
    score               INTEGER,
    grade               TEXT,
    critical_count      INTEGER,
    error_count         INTEGER,
    warning_count       INTEGER,
    info_count          INTEGER,
    objects             INTEGER,
    UNIQUE (tenant_id, sha256)
);
CREATE INDEX snapshots_by_tenant ON snapshots (tenant_id, collected_at DESC, seq DESC);
CREATE INDEX snapshots_by_cluster ON snapshots (tenant_id, cluster, collected_at DESC, seq DESC);
CREATE INDEX snapshots_by_status ON snapshots (status, seq);
CREATE INDEX snapshots_by_upload ON snapshots (uploaded_at);
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    time         INTEGER NOT NULL,
    tenant_id    INTEGER,
    token_id     TEXT,
    action       TEXT NOT NULL,
    snapshot_id  TEXT,
    outcome      TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (time);
"#,
];
