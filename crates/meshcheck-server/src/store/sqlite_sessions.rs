//! Web UI sessions in SQLite.

use rusqlite::params;

use super::SqliteStore;
use crate::store::{Micros, NewSession, Role, SessionRecord, SessionStore, StoreResult};

impl SessionStore for SqliteStore {
    fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        self.lock()
            .execute(
                "INSERT INTO sessions (id_hash, tenant_id, token_id, role, csrf_secret, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    session.id_hash,
                    session.tenant_id,
                    session.token_id,
                    session.role.as_str(),
                    session.csrf_secret,
                    session.created_at,
                    session.expires_at
                ],
            )
            .map_err(|error| self.error(error))?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: Micros) -> StoreResult<Option<SessionRecord>> {
        let sessions = self.rows(
            "SELECT sessions.tenant_id, tenants.name, sessions.token_id, sessions.role, \
                    sessions.csrf_secret, sessions.expires_at \
             FROM sessions \
             JOIN tokens ON tokens.id = sessions.token_id \
             JOIN tenants ON tenants.id = sessions.tenant_id \
             WHERE sessions.id_hash = ?1 AND sessions.expires_at > ?2 \
               AND tokens.revoked_at IS NULL",
            params![id_hash, now],
            |row| {
                let role: String = row.get(3)?;
                Ok(role
                    .parse::<Role>()
                    .map_err(|detail| self.corrupt(detail))
                    .and_then(|role| {
                        Ok(SessionRecord {
                            tenant_id: row.get(0).map_err(|error| self.error(error))?,
                            tenant: row.get(1).map_err(|error| self.error(error))?,
                            token_id: row.get(2).map_err(|error| self.error(error))?,
                            role,
                            csrf_secret: row.get(4).map_err(|error| self.error(error))?,
                            expires_at: row.get(5).map_err(|error| self.error(error))?,
                        })
                    }))
            },
        )?;
        Ok(sessions.into_iter().next())
    }

    fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let deleted = self
            .lock()
            .execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
            .map_err(|error| self.error(error))?;
        Ok(deleted == 1)
    }

    fn delete_expired_sessions(&self, now: Micros) -> StoreResult<usize> {
        self.lock()
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])
            .map_err(|error| self.error(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MetadataStore;
    use crate::tokens;

    fn session(token: &tokens::NewToken, id_hash: &str, expires_at: Micros) -> NewSession {
        NewSession {
            id_hash: id_hash.to_owned(),
            tenant_id: token.record.tenant_id,
            token_id: token.record.id.clone(),
            role: token.record.role,
            csrf_secret: "c".repeat(64),
            created_at: 1,
            expires_at,
        }
    }

    #[test]
    fn sessions_live_until_they_expire_are_deleted_or_their_token_is_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let token = tokens::create(&store, "team-a", Role::Viewer, 1).unwrap();
        let other = tokens::create(&store, "team-a", Role::Admin, 1).unwrap();
        store.create_session(&session(&token, "a", 100)).unwrap();
        store.create_session(&session(&token, "b", 100)).unwrap();
        store.create_session(&session(&other, "c", 100)).unwrap();

        let live = store.session("a", 50).unwrap().unwrap();
        assert_eq!(live.tenant, "team-a");
        assert_eq!(live.role, Role::Viewer);
        assert_eq!(live.token_id, token.record.id);
        assert_eq!(store.session("a", 100).unwrap(), None, "expired");
        assert_eq!(store.session("zz", 50).unwrap(), None, "unknown");

        assert!(store.delete_session("b").unwrap());
        assert!(!store.delete_session("b").unwrap());
        assert!(store.revoke_token(&token.record.id, 60).unwrap());
        assert_eq!(store.session("a", 61).unwrap(), None, "revoked");
        assert!(store.session("c", 61).unwrap().is_some(), "other token");
        assert_eq!(store.delete_expired_sessions(100).unwrap(), 1);
        assert_eq!(store.session("c", 61).unwrap(), None);
    }
}
