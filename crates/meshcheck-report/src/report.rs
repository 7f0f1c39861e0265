//! The report: findings plus what they are based on.

use std::collections::BTreeMap;

use meshcheck_model::{ClusterInfo, Mesh};
use meshcheck_rules::ReferenceData;
use meshcheck_rules::finding::FindingStatus;
use meshcheck_rules::{Category, Finding, RuleMeta, Severity, SourceLocation, registry};
use serde::Serialize;

use crate::checklist::{ChecklistItem, Evidence, ItemStatus, checklist};
use crate::inventory::Inventory;
use crate::score::{Grade, Score, score};

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
    /// Where formats that need a file for every finding (SARIF) place one that has none: the mesh
    /// config's file, else the first input file. Not part of the JSON output.
    #[serde(skip)]
    pub anchor: Option<SourceLocation>,
}

/// Counts over the findings.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub total: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub by_category: BTreeMap<String, usize>,
    pub rules_run: usize,
    pub meshcheck_version: &'static str,
    /// Health score per category and overall (see `docs/scoring.md`).
    pub score: Score,
}

impl Summary {
    pub fn new(findings: &[Finding], rules: &[&'static RuleMeta]) -> Summary {
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
            rules_run: rules.len(),
            meshcheck_version: env!("CARGO_PKG_VERSION"),
            score: score(findings, rules),
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.by_severity
            .get(severity.as_str())
            .copied()
            .unwrap_or(0)
    }
}

/// Dated reference data the findings were judged against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataSource {
    pub name: &'static str,
    /// `YYYY-MM-DD`.
    pub as_of: String,
    /// Where the data comes from (a URL, or the `--advisories` file).
    pub source: String,
}

impl DataSource {
    /// The security bulletins and the supported-releases table of an analysis.
    pub fn of(reference: &ReferenceData) -> Vec<DataSource> {
        let advisories = &reference.advisories;
        let releases = &reference.releases;
        vec![
            DataSource {
                name: "Istio security bulletins",
                as_of: advisories.data_as_of.to_string(),
                source: advisories.source.clone(),
            },
            DataSource {
                name: "Istio supported releases",
                as_of: releases.data_as_of.to_string(),
                source: releases.source.clone(),
            },
        ]
    }
}

/// What a pre-apply check (`analyze CHANGES --against SNAPSHOT`) compared, and what it found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PreApply {
    /// The snapshot the changes were laid over: the archive's path, or `live` (`live CONTEXT`).
    pub against: String,
    /// Change-set objects new to the snapshot.
    pub added: usize,
    /// Snapshot objects a change-set object took the place of.
    pub replaced: usize,
    /// Snapshot objects removed (`--deleted`, or `meshcheck.io/delete: "true"`).
    pub deleted: usize,
    /// Findings the change set brings, per severity (every severity listed).
    pub new: BTreeMap<String, usize>,
    /// Findings the snapshot alone already had.
    pub existing: usize,
}

impl PreApply {
    /// How many findings are new.
    pub fn new_total(&self) -> usize {
        self.new.values().sum()
    }

    /// One sentence for the text, Markdown and HTML reports.
    pub fn describe(&self) -> String {
        let total = self.new_total();
        let by_severity: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|severity| {
                let count = self.new.get(severity.as_str()).copied().unwrap_or(0);
                (count > 0).then(|| format!("{count} {severity}"))
            })
            .collect();
        let counts = if by_severity.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_severity.join(", "))
        };
        format!(
            "Pre-apply check against {}: {total} new finding{}{counts}, {} existing. The change set adds {} object{}, replaces {} and deletes {}.",
            self.against,
            if total == 1 { "" } else { "s" },
            self.existing,
            self.added,
            if self.added == 1 { "" } else { "s" },
            self.replaced,
            self.deleted
        )
    }
}

/// Everything a renderer needs.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub input: InputSummary,
    /// The go-live checklist: one item per readiness rule.
    pub checklist: Vec<ChecklistItem>,
    /// What the mesh runs on (set by [`Report::with_mesh`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// Collector facts: context, collection time, Kubernetes version, gaps (archives and live
    /// clusters; absent for plain manifests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// Reference data (advisories, release support) and how current it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<DataSource>,
    /// Set in a pre-apply check only; each finding then has a `status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_apply: Option<PreApply>,
    /// The rules that ran (for formats that list the catalog: SARIF, JUnit).
    #[serde(skip)]
    pub rules: Vec<&'static RuleMeta>,
}

/// One line of the summary table: a category, or the overall line.
pub(crate) struct SummaryRow {
    pub title: &'static str,
    /// Score and grade; `None` when the category was not assessed.
    pub score: Option<(u8, Grade)>,
    /// Findings per severity, in [`Severity::ALL`] order (critical first).
    pub counts: [usize; 4],
}

