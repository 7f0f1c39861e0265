//! Terminal output of a drift: heading, score, versions, findings introduced and resolved, objects
//! by kind. Long lists are cut (the JSON output has everything).

use std::fmt::Write;

use crate::diff::{Drift, SnapshotSide};
use crate::digest::DigestFinding;

/// Findings listed per direction (introduced, resolved) before "and N more".
pub const FINDINGS_SHOWN: usize = 50;

/// Object names listed per kind and change before "and N more".
pub const OBJECTS_SHOWN: usize = 10;

fn side(side: &SnapshotSide) -> String {
    side.collected_at
        .clone()
        .unwrap_or_else(|| "(no collection time)".to_owned())
}

fn finding_line(marker: char, finding: &DigestFinding) -> String {
    let resource = finding
        .resource
        .as_ref()
        .map(|resource| format!(" ({})", resource.display()))
        .unwrap_or_default();
    format!(
        "  {marker} {:<8} [{}]{resource} {}",
        finding.severity.title(),
        finding.code,
        finding.message
    )
}

fn findings(out: &mut String, marker: char, title: &str, findings: &[DigestFinding]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({}):", findings.len());
    for finding in findings.iter().take(FINDINGS_SHOWN) {
        let _ = writeln!(out, "{}", finding_line(marker, finding));
    }
    if findings.len() > FINDINGS_SHOWN {
        let _ = writeln!(out, "  … and {} more", findings.len() - FINDINGS_SHOWN);
    }
}

fn names(out: &mut String, marker: char, names: &[String]) {
    for name in names.iter().take(OBJECTS_SHOWN) {
        let _ = writeln!(out, "    {marker} {name}");
    }
    if names.len() > OBJECTS_SHOWN {
        let _ = writeln!(
            out,
            "    {marker} … and {} more",
            names.len() - OBJECTS_SHOWN
        );
    }
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// The drift as plain text (no colour: the markers `+`, `-`, `~` carry the meaning).
pub fn render_text(drift: &Drift) -> String {
    let mut out = String::new();
    let cluster = drift
        .new
        .cluster
        .as_deref()
        .or(drift.old.cluster.as_deref())
        .unwrap_or("(unnamed)");
    let _ = writeln!(out, "Drift of cluster {cluster}");
    if drift.old.cluster != drift.new.cluster {
        let _ = writeln!(
            out,
            "  (comparing {} with {})",
            drift.old.cluster.as_deref().unwrap_or("(unnamed)"),
            drift.new.cluster.as_deref().unwrap_or("(unnamed)")
        );
    }
    let _ = writeln!(
        out,
        "  from {}\n  to   {}",
        side(&drift.old),
        side(&drift.new)
    );
    let _ = writeln!(
        out,
        "\nScore: {} ({}) → {} ({}), {:+}",
        drift.old.score, drift.old.grade, drift.new.score, drift.new.grade, drift.score_change
    );
    let summary = &drift.summary;
    let _ = writeln!(
        out,
        "Findings: {} introduced, {} resolved ({} → {})",
        summary.introduced, summary.resolved, drift.old.findings, drift.new.findings
    );
    let _ = writeln!(
        out,
        "Objects: {} added, {} removed, {} changed ({} → {})",
        summary.objects_added,
        summary.objects_removed,
        summary.objects_changed,
        drift.old.objects,
        drift.new.objects
    );

    if !drift.versions.is_empty() {
        let _ = writeln!(out, "\nVersions:");
        for change in &drift.versions {
            let list = |versions: &[String]| {
                if versions.is_empty() {
                    "(none)".to_owned()
                } else {
                    versions.join(", ")
                }
            };
            let _ = writeln!(
                out,
                "  {:<20} {} → {}",
                change.component,
                list(&change.old),
                list(&change.new)
            );
        }
    }

    findings(&mut out, '+', "Introduced findings", &drift.introduced);
    findings(&mut out, '-', "Resolved findings", &drift.resolved);

    if !drift.objects.is_empty() {
        let _ = writeln!(out, "\nObjects by kind:");
        for kind in &drift.objects {
            let mut counts = Vec::new();
            for (count, word) in [
                (kind.added.len(), "added"),
                (kind.removed.len(), "removed"),
                (kind.changed.len(), "changed"),
            ] {
                if count > 0 {
                    counts.push(format!("{count} {word}"));
                }
            }
            let _ = writeln!(out, "  {}: {}", kind.qualified_kind(), counts.join(", "));
            names(&mut out, '+', &kind.added);
            names(&mut out, '-', &kind.removed);
            names(&mut out, '~', &kind.changed);
        }
    }
    if drift.is_empty() {
        let _ = writeln!(
            out,
            "\nNo drift: the two snapshots hold the same configuration."
        );
    } else {
        let _ = writeln!(
            out,
            "\n{}, {}, {} changed.",
            plural(summary.introduced, "new finding"),
            plural(summary.resolved, "resolved finding"),
            plural(
                summary.objects_added + summary.objects_removed + summary.objects_changed,
                "object"
            )
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_drift;

    #[test]
    fn text_snapshot() {
        insta::assert_snapshot!(render_text(&sample_drift()));
    }

    #[test]
    fn long_lists_are_cut() {
        let mut drift = sample_drift();
        drift.objects[0].added = (0..25).map(|n| format!("shop/app-{n}")).collect();
        let text = render_text(&drift);
        assert!(text.contains("shop/app-9\n"));
        assert!(!text.contains("shop/app-10\n"));
        assert!(text.contains("… and 15 more"));
    }
}
