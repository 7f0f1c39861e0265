//! Istio injection analyzers.

pub static RULES: &[&crate::Rule] = &[];
