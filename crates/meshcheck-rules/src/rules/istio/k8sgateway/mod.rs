//! Istio k8sgateway analyzers: Gateway API CRD versions and policies aimed at Kubernetes Gateways.

mod crd_version;
mod selector;

pub static RULES: &[&crate::Rule] = &[
    &crd_version::GATEWAY_API_CRD_VERSION,
    &selector::K8S_GATEWAY_SELECTOR,
];
