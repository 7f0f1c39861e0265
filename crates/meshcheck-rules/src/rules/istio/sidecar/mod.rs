//! Istio sidecar analyzers.

pub static RULES: &[&crate::Rule] = &[];
