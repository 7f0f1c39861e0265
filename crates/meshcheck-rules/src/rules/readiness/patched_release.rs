use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::advisories::{Component, affecting, as_of_note, upgrade_advice};
use crate::facts::planes::{describe_plane, report_plane_image};
use crate::facts::releases::analysis_date;
use crate::{Sink, declare_rule};

/// Bulletins at or above this CVSS score block going live (the advisory rules make them errors).
const BLOCKING_CVSS: f64 = 7.0;

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "no known high-severity vulnerability": the Istio release of
    /// every control plane is affected by no published Istio security bulletin with a CVSS
    /// score of 7.0 or more (MC290 lists all bulletins, whatever their score). Uses the same
    /// advisory data as MC290 (`--advisories FILE` for newer data).
    ///
    /// ## Why is this bad?
    /// High-severity bulletins describe denial of service, request smuggling or authorization
    /// bypass that attackers can trigger remotely; the fix is published, so the exposure is
    /// known to everyone.
    ///
    /// ## How to fix
    /// 1. Upgrade to the fixed patch release named in the finding (or a newer supported minor).
    /// 2. Restart the workloads so their sidecars run the fixed proxy.
    /// 3. Subscribe to Istio's security announcements to patch the next one quickly.
    pub static READINESS_PATCHED_RELEASE = {
        code: "MC606",
        name: "readiness-patched-release",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: the Istio release must have no known high-severity (CVSS 7+) vulnerability",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/news/security/",
        remediation: "1. Upgrade to the fixed patch release (or a newer supported minor). 2. Restart workloads to pick up the fixed proxy. 3. Follow Istio's security announcements.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let data = &*cx.reference.advisories;
    let table = &*cx.reference.releases;
    let on = analysis_date(mesh);
    let components = [Component::ControlPlane, Component::DataPlane];
    for plane in control_planes(mesh) {
        let Some(version) = &plane.version else {
            continue;
        };
        let blocking: Vec<_> = affecting(data, version, &components)
            .into_iter()
            .filter(|(bulletin, _)| bulletin.cvss.is_some_and(|score| score >= BLOCKING_CVSS))
            .collect();
        if blocking.is_empty() {
            continue;
        }
        let ids: Vec<&str> = blocking.iter().map(|(b, _)| b.id.as_str()).collect();
        report_plane_image(
            sink,
            &plane,
            format!(
                "Known high-severity vulnerabilities: {} runs Istio {version}, affected by {} (CVSS 7 or more); {} ({})",
                describe_plane(&plane),
                ids.join(", "),
                upgrade_advice(data, table, version, &blocking, &components, on),
                as_of_note(data)
            ),
        );
    }
}