/// See [`Report::summary_table`].
pub(crate) struct SummaryTable {
    pub categories: Vec<SummaryRow>,
    pub overall: SummaryRow,
}

impl Report {
    /// A report over every registered rule (the engine runs them all). `rules_run` is kept for
    /// callers that ran a subset; the first `rules_run` rules of the registry are assumed.
    pub fn new(findings: Vec<Finding>, rules_run: usize, input: InputSummary) -> Report {
        let rules: Vec<&'static RuleMeta> = registry::all()
            .iter()
            .take(rules_run)
            .map(|rule| &rule.meta)
            .collect();
        Report::with_rules(findings, rules, input)
    }

    /// A report over the given rules.
    pub fn with_rules(
        findings: Vec<Finding>,
        rules: Vec<&'static RuleMeta>,
        input: InputSummary,
    ) -> Report {
        let summary = Summary::new(&findings, &rules);
        let checklist = checklist(&rules, &findings, &[], Evidence::Unknown);
        Report {
            findings,
            summary,
            input,
            checklist,
            inventory: None,
            cluster: None,
            data: DataSource::of(&ReferenceData::bundled()),
            pre_apply: None,
            rules,
        }
    }

    /// Names the reference data the findings were judged against (the bundled data unless
    /// the analysis was given other).
    pub fn with_reference(mut self, reference: &ReferenceData) -> Report {
        self.data = DataSource::of(reference);
        self
    }

    /// Adds what the mesh tells about the platform: the inventory, the collector's facts, and
    /// which checklist items could not be evaluated because a kind could not be collected.
    pub fn with_mesh(mut self, mesh: &Mesh) -> Report {
        self.inventory = Some(Inventory::of(mesh));
        self.checklist = checklist(
            &self.rules,
            &self.findings,
            &mesh.cluster.collection_gaps,
            Evidence::of(mesh),
        );
        if mesh.cluster != ClusterInfo::default() {
            self.cluster = Some(mesh.cluster.clone());
        }
        // A readiness score of 100 would claim what nothing checked.
        if !self.checklist.is_empty()
            && self
                .checklist
                .iter()
                .all(|item| item.status == ItemStatus::NotEvaluated)
        {
            self.summary.score.not_assessed(Category::Readiness);
        }
        self
    }

    /// The findings of one category, in report order (worst first).
    pub fn findings_in(&self, category: Category) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.category == category)
            .collect()
    }

    /// The categories that have findings, each with its findings (worst first), in category
    /// order.
    pub fn findings_by_category(&self) -> impl Iterator<Item = (Category, Vec<&Finding>)> {
        Category::ALL
            .into_iter()
            .map(|category| (category, self.findings_in(category)))
            .filter(|(_, findings)| !findings.is_empty())
    }

    /// The summary table the text and Markdown reports end with: per category, then overall,
    /// the score and the findings per severity.
    pub(crate) fn summary_table(&self) -> SummaryTable {
        let score = &self.summary.score;
        let counts = self.counts();
        let categories = Category::ALL
            .into_iter()
            .map(|category| {
                let category_score = score.category(category);
                SummaryRow {
                    title: category.title(),
                    score: category_score.score.zip(category_score.grade),
                    counts: Severity::ALL
                        .map(|severity| counts.get(&(category, severity)).copied().unwrap_or(0)),
                }
            })
            .collect();
        SummaryTable {
            categories,
            overall: SummaryRow {
                title: "Overall",
                score: Some((score.overall, score.grade)),
                counts: Severity::ALL.map(|severity| self.summary.count(severity)),
            },
        }
    }

    /// Findings per (category, severity).
    pub fn counts(&self) -> BTreeMap<(Category, Severity), usize> {
        let mut counts = BTreeMap::new();
        for finding in &self.findings {
            *counts
                .entry((finding.category, finding.severity))
                .or_default() += 1;
        }
        counts
    }

    /// The findings a pre-apply check marked new (none outside one).
    pub fn new_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.status == Some(FindingStatus::New))
    }

    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|finding| finding.severity).max()
    }
}

/// `Kind name.namespace` of a finding's resource (empty for mesh-wide findings).
pub fn resource_text(finding: &Finding) -> String {
    finding
        .resource
        .as_ref()
        .map(|resource| format!("{} {}", resource.kind, resource.display_name()))
        .unwrap_or_default()
}

/// `file:line` (or `file`) of a finding, when it came from a file.
pub fn location_text(finding: &Finding) -> Option<String> {
    let source = finding.source.as_ref()?;
    Some(match source.line {
        Some(line) => format!("{}:{line}", source.file),
        None => source.file.clone(),
    })
}
