//! Istio virtualservice analyzers.

pub static RULES: &[&crate::Rule] = &[];
