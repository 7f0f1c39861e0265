//! Headers every response carries. A handler that sets its own Content-Security-Policy (the
//! HTML report) keeps it.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

const DEFAULTS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    // Reports and archives are private to a tenant: no shared cache may keep them.
    (header::CACHE_CONTROL, "no-store"),
];

pub async fn headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in DEFAULTS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
