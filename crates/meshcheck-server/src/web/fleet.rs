//! `GET /`: the fleet, one row per cluster of the tenant, from one store call (three queries
//! whatever the number of clusters), then filtered, sorted and paged here.

use std::cmp::Ordering;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::layout::{Chrome, path_segment, query_string, render, short_time};
use super::session::PageCaller;
use super::sparkline::sparkline;
use crate::api::ApiError;
use crate::state::AppState;
use crate::store::{ClusterSummary, SnapshotStatus};

/// Scores per cluster drawn in the sparkline.
const HISTORY: usize = 30;
const DEFAULT_PER_PAGE: usize = 100;
const MAX_PER_PAGE: usize = 1000;
pub const GRADES: [&str; 5] = ["A", "B", "C", "D", "F"];

/// The columns the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Cluster,
    Kubernetes,
    Istio,
    Score,
    Critical,
    Errors,
    Last,
    Status,
}

impl Column {
    const ALL: [Column; 8] = [
        Column::Cluster,
        Column::Kubernetes,
        Column::Istio,
        Column::Score,
        Column::Critical,
        Column::Errors,
        Column::Last,
        Column::Status,
    ];

    fn key(self) -> &'static str {
        match self {
            Column::Cluster => "cluster",
            Column::Kubernetes => "kubernetes",
            Column::Istio => "istio",
            Column::Score => "score",
            Column::Critical => "critical",
            Column::Errors => "errors",
            Column::Last => "last",
            Column::Status => "status",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Column::Cluster => "Cluster",
            Column::Kubernetes => "Kubernetes",
            Column::Istio => "Istio",
            Column::Score => "Score",
            Column::Critical => "Critical",
            Column::Errors => "Errors",
            Column::Last => "Last snapshot",
            Column::Status => "Status",
        }
    }

    fn parse(text: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|column| column.key() == text)
    }

    /// The first click shows what needs attention first: worst scores, most findings, newest.
    fn descending_by_default(self) -> bool {
        matches!(self, Column::Critical | Column::Errors | Column::Last)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct FleetParams {
    /// Part of the cluster name (any case).
    #[serde(default)]
    q: String,
    /// A, B, C, D or F.
    #[serde(default)]
    grade: String,
    /// Any value: only clusters whose newest report has critical findings.
    #[serde(default)]
    critical: String,
    #[serde(default)]
    sort: String,
    /// `asc` or `desc`; the column's own default when absent.
    #[serde(default)]
    order: String,
    page: Option<usize>,
    per_page: Option<usize>,
}

impl FleetParams {
    fn column(&self) -> Column {
        Column::parse(&self.sort).unwrap_or(Column::Cluster)
    }

    fn descending(&self) -> bool {
        match self.order.as_str() {
            "asc" => false,
            "desc" => true,
            _ => self.column().descending_by_default(),
        }
    }

    fn keeps(&self, summary: &ClusterSummary) -> bool {
        let latest = summary.latest_done.as_ref();
        (self.q.is_empty()
            || summary
                .cluster
                .to_lowercase()
                .contains(&self.q.trim().to_lowercase()))
            && (self.grade.is_empty()
                || latest.and_then(|done| done.grade.as_deref()) == Some(self.grade.as_str()))
            && (self.critical.is_empty()
                || latest
                    .and_then(|done| done.counts)
                    .is_some_and(|counts| counts.critical > 0))
    }

    /// The query string of this view with some parameters replaced.
    fn link(&self, changes: &[(&str, String)]) -> String {
        let page = self.page.map(|page| page.to_string()).unwrap_or_default();
        let per_page = self
            .per_page
            .map(|per_page| per_page.to_string())
            .unwrap_or_default();
        let current = [
            ("q", self.q.as_str()),
            ("grade", self.grade.as_str()),
            ("critical", self.critical.as_str()),
            ("sort", self.sort.as_str()),
            ("order", self.order.as_str()),
            ("page", page.as_str()),
            ("per_page", per_page.as_str()),
        ];
        let pairs = current.into_iter().map(|(key, value)| {
            let value = changes
                .iter()
                .find(|(changed, _)| *changed == key)
                .map_or(value, |(_, changed)| changed.as_str());
            (key, value)
        });
        format!(
            "/?{}",
            query_string(pairs.filter(|(_, value)| !value.is_empty()))
        )
    }
}

/// Orders by version numbers, not text: 1.9 before 1.10, with or without a leading `v`.
fn natural_cmp(left: &str, right: &str) -> Ordering {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Piece<'a> {
        Number(u64),
        Text(&'a str),
    }
    fn pieces(text: &str) -> Vec<Piece<'_>> {
        let mut out = Vec::new();
        let mut rest = text.strip_prefix(['v', 'V']).unwrap_or(text);
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (piece, remainder) = if digits > 0 {
                let number = rest[..digits].parse().unwrap_or(u64::MAX);
                (Piece::Number(number), &rest[digits..])
            } else {
                let end = rest
                    .find(|c: char| c.is_ascii_digit())
                    .unwrap_or(rest.len());
                (Piece::Text(&rest[..end]), &rest[end..])
            };
            out.push(piece);
            rest = remainder;
        }
        out
    }
    pieces(left).cmp(&pieces(right))
}

