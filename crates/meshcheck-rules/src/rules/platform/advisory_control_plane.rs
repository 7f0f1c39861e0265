use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{NodeAgentKind, control_planes, node_agents};

use crate::facts::advisories::{
    Component, affecting, as_of_note, list_bulletins, severity_of, upgrade_advice, vendor_note,
};
use crate::facts::planes::{describe_plane, report_plane_image};
use crate::facts::releases::analysis_date;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Matches the Istio version of every control plane (the tag of istiod's image) against
    /// Istio's published security bulletins (istio.io `news/security`: affected versions,
    /// CVEs, CVSS score, fixed versions). The release is what gets upgraded, so every bulletin
    /// affecting it counts: istiod's own, and those of the proxies this release injects (and
    /// of istio-cni, when its DaemonSet is present). Severity follows the highest CVSS score:
    /// critical from 9.0, error from 7.0, warning below. The message names the bulletins, their
    /// CVEs and the version to upgrade to, and the date the advisory data is current to
    /// (`--advisories FILE` supplies newer data). Pre-release and vendor builds are flagged
    /// with a caveat or skipped: a vendor may have back-ported fixes.
    ///
    /// ## Why is this bad?
    /// Published vulnerabilities are the ones attackers look for first. Control plane bugs
    /// can crash istiod or let a tenant escalate privileges; proxy bugs expose every workload
    /// and gateway to denial of service, request smuggling or authorization bypass.
    ///
    /// ## How to fix
    /// Upgrade Istio to the fixed patch release (or a newer supported minor release) with a
    /// canary revision, then restart the workloads so their sidecars run the fixed proxy.
    pub static CONTROL_PLANE_ADVISORIES = {
        code: "MC290",
        name: "control-plane-security-advisories",
        category: Security,
        severity: Error,
        summary: "The Istio release of the control plane must not be affected by published security bulletins",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod, Kind::DaemonSet],
        docs_url: "https://istio.io/latest/news/security/",
        remediation: "Upgrade Istio to the fixed patch release named in the finding (or a newer supported minor release), then restart workloads to pick up the fixed proxy.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let data = &*cx.reference.advisories;
    let table = &*cx.reference.releases;
    let on = analysis_date(mesh);
    let mut components = vec![Component::ControlPlane, Component::DataPlane];
    if node_agents(mesh)
        .iter()
        .any(|(agent, _)| *agent == NodeAgentKind::Cni)
    {
        components.push(Component::Cni);
    }
    for plane in control_planes(mesh) {
        let Some(version) = &plane.version else {
            continue;
        };
        let matches = affecting(data, version, &components);
        if matches.is_empty() {
            continue;
        }
        let advice = upgrade_advice(data, table, version, &matches, &components, on);
        let count = matches.len();
        report_plane_image(
            sink,
            &plane,
            format!(
                "{} runs Istio {version}, affected by {count} Istio security bulletin{}: {}; {advice}{} ({})",
                describe_plane(&plane),
                if count == 1 { "" } else { "s" },
                list_bulletins(&matches),
                vendor_note(version),
                as_of_note(data)
            ),
        )
        .severity(severity_of(&matches))
        .remediation(format!(
            "Upgrade Istio ({advice}) with a canary revision, then restart the workloads so their sidecars run the fixed proxy."
        ));
    }
}
