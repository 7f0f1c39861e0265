//! Signing in to the web UI with a token, and out again.
//!
//! - **Sessions** are server-side: the cookie holds 256 random bits, the store keeps only their
//!   SHA-256 with the tenant, token, role and a CSRF secret. A session dies when it expires, at
//!   logout, or when its token is revoked.
//! - **CSRF.** Every state-changing form is a POST carrying a secret the server compares in
//!   constant time. The logout form carries the session's own CSRF secret (stored with the
//!   session, so an attacker's page cannot know it). Before login there is no session yet, so the
//!   login form uses a double submit: `GET /login` sets a random value in an HttpOnly,
//!   SameSite=Strict cookie scoped to `/login` and puts the same value in the form; `POST /login`
//!   needs both to match. Another site can neither read that cookie nor make the browser send it
//!   (SameSite=Strict), so it cannot log a victim in to the attacker's tenant.
//! - The cookies are `HttpOnly; SameSite=Strict; Path=…`, and `Secure` when the server speaks TLS.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::layout::{Chrome, cookie, query_string, render};
use crate::api::ApiError;
use crate::auth::{self, Caller};
use crate::state::{AppState, now_micros};
use crate::store::{AuditEntry, NewSession};
use crate::tokens::{self, SESSION_ID_BYTES, random_hex, sha256_hex};

pub const SESSION_COOKIE: &str = "meshcheck_session";
const LOGIN_COOKIE: &str = "meshcheck_login";
/// A session lasts a working day; signing in again takes a token.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long a login form stays usable.
const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// Who opened a page: a session (cookie) or a bearer token.
pub struct PageCaller {
    pub caller: Caller,
    /// The session's CSRF secret; None for a bearer token.
    pub csrf: Option<String>,
}

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    /// A bearer token when the request has one (refused as the API refuses it), else the
    /// session cookie; neither sends the browser to the login page.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PageCaller, Response> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let caller = Caller::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(PageCaller { caller, csrf: None });
        }
        if let Some(id) = cookie(&parts.headers, SESSION_COOKIE)
            && let Some(session) = auth::authenticate_session(state, id)
                .await
                .map_err(IntoResponse::into_response)?
        {
            return Ok(PageCaller {
                caller: session.caller,
                csrf: Some(session.csrf_secret),
            });
        }
        let next = parts
            .uri
            .path_and_query()
            .map(|path| path.as_str())
            .unwrap_or("/");
        let login = if next == "/" {
            "/login".to_owned()
        } else {
            format!("/login?{}", query_string([("next", next)]))
        };
        Err(Redirect::to(&login).into_response())
    }
}

/// Where to go after login: a path on this server, never another site (`//host`, `/\host`).
fn local_path(next: &str) -> &str {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/login")
        && !next
            .bytes()
            .any(|byte| byte == b'\\' || byte.is_ascii_control());
    if safe { next } else { "/" }
}

fn same_secret(expected: Option<&str>, presented: &str) -> bool {
    expected.is_some_and(|expected| {
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    })
}

fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
) -> HeaderValue {
    let secure = if state.tls { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={}{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&text).expect("cookie values are hex")
}

fn random(bytes: usize) -> Result<String, ApiError> {
    random_hex(bytes).map_err(|error| ApiError::internal(format!("random numbers: {error}")))
}

async fn audit(state: &AppState, entry: AuditEntry) -> Result<(), ApiError> {
    state.db(move |store| store.audit(&entry)).await
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    chrome: Chrome,
    csrf: &'a str,
    next: &'a str,
    error: Option<&'a str>,
}

fn login_page(
    status: StatusCode,
    csrf: &str,
    next: &str,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    render(
        status,
        &LoginPage {
            chrome: Chrome::anonymous("Sign in"),
            csrf,
            next: local_path(next),
            error,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// `GET /login`: the form, with a fresh double-submit value.
pub async fn form(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let csrf = random(32)?;
    let mut response = login_page(StatusCode::OK, &csrf, &query.next, None)?;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, &csrf, "/login", LOGIN_FORM_LIFETIME),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: a valid token opens a session and goes on (303); a wrong one shows the form
/// again (401).
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    if !same_secret(cookie(&headers, LOGIN_COOKIE), &form.csrf) {
        return Err(ApiError::forbidden(
            "the login form expired or was not sent from this site; open /login again",
        ));
    }
    let token = form.token.trim();
    let caller = match auth::authenticate(&state, token).await {
        Ok(caller) => caller,
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {
            audit(
                &state,
                AuditEntry {
                    time: now_micros(),
                    tenant_id: None,
                    token_id: tokens::parse(token).map(|presented| presented.id),
                    action: "login".to_owned(),
                    snapshot_id: None,
                    outcome: "refused".to_owned(),
                },
            )
            .await?;
            return login_page(
                StatusCode::UNAUTHORIZED,
                &form.csrf,
                &form.next,
                Some("That token is not valid (wrong, revoked or mistyped)."),
            );
        }
        Err(error) => return Err(error),
    };
    let session_id = random(SESSION_ID_BYTES)?;
    let now = now_micros();
    let session = NewSession {
        id_hash: sha256_hex(session_id.as_bytes()),
        tenant_id: caller.tenant_id,
        token_id: caller.token_id.clone(),
        role: caller.role,
        csrf_secret: random(32)?,
        created_at: now,
        expires_at: now + SESSION_LIFETIME.as_micros() as i64,
    };
    state
        .db(move |store| store.create_session(&session))
        .await?;
    audit(&state, caller.audit("login", None, "ok")).await?;
    tracing::info!(tenant = %caller.tenant, token_id = %caller.token_id, "web UI login");
    let mut response = Redirect::to(local_path(&form.next)).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &session_id, "/", SESSION_LIFETIME),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", "/login", Duration::ZERO),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session (the form must carry its CSRF secret) and goes to the login
/// page.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, ApiError> {
    let session = match cookie(&headers, SESSION_COOKIE) {
        Some(id) => auth::authenticate_session(&state, id).await?,
        None => None,
    };
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", "/", Duration::ZERO),
    );
    let Some(session) = session else {
        return Ok(response);
    };
    if !same_secret(Some(&session.csrf_secret), &form.csrf) {
        return Err(ApiError::forbidden(
            "the logout form was not sent from this site; use the Log out button",
        ));
    }
    let id_hash = session.id_hash.clone();
    state
        .db(move |store| store.delete_session(&id_hash))
        .await?;
    audit(&state, session.caller.audit("logout", None, "ok")).await?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path("/clusters/prod"), "/clusters/prod");
        assert_eq!(local_path("/?sort=score"), "/?sort=score");
        for hostile in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/login",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(local_path(hostile), "/", "{hostile:?}");
        }
    }

    #[test]
    fn secrets_must_be_present_and_equal() {
        assert!(same_secret(Some("abc"), "abc"));
        assert!(!same_secret(Some("abc"), "abd"));
        assert!(!same_secret(Some("abc"), ""));
        assert!(!same_secret(None, ""));
        assert!(!same_secret(Some(""), ""));
    }
}
