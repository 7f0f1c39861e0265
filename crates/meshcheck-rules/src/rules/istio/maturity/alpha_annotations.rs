use crate::Context;
use meshcheck_model::{Kind, items, str_field};

use crate::rules::istio::annotations::catalog::{self, FeatureStatus};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Istio annotations on Namespaces, Services, Pods and Deployments whose feature is
    /// still in the alpha phase, according to Istio's annotation catalog. Annotations Istio sets by
    /// itself (`sidecar.istio.io/status`, `istio.io/rev`, ...) are ignored, and so are the traffic
    /// capture annotations the Istio CNI plugin sets on pods without an `istio-init` container.
    ///
    /// ## Why is this bad?
    /// Alpha features may be incomplete, change without notice or be removed; production
    /// workloads that depend on them can break on an Istio upgrade.
    ///
    /// ## How to fix
    /// Prefer a beta or stable way to get the behaviour (often a `ProxyConfig`, `Sidecar` or
    /// MeshConfig setting), or accept the risk knowingly and suppress the finding.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Pod
    /// metadata:
    ///   annotations:
    ///     sidecar.istio.io/proxyCPU: 500m   # alpha
    /// ```
    pub static ALPHA_ANNOTATIONS = {
        code: "MC002",
        name: "alpha-annotations",
        category: Platform,
        severity: Info,
        summary: "Istio annotations of alpha-phase features may be incompletely supported",
        istio_analyzer: Some("maturity.AlphaAnalyzer"),
        istio_codes: &["IST0136"],
        inputs: &[Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/releases/feature-stages/",
        remediation: "Prefer a beta or stable configuration for this behaviour, or suppress the finding if the alpha feature is intended.",
        check: check,
    }
}

/// Annotations the Istio CNI plugin sets on every pod it handles; only reported on pods that
/// still use the `istio-init` container.
fn set_by_cni(name: &str) -> bool {
    matches!(
        name,
        "sidecar.istio.io/interceptionMode"
            | "traffic.sidecar.istio.io/includeInboundPorts"
            | "traffic.sidecar.istio.io/excludeInboundPorts"
            | "traffic.sidecar.istio.io/includeOutboundIPRanges"
    )
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for kind in [Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment] {
        for resource in mesh.of_kind(kind) {
            let cni_pod = kind == Kind::Pod
                && !items(resource.spec().get("initContainers"))
                    .any(|container| str_field(container, "name") == Some("istio-init"));
            for name in resource.annotations().keys() {
                if !catalog::is_istio_annotation(name) || catalog::always_ignored(name) {
                    continue;
                }
                let Some(def) = catalog::lookup(name) else {
                    continue;
                };
                if def.feature_status != FeatureStatus::Alpha || (cni_pod && set_by_cni(name)) {
                    continue;
                }
                sink.istio(
                    "IST0136",
                    resource,
                    &["metadata", "annotations", name.as_str()],
                    format!(
                        "Annotation {name:?} is part of an alpha-phase feature and may be incompletely supported."
                    ),
                );
            }
        }
    }
}
