//! The HTML report: one self-contained page (inline CSS, JS and SVG; a Content-Security-Policy
//! that allows nothing else), rendered with askama from a view model built here. Findings are
//! grouped by rule in collapsed `<details>`, and each group shows at most [`ROWS_PER_GROUP`] rows,
//! so that a mesh with tens of thousands of findings still gives a page of a few megabytes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use askama::Template;
use base64::Engine;
use meshcheck_rules::finding::FindingStatus;
use meshcheck_rules::{Category, Finding, RuleMeta, Severity};
use sha2::{Digest, Sha256};

use crate::Report;
use crate::checklist::ItemStatus;
use crate::inventory::Inventory;
use crate::report::{location_text, resource_text};
use crate::svg::{self, Segment, StackedRow};

/// Rows rendered per rule group; the rest are counted ("and N more"), and are in `--output json`.
pub const ROWS_PER_GROUP: usize = 500;

/// Critical and error findings listed in the executive summary.
const TOP_FINDINGS: usize = 10;

/// Load problems listed in "what this report is based on".
const PROBLEMS_SHOWN: usize = 50;

const STYLE: &str = include_str!("../templates/report.css");
const SCRIPT: &str = include_str!("../templates/report.js");

fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Nothing may load or run but the page's own style and script (and `data:` images, unused).
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
});

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "c-critical",
        Severity::Error => "c-error",
        Severity::Warning => "c-warning",
        Severity::Info => "c-info",
    }
}

struct Row {
    severity: &'static str,
    namespace: String,
    resource: String,
    location: String,
    message: String,
    /// Only when it differs from the rule's own remediation (shown once per group).
    remediation: Option<String>,
    /// Brought by the change set of a pre-apply check.
    new: bool,
}

/// A pre-apply check's lead section: the sentence and the new findings.
struct PreApplySection {
    headline: String,
    rows: Vec<(&'static str, Row)>,
    more: usize,
}

struct Group {
    code: &'static str,
    name: &'static str,
    summary: &'static str,
    istio_code: String,
    worst: &'static str,
    total: usize,
    counts: String,
    docs_url: &'static str,
    remediation: String,
    rows: Vec<Row>,
    more: usize,
}

struct CategorySection {
    id: &'static str,
    title: &'static str,
    score: String,
    grade: String,
    total_text: String,
    groups: Vec<Group>,
}

struct TopFinding {
    severity: &'static str,
    code: &'static str,
    category: &'static str,
    category_id: &'static str,
    resource: String,
    message: String,
}

struct SeverityCount {
    name: &'static str,
    count: usize,
}

struct ChecklistRow {
    status: &'static str,
    status_title: &'static str,
    code: &'static str,
    text: &'static str,
    detail: String,
    docs_url: &'static str,
}

struct Fact {
    label: &'static str,
    value: String,
}

struct Gap {
    kind: String,
    namespace: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    csp: &'static str,
    style: &'static str,
    script: &'static str,
    version: &'static str,
    overall: u8,
    grade: &'static str,
    total: usize,
    headline: String,
    gauge: String,
    severity_donut: String,
    category_chart: String,
    severities: Vec<SeverityCount>,
    category_scores: Vec<(&'static str, &'static str, String, String, usize)>,
    top: Vec<TopFinding>,
    top_more: usize,
    inventory: Option<Inventory>,
    proxy_chart: String,
    zone_chart: String,
    categories: Vec<CategorySection>,
    namespaces: Vec<(String, usize)>,
    checklist: Vec<ChecklistRow>,
    basis: Vec<Fact>,
    objects_by_kind: Vec<(String, usize)>,
    gaps: Vec<Gap>,
    problems: Vec<String>,
    problems_more: usize,
    pre_apply: Option<PreApplySection>,
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// The namespace a finding belongs to for filtering: its resource's, or the Namespace itself.
fn namespace_of(finding: &Finding) -> Option<String> {
    let resource = finding.resource.as_ref();
    resource
        .and_then(|resource| resource.namespace.clone())
        .or_else(|| {
            resource
                .filter(|resource| resource.kind == "Namespace")
                .map(|resource| resource.name.clone())
        })
        .or_else(|| finding.scope_namespace.clone())
}

fn row(finding: &Finding, rule_remediation: &str) -> Row {
    Row {
        severity: finding.severity.as_str(),
        namespace: namespace_of(finding).unwrap_or_default(),
        resource: resource_text(finding),
        location: location_text(finding).unwrap_or_default(),
        message: finding.message.clone(),
        remediation: (finding.remediation != rule_remediation).then(|| finding.remediation.clone()),
        new: finding.status == Some(FindingStatus::New),
    }
}

/// The new findings of a pre-apply check, each with its rule's code and its fix.
fn pre_apply_section(report: &Report) -> Option<PreApplySection> {
    let pre_apply = report.pre_apply.as_ref()?;
    let new: Vec<&Finding> = report.new_findings().collect();
    Some(PreApplySection {
        headline: pre_apply.describe(),
        rows: new
            .iter()
            .take(ROWS_PER_GROUP)
            .map(|finding| (finding.code, row(finding, "")))
            .collect(),
        more: new.len().saturating_sub(ROWS_PER_GROUP),
    })
}

/// The findings to lead with (sorted worst first): one per rule before a second of any rule, so
/// that one rule with a thousand findings does not hide the others.
fn top_findings<'f>(serious: &[&'f Finding], limit: usize) -> Vec<&'f Finding> {
    let mut seen = std::collections::HashSet::new();
    let (first_of_rule, repeats): (Vec<&Finding>, Vec<&Finding>) = serious
        .iter()
        .copied()
        .partition(|finding| seen.insert(finding.code));
    let mut top: Vec<&Finding> = first_of_rule.into_iter().take(limit).collect();
    let room = limit - top.len();
    top.extend(repeats.into_iter().take(room));
    top.sort_by_key(|finding| std::cmp::Reverse(finding.severity));
    top
}

