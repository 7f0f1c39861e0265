//! Workload pods as `istioctl analyze` sees them when it analyzes files: the input pods plus the
//! stand-in ingress gateway (a pod labelled `istio: ingressgateway` and its Service in the Istio
//! namespace) that istioctl adds so that Gateways using the default ingress do not look orphaned.
//! Shared by the gateway, sidecar and telemetry families.

use std::sync::LazyLock;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Mesh, Resource, StandInIngress};

use crate::{Finding, Sink};

/// A pod a selector can pick: an input Pod or the stand-in ingress gateway.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkloadPod<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub labels: &'a Map,
    /// The input Pod (`None` for the stand-in).
    pub resource: Option<&'a Resource>,
}

impl WorkloadPod<'_> {
    /// Whether the pod runs in ambient mode (redirected by ztunnel).
    pub(crate) fn in_ambient(&self) -> bool {
        self.resource
            .is_some_and(|pod| pod.annotation("ambient.istio.io/redirection") == Some("enabled"))
    }
}

/// The pods a selector may pick, with the stand-in ingress gateway resolved once.
pub(crate) struct Workloads<'a> {
    mesh: &'a Mesh,
    pub default_ingress: Option<&'a StandInIngress>,
}

impl<'a> Workloads<'a> {
    pub(crate) fn new(mesh: &'a Mesh) -> Workloads<'a> {
        Workloads {
            mesh,
            default_ingress: mesh
                .stand_in_ingress
                .as_ref()
                .filter(|ingress| !ingress.pod_in_input),
        }
    }

    /// Pods whose labels match `selector` (a `matchLabels` map), in `namespace` or anywhere with
    /// `None`; input pods first, in input order, then the stand-in ingress gateway.
    pub(crate) fn matching(&self, namespace: Option<&str>, selector: &Map) -> Vec<WorkloadPod<'_>> {
        let mut pods: Vec<WorkloadPod<'_>> = self
            .mesh
            .pods_matching(namespace, selector)
            .into_iter()
            .map(|pod| WorkloadPod {
                namespace: &pod.namespace,
                name: pod.name(),
                labels: pod.labels(),
                resource: Some(pod),
            })
            .collect();
        if let Some(ingress) = self.default_ingress
            && namespace.is_none_or(|namespace| namespace == ingress.namespace)
            && matches_labels(selector, ingress.labels())
        {
            pods.push(WorkloadPod {
                namespace: &ingress.namespace,
                name: &ingress.pod_name,
                labels: ingress.labels(),
                resource: None,
            });
        }
        pods
    }
}

/// A label map as Kubernetes prints a selector built from it: `key=value` pairs sorted by key,
/// joined by commas (empty for an empty map).
pub(crate) fn selector_string(selector: &Map) -> String {
    let mut pairs: Vec<(&str, String)> = selector
        .iter()
        .map(|(key, value)| (key.as_str(), meshcheck_model::selector::value_text(value)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A Gateway's `spec.selector` (empty when absent).
pub(crate) fn gateway_selector(gateway: &Resource) -> &Map {
    static EMPTY: LazyLock<Map> = LazyLock::new(Map::new);
    gateway
        .spec()
        .get("selector")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

/// The path of a selector's first label (by key order), where findings about it point.
pub(crate) fn first_key(selector: &Map) -> Option<&str> {
    selector.keys().min().map(|key| key.as_str())
}

/// Reports IST0101 on a Gateway whose selector matches no pod, at the selector's first label.
pub(crate) fn report_no_workload<'s>(
    sink: &'s mut Sink,
    gateway: &Resource,
    selector: &Map,
    message: String,
) -> &'s mut Finding {
    let path: Vec<&str> = match first_key(selector) {
        Some(key) => vec!["spec", "selector", key],
        None => vec!["spec"],
    };
    sink.istio("IST0101", gateway, &path, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn selector_strings_sort_by_key() {
        let selector = json!({"istio": "ingressgateway", "app": "gw", "n": 1});
        assert_eq!(
            selector_string(selector.as_object().unwrap()),
            "app=gw,istio=ingressgateway,n=1"
        );
        assert_eq!(selector_string(&Map::new()), "");
    }
}
