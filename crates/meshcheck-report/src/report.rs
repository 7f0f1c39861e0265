//! The report: findings plus what they are based on.

use std::collections::BTreeMap;

use meshcheck_rules::{Category, Finding, Severity};
use serde::Serialize;

/// A problem met while reading the input (a broken document, a skipped non-Kubernetes document).
#[derive(Debug, Clone, Serialize)]
pub struct LoadProblem {
    pub severity: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    pub message: String,
}

/// What the analysis read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputSummary {
    /// `manifests`, `archive` or `live`.
    pub kind: String,
    pub files: usize,
    pub objects: usize,
    pub objects_by_kind: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesh_config: Option<String>,
    pub problems: Vec<LoadProblem>,
    /// kubeconfig context an archive was collected from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// When an archive was collected (RFC 3339 UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
}

/// Counts over the findings.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub total: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub by_category: BTreeMap<String, usize>,
    pub rules_run: usize,
    pub meshcheck_version: &'static str,
}

impl Summary {
    pub fn new(findings: &[Finding], rules_run: usize) -> Summary {
        let mut by_severity: BTreeMap<String, usize> = Severity::ALL
            .iter()
            .map(|severity| (severity.as_str().to_owned(), 0))
            .collect();
        let mut by_category: BTreeMap<String, usize> = Category::ALL
            .iter()
            .map(|category| (category.as_str().to_owned(), 0))
            .collect();
        for finding in findings {
            *by_severity
                .entry(finding.severity.as_str().to_owned())
                .or_default() += 1;
            *by_category
                .entry(finding.category.as_str().to_owned())
                .or_default() += 1;
        }
        Summary {
            total: findings.len(),
            by_severity,
            by_category,
            rules_run,
            meshcheck_version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.by_severity
            .get(severity.as_str())
            .copied()
            .unwrap_or(0)
    }
}

/// Everything a renderer needs.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub input: InputSummary,
}

impl Report {
    pub fn new(findings: Vec<Finding>, rules_run: usize, input: InputSummary) -> Report {
        let summary = Summary::new(&findings, rules_run);
        Report {
            findings,
            summary,
            input,
        }
    }

    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|finding| finding.severity).max()
    }
}
