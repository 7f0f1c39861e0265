//! Workload pods as `istioctl analyze` sees them when it analyzes files: the input pods plus the
//! stand-in ingress gateway (a pod labelled `istio: ingressgateway` and its Service in the Istio
//! namespace) that istioctl adds so that Gateways using the default ingress do not look orphaned.
//! Shared by the gateway, sidecar and telemetry families.

use std::sync::LazyLock;

use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource};
use serde_json::{Map, Value, json};

/// The stand-in ingress gateway pod's labels.
static DEFAULT_INGRESS_LABELS: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    let mut labels = Map::new();
    labels.insert("istio".to_owned(), Value::from("ingressgateway"));
    labels
});

/// The ports of the stand-in ingress gateway Service (port = targetPort, all TCP).
pub(crate) const DEFAULT_INGRESS_PORTS: [u32; 4] = [80, 443, 31400, 15443];

/// The stand-in ingress gateway, when the mesh config does not turn the ingress controller off.
#[derive(Debug, Clone)]
pub(crate) struct DefaultIngress {
    pub namespace: String,
    pub pod_name: String,
    /// Whether the input already has a Service of that name (then it replaces the stand-in).
    pub service_in_input: bool,
}

impl DefaultIngress {
    pub(crate) fn resolve(mesh: &Mesh) -> Option<DefaultIngress> {
        let mode = mesh
            .mesh_config
            .pointer("/ingressControllerMode")
            .and_then(Value::as_str)
            .unwrap_or("STRICT");
        if mode.eq_ignore_ascii_case("OFF") {
            return None;
        }
        let service_name = mesh
            .mesh_config
            .pointer("/ingressService")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .unwrap_or("istio-ingressgateway")
            .to_owned();
        let namespace = mesh.root_namespace().to_owned();
        let pod_name = format!("{service_name}-dummypod");
        if mesh.get(Kind::Pod, &namespace, &pod_name).is_some() {
            return None;
        }
        let service_in_input = mesh.get(Kind::Service, &namespace, &service_name).is_some();
        Some(DefaultIngress {
            namespace,
            pod_name,
            service_in_input,
        })
    }

    pub(crate) fn labels(&self) -> &'static Map<String, Value> {
        &DEFAULT_INGRESS_LABELS
    }

    /// The stand-in Service's spec (as Istio writes it), when the input has none of that name.
    pub(crate) fn service_spec(&self) -> Option<Value> {
        (!self.service_in_input).then(|| {
            json!({
                "selector": {"istio": "ingressgateway"},
                "ports": DEFAULT_INGRESS_PORTS
                    .iter()
                    .map(|port| json!({"port": port, "targetPort": port, "protocol": "TCP"}))
                    .collect::<Vec<_>>(),
            })
        })
    }
}

/// A pod a selector can pick: an input Pod or the stand-in ingress gateway.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkloadPod<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub labels: &'a Map<String, Value>,
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
    pub default_ingress: Option<DefaultIngress>,
}

impl<'a> Workloads<'a> {
    pub(crate) fn new(mesh: &'a Mesh) -> Workloads<'a> {
        Workloads {
            mesh,
            default_ingress: DefaultIngress::resolve(mesh),
        }
    }

    /// Pods whose labels match `selector` (a `matchLabels` map), in `namespace` or anywhere with
    /// `None`; input pods first, in input order, then the stand-in ingress gateway.
    pub(crate) fn matching(
        &self,
        namespace: Option<&str>,
        selector: &Map<String, Value>,
    ) -> Vec<WorkloadPod<'_>> {
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
        if let Some(ingress) = &self.default_ingress
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
pub(crate) fn selector_string(selector: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&String, String)> = selector
        .iter()
        .map(|(key, value)| (key, meshcheck_model::selector::value_text(value)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A Gateway's `spec.selector` (empty when absent).
pub(crate) fn gateway_selector(gateway: &Resource) -> &Map<String, Value> {
    static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
    gateway
        .spec()
        .get("selector")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

/// The path of a selector's first label (by key order), where findings about it point.
pub(crate) fn first_key(selector: &Map<String, Value>) -> Option<&str> {
    selector.keys().min().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

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
