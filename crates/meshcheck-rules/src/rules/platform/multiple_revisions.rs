use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::planes::report_plane_image;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports when more than one istiod revision is installed (istiod Deployments with
    /// different `istio.io/rev` labels), listing each revision and its version.
    ///
    /// ## Why is this bad?
    /// Several revisions are normal while a canary upgrade is under way, but a migration left
    /// half done keeps two control planes to patch and watch, splits workloads across versions
    /// and leaves injection labels pointing at the old one.
    ///
    /// ## How to fix
    /// Finish the migration: move every namespace to the new revision (`istio.io/rev` label or
    /// the `default` revision tag), restart the workloads, then uninstall the old revision
    /// (`istioctl uninstall --revision <old>`).
    pub static MULTIPLE_CONTROL_PLANE_REVISIONS = {
        code: "MC106",
        name: "multiple-control-plane-revisions",
        category: Platform,
        severity: Info,
        summary: "Several istiod revisions should only coexist during an upgrade",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/setup/upgrade/canary/",
        remediation: "Finish the canary upgrade: move namespaces to the new revision, restart workloads, uninstall the old revision.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let planes = control_planes(mesh);
    let mut revisions: Vec<(&str, String)> = planes
        .iter()
        .map(|plane| {
            (
                plane.revision.as_str(),
                plane
                    .version
                    .as_ref()
                    .map(|version| version.release_text())
                    .unwrap_or_else(|| "unknown version".to_owned()),
            )
        })
        .collect();
    revisions.sort();
    revisions.dedup_by(|a, b| a.0 == b.0);
    if revisions.len() < 2 {
        return;
    }
    // Point at the oldest revision: the one a finished migration removes.
    let oldest = planes
        .iter()
        .filter(|plane| plane.version.is_some())
        .min_by(|a, b| a.version.cmp(&b.version))
        .unwrap_or(&planes[0]);
    let listed: Vec<String> = revisions
        .iter()
        .map(|(revision, version)| format!("{revision} ({version})"))
        .collect();
    report_plane_image(
        sink,
        oldest,
        format!(
            "{} istiod revisions are installed: {}; finish the upgrade and remove revision {} once no namespace uses it",
            revisions.len(),
            listed.join(", "),
            oldest.revision
        ),
    );
}
