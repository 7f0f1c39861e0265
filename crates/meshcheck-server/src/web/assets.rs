//! `/assets/portal.css` and `/assets/portal.js`, compiled into the binary: the pages load
//! nothing from anywhere else.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PORTAL_STYLE: &str = include_str!("../../assets/portal.css");
const PORTAL_SCRIPT: &str = include_str!("../../assets/portal.js");

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
