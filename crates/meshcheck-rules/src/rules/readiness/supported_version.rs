use crate::Context;
use meshcheck_model::Kind;

use crate::facts::planes::{describe_plane, report_plane_image};
use crate::facts::releases::{SupportStatus, analysis_date, each_control_plane_status};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "supported Istio release": every control plane runs an Istio
    /// minor release that is still supported (Istio's release support table, judged at the
    /// archive's collection date or today). Fires for each istiod past its end of life. Silent
    /// when no istiod is in the input or its version is newer than the table.
    ///
    /// ## Why is this bad?
    /// Going live on an unsupported release means the first published vulnerability has no
    /// fix for it, and the upgrade then has to cross several minor releases under pressure.
    ///
    /// ## How to fix
    /// 1. Pick a supported minor release (see the support table).
    /// 2. Upgrade one minor release at a time with a canary revision.
    /// 3. Restart the workloads so their sidecars run the new proxy.
    pub static READINESS_SUPPORTED_VERSION = {
        code: "MC605",
        name: "readiness-supported-version",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: the control plane must run a supported Istio release",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/releases/supported-releases/",
        remediation: "1. Choose a supported Istio minor release. 2. Upgrade one minor at a time with a canary revision. 3. Restart workloads to re-inject their sidecars.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let table = &*cx.reference.releases;
    let on = analysis_date(mesh);
    each_control_plane_status(mesh, table, on, |plane, version, status| {
        let SupportStatus::EndOfLife { since } = status else {
            return;
        };
        let since = since
            .map(|date| format!("since {date}"))
            .unwrap_or_else(|| "for years".to_owned());
        report_plane_image(
            sink,
            plane,
            format!(
                "Unsupported Istio release: {} runs Istio {version}, out of support {since}; supported on {on}: {} (release data as of {})",
                describe_plane(plane),
                table.supported_on(on).join(", "),
                table.data_as_of
            ),
        );
    });
}
