//! `/assets/portal.css`, `/assets/portal.js` and the icon, compiled into the binary: the pages
//! load nothing from anywhere else.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PORTAL_STYLE: &str = include_str!("../../assets/portal.css");
const PORTAL_SCRIPT: &str = include_str!("../../assets/portal.js");
const ICON: &str = include_str!("../../assets/favicon.svg");

/// The portal's style followed by the drift fragment's (scoped to `.drift`).
fn stylesheet() -> &'static str {
    static STYLESHEET: OnceLock<String> = OnceLock::new();
    STYLESHEET.get_or_init(|| format!("{PORTAL_STYLE}\n{}", meshcheck_drift::STYLE))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Public and unchanging for a given build; an hour keeps upgrades visible soon enough.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", stylesheet())
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", PORTAL_SCRIPT)
}

/// `/assets/favicon.svg`, and `/favicon.ico` for pages that do not name an icon (the stored
/// reports): browsers ask for it on their own.
pub async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}