/// At most `limit` of a rule's findings (sorted worst first): the worst severities first, and
/// within a severity taken in turn from each namespace, so that filtering the page by namespace
/// still shows examples from every namespace. The result keeps the input order.
fn sample<'f>(findings: &[&'f Finding], limit: usize) -> Vec<&'f Finding> {
    if findings.len() <= limit {
        return findings.to_vec();
    }
    let mut chosen = vec![false; findings.len()];
    let mut left = limit;
    for severity in Severity::ALL {
        // Indexes of this severity's findings, queued per namespace.
        let mut queues: BTreeMap<Option<String>, std::collections::VecDeque<usize>> =
            BTreeMap::new();
        for (index, finding) in findings.iter().enumerate() {
            if finding.severity == severity {
                queues
                    .entry(namespace_of(finding))
                    .or_default()
                    .push_back(index);
            }
        }
        while left > 0 && queues.values().any(|queue| !queue.is_empty()) {
            for queue in queues.values_mut() {
                if left == 0 {
                    break;
                }
                if let Some(index) = queue.pop_front() {
                    chosen[index] = true;
                    left -= 1;
                }
            }
        }
    }
    findings
        .iter()
        .zip(chosen)
        .filter_map(|(finding, chosen)| chosen.then_some(*finding))
        .collect()
}

fn groups(findings: &[&Finding], rules: &BTreeMap<&str, &RuleMeta>) -> Vec<Group> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        by_rule.entry(finding.code).or_default().push(finding);
    }
    let mut groups: Vec<Group> = by_rule
        .into_iter()
        .map(|(code, mut findings)| {
            // Worst first, then by resource, so the rows shown are the ones that matter most.
            findings.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.resource.cmp(&b.resource))
            });
            let first = findings[0];
            let meta = rules.get(code);
            let remediation = meta
                .map(|meta| meta.remediation.to_owned())
                .unwrap_or_else(|| first.remediation.clone());
            let mut counts: Vec<String> = Vec::new();
            for severity in Severity::ALL {
                let count = findings
                    .iter()
                    .filter(|finding| finding.severity == severity)
                    .count();
                if count > 0 {
                    counts.push(format!("{count} {severity}"));
                }
            }
            let mut istio_codes: Vec<&str> = findings
                .iter()
                .filter_map(|finding| finding.istio_code)
                .collect();
            istio_codes.sort_unstable();
            istio_codes.dedup();
            Group {
                code,
                name: first.rule,
                summary: meta.map(|meta| meta.summary).unwrap_or_default(),
                istio_code: istio_codes.join(", "),
                worst: first.severity.as_str(),
                total: findings.len(),
                counts: counts.join(", "),
                docs_url: first.docs_url,
                rows: sample(&findings, ROWS_PER_GROUP)
                    .into_iter()
                    .map(|finding| row(finding, &remediation))
                    .collect(),
                more: findings.len().saturating_sub(ROWS_PER_GROUP),
                remediation,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        Severity::parse(b.worst)
            .cmp(&Severity::parse(a.worst))
            .then(b.total.cmp(&a.total))
            .then(a.code.cmp(b.code))
    });
    groups
}

