//! A browser-like HTTP client for the web UI: a cookie store, and redirects left to the test.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

pub fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The value of a hidden form field in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

pub fn location(headers: &HeaderMap) -> &str {
    headers[LOCATION].to_str().unwrap()
}

/// The Set-Cookie header that sets `name`.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&format!("{name}=")))
}

/// Opens the login form and returns its CSRF value (the client keeps the matching cookie).
pub async fn login_form(client: &reqwest::Client, base: &str) -> String {
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    hidden(&response.text().await.unwrap(), "csrf")
}

pub async fn post_login(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    csrf: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/login"))
        .form(&[("token", token), ("csrf", csrf), ("next", "")])
        .send()
        .await
        .unwrap()
}

/// A client signed in with `token` through the login form.
pub async fn signed_in(base: &str, token: &str) -> reqwest::Client {
    let client = browser();
    let csrf = login_form(&client, base).await;
    let response = post_login(&client, base, token, &csrf).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), "/");
    client
}

/// GET as a browser would ask (`Accept: text/html`): status and body.
pub async fn page(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The clusters of the fleet table's rows, in order.
pub fn fleet_rows(html: &str) -> Vec<String> {
    html.match_indices("<tr class=\"cluster-row\" data-cluster=\"")
        .map(|(start, marker)| {
            let from = start + marker.len();
            html[from..from + html[from..].find('"').unwrap()].to_owned()
        })
        .collect()
}
