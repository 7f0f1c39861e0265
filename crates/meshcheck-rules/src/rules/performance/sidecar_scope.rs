use crate::Context;
use std::collections::BTreeMap;

use meshcheck_model::Kind;

use super::config_size::{ConfigEstimate, ConfigSizes, limits_egress};
use crate::facts::proxy_config::proxied_workloads;
use crate::facts::workloads::is_istio_component;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Estimates the configuration every sidecar receives: the Services and ServiceEntries
    /// visible from its namespace (honouring `exportTo`, `networking.istio.io/exportTo` and the
    /// mesh's `defaultServiceExportTo`), narrowed by the egress hosts of the Sidecar resource
    /// that applies to it, counting one Envoy cluster per service port. It reports, in one
    /// finding, the namespaces whose sidecars would receive 500 or more services or 1000 or more
    /// clusters, naming the largest.
    ///
    /// ## Why is this bad?
    /// By default every sidecar is programmed with every service of the mesh, whether it calls
    /// it or not. Proxy memory, istiod CPU and the time to push a change grow with services ×
    /// proxies: in meshes with hundreds of services, configuration that is never used makes up
    /// most of each sidecar's memory, and every deployment anywhere triggers a push to every
    /// proxy.
    ///
    /// ## How to fix
    /// Give each namespace (or the root namespace, as the mesh default) a Sidecar resource whose
    /// egress lists only what its workloads call, for example `./*` and `istio-system/*` plus the
    /// services of other namespaces they use; or narrow `exportTo` on services that are only
    /// called locally.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: default, namespace: orders}
    /// spec:
    ///   egress:
    ///   - hosts: ["./*", "istio-system/*", "payments/payments.payments.svc.cluster.local"]
    /// ```
    pub static SIDECAR_EGRESS_SCOPE = {
        code: "MC505",
        name: "sidecar-egress-unscoped-large-mesh",
        category: Performance,
        severity: Warning,
        summary: "In large meshes, Sidecar resources should limit the services each proxy receives",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Service, Kind::ServiceEntry, Kind::Sidecar, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::Namespace, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/ops/configuration/mesh/configuration-scoping/",
        remediation: "Add Sidecar resources (per namespace, or a default in the root namespace) whose egress hosts list only the services the workloads call.",
        check: check,
    }
}

/// A sidecar receiving at least this many services is in a large mesh.
pub(crate) const SERVICES_THRESHOLD: usize = 500;
/// ... or at least this many clusters (service ports).
pub(crate) const CLUSTERS_THRESHOLD: usize = 1000;

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut sizes = ConfigSizes::new(mesh);
    // namespace → the largest estimate of its sidecars, with a note on the Sidecar that applied.
    let mut heavy: BTreeMap<String, (ConfigEstimate, String)> = BTreeMap::new();
    for proxied in proxied_workloads(mesh) {
        let workload = &proxied.workload;
        if is_istio_component(workload) || workload.namespace() == mesh.root_namespace() {
            continue;
        }
        let (estimate, sidecar) = sizes.estimate(workload.namespace(), workload.labels());
        if estimate.services < SERVICES_THRESHOLD && estimate.clusters < CLUSTERS_THRESHOLD {
            continue;
        }
        let note = match sidecar {
            Some(sidecar) if limits_egress(sidecar) => {
                format!(", despite Sidecar {}", sidecar.display_name())
            }
            Some(sidecar) => format!(", Sidecar {} allows */*", sidecar.display_name()),
            None => String::new(),
        };
        let entry = heavy
            .entry(workload.namespace().to_owned())
            .or_insert((estimate, note.clone()));
        if estimate.clusters > entry.0.clusters {
            *entry = (estimate, note);
        }
    }
    if heavy.is_empty() {
        return;
    }
    let mut ranked: Vec<(&String, &(ConfigEstimate, String))> = heavy.iter().collect();
    ranked.sort_by(|a, b| b.1.0.clusters.cmp(&a.1.0.clusters).then(a.0.cmp(b.0)));
    let shown: Vec<String> = ranked
        .iter()
        .take(5)
        .map(|(namespace, (estimate, note))| {
            format!(
                "{namespace}: {} services, {} clusters{note}",
                estimate.services, estimate.clusters
            )
        })
        .collect();
    let more = if ranked.len() > 5 {
        format!("; {} more namespaces", ranked.len() - 5)
    } else {
        String::new()
    };
    sink.report_detached(
        None,
        None,
        format!(
            "Sidecars in {} namespaces receive the configuration of {SERVICES_THRESHOLD}+ services or {CLUSTERS_THRESHOLD}+ clusters ({}{more}): proxy memory and push time grow with every service of the mesh",
            ranked.len(),
            shown.join("; ")
        ),
    );
}
