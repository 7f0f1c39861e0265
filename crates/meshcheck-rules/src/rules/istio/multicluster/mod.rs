//! Istio multicluster analyzers.

mod mesh_networks;

pub static RULES: &[&crate::Rule] = &[&mesh_networks::MESH_NETWORKS_SERVICE_REGISTRY];
