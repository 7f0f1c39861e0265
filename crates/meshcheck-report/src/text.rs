//! Terminal output: one line per finding, grouped by category, then a summary.

use std::fmt::Write;

use meshcheck_rules::finding::FindingStatus;
use meshcheck_rules::{Category, Finding, Severity};

use crate::Report;
use crate::score::Grade;

/// How to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours (only on a terminal, and never with `NO_COLOR`).
    pub color: bool,
}

fn paint(options: TextOptions, code: &str, text: &str) -> String {
    if options.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;35",
        Severity::Error => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    }
}

/// One finding as a line: `Error [MC037/IST0101] (VirtualService reviews.bookinfo file.yaml:12) message`.
pub fn finding_line(finding: &Finding, options: TextOptions) -> String {
    let codes = match finding.istio_code {
        Some(istio) => format!("{}/{istio}", finding.code),
        None => finding.code.to_owned(),
    };
    let mut subject = finding
        .resource
        .as_ref()
        .map(|resource| format!("{} {}", resource.kind, resource.display_name()))
        .unwrap_or_default();
    if let Some(source) = &finding.source {
        if !subject.is_empty() {
            subject.push(' ');
        }
        subject.push_str(&source.file);
        if let Some(line) = source.line {
            let _ = write!(subject, ":{line}");
        }
    }
    let subject = if subject.is_empty() {
        String::new()
    } else {
        format!(" ({subject})")
    };
    format!(
        "{} [{codes}]{subject} {}",
        paint(
            options,
            severity_color(finding.severity),
            finding.severity.title()
        ),
        finding.message
    )
}

/// Findings grouped by category (in category order), each group under a heading.
fn by_category(out: &mut String, findings: &[&Finding], options: TextOptions) {
    for category in Category::ALL {
        let in_category: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|finding| finding.category == category)
            .collect();
        if in_category.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            paint(
                options,
                "1",
                &format!("── {} ({})", category.title(), in_category.len())
            )
        );
        for finding in in_category {
            let _ = writeln!(out, "{}", finding_line(finding, options));
        }
        out.push('\n');
    }
}

/// A pre-apply check's findings: those the change set brings first, then the snapshot's own.
fn new_then_existing(out: &mut String, report: &Report, options: TextOptions) {
    let (new, existing): (Vec<&Finding>, Vec<&Finding>) = report
        .findings
        .iter()
        .partition(|finding| finding.status == Some(FindingStatus::New));
    let _ = writeln!(
        out,
        "{}\n",
        paint(
            options,
            "1",
            &format!("══ New: {} brought by the change set", plural(new.len()))
        )
    );
    if new.is_empty() {
        out.push_str("No new findings.\n\n");
    }
    by_category(out, &new, options);
    let _ = writeln!(
        out,
        "{}\n",
        paint(
            options,
            "1",
            &format!(
                "══ Existing: {} the snapshot already has",
                plural(existing.len())
            )
        )
    );
    by_category(out, &existing, options);
}

fn plural(count: usize) -> String {
    format!("{count} finding{}", if count == 1 { "" } else { "s" })
}

/// The whole text report.
pub fn render_text(report: &Report, options: TextOptions) -> String {
    let mut out = String::new();
    if report.pre_apply.is_some() {
        new_then_existing(&mut out, report, options);
    } else {
        let findings: Vec<&Finding> = report.findings.iter().collect();
        by_category(&mut out, &findings, options);
    }
    let summary = &report.summary;
    if summary.total == 0 {
        let _ = write!(out, "{} ", paint(options, "1;32", "✔ No problems found."));
    } else {
        let counts: Vec<String> = Severity::ALL
            .iter()
            .filter(|severity| summary.count(**severity) > 0)
            .map(|severity| {
                let count = summary.count(*severity);
                paint(
                    options,
                    severity_color(*severity),
                    &format!("{count} {severity}"),
                )
            })
            .collect();
        let _ = write!(
            out,
            "{} finding{}: {}. ",
            summary.total,
            if summary.total == 1 { "" } else { "s" },
            counts.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "Analyzed {} objects from {} file{} with {} rules.",
        report.input.objects,
        report.input.files,
        if report.input.files == 1 { "" } else { "s" },
        summary.rules_run
    );
    if let Some(pre_apply) = &report.pre_apply {
        let _ = writeln!(out, "{}", pre_apply.describe());
    }
    out.push('\n');
    summary_table(&mut out, report, options);
    out
}

fn grade_color(grade: Grade) -> &'static str {
    match grade {
        Grade::A => "1;32",
        Grade::B => "32",
        Grade::C => "33",
        Grade::D => "1;33",
        Grade::F => "1;31",
    }
}

/// Score, grade and counts per category by severity, as an aligned table.
fn summary_table(out: &mut String, report: &Report, options: TextOptions) {
    let summary = &report.summary;
    let score = &summary.score;
    let _ = writeln!(
        out,
        "Health score {}/100, grade {}",
        score.overall,
        paint(options, grade_color(score.grade), score.grade.as_str())
    );
    let table = report.summary_table();
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>5} {:>8} {:>6} {:>8} {:>6}",
        "category", "score", "grade", "critical", "error", "warning", "info"
    );
    for row in table.categories.iter().chain([&table.overall]) {
        let (points, grade_text) = match row.score {
            // Pad before painting: escape codes would upset the alignment.
            Some((points, grade)) => (
                points.to_string(),
                paint(
                    options,
                    grade_color(grade),
                    &format!("{:>5}", grade.as_str()),
                ),
            ),
            None => ("-".to_owned(), format!("{:>5}", "-")),
        };
        let [critical, error, warning, info] = row.counts;
        let _ = writeln!(
            out,
            "{:<20} {points:>5} {grade_text} {critical:>8} {error:>6} {warning:>8} {info:>6}",
            row.title
        );
    }
}
