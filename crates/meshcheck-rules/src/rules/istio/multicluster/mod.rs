//! Istio multicluster analyzers.

pub static RULES: &[&crate::Rule] = &[];
