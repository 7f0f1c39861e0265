use crate::Context;
use std::collections::BTreeMap;

use meshcheck_model::inventory::{ProxyKind, Version, gateways, image_version, proxies};
use meshcheck_model::{Kind, Resource, str_field};

use crate::facts::advisories::{
    Component, affecting, as_of_note, list_bulletins, severity_of, upgrade_advice, vendor_note,
};
use crate::facts::releases::analysis_date;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Matches the version of every Envoy-based data-plane proxy (sidecars, gateways,
    /// waypoints: the tag of the `istio-proxy` image of each pod, or of a gateway Deployment
    /// when its pods are not in the input) against the data-plane fixes of Istio's security
    /// bulletins. Proxies are grouped by version: one finding per affected version, with the
    /// number of pods (and gateways among them), the bulletins, their CVEs and the fixed
    /// version. Severity follows the highest CVSS score (critical from 9.0, error from 7.0).
    /// The message gives the date of the advisory data (`--advisories FILE` for newer data).
    ///
    /// ## Why is this bad?
    /// A proxy keeps the version it was injected with: upgrading istiod does not patch running
    /// pods. Envoy vulnerabilities (HTTP/2 floods, request smuggling, authorization bypass)
    /// stay exploitable in every pod not restarted since, and gateways expose them to the
    /// internet.
    ///
    /// ## How to fix
    /// Upgrade the control plane to a fixed release, then restart the affected workloads
    /// (`kubectl rollout restart`) so they are re-injected with the fixed proxy; update
    /// gateway Deployments that pin a proxy image.
    pub static DATA_PLANE_ADVISORIES = {
        code: "MC291",
        name: "data-plane-security-advisories",
        category: Security,
        severity: Error,
        summary: "Data-plane proxies must not run versions affected by published security bulletins",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/news/security/",
        remediation: "Upgrade the control plane to a fixed release and restart the affected workloads so they run the fixed proxy.",
        check: check,
    }
}

/// The proxies of one version: where to point, and how many of which kind.
struct VersionGroup<'m> {
    version: Version,
    resource: &'m Resource,
    path: Vec<String>,
    pods: usize,
    gateways: usize,
    example: String,
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let data = &*cx.reference.advisories;
    let table = &*cx.reference.releases;
    let on = analysis_date(mesh);
    let mut groups: BTreeMap<String, VersionGroup> = BTreeMap::new();
    for proxy in proxies(mesh) {
        let Some(version) = &proxy.version else {
            continue;
        };
        if !proxy.kind.is_envoy() {
            continue;
        }
        let group = groups
            .entry(version.release_text())
            .or_insert_with(|| VersionGroup {
                version: version.clone(),
                resource: proxy.pod,
                path: {
                    let mut path: Vec<String> = proxy.container_path().to_vec();
                    path.push("image".to_owned());
                    path
                },
                pods: 0,
                gateways: 0,
                example: format!("pod {}/{}", proxy.pod.namespace, proxy.pod.name()),
            });
        group.pods += 1;
        if matches!(proxy.kind, ProxyKind::Gateway(_)) {
            group.gateways += 1;
        }
    }
    // Gateway Deployments whose pods are not in the input still show their proxy image.
    for gateway in gateways(mesh) {
        let (Some(controller), true) = (
            gateway.workload.controller,
            gateway.workload.pod_count() == 0,
        ) else {
            continue;
        };
        let Some((index, image)) = gateway
            .workload
            .containers()
            .iter()
            .map(|container| (container.index, container.value))
            .find_map(|(index, container)| {
                (str_field(container, "name") == Some("istio-proxy"))
                    .then(|| str_field(container, "image").map(|image| (index, image)))
                    .flatten()
            })
        else {
            continue;
        };
        let Some(version) = image_version(image) else {
            continue;
        };
        let path = [
            "spec",
            "template",
            "spec",
            "containers",
            &index.to_string(),
            "image",
        ]
        .map(str::to_owned)
        .to_vec();
        let group = groups
            .entry(version.release_text())
            .or_insert_with(|| VersionGroup {
                version: version.clone(),
                resource: controller,
                path,
                pods: 0,
                gateways: 0,
                example: format!("{} {}", gateway.role.as_str(), gateway.workload.describe()),
            });
        group.gateways += 1;
    }
    for group in groups.values() {
        let matches = affecting(data, &group.version, &[Component::DataPlane]);
        if matches.is_empty() {
            continue;
        }
        let who = match (group.pods, group.gateways) {
            (0, gateways) => format!(
                "{gateways} gateway Deployment{} without pods in the input",
                if gateways == 1 { "" } else { "s" }
            ),
            (1, 1) => "1 gateway proxy".to_owned(),
            (1, _) => "1 proxy".to_owned(),
            (pods, 0) => format!("{pods} proxies"),
            (pods, 1) => format!("{pods} proxies (1 of them a gateway)"),
            (pods, gateways) => format!("{pods} proxies ({gateways} of them gateways)"),
        };
        let single = group.pods + usize::from(group.pods == 0) * group.gateways == 1;
        let (verb, them) = if single {
            ("is", "it")
        } else {
            ("are", "them")
        };
        let count = matches.len();
        let advice = upgrade_advice(
            data,
            table,
            &group.version,
            &matches,
            &[Component::DataPlane],
            on,
        );
        let path: Vec<&str> = group.path.iter().map(String::as_str).collect();
        sink.report(
            group.resource,
            &path,
            format!(
                "{who} running Istio {} (e.g. {}) {verb} affected by {count} Istio security bulletin{}: {}; {advice}, then restart {them}{} ({})",
                group.version,
                group.example,
                if count == 1 { "" } else { "s" },
                list_bulletins(&matches),
                vendor_note(&group.version),
                as_of_note(data)
            ),
        )
        .severity(severity_of(&matches))
        .remediation(format!(
            "Upgrade the control plane ({advice}) and restart these workloads (kubectl rollout restart) so they run the fixed proxy."
        ));
    }
}
