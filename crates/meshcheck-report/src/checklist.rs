//! The go-live checklist: one item per readiness rule (`MC6xx`), passed when the rule found nothing.

use meshcheck_model::CollectionGap;
use meshcheck_rules::{Category, Finding, RuleMeta, Severity};
use serde::Serialize;

/// Whether an item passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    Pass,
    Fail,
    /// The collector could not read a kind the rule depends on, so a clean result proves nothing.
    NotEvaluated,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pass => "pass",
            ItemStatus::Fail => "fail",
            ItemStatus::NotEvaluated => "not-evaluated",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ItemStatus::Pass => "Pass",
            ItemStatus::Fail => "Fail",
            ItemStatus::NotEvaluated => "Not evaluated",
        }
    }
}

/// One checklist item.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub code: &'static str,
    pub rule: &'static str,
    /// The rule's summary: what must hold to go live.
    pub text: &'static str,
    pub status: ItemStatus,
    pub findings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<Severity>,
    /// Why the item was not evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub docs_url: &'static str,
}

/// Builds the checklist from the readiness rules that ran and their findings. A rule with no
/// finding whose input kinds the collector could not read is "not evaluated", not "pass".
pub fn checklist(
    rules: &[&'static RuleMeta],
    findings: &[Finding],
    gaps: &[CollectionGap],
) -> Vec<ChecklistItem> {
    rules
        .iter()
        .filter(|rule| rule.category == Category::Readiness)
        .map(|rule| {
            let own: Vec<&Finding> = findings
                .iter()
                .filter(|finding| finding.code == rule.code)
                .collect();
            let worst = own.iter().map(|finding| finding.severity).max();
            let blind: Vec<String> = gaps
                .iter()
                .filter(|gap| rule.inputs.iter().any(|kind| kind.name() == gap.kind))
                .map(|gap| format!("{} ({})", gap.kind, gap.reason))
                .collect();
            let (status, note) = if !own.is_empty() {
                (ItemStatus::Fail, None)
            } else if !blind.is_empty() {
                (
                    ItemStatus::NotEvaluated,
                    Some(format!("could not collect {}", blind.join(", "))),
                )
            } else {
                (ItemStatus::Pass, None)
            };
            ChecklistItem {
                code: rule.code,
                rule: rule.name,
                text: rule.summary,
                status,
                findings: own.len(),
                worst,
                note,
                docs_url: rule.docs_url,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{finding, rule, rule_reading};
    use meshcheck_model::Kind;

    #[test]
    fn pass_fail_and_not_evaluated() {
        let rules = vec![
            rule("MC601", Category::Readiness, Severity::Error),
            rule_reading(
                "MC602",
                Category::Readiness,
                Severity::Warning,
                &[Kind::Deployment],
            ),
            rule("MC603", Category::Readiness, Severity::Error),
            rule("MC101", Category::Platform, Severity::Error),
        ];
        let findings = vec![
            finding("MC601", Category::Readiness, Severity::Error),
            finding("MC601", Category::Readiness, Severity::Warning),
            finding("MC101", Category::Platform, Severity::Error),
        ];
        let gaps = vec![CollectionGap {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: None,
            reason: "forbidden".to_owned(),
        }];
        let items = checklist(&rules, &findings, &gaps);
        assert_eq!(items.len(), 3, "only readiness rules are items");
        assert_eq!(items[0].status, ItemStatus::Fail);
        assert_eq!(items[0].findings, 2);
        assert_eq!(items[0].worst, Some(Severity::Error));
        assert_eq!(items[1].status, ItemStatus::NotEvaluated);
        assert_eq!(
            items[1].note.as_deref(),
            Some("could not collect Deployment (forbidden)")
        );
        assert_eq!(items[2].status, ItemStatus::Pass);
        assert_eq!(items[2].text, "A test rule");
    }
}
