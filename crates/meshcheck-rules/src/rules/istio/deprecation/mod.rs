//! Istio deprecation analyzers.

pub static RULES: &[&crate::Rule] = &[];
