use crate::Context;
use std::collections::HashMap;

use meshcheck_model::Kind;

use super::config::{enables_namespaces_by_default, injector_config_map_name};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks how namespaces opt into sidecar injection and whether their pods got a sidecar:
    /// namespaces with no injection label at all, namespaces carrying conflicting injection
    /// labels (`istio-injection`, `istio.io/rev`, `istio.io/dataplane-mode`), namespaces that are
    /// injected implicitly because the injector runs with `enableNamespacesByDefault`, and pods
    /// of an `istio-injection=enabled` namespace that run without the `istio-proxy` container.
    ///
    /// ## Why is this bad?
    /// A pod without its sidecar sends and receives plaintext traffic outside the mesh's mTLS,
    /// authorization and telemetry, usually because it started before the namespace was
    /// labelled. Conflicting labels leave it undefined which control plane (or which data plane
    /// mode) handles the namespace.
    ///
    /// ## How to fix
    /// Label each namespace with exactly one of `istio-injection=enabled|disabled`,
    /// `istio.io/rev=<revision>` or `istio.io/dataplane-mode=ambient`, and restart workloads that
    /// started without their sidecar.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels:
    ///     istio-injection: enabled
    ///     istio.io/rev: canary      # conflicts with istio-injection
    /// ```
    pub static NAMESPACE_INJECTION = {
        code: "MC019",
        name: "namespace-injection",
        category: Platform,
        severity: Warning,
        summary: "Namespaces must declare one injection mode and their pods must carry the sidecar",
        istio_analyzer: Some("injection.Analyzer"),
        istio_codes: &["IST0102", "IST0103", "IST0123", "IST0148"],
        inputs: &[Kind::Namespace, Kind::Pod, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/",
        remediation: "Label the namespace with exactly one injection mode, and restart pods that are missing their sidecar.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // First injector ConfigMap of each name (in any namespace) -> enableNamespacesByDefault.
    let mut injector_defaults: HashMap<&str, bool> = HashMap::new();
    for config_map in mesh.of_kind(Kind::ConfigMap) {
        if config_map.name().starts_with("istio-sidecar-injector") {
            injector_defaults
                .entry(config_map.name())
                .or_insert_with(|| enables_namespaces_by_default(config_map));
        }
    }
    // Istio keeps the last value it read when a namespace's injector ConfigMap is absent.
    let mut enabled_by_default = false;
    let mut injected: Vec<&str> = Vec::new();
    for namespace in mesh.of_kind(Kind::Namespace) {
        let name = namespace.name();
        if name == "istio-system" {
            continue;
        }
        let labels = namespace.labels();
        let label = |key: &str| labels.get(key).map(meshcheck_model::selector::value_text);
        let injection = label("istio-injection");
        let revision = label("istio.io/rev");
        let mut injection_labels: Vec<String> = Vec::new();
        if let Some(value) = &injection {
            injection_labels.push(format!("istio-injection={value}"));
        }
        for key in ["istio.io/rev", "istio.io/dataplane-mode"] {
            if let Some(value) = label(key)
                && injection.as_deref().is_none_or(|value| value == "enabled")
            {
                injection_labels.push(format!("{key}={value}"));
            }
        }
        if injection_labels.len() > 1 {
            sink.istio(
                "IST0123",
                namespace,
                &["metadata", "labels"],
                format!(
                    "The namespace {name} has more than one type of injection labels [{}], which may lead to undefined behavior. Make sure only one injection label exists.",
                    injection_labels.join(" ")
                ),
            )
            .remediation("Keep exactly one of istio-injection, istio.io/rev and istio.io/dataplane-mode on the namespace.");
        }
        if label("istio.io/dataplane-mode").as_deref() == Some("ambient") {
            continue;
        }
        let config_map = injector_config_map_name(revision.as_deref().unwrap_or(""));
        if let Some(&value) = injector_defaults.get(config_map.as_str()) {
            enabled_by_default = value;
        }
        let injection = injection.unwrap_or_default();
        if injection.is_empty() && revision.is_none() {
            if enabled_by_default {
                sink.istio(
                    "IST0148",
                    namespace,
                    &["metadata", "name"],
                    format!(
                        "Namespace {name} is enabled for Istio injection, as Istio is installed with enableNamespacesByDefault as true."
                    ),
                )
                .remediation("Label the namespace istio-injection=disabled if its workloads must stay out of the mesh.");
            } else {
                sink.istio(
                    "IST0102",
                    namespace,
                    &["metadata", "name"],
                    format!(
                        "The namespace is not enabled for Istio injection. Run 'kubectl label namespace {name} istio-injection=enabled' to enable it, or 'kubectl label namespace {name} istio-injection=disabled' to explicitly mark it as not needing injection."
                    ),
                )
                .remediation("Label the namespace istio-injection=enabled (or istio.io/rev=<revision>), or istio-injection=disabled to keep it out of the mesh.");
            }
            continue;
        }
        if injection == "enabled" {
            injected.push(name);
        }
    }

    for namespace in injected {
        for pod in mesh.pods_in(namespace) {
            let opt_out = pod
                .labels()
                .get("sidecar.istio.io/inject")
                .or_else(|| pod.annotations().get("sidecar.istio.io/inject"))
                .map(meshcheck_model::selector::value_text)
                .is_some_and(|value| value.eq_ignore_ascii_case("false"));
            if opt_out
                || pod
                    .pod_template()
                    .is_some_and(|template| template.host_network)
            {
                continue;
            }
            let proxy_image = pod
                .pod_template()
                .and_then(|template| template.container("istio-proxy"))
                .map(|container| container.image)
                .unwrap_or_default();
            if proxy_image.is_empty() {
                sink.istio(
                    "IST0103",
                    pod,
                    &["spec", "containers"],
                    format!(
                        "The pod {}/{} is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.",
                        pod.namespace,
                        pod.name()
                    ),
                )
                .remediation("Restart or redeploy the workload so the injector adds the istio-proxy container.");
            }
        }
    }
}
