//! Markdown for a pull-request comment: the score, a table by category and severity, one
//! collapsible section per category with a capped number of rows, and the go-live checklist.
//! GitHub's comment limit is 65,536 characters; the caps keep a report well below it.

use std::fmt::Write;

use meshcheck_rules::finding::FindingStatus;
use meshcheck_rules::{Category, Finding, Severity};

use crate::Report;
use crate::checklist::ItemStatus;
use crate::report::PreApply;
use crate::report::{location_text, resource_text};

/// Rows shown per category before "…and N more".
pub const ROWS_PER_CATEGORY: usize = 20;

/// Longest message kept in a table cell.
const MESSAGE_CHARS: usize = 200;

/// Text safe inside a table cell: one line, no pipes, no HTML.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(character),
        }
    }
    out
}

fn shortened(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(limit - 1).collect();
    short.push('…');
    short
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// `1 error`, `3 warnings`, `2 info` (info is uncountable).
fn severity_count(count: usize, severity: Severity) -> String {
    match severity {
        Severity::Info | Severity::Critical => format!("{count} {severity}"),
        Severity::Warning | Severity::Error => plural(count, severity.as_str()),
    }
}

fn severity_counts(report: &Report, category: Category) -> String {
    let counts = report.counts();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|severity| {
            let count = counts.get(&(category, *severity)).copied()?;
            Some(severity_count(count, *severity))
        })
        .collect();
    parts.join(", ")
}

/// Rows of the "New findings" table of a pre-apply check.
pub const NEW_ROWS: usize = 50;

fn finding_row(out: &mut String, finding: &Finding) {
    let resource = resource_text(finding);
    let location = location_text(finding)
        .map(|location| format!("`{}`", location.replace('`', "'")))
        .unwrap_or_default();
    let new = if finding.status == Some(FindingStatus::New) {
        "**new** "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "| {new}{} | [{}]({}) | {} | {} | {} |",
        finding.severity,
        finding.code,
        finding.docs_url,
        cell(&resource),
        cell(&location),
        cell(&shortened(&finding.message, MESSAGE_CHARS)),
    );
}

/// A pre-apply check leads with what the change brings: the sentence, then the new findings.
fn new_findings(out: &mut String, report: &Report, pre_apply: &PreApply) {
    let _ = writeln!(out, "{}\n", cell(&pre_apply.describe()));
    out.push_str("### New findings\n\n");
    let new: Vec<&Finding> = report.new_findings().collect();
    if new.is_empty() {
        out.push_str("None: the change set brings no finding.\n\n");
        return;
    }
    out.push_str("| Severity | Rule | Resource | Location | Message |\n");
    out.push_str("|---|---|---|---|---|\n");
    for finding in new.iter().take(NEW_ROWS) {
        finding_row(out, finding);
    }
    if new.len() > NEW_ROWS {
        let _ = writeln!(
            out,
            "\n…and {} more new findings (`--output json` lists every one).",
            new.len() - NEW_ROWS
        );
    }
    out.push_str("\n### All findings\n\n");
}

