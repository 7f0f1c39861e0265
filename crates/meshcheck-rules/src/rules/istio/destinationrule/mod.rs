//! Istio destinationrule analyzers.

pub static RULES: &[&crate::Rule] = &[];