fn inventory_charts(inventory: &Inventory) -> (String, String) {
    let proxies: Vec<Segment> = inventory
        .proxy_versions
        .iter()
        .map(|version| Segment::new(&version.version, version.count as f64, "c-bar"))
        .collect();
    let zones: Vec<Segment> = inventory
        .zones
        .iter()
        .map(|zone| Segment::new(&zone.zone, zone.nodes as f64, "c-bar"))
        .collect();
    (
        if proxies.is_empty() {
            String::new()
        } else {
            svg::bars(&proxies, "Data-plane proxies by version")
        },
        if zones.is_empty() {
            String::new()
        } else {
            svg::bars(&zones, "Nodes by zone")
        },
    )
}

fn basis(report: &Report) -> Vec<Fact> {
    let input = &report.input;
    let mut facts = vec![
        Fact {
            label: "Input",
            value: input.kind.clone(),
        },
        Fact {
            label: "Files",
            value: input.files.to_string(),
        },
        Fact {
            label: "Objects",
            value: input.objects.to_string(),
        },
    ];
    let cluster = report.cluster.as_ref();
    let optional = [
        (
            "Context",
            input
                .context
                .clone()
                .or_else(|| cluster.and_then(|c| c.context.clone())),
        ),
        (
            "Collected at",
            input
                .collected_at
                .clone()
                .or_else(|| cluster.and_then(|c| c.collected_at.clone())),
        ),
        (
            "Kubernetes version",
            cluster.and_then(|c| c.kubernetes_version.clone()),
        ),
        ("Mesh config", input.mesh_config.clone()),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            facts.push(Fact { label, value });
        }
    }
    for data in &report.data {
        facts.push(Fact {
            label: data.name,
            value: format!("as of {} ({})", data.as_of, data.source),
        });
    }
    facts.push(Fact {
        label: "Rules run",
        value: report.summary.rules_run.to_string(),
    });
    facts.push(Fact {
        label: "meshcheck",
        value: report.summary.meshcheck_version.to_owned(),
    });
    facts
}

