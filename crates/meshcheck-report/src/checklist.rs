//! The go-live checklist: one item per readiness rule (`MC6xx`), passed when the rule found nothing.

use meshcheck_model::{CollectionGap, InputSource, Kind, Mesh};
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

/// Why items of a manifests-only input are not evaluated.
pub const PARTIAL_NOTE: &str = "the input does not show the control plane (plain manifests without istiod or a mesh config), so mesh-wide items cannot be judged; analyze a cluster archive (meshcheck collect)";

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

/// What the input can tell about the mesh as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Unknown (no mesh at hand): a rule without findings passes.
    Unknown,
    /// The input shows the mesh's control plane: an absent finding means a pass.
    WholeMesh,
    /// Plain manifests without the control plane: readiness rules stay silent, so an absent
    /// finding proves nothing.
    Partial,
}

impl Evidence {
    /// The readiness rules answer only when the input shows the mesh's control plane (their
    /// `whole_mesh` condition, shared with the security rules): a collected cluster, an explicit
    /// mesh config, or istiod in the root namespace.
    pub fn of(mesh: &Mesh) -> Evidence {
        let root = mesh.root_namespace();
        let istiod_in_input = [Kind::Deployment, Kind::Pod]
            .into_iter()
            .flat_map(|kind| mesh.of_kind(kind))
            .any(|resource| resource.namespace == root && resource.label("app") == Some("istiod"));
        if mesh.mesh_config.explicit
            || mesh.cluster.source != InputSource::Manifests
            || istiod_in_input
        {
            Evidence::WholeMesh
        } else {
            Evidence::Partial
        }
    }
}

/// Builds the checklist from the readiness rules that ran and their findings. A rule with no
/// finding is "not evaluated", not "pass", when the collector could not read one of its input
/// kinds or when the input does not show the whole mesh.
pub fn checklist(
    rules: &[&'static RuleMeta],
    findings: &[Finding],
    gaps: &[CollectionGap],
    evidence: Evidence,
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
            } else if evidence == Evidence::Partial {
                (ItemStatus::NotEvaluated, Some(PARTIAL_NOTE.to_owned()))
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
        let items = checklist(&rules, &findings, &gaps, Evidence::WholeMesh);
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
        // Without evidence of the whole mesh, silence is not a pass; a finding still fails.
        let partial = checklist(&rules, &findings, &[], Evidence::Partial);
        assert_eq!(partial[0].status, ItemStatus::Fail);
        assert_eq!(partial[2].status, ItemStatus::NotEvaluated);
        assert_eq!(partial[2].note.as_deref(), Some(PARTIAL_NOTE));
        let unknown = checklist(&rules, &findings, &[], Evidence::Unknown);
        assert_eq!(unknown[2].status, ItemStatus::Pass);
    }

    fn mesh(yaml: &str) -> Mesh {
        let (objects, issues) =
            meshcheck_input::parse_documents(&std::sync::Arc::from("t.yaml"), yaml);
        assert!(issues.is_empty(), "{issues:?}");
        Mesh::build(objects, Default::default())
    }

    #[test]
    fn evidence_of_the_whole_mesh() {
        let manifests = mesh(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n",
        );
        assert_eq!(Evidence::of(&manifests), Evidence::Partial);
        let with_istiod = mesh(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}\nspec: {}\n",
        );
        assert_eq!(Evidence::of(&with_istiod), Evidence::WholeMesh);
    }
}
