//! `GET /snapshots/{id}`: the stored HTML report (to a session or a bearer token), served with the Content-Security-Policy the
//! page itself declares (hashes of its inline style and script), so nothing else can run.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::layout::path_segment;
use super::session::PageCaller;
use crate::api::ApiError;
use crate::api::snapshots::{find, require_done};
use crate::blobs::Blob;
use crate::state::AppState;

/// The way back into the portal, put at the top of a stored report: plain links, so the report's
/// own policy (hashes of its style and script) has nothing new to allow.
#[derive(Template)]
#[template(path = "report_nav.html")]
struct ReportNav<'a> {
    cluster: &'a str,
    cluster_href: String,
}

/// `html` with `nav` right after its `<body>` tag (unchanged when it has none).
fn with_nav(html: &str, nav: &str) -> String {
    let Some(body) = html.find("<body") else {
        return html.to_owned();
    };
    let Some(close) = html[body..].find('>') else {
        return html.to_owned();
    };
    let at = body + close + 1;
    let mut page = String::with_capacity(html.len() + nav.len());
    page.push_str(&html[..at]);
    page.push_str(nav);
    page.push_str(&html[at..]);
    page
}

/// When a page declares no policy: nothing may load or run.
const FALLBACK_POLICY: &str = "default-src 'none'";

/// The policy of the page's `<meta http-equiv="Content-Security-Policy">`, when it has one that
/// only uses the characters a policy needs.
pub fn declared_policy(html: &str) -> Option<&str> {
    const MARKER: &str = "http-equiv=\"Content-Security-Policy\" content=\"";
    let head = &html[..html.len().min(8192)];
    let start = head.find(MARKER)? + MARKER.len();
    let end = start + head[start..].find('"')?;
    let policy = &head[start..end];
    policy
        .bytes()
        .all(|byte| byte.is_ascii_graphic() || byte == b' ')
        .then_some(policy)
        .filter(|policy| !policy.contains('<') && !policy.contains('>'))
}

pub async fn page(
    State(state): State<AppState>,
    page_caller: PageCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = find(&state, &page_caller.caller, &id).await?;
    require_done(&snapshot)?;
    let Some(html) = state
        .blobs
        .get_bytes(&snapshot.id, Blob::ReportHtml)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::internal(format!(
            "snapshot {}: report.html missing from the blob store",
            snapshot.id
        )));
    };
    let text = String::from_utf8_lossy(&html);
    // frame-ancestors is ignored in a <meta> policy: the header adds it.
    let policy = format!(
        "{}; frame-ancestors 'none'",
        declared_policy(&text).unwrap_or(FALLBACK_POLICY)
    );
    let nav = ReportNav {
        cluster: &snapshot.cluster,
        cluster_href: format!("/clusters/{}", path_segment(&snapshot.cluster)),
    }
    .render()
    .map_err(ApiError::internal)?;
    let mut response = with_nav(&text, &nav).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_links_go_right_after_the_body_tag_escaped() {
        let nav = ReportNav {
            cluster: "prod <eu>",
            cluster_href: format!("/clusters/{}", path_segment("prod <eu>")),
        }
        .render()
        .unwrap();
        assert!(
            nav.contains("prod &#60;eu&#62;") || nav.contains("prod &lt;eu&gt;"),
            "{nav}"
        );
        assert!(nav.contains("href=\"/clusters/prod%20%3Ceu%3E\""), "{nav}");
        let page = with_nav("<html><body class=\"x\"><h1>r</h1></body></html>", "<nav/>");
        assert_eq!(
            page,
            "<html><body class=\"x\"><nav/><h1>r</h1></body></html>"
        );
        assert_eq!(with_nav("no body", "<nav/>"), "no body");
    }

    #[test]
    fn the_policy_comes_from_the_page_head() {
        let html = "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-abc='\"></head>";
        assert_eq!(
            declared_policy(html),
            Some("default-src 'none'; style-src 'sha256-abc='")
        );
        assert_eq!(declared_policy("<html><head></head>"), None);
        let hostile = "<meta http-equiv=\"Content-Security-Policy\" content=\"a\u{7}b\">";
        assert_eq!(declared_policy(hostile), None);
    }

    #[test]
    fn rendered_reports_declare_a_policy_without_unsafe_inline() {
        let report = meshcheck_report::Report::new(
            Vec::new(),
            0,
            meshcheck_report::InputSummary {
                kind: "archive".to_owned(),
                context: None,
                collected_at: None,
                files: 0,
                objects: 0,
                objects_by_kind: Default::default(),
                mesh_config: None,
                problems: Vec::new(),
                ..Default::default()
            },
        );
        let html = meshcheck_report::render_html(&report);
        let policy = declared_policy(&html).expect("the report declares its policy");
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(policy.contains("script-src 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }
}
