//! HTML output of a drift: a fragment the portal embeds in its own page (style it with [`STYLE`]),
//! and a self-contained page for `meshcheck diff -o html` (inline style, an inline SVG, nothing
//! loaded from anywhere, a Content-Security-Policy that allows nothing else).

use askama::Template;
use base64::Engine;
use meshcheck_rules::Severity;
use sha2::{Digest, Sha256};

use crate::diff::Drift;
use crate::digest::DigestFinding;

/// The fragment's stylesheet; every rule is scoped to `.drift`, so it can join another page's.
pub const STYLE: &str = include_str!("../templates/drift.css");

/// Finding rows per direction (introduced, resolved); the rest are counted.
pub const FINDING_ROWS: usize = 500;

/// Object names listed per kind; the rest are counted.
pub const OBJECT_ROWS: usize = 200;

/// `'sha256-…'` of [`STYLE`], for a Content-Security-Policy `style-src` that allows exactly it.
pub fn style_csp_source() -> String {
    let digest = Sha256::digest(STYLE.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

struct VersionRow {
    component: String,
    old: String,
    new: String,
}

struct FindingRow {
    severity: &'static str,
    code: String,
    resource: String,
    message: String,
}

struct FindingSection {
    title: &'static str,
    total: usize,
    rows: Vec<FindingRow>,
    more: usize,
}

struct ItemRow {
    marker: char,
    change: &'static str,
    name: String,
}

struct KindRow {
    kind: String,
    added: usize,
    removed: usize,
    changed: usize,
    total: usize,
    items: Vec<ItemRow>,
    more: usize,
}

#[derive(Template)]
#[template(path = "drift.html")]
struct Fragment {
    cluster: String,
    old_time: String,
    new_time: String,
    old_score: u8,
    new_score: u8,
    old_width: u32,
    new_width: u32,
    old_grade: String,
    new_grade: String,
    score_change: String,
    score_direction: &'static str,
    introduced_count: usize,
    resolved_count: usize,
    introduced_severities: String,
    objects_added: usize,
    objects_removed: usize,
    objects_changed: usize,
    versions: Vec<VersionRow>,
    finding_sections: Vec<FindingSection>,
    kinds: Vec<KindRow>,
}

#[derive(Template)]
#[template(path = "drift_page.html")]
struct Page<'a> {
    csp: String,
    style: &'static str,
    cluster: &'a str,
    fragment: &'a str,
}

fn finding_section(title: &'static str, findings: &[DigestFinding]) -> FindingSection {
    FindingSection {
        title,
        total: findings.len(),
        rows: findings
            .iter()
            .take(FINDING_ROWS)
            .map(|finding| FindingRow {
                severity: finding.severity.as_str(),
                code: finding.code.clone(),
                resource: finding
                    .resource
                    .as_ref()
                    .map(|resource| resource.display())
                    .unwrap_or_default(),
                message: finding.message.clone(),
            })
            .collect(),
        more: findings.len().saturating_sub(FINDING_ROWS),
    }
}

fn kind_row(kind: &crate::diff::KindDrift) -> KindRow {
    let total = kind.added.len() + kind.removed.len() + kind.changed.len();
    let items: Vec<ItemRow> = [
        ('+', "added", &kind.added),
        ('−', "removed", &kind.removed),
        ('~', "changed", &kind.changed),
    ]
    .into_iter()
    .flat_map(|(marker, change, names)| {
        names.iter().map(move |name| ItemRow {
            marker,
            change,
            name: name.clone(),
        })
    })
    .take(OBJECT_ROWS)
    .collect();
    KindRow {
        kind: kind.qualified_kind(),
        added: kind.added.len(),
        removed: kind.removed.len(),
        changed: kind.changed.len(),
        total,
        more: total - items.len(),
        items,
    }
}

fn cluster_name(drift: &Drift) -> String {
    drift
        .new
        .cluster
        .clone()
        .or_else(|| drift.old.cluster.clone())
        .unwrap_or_else(|| "(unnamed)".to_owned())
}

/// The drift as an HTML `<section class="drift">`, for the portal to place in its own page.
pub fn render_html_fragment(drift: &Drift) -> String {
    let list = |versions: &[String]| {
        if versions.is_empty() {
            "(none)".to_owned()
        } else {
            versions.join(", ")
        }
    };
    let introduced_severities: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|severity| {
            let count = drift.summary.introduced_by_severity.get(severity)?;
            Some(format!("{count} {severity}"))
        })
        .collect();
    let fragment = Fragment {
        cluster: cluster_name(drift),
        old_time: drift.old.collected_at.clone().unwrap_or_default(),
        new_time: drift.new.collected_at.clone().unwrap_or_default(),
        old_score: drift.old.score,
        new_score: drift.new.score,
        old_width: u32::from(drift.old.score.min(100)) * 2,
        new_width: u32::from(drift.new.score.min(100)) * 2,
        old_grade: drift.old.grade.clone(),
        new_grade: drift.new.grade.clone(),
        score_change: format!("{:+}", drift.score_change),
        score_direction: match drift.score_change {
            0 => "same",
            change if change > 0 => "up",
            _ => "down",
        },
        introduced_count: drift.summary.introduced,
        resolved_count: drift.summary.resolved,
        introduced_severities: introduced_severities.join(", "),
        objects_added: drift.summary.objects_added,
        objects_removed: drift.summary.objects_removed,
        objects_changed: drift.summary.objects_changed,
        versions: drift
            .versions
            .iter()
            .map(|change| VersionRow {
                component: change.component.clone(),
                old: list(&change.old),
                new: list(&change.new),
            })
            .collect(),
        finding_sections: vec![
            finding_section("Introduced findings", &drift.introduced),
            finding_section("Resolved findings", &drift.resolved),
        ],
        kinds: drift.objects.iter().map(kind_row).collect(),
    };
    fragment
        .render()
        .expect("the drift template renders any drift")
}

/// The drift as one self-contained HTML page.
pub fn render_html_page(drift: &Drift) -> String {
    let fragment = render_html_fragment(drift);
    let cluster = cluster_name(drift);
    let page = Page {
        csp: format!(
            "default-src 'none'; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
            style_csp_source()
        ),
        style: STYLE,
        cluster: &cluster,
        fragment: &fragment,
    };
    page.render().expect("the drift page template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_drift;

    #[test]
    fn fragment_snapshot() {
        insta::assert_snapshot!(render_html_fragment(&sample_drift()));
    }

    #[test]
    fn page_is_self_contained_and_escapes_input() {
        let mut drift = sample_drift();
        drift.introduced[0].message = "<script>alert(1)</script>".to_owned();
        let page = render_html_page(&drift);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&#60;script&#62;alert(1)") || page.contains("&lt;script&gt;"));
        assert!(page.contains(&style_csp_source()));
        for external in ["http://", "https://", "src=", "<script"] {
            assert!(!page.contains(external), "page contains {external}");
        }
    }

    #[test]
    fn long_kinds_are_cut() {
        let mut drift = sample_drift();
        drift.objects[0].changed = (0..OBJECT_ROWS + 7)
            .map(|n| format!("shop/app-{n}"))
            .collect();
        let html = render_html_fragment(&drift);
        assert!(html.contains("… and 9 more"), "{html}");
    }
}
