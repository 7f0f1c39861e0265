//! What every page shares: the frame around it (header with the tenant, navigation and the
//! logout button), the policy it is served with, HTML error pages, cookies and URL pieces.

use askama::Template;
use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::session::PageCaller;
use crate::api::ApiError;

/// Pages load their stylesheet and script from this server and nothing else; forms post back
/// here only. No inline style or script anywhere, so no hash or nonce is needed.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page frame: what the layout template needs besides the page's own content.
pub struct Chrome {
    pub title: String,
    /// Which navigation entry is current (`fleet`, or empty).
    pub section: &'static str,
    /// The signed-in tenant; None on the login and error pages.
    pub tenant: Option<String>,
    /// The session's CSRF secret, for the logout form; None when the page was opened with a
    /// bearer token (there is no session to end).
    pub csrf: Option<String>,
}

impl Chrome {
    pub fn signed_in(title: impl Into<String>, section: &'static str, page: &PageCaller) -> Chrome {
        Chrome {
            title: title.into(),
            section,
            tenant: Some(page.caller.tenant.clone()),
            csrf: page.csrf.clone(),
        }
    }

    pub fn anonymous(title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            section: "",
            tenant: None,
            csrf: None,
        }
    }
}

/// A rendered page with its status and the page policy.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, ApiError> {
    let body = page
        .render()
        .map_err(|error| ApiError::internal(format!("page template: {error}")))?;
    Ok(html(status, body))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// Browsers (`Accept: text/html`) get an error page where API clients get `{"error": …}`: the
/// handlers answer with [`ApiError`] either way, and this turns it into a page.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !wants_html || !is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let reason = status.canonical_reason().unwrap_or("Error");
    let message = to_bytes(body, 64 * 1024)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|value| value["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| reason.to_owned());
    let page = ErrorPage {
        chrome: Chrome::anonymous(reason),
        status: status.as_u16(),
        reason,
        message: &message,
    };
    let mut rendered = match render(status, &page) {
        Ok(rendered) => rendered,
        Err(error) => return error.into_response(),
    };
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            rendered.headers_mut().insert(name, value.clone());
        }
    }
    rendered
}

/// The value of a request cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A path segment with everything but unreserved characters percent-encoded (cluster names
/// are kubeconfig contexts: `arn:aws:eks:…:cluster/prod` has a slash).
pub fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `key=value&…` with values encoded for a query string.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `2026-11-18 11:06 UTC`: compact enough for a table of a thousand rows.
pub fn short_time(micros: i64) -> String {
    let text = crate::state::rfc3339(micros);
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), Some("3"));
        assert_eq!(cookie(&headers, "d"), None);
    }

    #[test]
    fn path_segments_keep_slashes_and_markup_out() {
        assert_eq!(path_segment("prod-eu_1.x"), "prod-eu_1.x");
        assert_eq!(path_segment("arn:aws/x <y>"), "arn%3Aaws%2Fx%20%3Cy%3E");
        assert_eq!(short_time(1_795_000_000_000_000), "2026-11-18 11:06 UTC");
    }
}