/// The Markdown report.
pub fn render_markdown(report: &Report) -> String {
    let summary = &report.summary;
    let score = &summary.score;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## meshcheck: health score {}/100 (grade {})\n",
        score.overall, score.grade
    );
    let totals: Vec<String> = Severity::ALL
        .iter()
        .filter(|severity| summary.count(**severity) > 0)
        .map(|severity| severity_count(summary.count(*severity), *severity))
        .collect();
    let findings_text = if summary.total == 0 {
        "No problems found".to_owned()
    } else {
        format!(
            "{} ({})",
            plural(summary.total, "finding"),
            totals.join(", ")
        )
    };
    let _ = writeln!(
        out,
        "{findings_text} · {} from {} · {}.\n",
        plural(report.input.objects, "object"),
        plural(report.input.files, "file"),
        plural(summary.rules_run, "rule"),
    );

    if let Some(pre_apply) = &report.pre_apply {
        new_findings(&mut out, report, pre_apply);
    }

    let table = report.summary_table();
    out.push_str("| Category | Score | Critical | Error | Warning | Info |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for row in &table.categories {
        let score_text = match row.score {
            Some((points, grade)) => format!("{points} ({grade})"),
            None => "not assessed".to_owned(),
        };
        let [critical, error, warning, info] = row.counts;
        let _ = writeln!(
            out,
            "| {} | {score_text} | {critical} | {error} | {warning} | {info} |",
            row.title
        );
    }
    let [critical, error, warning, info] = table.overall.counts;
    let _ = writeln!(
        out,
        "| **{}** | **{} ({})** | {critical} | {error} | {warning} | {info} |",
        table.overall.title, score.overall, score.grade,
    );

    // Findings are sorted worst first, so the capped rows are the ones that matter most.
    for (category, in_category) in report.findings_by_category() {
        let _ = writeln!(
            out,
            "\n<details><summary><b>{}</b>: {}</summary>\n",
            category.title(),
            severity_counts(report, category)
        );
        out.push_str("| Severity | Rule | Resource | Location | Message |\n");
        out.push_str("|---|---|---|---|---|\n");
        for finding in in_category.iter().take(ROWS_PER_CATEGORY) {
            finding_row(&mut out, finding);
        }
        if in_category.len() > ROWS_PER_CATEGORY {
            let _ = writeln!(
                out,
                "\n…and {} more (run `meshcheck analyze --output json` for every finding).",
                in_category.len() - ROWS_PER_CATEGORY
            );
        }
        out.push_str("\n</details>\n");
    }

    if !report.checklist.is_empty() {
        out.push_str("\n### Go-live checklist\n\n");
        for item in &report.checklist {
            let (mark, note) = match item.status {
                ItemStatus::Pass => ("x", String::new()),
                ItemStatus::Fail => (" ", format!(" — {}", plural(item.findings, "finding"))),
                ItemStatus::NotEvaluated => (
                    " ",
                    format!(
                        " — not evaluated: {}",
                        cell(item.note.as_deref().unwrap_or_default())
                    ),
                ),
            };
            let _ = writeln!(
                out,
                "- [{mark}] {} ([{}]({})){note}",
                cell(item.text),
                item.code,
                item.docs_url
            );
        }
    }
    if !report.data.is_empty() {
        let sources: Vec<String> = report
            .data
            .iter()
            .map(|data| format!("{} as of {}", data.name, data.as_of))
            .collect();
        let _ = writeln!(out, "\n<sub>Judged against: {}.</sub>", sources.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{finding_on, report_over_every_category as report};

    #[test]
    fn escapes_cells_and_caps_rows() {
        let mut findings: Vec<Finding> = (0..25)
            .map(|index| {
                let mut finding = finding_on(
                    "MC901",
                    Category::Security,
                    Severity::Warning,
                    ("Gateway", Some("edge"), "gw"),
                    Some(("gw.yaml", index + 1)),
                );
                finding.message = format!("host a|b <script> #{index}\nsecond line");
                finding
            })
            .collect();
        findings.push(finding_on(
            "MC902",
            Category::Platform,
            Severity::Error,
            ("Deployment", Some("istio-system"), "istiod"),
            None,
        ));
        let markdown = render_markdown(&report(findings));
        assert!(markdown.starts_with("## meshcheck: health score "));
        assert!(markdown.contains("host a\\|b &lt;script&gt; #0 second line"));
        assert!(!markdown.contains("<script>"));
        assert!(markdown.contains("…and 5 more"));
        assert!(markdown.contains("`gw.yaml:1`"));
        assert!(markdown.contains("<b>Security</b>: 25 warnings"));
        assert!(markdown.contains("| Platform | 86 (B) | 0 | 1 | 0 | 0 |"));
        assert_eq!(markdown.matches("<details>").count(), 2);
        assert!(markdown.contains("<sub>Judged against: Istio security bulletins as of "));
    }

    #[test]
    fn clean_report() {
        let markdown = render_markdown(&report(Vec::new()));
        assert!(markdown.contains("health score 100/100 (grade A)"));
        assert!(markdown.contains("No problems found"));
        assert!(!markdown.contains("<details>"));
    }
}
