//! Who is calling: `Authorization: Bearer <token>` resolved to a tenant and a role, or (pages
//! only) a web UI session opened with such a token ([`authenticate_session`]).

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::api::ApiError;
use crate::state::{AppState, now_micros};
use crate::store::{AuditEntry, Role};
use crate::tokens;

/// Token use is recorded at most this often per token.
const TOKEN_USE_RECORD_INTERVAL: Duration = Duration::from_secs(60);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: i64,
    pub tenant: String,
    pub token_id: String,
    pub role: Role,
}

impl Caller {
    /// 403 unless the caller's role includes `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(&format!(
                "this needs the {role} role; the token is a {} token",
                self.role
            )))
        }
    }

    pub fn audit(&self, action: &str, snapshot_id: Option<&str>, outcome: &str) -> AuditEntry {
        AuditEntry {
            time: now_micros(),
            tenant_id: Some(self.tenant_id),
            token_id: Some(self.token_id.clone()),
            action: action.to_owned(),
            snapshot_id: snapshot_id.map(str::to_owned),
            outcome: outcome.to_owned(),
        }
    }
}

/// Resolves a presented token. Unknown, malformed, wrong and revoked tokens are all 401 with
/// the same message, so a caller learns nothing about which it was; the audit log (for tokens
/// that exist) and the server log say.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let denied = || ApiError::unauthorized("invalid or revoked token");
    let Some(presented) = tokens::parse(token) else {
        tracing::info!("request with a malformed token");
        return Err(denied());
    };
    let id = presented.id.clone();
    let Some(record) = state.db(move |store| store.token(&id)).await? else {
        tracing::info!(token_id = %presented.id, "request with an unknown token");
        return Err(denied());
    };
    let refusal = if !tokens::matches(&presented, &record) {
        Some("wrong secret")
    } else if record.revoked_at.is_some() {
        Some("revoked")
    } else {
        None
    };
    if let Some(reason) = refusal {
        tracing::warn!(token_id = %record.id, tenant = %record.tenant, reason, "token refused");
        let entry = AuditEntry {
            time: now_micros(),
            tenant_id: Some(record.tenant_id),
            token_id: Some(record.id.clone()),
            action: "token-denied".to_owned(),
            snapshot_id: None,
            outcome: reason.to_owned(),
        };
        state.db(move |store| store.audit(&entry)).await?;
        return Err(denied());
    }
    admit(
        state,
        Caller {
            tenant_id: record.tenant_id,
            tenant: record.tenant,
            token_id: record.id,
            role: record.role,
        },
    )
    .await
}

/// A caller signed in through the web UI: who it is (as the token that opened the session) and
/// what the session's forms must carry.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    pub caller: Caller,
    /// SHA-256 of the session id, which names the session in the store.
    pub id_hash: String,
    pub csrf_secret: String,
}

/// Resolves a session cookie's value; None when no live session has that id (unknown, expired,
/// logged out, or its token revoked).
pub async fn authenticate_session(
    state: &AppState,
    session_id: &str,
) -> Result<Option<SessionCaller>, ApiError> {
    if !tokens::is_session_id(session_id) {
        return Ok(None);
    }
    let id_hash = tokens::sha256_hex(session_id.as_bytes());
    let lookup = id_hash.clone();
    let Some(session) = state
        .db(move |store| store.session(&lookup, now_micros()))
        .await?
    else {
        return Ok(None);
    };
    let caller = admit(
        state,
        Caller {
            tenant_id: session.tenant_id,
            tenant: session.tenant,
            token_id: session.token_id,
            role: session.role,
        },
    )
    .await?;
    Ok(Some(SessionCaller {
        caller,
        id_hash,
        csrf_secret: session.csrf_secret,
    }))
}

/// What every accepted request goes through, however it authenticated: the token's rate limit,
/// and its use recorded.
async fn admit(state: &AppState, caller: Caller) -> Result<Caller, ApiError> {
    if let Some(limiter) = &state.limiter
        && let Err(wait) = limiter.check(&caller.token_id, Instant::now())
    {
        state.metrics.rate_limited();
        return Err(ApiError::too_many_requests(wait.as_secs_f64().ceil() as u64));
    }
    if should_record_use(state, &caller.token_id) {
        let entry = caller.audit("token-use", None, "ok");
        let id = caller.token_id.clone();
        state
            .db(move |store| {
                store.touch_token(&id, entry.time)?;
                store.audit(&entry)
            })
            .await?;
    }
    Ok(caller)
}

fn should_record_use(state: &AppState, token_id: &str) -> bool {
    let now = Instant::now();
    let mut recorded = state
        .token_use_recorded
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match recorded.get(token_id) {
        Some(last) if now.duration_since(*last) < TOKEN_USE_RECORD_INTERVAL => false,
        _ => {
            recorded.insert(token_id.to_owned(), now);
            true
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "missing Authorization: Bearer <token> header",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
        authenticate(state, token).await
    }
}
