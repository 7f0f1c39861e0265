//! Istio conditions analyzers.

pub static RULES: &[&crate::Rule] = &[];
