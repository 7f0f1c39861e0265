//! The stand-in ingress gateway `istioctl analyze` adds when it analyzes files: a pod labelled
//! `istio: ingressgateway` named `<ingressService>-dummypod` and a Service `<ingressService>` with
//! ports 80, 443, 31400 and 15443 (port = targetPort, TCP), both in the Istio namespace — unless the
//! mesh config turns the ingress controller off. Without it, every Gateway using the default
//! ingress would look orphaned when only manifests are analyzed.

use std::sync::LazyLock;

use meshcheck_input::{Map, Value, json};

use crate::hosts::CLUSTER_DOMAIN;
use crate::meshconfig::MeshConfig;

/// The stand-in Service's ports.
pub const STAND_IN_INGRESS_PORTS: [u32; 4] = [80, 443, 31400, 15443];

static STAND_IN_LABELS: LazyLock<Map> = LazyLock::new(|| {
    let mut labels = Map::new();
    labels.insert("istio".to_owned(), Value::from("ingressgateway"));
    labels
});

/// Where the stand-in lives and whether the input already has the real thing.
#[derive(Debug, Clone)]
pub struct StandInIngress {
    pub namespace: String,
    pub service: String,
    pub pod_name: String,
    /// The input has a pod of that name already (then no stand-in pod is added).
    pub pod_in_input: bool,
    /// The input has a Service of that name already (then no stand-in Service is added).
    pub service_in_input: bool,
}

impl StandInIngress {
    pub(crate) fn resolve(
        mesh_config: &MeshConfig,
        has_pod: impl Fn(&str, &str) -> bool,
        has_service: impl Fn(&str, &str) -> bool,
    ) -> Option<StandInIngress> {
        let mode = mesh_config
            .at("/ingressControllerMode")
            .and_then(Value::as_str)
            .unwrap_or("STRICT");
        if mode.eq_ignore_ascii_case("OFF") {
            return None;
        }
        let service = mesh_config
            .at("/ingressService")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .unwrap_or("istio-ingressgateway")
            .to_owned();
        let namespace = mesh_config.root_namespace.clone();
        let pod_name = format!("{service}-dummypod");
        Some(StandInIngress {
            pod_in_input: has_pod(&namespace, &pod_name),
            service_in_input: has_service(&namespace, &service),
            namespace,
            service,
            pod_name,
        })
    }

    /// The stand-in pod's labels.
    pub fn labels(&self) -> &'static Map {
        &STAND_IN_LABELS
    }

    /// Whether a `matchLabels` selector picks the stand-in pod.
    pub fn pod_selected_by(&self, selector: &Map) -> bool {
        !self.pod_in_input && crate::selector::matches_labels(selector, &STAND_IN_LABELS)
    }

    /// The stand-in Service's FQDN, when the input does not define that Service itself.
    pub fn service_fqdn(&self) -> Option<String> {
        (!self.service_in_input)
            .then(|| format!("{}.{}.{CLUSTER_DOMAIN}", self.service, self.namespace))
    }

    /// The stand-in Service's spec, when the input does not define that Service itself.
    pub fn service_spec(&self) -> Option<Value> {
        (!self.service_in_input).then(|| {
            json!({
                "selector": {"istio": "ingressgateway"},
                "ports": STAND_IN_INGRESS_PORTS
                    .iter()
                    .map(|port| json!({"port": port, "targetPort": port, "protocol": "TCP"}))
                    .collect::<Vec<_>>(),
            })
        })
    }
}
