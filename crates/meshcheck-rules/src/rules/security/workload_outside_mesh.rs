use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::ValueAt;

use crate::facts::workloads::{inject_override, namespace_injected, workloads};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds workloads that run outside the mesh although their namespace injects sidecars:
    /// - Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods that opt out with
    ///   `sidecar.istio.io/inject: "false"` in an injected namespace (`istio-injection=enabled`
    ///   or `istio.io/rev=<revision>`);
    /// - Pods of a revision-labelled namespace (`istio.io/rev`) that run without the
    ///   `istio-proxy` container (for `istio-injection=enabled` namespaces `namespace-injection`
    ///   reports them).
    ///
    /// Jobs and CronJobs are reported as info (opting batch work out used to be the usual way
    /// to let it complete). Host-network pods are left to `pod-host-network`.
    ///
    /// ## Why is this bad?
    /// A workload without sidecar bypasses the mesh's security: it accepts plaintext from any pod
    /// of the cluster, none of the namespace's AuthorizationPolicies apply to it, and its own
    /// calls carry no identity, so it is either refused by STRICT services or they must be
    /// loosened for it.
    ///
    /// ## How to fix
    /// Remove the opt-out (and restart the workload) so it gets its sidecar; for Jobs, use native
    /// sidecars (Kubernetes 1.28+) so the proxy no longer blocks completion. If it must stay out,
    /// move it to a namespace outside the mesh and protect it with a NetworkPolicy.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: {name: reports, namespace: shop}   # shop: istio-injection=enabled
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels:
    ///         sidecar.istio.io/inject: "false"
    /// ```
    pub static WORKLOAD_OUTSIDE_MESH = {
        code: "MC215",
        name: "workload-outside-mesh",
        category: Security,
        severity: Warning,
        summary: "Workloads in injected namespaces must not run without a sidecar",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Namespace, Kind::Pod, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Job, Kind::CronJob],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy",
        remediation: "Remove the sidecar.istio.io/inject: \"false\" opt-out and restart the workload, or move it to a namespace outside the mesh behind a NetworkPolicy.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let root = mesh.root_namespace();
    for workload in workloads(mesh) {
        let namespace = workload.namespace();
        if namespace == root
            || workload.pod.host_network
            || !namespace_injected(mesh, namespace)
            || inject_override(workload.pod).as_deref() != Some("false")
        {
            continue;
        }
        let field = if workload
            .pod
            .metadata
            .at("/labels/sidecar.istio.io~1inject")
            .is_some()
        {
            "labels"
        } else {
            "annotations"
        };
        let path = workload.path(&["metadata", field, "sidecar.istio.io/inject"]);
        let batch = matches!(workload.resource.kind, Kind::Job | Kind::CronJob);
        let finding = sink.report(
            workload.resource,
            &path,
            format!(
                "{} opts out of sidecar injection in the injected namespace {namespace}: it accepts plaintext from any pod and no AuthorizationPolicy applies to it",
                workload.describe()
            ),
        );
        if batch {
            finding.severity(Severity::Info);
        }
    }
    for pod in mesh.of_kind(Kind::Pod) {
        let Some(namespace) = mesh.namespace(&pod.namespace) else {
            continue;
        };
        let revision = namespace.label("istio.io/rev").unwrap_or_default();
        if revision.is_empty()
            || namespace.labels().contains_key("istio-injection")
            || pod.namespace == root
            || pod
                .pod_template()
                .is_some_and(|template| template.host_network)
            || pod
                .pod_template()
                .is_some_and(|template| template.inject.is_some())
        {
            continue;
        }
        let has_proxy = pod
            .pod_template()
            .is_some_and(|template| template.container("istio-proxy").is_some());
        if has_proxy {
            continue;
        }
        sink.report(
            pod,
            &["spec", "containers"],
            format!(
                "Pod {}/{} runs without the istio-proxy sidecar although namespace {} injects revision {revision}: it started before the label or the injector did not handle it",
                pod.namespace,
                pod.name(),
                pod.namespace
            ),
        )
        .remediation("Restart the workload so the injector of the revision adds the sidecar (check that the revision's injector webhook exists).");
    }
}
