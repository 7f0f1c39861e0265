use crate::Context;
use std::collections::BTreeSet;

use meshcheck_model::Kind;

use crate::facts::coverage::cluster_lists_every;
use crate::facts::workloads::workloads;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// On a collected cluster (where NetworkPolicies were listed), finds namespaces with mesh
    /// workloads that have no Kubernetes NetworkPolicy at all. The root namespace is left out.
    ///
    /// ## Why is this bad?
    /// The sidecar is not a hard security boundary: a compromised application shares the pod's
    /// network namespace with its proxy and can bypass it (Istio's security best practices say
    /// so explicitly). NetworkPolicies are enforced by the node, outside the pod: layered under
    /// Istio's policies they limit what a compromised workload can reach, and they are the only
    /// way to force egress through an egress gateway.
    ///
    /// ## How to fix
    /// Add a default-deny NetworkPolicy per namespace and allow the expected ports (including
    /// the sidecar's 15008/15090/15021 as needed), plus egress towards istiod, DNS, and the
    /// egress gateway.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: default-deny, namespace: payments}
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress, Egress]
    /// ```
    pub static NETWORK_POLICY_MISSING = {
        code: "MC229",
        name: "network-policy-missing",
        category: Security,
        severity: Info,
        summary: "Namespaces with mesh workloads should layer Kubernetes NetworkPolicies under Istio's policies",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::NetworkPolicy, Kind::Namespace, Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#defense-in-depth-with-networkpolicy",
        remediation: "Add a default-deny NetworkPolicy per namespace and allow the expected traffic (including egress to istiod, DNS and the egress gateway).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !cluster_lists_every(mesh, Kind::NetworkPolicy) {
        return;
    }
    let covered: BTreeSet<&str> = mesh
        .of_kind(Kind::NetworkPolicy)
        .map(|policy| policy.namespace.as_str())
        .collect();
    let root = mesh.root_namespace();
    let exposed: BTreeSet<&str> = workloads(mesh)
        .iter()
        .filter(|workload| workload.namespace() != root && workload.in_mesh())
        .map(|workload| workload.namespace())
        .filter(|namespace| !covered.contains(namespace))
        .collect();
    for namespace in exposed {
        let message = format!(
            "Namespace {namespace} runs mesh workloads without any NetworkPolicy: nothing outside the sidecars limits what a compromised pod can reach"
        );
        sink.report_namespace(mesh, namespace, message);
    }
}
