use crate::Context;
use meshcheck_model::inventory::control_planes;
use meshcheck_model::{Kind, str_field};

use super::common::namespace_wide;
use crate::facts::coverage::cluster_lists_every;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "egress locked down": MeshConfig
    /// `outboundTrafficPolicy.mode: REGISTRY_ONLY`, or a Sidecar without workload selector in
    /// the root namespace (the mesh-wide default Sidecar) with that mode. Fires otherwise
    /// (Istio's default is `ALLOW_ANY`). Only judged when the mesh configuration is in the
    /// input (the `istio` ConfigMap or `--mesh-config`), or the input is a collected cluster
    /// showing istiod (then Istio's default applies).
    ///
    /// ## Why is this bad?
    /// With `ALLOW_ANY`, any workload can reach any external host: a compromised pod can
    /// exfiltrate data or download tooling, and external dependencies stay undocumented.
    ///
    /// ## How to fix
    /// 1. Declare every external dependency as a ServiceEntry (route through an egress gateway
    ///    where traffic must be audited).
    /// 2. Set `meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY`.
    /// 3. Watch for `BlackHoleCluster` in metrics and access logs to find missing entries.
    pub static READINESS_EGRESS_LOCKED = {
        code: "MC604",
        name: "readiness-egress-locked",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: egress must be restricted to registered destinations (REGISTRY_ONLY)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ConfigMap, Kind::Sidecar, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/",
        remediation: "1. Declare external dependencies as ServiceEntries (through an egress gateway where needed). 2. Set meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY. 3. Watch BlackHoleCluster metrics for missing entries.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let config = &mesh.mesh_config;
    // Without the mesh configuration, only a collected cluster with its control plane (and no
    // ConfigMap it failed to list) shows that Istio's default applies.
    let defaults_apply =
        cluster_lists_every(mesh, Kind::ConfigMap) && !control_planes(mesh).is_empty();
    if !config.explicit && !defaults_apply {
        return;
    }
    let mode = config
        .at("/outboundTrafficPolicy/mode")
        .and_then(|mode| mode.as_str())
        .unwrap_or("ALLOW_ANY");
    if mode == "REGISTRY_ONLY" {
        return;
    }
    let root = mesh.root_namespace();
    let default_sidecar_locks = mesh.of_kind(Kind::Sidecar).any(|sidecar| {
        sidecar.namespace == root
            && sidecar.spec().get("workloadSelector").is_none()
            && namespace_wide(sidecar)
            && sidecar
                .spec()
                .get("outboundTrafficPolicy")
                .and_then(|policy| str_field(policy, "mode"))
                == Some("REGISTRY_ONLY")
    });
    if default_sidecar_locks {
        return;
    }
    let source = config
        .source
        .clone()
        .unwrap_or_else(|| "Istio's defaults (no mesh configuration in the input)".to_owned());
    sink.report_detached(
        None,
        None,
        format!(
            "Egress is not locked down: outboundTrafficPolicy.mode is {mode} (from {source}), so workloads can reach any external host"
        ),
    );
}
