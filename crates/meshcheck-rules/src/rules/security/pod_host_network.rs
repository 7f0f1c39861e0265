use crate::Context;
use meshcheck_model::Kind;

use crate::facts::workloads::{inject_override, namespace_injected, workloads};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds workloads with `hostNetwork: true` in namespaces that inject sidecars. When such a
    /// Pod nevertheless carries an `istio-proxy` container (manual injection), it is an error.
    ///
    /// ## Why is this bad?
    /// Istio never injects host-network pods: they share the node's network stack, so they run
    /// outside the mesh (plaintext, no authorization policy) even though their namespace
    /// suggests otherwise. A host-network pod *with* a sidecar is worse: its `istio-init`
    /// iptables rules are written into the node's network namespace and capture traffic of
    /// every process on the node.
    ///
    /// ## How to fix
    /// Drop `hostNetwork` when the workload does not need it; otherwise move it to a namespace
    /// outside the mesh, mark it `sidecar.istio.io/inject: "false"` explicitly, and protect what
    /// it serves by other means.
    ///
    /// ## Example
    /// ```yaml
    /// kind: DaemonSet
    /// metadata: {name: node-agent, namespace: shop}    # shop: istio-injection=enabled
    /// spec:
    ///   template:
    ///     spec:
    ///       hostNetwork: true
    /// ```
    pub static POD_HOST_NETWORK = {
        code: "MC217",
        name: "pod-host-network",
        category: Security,
        severity: Warning,
        summary: "Host-network workloads in injected namespaces run outside the mesh",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Namespace, Kind::Pod, Kind::Deployment, Kind::DaemonSet, Kind::StatefulSet],
        docs_url: "https://istio.io/latest/docs/ops/deployment/application-requirements/",
        remediation: "Drop hostNetwork, or move the workload out of the injected namespace and opt it out explicitly; never inject a sidecar into a host-network pod.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let root = mesh.root_namespace();
    let mut candidates = workloads(mesh);
    // Pods of controllers in the input show whether a sidecar was added by hand.
    for pod in mesh.of_kind(Kind::Pod) {
        if pod
            .pod_template()
            .is_some_and(|template| template.host_network)
            && !candidates
                .iter()
                .any(|workload| std::ptr::eq(workload.resource, pod))
        {
            let workload = crate::facts::workloads::pod_workload(mesh, pod);
            if workload.container("istio-proxy").is_some() {
                candidates.push(workload);
            }
        }
    }
    for workload in candidates {
        let namespace = workload.namespace();
        if !workload.pod.host_network || namespace == root {
            continue;
        }
        let has_proxy = workload.container("istio-proxy").is_some();
        if !has_proxy
            && (!namespace_injected(mesh, namespace)
                || inject_override(workload.pod).as_deref() == Some("false"))
        {
            continue;
        }
        let path = workload.path(&["spec", "hostNetwork"]);
        if has_proxy {
            sink.report(
                workload.resource,
                &path,
                format!(
                    "{} runs on the host network with an istio-proxy sidecar: its iptables redirection applies to the node's network namespace",
                    workload.describe()
                ),
            )
            .severity(Severity::Error);
        } else {
            sink.report(
                workload.resource,
                &path,
                format!(
                    "{} runs on the host network in the injected namespace {namespace}: Istio does not inject it, so it runs outside the mesh",
                    workload.describe()
                ),
            );
        }
    }
}
