use crate::Context;
use meshcheck_model::Kind;

use crate::{Sink, declare_rule, registry};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "collection complete": reports every kind the collector could
    /// not list (`collection_gaps` in the archive manifest: forbidden, not found, timed out),
    /// with the reason; the remediation names the checks that read that kind, whose results
    /// are therefore partial.
    ///
    /// ## Why is this bad?
    /// A check that cannot see a kind says nothing about it: a clean report over an incomplete
    /// snapshot can hide exactly the problems it exists to find.
    ///
    /// ## How to fix
    /// 1. Grant the collecting identity `list` on the missing kinds (a read-only ClusterRole;
    ///    Secrets are never read, only their names where needed).
    /// 2. Collect again and re-run the analysis.
    pub static READINESS_COLLECTION_COMPLETE = {
        code: "MC608",
        name: "readiness-collection-complete",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: the cluster snapshot must be complete (every kind listed)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Other],
        docs_url: "https://kubernetes.io/docs/reference/access-authn-authz/rbac/",
        remediation: "1. Grant the collector list access to the missing kinds (read-only ClusterRole). 2. Collect again and re-run the analysis.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gap in &mesh.cluster.collection_gaps {
        let group = gap
            .api_version
            .rsplit_once('/')
            .map(|(group, _)| group)
            .unwrap_or("");
        let kind = Kind::from_group_kind(group, &gap.kind);
        let readers: Vec<&str> = if kind == Kind::Other {
            Vec::new()
        } else {
            registry::all()
                .iter()
                .filter(|rule| rule.meta.inputs.contains(&kind))
                .map(|rule| rule.meta.code)
                .collect()
        };
        let scope = gap
            .namespace
            .as_deref()
            .map(|namespace| format!(" in namespace {namespace}"))
            .unwrap_or_default();
        let finding = sink.report_detached(
            None,
            None,
            format!(
                "Collection incomplete: could not list {} ({}){scope}: {} — checks that read {} were skipped",
                gap.kind, gap.api_version, gap.reason, gap.kind
            ),
        );
        // The affected checks go in the remediation: the list grows with the catalog.
        if !readers.is_empty() {
            finding.remediation(format!(
                "Grant the collector list access to {} ({}), collect again and re-run the analysis. Checks that read {}: {}.",
                gap.kind,
                gap.api_version,
                gap.kind,
                readers.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use meshcheck_model::{ClusterInfo, CollectionGap, InputSource, MeshInputs};

    use super::READINESS_COLLECTION_COMPLETE;
    use crate::testing::check_with;

    #[test]
    fn remediation_names_the_checks_that_read_the_kind() {
        let gap = |api_version: &str, kind: &str| CollectionGap {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: None,
            reason: "forbidden".to_owned(),
        };
        let inputs = MeshInputs {
            cluster: ClusterInfo {
                source: InputSource::Archive,
                collection_gaps: vec![
                    gap("security.istio.io/v1", "AuthorizationPolicy"),
                    gap("example.io/v1", "Widget"),
                ],
                ..ClusterInfo::default()
            },
            ..MeshInputs::default()
        };
        let findings = check_with(&READINESS_COLLECTION_COMPLETE, "", inputs);
        assert_eq!(findings.len(), 2);
        assert!(
            findings[0].remediation.contains("MC603"),
            "{}",
            findings[0].remediation
        );
        assert!(!findings[1].remediation.contains("Checks that read"));
    }
}