/// Compares by the column; clusters without a value (never analysed) come last either way, and
/// ties go by name.
fn compare(
    column: Column,
    descending: bool,
    left: &ClusterSummary,
    right: &ClusterSummary,
) -> Ordering {
    fn optional<T: Ord>(left: Option<T>, right: Option<T>, descending: bool) -> Ordering {
        match (left, right) {
            (Some(left), Some(right)) if descending => right.cmp(&left),
            (Some(left), Some(right)) => left.cmp(&right),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    let latest = |summary: &ClusterSummary| summary.latest_done.clone();
    let (l, r) = (latest(left), latest(right));
    let ordering = match column {
        Column::Cluster => {
            let ordering = left.cluster.cmp(&right.cluster);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
        Column::Kubernetes | Column::Istio => {
            let version = |done: &Option<crate::store::Snapshot>| {
                done.as_ref().and_then(|done| {
                    if column == Column::Kubernetes {
                        done.kubernetes_version.clone()
                    } else {
                        done.istio_version.clone()
                    }
                })
            };
            match (version(&l), version(&r)) {
                (Some(a), Some(b)) if descending => natural_cmp(&b, &a),
                (Some(a), Some(b)) => natural_cmp(&a, &b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        Column::Score => optional(
            l.as_ref().and_then(|done| done.score),
            r.as_ref().and_then(|done| done.score),
            descending,
        ),
        Column::Critical => optional(
            l.as_ref().and_then(|done| done.counts).map(|c| c.critical),
            r.as_ref().and_then(|done| done.counts).map(|c| c.critical),
            descending,
        ),
        Column::Errors => optional(
            l.as_ref().and_then(|done| done.counts).map(|c| c.error),
            r.as_ref().and_then(|done| done.counts).map(|c| c.error),
            descending,
        ),
        Column::Last => optional(
            Some((left.last.collected_at, left.last.seq)),
            Some((right.last.collected_at, right.last.seq)),
            descending,
        ),
        Column::Status => optional(
            Some(left.last.status.as_str()),
            Some(right.last.status.as_str()),
            descending,
        ),
    };
    ordering.then_with(|| left.cluster.cmp(&right.cluster))
}

/// The clusters the parameters keep, in their order.
fn select(mut clusters: Vec<ClusterSummary>, params: &FleetParams) -> Vec<ClusterSummary> {
    clusters.retain(|summary| params.keeps(summary));
    let (column, descending) = (params.column(), params.descending());
    clusters.sort_by(|left, right| compare(column, descending, left, right));
    clusters
}

struct Heading {
    title: &'static str,
    href: String,
    /// `ascending`/`descending` on the sorted column, for aria-sort.
    sorted: &'static str,
    numeric: bool,
}

struct Row {
    cluster: String,
    cluster_href: String,
    kubernetes: String,
    istio: String,
    score: String,
    grade: String,
    critical: String,
    errors: String,
    last_time: String,
    report_href: Option<String>,
    status: &'static str,
    status_detail: String,
    sparkline: String,
}

fn row(summary: &ClusterSummary) -> Row {
    let latest = summary.latest_done.as_ref();
    let text = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
    let counts = latest.and_then(|done| done.counts);
    Row {
        cluster_href: format!("/clusters/{}", path_segment(&summary.cluster)),
        cluster: summary.cluster.clone(),
        kubernetes: text(latest.and_then(|done| done.kubernetes_version.clone())),
        istio: text(latest.and_then(|done| done.istio_version.clone())),
        score: text(
            latest
                .and_then(|done| done.score)
                .map(|score| score.to_string()),
        ),
        grade: latest
            .and_then(|done| done.grade.clone())
            .unwrap_or_default(),
        critical: text(counts.map(|counts| counts.critical.to_string())),
        errors: text(counts.map(|counts| counts.error.to_string())),
        last_time: short_time(summary.last.collected_at),
        report_href: (summary.last.status == SnapshotStatus::Done)
            .then(|| format!("/snapshots/{}", summary.last.id)),
        status: summary.last.status.as_str(),
        status_detail: summary.last.error.clone().unwrap_or_default(),
        sparkline: sparkline(&summary.history),
    }
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage<'a> {
    chrome: Chrome,
    params: &'a FleetParams,
    grades: [&'static str; 5],
    total: usize,
    matching: usize,
    first: usize,
    last: usize,
    headings: Vec<Heading>,
    rows: Vec<Row>,
    previous: Option<String>,
    next: Option<String>,
    clear: &'static str,
}

pub async fn page(
    State(state): State<AppState>,
    page_caller: PageCaller,
    Query(params): Query<FleetParams>,
) -> Result<Response, ApiError> {
    let tenant_id = page_caller.caller.tenant_id;
    let clusters = state
        .db(move |store| store.clusters(tenant_id, HISTORY))
        .await?;
    let total = clusters.len();
    let selected = select(clusters, &params);
    let per_page = params
        .per_page
        .unwrap_or(DEFAULT_PER_PAGE)
        .clamp(1, MAX_PER_PAGE);
    let pages = selected.len().div_ceil(per_page).max(1);
    let page = params.page.unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * per_page;
    let rows: Vec<Row> = selected
        .iter()
        .skip(start)
        .take(per_page)
        .map(row)
        .collect();
    let (column, descending) = (params.column(), params.descending());
    let headings = Column::ALL
        .into_iter()
        .map(|heading| {
            let order = if heading == column {
                if descending { "asc" } else { "desc" }
            } else if heading.descending_by_default() {
                "desc"
            } else {
                "asc"
            };
            Heading {
                title: heading.title(),
                href: params.link(&[
                    ("sort", heading.key().to_owned()),
                    ("order", order.to_owned()),
                    ("page", String::new()),
                ]),
                sorted: match (heading == column, descending) {
                    (false, _) => "",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
                numeric: matches!(heading, Column::Score | Column::Critical | Column::Errors),
            }
        })
        .collect();
    let fleet = FleetPage {
        chrome: Chrome::signed_in("Fleet", "fleet", &page_caller),
        params: &params,
        grades: GRADES,
        total,
        matching: selected.len(),
        first: if rows.is_empty() { 0 } else { start + 1 },
        last: start + rows.len(),
        rows,
        headings,
        previous: (page > 1).then(|| params.link(&[("page", (page - 1).to_string())])),
        next: (page < pages).then(|| params.link(&[("page", (page + 1).to_string())])),
        clear: "/",
    };
    render(StatusCode::OK, &fleet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_their_numbers() {
        let mut versions = vec!["1.10.0", "1.9.2", "v1.30.4", "v1.4.1", "1.9.10"];
        versions.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(versions, ["v1.4.1", "1.9.2", "1.9.10", "1.10.0", "v1.30.4"]);
    }

    #[test]
    fn links_keep_the_view_and_change_what_is_asked() {
        let params = FleetParams {
            q: "prod eu".to_owned(),
            critical: "1".to_owned(),
            page: Some(3),
            ..FleetParams::default()
        };
        assert_eq!(
            params.link(&[("sort", "score".to_owned()), ("page", String::new())]),
            "/?q=prod+eu&critical=1&sort=score"
        );
    }
}
