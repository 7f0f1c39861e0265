//! Istio sidecar analyzers: which workloads each Sidecar resource applies to.

mod selector;

pub static RULES: &[&crate::Rule] = &[&selector::SIDECAR_SELECTOR];