/// The HTML report.
pub fn render_html(report: &Report) -> String {
    let summary = &report.summary;
    let score = &summary.score;
    let rules: BTreeMap<&str, &RuleMeta> =
        report.rules.iter().map(|rule| (rule.code, *rule)).collect();
    let counts = report.counts();

    let severity_segments: Vec<Segment> = Severity::ALL
        .iter()
        .map(|severity| {
            Segment::new(
                severity.as_str(),
                summary.count(*severity) as f64,
                severity_class(*severity),
            )
        })
        .collect();
    let stacked: Vec<StackedRow> = Category::ALL
        .iter()
        .map(|category| StackedRow {
            label: category.title(),
            segments: Severity::ALL
                .iter()
                .map(|severity| {
                    Segment::new(
                        severity.as_str(),
                        counts.get(&(*category, *severity)).copied().unwrap_or(0) as f64,
                        severity_class(*severity),
                    )
                })
                .collect(),
        })
        .collect();

    let mut categories = Vec::new();
    let mut category_scores = Vec::new();
    for category in Category::ALL {
        let in_category = report.findings_in(category);
        let category_score = score.category(category);
        let (points, grade) = match (category_score.score, category_score.grade) {
            (Some(points), Some(grade)) => (points.to_string(), grade.as_str().to_owned()),
            _ => ("–".to_owned(), "n/a".to_owned()),
        };
        category_scores.push((
            category.as_str(),
            category.title(),
            points.clone(),
            grade.clone(),
            in_category.len(),
        ));
        categories.push(CategorySection {
            id: category.as_str(),
            title: category.title(),
            score: points,
            grade,
            total_text: plural(in_category.len(), "finding"),
            groups: groups(&in_category, &rules),
        });
    }

    let serious: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|finding| finding.severity >= Severity::Error)
        .collect();
    let top = top_findings(&serious, TOP_FINDINGS)
        .into_iter()
        .map(|finding| TopFinding {
            severity: finding.severity.as_str(),
            code: finding.code,
            category: finding.category.title(),
            category_id: finding.category.as_str(),
            resource: resource_text(finding),
            message: finding.message.clone(),
        })
        .collect();

    let mut namespaces: BTreeMap<String, usize> = BTreeMap::new();
    for finding in &report.findings {
        if let Some(namespace) = namespace_of(finding) {
            *namespaces.entry(namespace).or_default() += 1;
        }
    }

    let checklist = report
        .checklist
        .iter()
        .map(|item| ChecklistRow {
            status: item.status.as_str(),
            status_title: item.status.title(),
            code: item.code,
            text: item.text,
            detail: match item.status {
                ItemStatus::Pass => String::new(),
                ItemStatus::Fail => format!(
                    "{} (worst: {})",
                    plural(item.findings, "finding"),
                    item.worst.map(Severity::as_str).unwrap_or_default()
                ),
                ItemStatus::NotEvaluated => item.note.clone().unwrap_or_default(),
            },
            docs_url: item.docs_url,
        })
        .collect();

    let (proxy_chart, zone_chart) = report
        .inventory
        .as_ref()
        .map(inventory_charts)
        .unwrap_or_default();
    let mut objects_by_kind: Vec<(String, usize)> = report
        .input
        .objects_by_kind
        .iter()
        .map(|(kind, count)| (kind.clone(), *count))
        .collect();
    objects_by_kind.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let gaps = report
        .cluster
        .iter()
        .flat_map(|cluster| cluster.collection_gaps.iter())
        .map(|gap| Gap {
            kind: format!("{} ({})", gap.kind, gap.api_version),
            namespace: gap.namespace.clone().unwrap_or_default(),
            reason: gap.reason.clone(),
        })
        .collect();
    let problems = report
        .input
        .problems
        .iter()
        .take(PROBLEMS_SHOWN)
        .map(|problem| {
            let mut at = problem.file.clone();
            if let Some(line) = problem.line {
                at.push_str(&format!(":{line}"));
            }
            format!("{}: {at}: {}", problem.severity, problem.message)
        })
        .collect();

    let headline = if summary.total == 0 {
        "No problems found.".to_owned()
    } else {
        let parts: Vec<String> = Severity::ALL
            .iter()
            .filter(|severity| summary.count(**severity) > 0)
            .map(|severity| format!("{} {severity}", summary.count(*severity)))
            .collect();
        format!(
            "{}: {}.",
            plural(summary.total, "finding"),
            parts.join(", ")
        )
    };

    let page = Page {
        csp: &CONTENT_SECURITY_POLICY,
        style: STYLE,
        script: SCRIPT,
        version: summary.meshcheck_version,
        overall: score.overall,
        grade: score.grade.as_str(),
        total: summary.total,
        headline,
        gauge: svg::gauge(score.overall, score.grade.as_str(), "Health score"),
        severity_donut: svg::donut(
            &severity_segments,
            &summary.total.to_string(),
            "Findings by severity",
        ),
        category_chart: svg::stacked_bars(&stacked, &severity_segments, "Findings by category"),
        severities: Severity::ALL
            .iter()
            .map(|severity| SeverityCount {
                name: severity.as_str(),
                count: summary.count(*severity),
            })
            .collect(),
        category_scores,
        top,
        top_more: serious.len().saturating_sub(TOP_FINDINGS),
        inventory: report.inventory.clone(),
        proxy_chart,
        zone_chart,
        categories,
        namespaces: namespaces.into_iter().collect(),
        checklist,
        basis: basis(report),
        objects_by_kind,
        gaps,
        problems,
        problems_more: report.input.problems.len().saturating_sub(PROBLEMS_SHOWN),
        pre_apply: pre_apply_section(report),
    };
    page.render().expect("the report template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{finding_on, report_over_every_category as report};

    fn on(name: &str, namespace: &str) -> Finding {
        finding_on(
            "MC901",
            Category::Security,
            Severity::Error,
            ("Gateway", Some(namespace), name),
            Some(("gw.yaml", 3)),
        )
    }

    #[test]
    fn self_contained_with_a_policy_matching_its_own_style_and_script() {
        let html = render_html(&report(vec![on("edge", "shop")]));
        for external in [
            "<link",
            " src=",
            "@import",
            "url(",
            "http-equiv=\"refresh\"",
        ] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(html.contains(&format!("style-src {}", csp_hash(STYLE))));
        assert!(html.contains(&format!("script-src {}", csp_hash(SCRIPT))));
        assert!(html.contains("default-src 'none'"));
        // The hashed text is exactly what is inlined.
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        // The policy forbids inline style attributes and inline handlers; the page has none.
        assert!(!html.contains(" style=\""));
        assert!(!html.contains(" onclick="));
    }

    #[test]
    fn text_is_escaped() {
        let mut finding = on("edge", "shop");
        finding.message = "<script>alert(1)</script> & \"quotes\"".to_owned();
        let html = render_html(&report(vec![finding]));
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;"));
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own script"
        );
    }

    #[test]
    fn rows_carry_filter_attributes_and_groups_are_collapsed() {
        let html = render_html(&report(vec![on("edge", "shop"), on("web", "pay")]));
        assert!(html.contains(r#"<tr class="finding" data-sev="error" data-ns="pay">"#));
        assert!(html.contains(r#"<tr class="finding" data-sev="error" data-ns="shop">"#));
        assert!(html.contains(r#"<details class="rule-group" data-code="MC901">"#));
        assert!(!html.contains("<details class=\"rule-group\" data-code=\"MC901\" open"));
        assert!(html.contains(r#"<option value="pay">pay (1)</option>"#));
    }

    #[test]
    fn large_groups_are_capped() {
        let findings: Vec<Finding> = (0..6000)
            .map(|index| on(&format!("gw-{index:05}"), &format!("ns-{}", index % 100)))
            .collect();
        let html = render_html(&report(findings));
        assert_eq!(
            html.matches("<tr class=\"finding\"").count(),
            ROWS_PER_GROUP
        );
        assert!(html.contains(&format!("…and {} more findings", 6000 - ROWS_PER_GROUP)));
        assert!(html.contains("<span class=\"shown\">6000</span>"));
        // Every namespace keeps examples on the page.
        for namespace in 0..100 {
            assert!(
                html.contains(&format!("data-ns=\"ns-{namespace}\"")),
                "ns-{namespace}"
            );
        }
        assert!(html.len() < 600_000, "{} bytes", html.len());
    }

    #[test]
    fn samples_prefer_the_worst_and_spread_over_namespaces() {
        let mut findings: Vec<Finding> = (0..30)
            .map(|index| {
                on(
                    &format!("gw-{index:02}"),
                    if index < 20 { "a" } else { "b" },
                )
            })
            .collect();
        for finding in findings.iter_mut().take(5) {
            finding.severity = Severity::Warning;
        }
        findings.sort_by_key(|finding| std::cmp::Reverse(finding.severity));
        let refs: Vec<&Finding> = findings.iter().collect();
        let picked = sample(&refs, 10);
        assert_eq!(picked.len(), 10);
        assert!(
            picked
                .iter()
                .all(|finding| finding.severity == Severity::Error)
        );
        let in_b = picked
            .iter()
            .filter(|finding| finding.scope_namespace.as_deref() == Some("b"))
            .count();
        assert_eq!(in_b, 5, "namespaces take turns");
        assert_eq!(sample(&refs, 40).len(), 30);
    }

    #[test]
    fn top_findings_cover_each_rule_first() {
        let mut findings: Vec<Finding> =
            (0..12).map(|index| on(&format!("a{index}"), "x")).collect();
        let mut other = on("b", "x");
        other.code = "MC902";
        findings.push(other);
        let refs: Vec<&Finding> = findings.iter().collect();
        let top = top_findings(&refs, 10);
        assert_eq!(top.len(), 10);
        assert!(top.iter().any(|finding| finding.code == "MC902"));
    }

    #[test]
    fn empty_report() {
        let html = render_html(&report(Vec::new()));
        assert!(html.contains("No problems found."));
        assert!(html.contains("No critical or error findings."));
        // The one readiness rule found nothing: its item passes.
        assert!(html.contains(r#"<span class="status status-pass">Pass</span>"#));
    }
}
