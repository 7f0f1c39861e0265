//! Istio k8sgateway analyzers.

pub static RULES: &[&crate::Rule] = &[];
