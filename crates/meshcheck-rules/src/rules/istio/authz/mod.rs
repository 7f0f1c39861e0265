//! Istio authz analyzers.

pub static RULES: &[&crate::Rule] = &[];
