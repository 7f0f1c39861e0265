use meshcheck_model::{Kind, Mesh};

use crate::{Sink, declare_rule, registry};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "collection complete": reports every kind the collector could
    /// not list (`collection_gaps` in the archive manifest: forbidden, not found, timed out),
    /// with the reason and the checks that read that kind, whose results are therefore
    /// partial.
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

fn check(mesh: &Mesh, sink: &mut Sink) {
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
        let skipped = if readers.is_empty() {
            format!("checks that read {} were skipped", gap.kind)
        } else {
            format!(
                "checks that read {} were skipped or partial ({})",
                gap.kind,
                readers.join(", ")
            )
        };
        sink.report_detached(
            None,
            None,
            format!(
                "Collection incomplete: could not list {} ({}){scope}: {} — {skipped}",
                gap.kind, gap.api_version, gap.reason
            ),
        );
    }
}
