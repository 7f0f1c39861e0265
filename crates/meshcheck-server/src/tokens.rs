//! API tokens: `mck_<id>_<secret>`. The id (12 hex digits) is public: it names the token in
//! listings, the audit log and revocations. Only the SHA-256 of the whole token is stored, and
//! hashes are compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{MetadataStore, Micros, Role, StoreError, TokenRecord};

const PREFIX: &str = "mck_";
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// Lowercase hex of random bytes from the operating system.
pub fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(hex(&buffer))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// A token as presented: its id and the hash of the whole text.
#[derive(Debug)]
pub struct Presented {
    pub id: String,
    hash: String,
}

/// Splits a presented token; None when it does not have the token shape (so it cannot exist).
pub fn parse(token: &str) -> Option<Presented> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let is_hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|byte| byte.is_ascii_hexdigit())
    };
    if !is_hex(id, ID_BYTES * 2) || !is_hex(secret, SECRET_BYTES * 2) {
        return None;
    }
    Some(Presented {
        id: id.to_ascii_lowercase(),
        hash: sha256_hex(token.as_bytes()),
    })
}

/// Bytes of randomness in a web UI session id (sent as 64 hex digits in its cookie).
pub const SESSION_ID_BYTES: usize = 32;

/// Whether a cookie value has the shape of a session id (so it may exist).
pub fn is_session_id(text: &str) -> bool {
    text.len() == SESSION_ID_BYTES * 2
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether the presented token is the stored one (constant time over the hash).
pub fn matches(presented: &Presented, stored: &TokenRecord) -> bool {
    presented.id == stored.id && bool::from(presented.hash.as_bytes().ct_eq(stored.hash.as_bytes()))
}

/// A new token, shown once.
#[derive(Debug)]
pub struct NewToken {
    pub record: TokenRecord,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no random numbers from the operating system: {0}")]
    Random(#[from] getrandom::Error),
    #[error("tenant name {0:?}: use 1 to 63 letters, digits, '.', '_' or '-'")]
    TenantName(String),
}

/// Tenant names appear in listings and logs: keep them short and plain.
pub fn valid_tenant_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// Creates a token for the tenant (creating the tenant when new).
pub fn create(
    store: &dyn MetadataStore,
    tenant: &str,
    role: Role,
    now: Micros,
) -> Result<NewToken, TokenError> {
    if !valid_tenant_name(tenant) {
        return Err(TokenError::TenantName(tenant.to_owned()));
    }
    let tenant_id = store.ensure_tenant(tenant, now)?;
    let id = random_hex(ID_BYTES)?;
    let token = format!("{PREFIX}{id}_{}", random_hex(SECRET_BYTES)?);
    let record = TokenRecord {
        id,
        tenant_id,
        tenant: tenant.to_owned(),
        role,
        hash: sha256_hex(token.as_bytes()),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    store.insert_token(&record)?;
    Ok(NewToken { record, token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn created_tokens_parse_and_match_only_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let new = create(&store, "team-a", Role::Uploader, 1).unwrap();
        assert!(new.token.starts_with("mck_"));
        assert!(
            !new.record.hash.contains(&new.token[16..]),
            "only the hash is kept"
        );
        let stored = store.token(&new.record.id).unwrap().unwrap();
        let presented = parse(&new.token).unwrap();
        assert!(matches(&presented, &stored));

        let mut forged = new.token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == '0' { '1' } else { '0' });
        assert!(!matches(&parse(&forged).unwrap(), &stored));
        let other = create(&store, "team-a", Role::Viewer, 2).unwrap();
        assert_ne!(other.record.id, new.record.id);
        assert!(!matches(&parse(&other.token).unwrap(), &stored));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "",
            "mck_",
            "Bearer x",
            "mck_0123456789ab",
            "mck_0123456789ab_short",
            &format!("mck_0123456789a_{}", "0".repeat(64)),
            &format!("mck_0123456789ag_{}", "0".repeat(64)),
            &format!("xyz_0123456789ab_{}", "0".repeat(64)),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse(&format!("mck_0123456789ab_{}", "0".repeat(64))).is_some());
    }

    #[test]
    fn tenant_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        for bad in ["", "a b", "x/y", &"a".repeat(64)] {
            assert!(matches!(
                create(&store, bad, Role::Admin, 1),
                Err(TokenError::TenantName(_))
            ));
        }
    }
}
