//! Web UI sessions in PostgreSQL.

use super::PostgresStore;
use crate::store::{Micros, NewSession, Role, SessionRecord, SessionStore, StoreResult};

impl SessionStore for PostgresStore {
    fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sessions (id_hash, tenant_id, token_id, role, csrf_secret, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &session.id_hash,
                &session.tenant_id,
                &session.token_id,
                &session.role.as_str(),
                &session.csrf_secret,
                &session.created_at,
                &session.expires_at,
            ],
        )?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: Micros) -> StoreResult<Option<SessionRecord>> {
        let rows = self.query(
            "SELECT sessions.tenant_id, tenants.name, sessions.token_id, sessions.role, \
                    sessions.csrf_secret, sessions.expires_at \
             FROM sessions \
             JOIN tokens ON tokens.id = sessions.token_id \
             JOIN tenants ON tenants.id = sessions.tenant_id \
             WHERE sessions.id_hash = $1 AND sessions.expires_at > $2 \
               AND tokens.revoked_at IS NULL",
            &[&id_hash, &now],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let role: String = row.get(3);
        Ok(Some(SessionRecord {
            tenant_id: row.get(0),
            tenant: row.get(1),
            token_id: row.get(2),
            role: role
                .parse::<Role>()
                .map_err(|detail| self.corrupt(detail))?,
            csrf_secret: row.get(4),
            expires_at: row.get(5),
        }))
    }

    fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])? == 1)
    }

    fn delete_expired_sessions(&self, now: Micros) -> StoreResult<usize> {
        Ok(self.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])? as usize)
    }
}
