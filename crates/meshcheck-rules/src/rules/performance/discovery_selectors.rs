use crate::Context;
use std::collections::BTreeSet;

use meshcheck_input::Value;
use meshcheck_model::Kind;

use super::mesh_config_ref::report_mesh_config;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh config sets no `discoverySelectors`, counts the cluster's namespaces
    /// (Namespace objects, Kubernetes' system namespaces and the Istio root namespace left out)
    /// and those that take part in the mesh (labelled `istio-injection=enabled`,
    /// `istio.io/rev=...` or `istio.io/dataplane-mode=ambient`, or holding a pod with a sidecar).
    /// It reports clusters with at least 20 namespaces of which fewer than half are in the mesh.
    ///
    /// ## Why is this bad?
    /// Without discovery selectors istiod watches every Service, EndpointSlice and Pod of every
    /// namespace, keeps them in memory and pushes them to every proxy. In a large cluster where
    /// the mesh covers a few namespaces, most of istiod's CPU and memory and most of each
    /// sidecar's configuration serve services that will never be called through the mesh.
    ///
    /// ## How to fix
    /// Label the mesh's namespaces (for example `istio-discovery=enabled`) and set
    /// `meshConfig.discoverySelectors` to match them (plus the root namespace).
    ///
    /// ## Example
    /// ```yaml
    /// meshConfig:
    ///   discoverySelectors:
    ///   - matchLabels:
    ///       istio-discovery: enabled
    /// ```
    pub static DISCOVERY_SELECTORS = {
        code: "MC509",
        name: "discovery-selectors-absent",
        category: Performance,
        severity: Warning,
        summary: "Large clusters with few mesh namespaces should set discoverySelectors",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Namespace, Kind::Pod, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/blog/2021/discovery-selectors/",
        remediation: "Set meshConfig.discoverySelectors to the labels of the namespaces that take part in the mesh.",
        check: check,
    }
}

/// Clusters with fewer namespaces than this are not reported.
const MIN_NAMESPACES: usize = 20;

fn enrolled(namespace: &meshcheck_model::Resource) -> bool {
    namespace.label("istio-injection") == Some("enabled")
        || namespace
            .label("istio.io/rev")
            .is_some_and(|revision| !revision.is_empty())
        || namespace.label("istio.io/dataplane-mode") == Some("ambient")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let configured = mesh
        .mesh_config
        .at("/discoverySelectors")
        .and_then(Value::as_array)
        .is_some_and(|selectors| !selectors.is_empty());
    if configured {
        return;
    }
    let root = mesh.root_namespace();
    let namespaces: Vec<&meshcheck_model::Resource> = mesh
        .of_kind(Kind::Namespace)
        .filter(|namespace| namespace.name() != root)
        .collect();
    if namespaces.len() < MIN_NAMESPACES {
        return;
    }
    let mut in_mesh: BTreeSet<&str> = namespaces
        .iter()
        .filter(|namespace| enrolled(namespace))
        .map(|namespace| namespace.name())
        .collect();
    for pod in mesh.of_kind(Kind::Pod) {
        if mesh.pod_resource_in_mesh(pod)
            && mesh.namespace(&pod.namespace).is_some()
            && pod.namespace != root
        {
            in_mesh.insert(&pod.namespace);
        }
    }
    let total = namespaces.len();
    let meshed = in_mesh.len();
    if meshed * 2 >= total {
        return;
    }
    let message = format!(
        "istiod watches all {total} namespaces of the cluster but only {meshed} take part in the mesh, and the mesh config sets no discoverySelectors: istiod tracks the services and endpoints of {} namespaces outside the mesh and pushes them to every proxy",
        total - meshed
    );
    if report_mesh_config(mesh, sink, message.clone()).is_none() {
        sink.report_detached(None, None, message);
    }
}
