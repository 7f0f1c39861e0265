use crate::Context;
use meshcheck_model::{Kind, Resource, strings};

use crate::facts::mesh_config::{egress_gateway_labels, is_external_entry};
use crate::facts::workloads::control_plane_in_input;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the input shows the control plane (a collected cluster, the mesh config, or istiod),
    /// checks whether the mesh runs an egress gateway (pods or workloads labelled
    /// `istio: egressgateway` or `app: istio-egressgateway`) while ServiceEntries declare
    /// external hosts (`location: MESH_EXTERNAL`, the default). One finding, on the first such
    /// ServiceEntry.
    ///
    /// ## Why is this bad?
    /// Without an egress gateway every sidecar talks to external services directly: egress
    /// cannot be funnelled through dedicated nodes with fixed source addresses, audited in one
    /// place, or enforced with NetworkPolicies (a workload that bypasses its own sidecar reaches
    /// the internet unhindered). Istio's security best practices recommend an egress gateway
    /// combined with NetworkPolicies to secure egress traffic.
    ///
    /// ## How to fix
    /// Deploy an egress gateway, route external hosts through it (Gateway + VirtualService +
    /// DestinationRule), and allow egress from application namespaces only towards the gateway
    /// with NetworkPolicies.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ServiceEntry
    /// metadata: {name: stripe}
    /// spec:
    ///   hosts: [api.stripe.com]
    ///   location: MESH_EXTERNAL      # reached directly from every sidecar
    /// ```
    pub static EGRESS_GATEWAY_ABSENT = {
        code: "MC303",
        name: "egress-gateway-absent",
        category: IngressEgress,
        severity: Info,
        summary: "External destinations should be reached through an egress gateway",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ServiceEntry, Kind::Pod, Kind::Deployment, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/",
        remediation: "Deploy an egress gateway, route external hosts through it, and restrict direct egress with NetworkPolicies.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !control_plane_in_input(mesh) || !egress_gateway_labels(mesh).is_empty() {
        return;
    }
    let external: Vec<&Resource> = mesh
        .of_kind(Kind::ServiceEntry)
        .filter(|entry| is_external_entry(entry))
        .collect();
    let Some(first) = external.first() else {
        return;
    };
    let mut hosts: Vec<&str> = external
        .iter()
        .flat_map(|entry| strings(entry.spec().get("hosts")))
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let shown: Vec<&str> = hosts.iter().take(4).copied().collect();
    let more = match hosts.len() - shown.len() {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    sink.report(
        first,
        &["spec", "hosts"],
        format!(
            "{} ServiceEntries declare external hosts ({}{more}) but the mesh runs no egress gateway: every sidecar reaches them directly",
            external.len(),
            shown.join(", ")
        ),
    );
}
