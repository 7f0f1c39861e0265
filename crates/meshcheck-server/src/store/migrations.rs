//! Schema migrations: ordered SQL scripts per database; `schema_version` records how many have
//! run. A migration is never edited once released; a change is a new entry at the end of both
//! lists (the two schemas stay the same version by version).

/// SQLite migration `n` (1-based) is `SQLITE[n - 1]`.
pub const SQLITE: &[&str] = &[
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
    // 2: browser sessions of the web UI. Only the SHA-256 of a session id is kept; a session
    // belongs to the token that opened it and ends with it.
    r#"
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id),
    token_id     TEXT NOT NULL REFERENCES tokens (id),
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'uploader', 'admin')),
    csrf_secret  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_by_token ON sessions (token_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
"#,
];

/// PostgreSQL migration `n` (1-based) is `POSTGRES[n - 1]`: the same tables with PostgreSQL
/// types (every integer is BIGINT, so times and counts map to i64).
pub const POSTGRES: &[&str] = &[
    // 1: tenants, tokens, snapshots, audit log.
    r#"
CREATE TABLE tenants (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'uploader', 'admin')),
    hash          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE TABLE snapshots (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    tenant_id           BIGINT NOT NULL REFERENCES tenants (id),
    cluster             TEXT NOT NULL,
    source              TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    archive_bytes       BIGINT NOT NULL,
    collected_at        BIGINT NOT NULL,
    uploaded_at         BIGINT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    error               TEXT,
    analyzed_at         BIGINT,
    kubernetes_version  TEXT,
    istio_version       TEXT,
    score               BIGINT,
    grade               TEXT,
    critical_count      BIGINT,
    error_count         BIGINT,
    warning_count       BIGINT,
    info_count          BIGINT,
    objects             BIGINT,
    UNIQUE (tenant_id, sha256)
);
CREATE INDEX snapshots_by_tenant ON snapshots (tenant_id, collected_at DESC, seq DESC);
CREATE INDEX snapshots_by_cluster ON snapshots (tenant_id, cluster, collected_at DESC, seq DESC);
CREATE INDEX snapshots_by_status ON snapshots (status, seq);
CREATE INDEX snapshots_by_upload ON snapshots (uploaded_at);
CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time         BIGINT NOT NULL,
    tenant_id    BIGINT,
    token_id     TEXT,
    action       TEXT NOT NULL,
    snapshot_id  TEXT,
    outcome      TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (time);
"#,
    // 2: browser sessions of the web UI. Only the SHA-256 of a session id is kept; a session
    // belongs to the token that opened it and ends with it.
    r#"
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    token_id     TEXT NOT NULL REFERENCES tokens (id),
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'uploader', 'admin')),
    csrf_secret  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_by_token ON sessions (token_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
"#,
];

#[cfg(test)]
mod tests {
    #[test]
    fn both_databases_have_the_same_schema_versions() {
        assert_eq!(super::SQLITE.len(), super::POSTGRES.len());
    }
}
