//! Istio deployment analyzers.

pub static RULES: &[&crate::Rule] = &[];
