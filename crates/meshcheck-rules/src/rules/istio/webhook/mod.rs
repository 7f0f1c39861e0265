//! Istio webhook analyzers.

pub static RULES: &[&crate::Rule] = &[];
