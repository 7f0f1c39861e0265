//! Istio authn analyzers.

pub static RULES: &[&crate::Rule] = &[];
