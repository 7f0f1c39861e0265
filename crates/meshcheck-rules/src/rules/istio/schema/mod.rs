//! Istio schema analyzers.

pub static RULES: &[&crate::Rule] = &[];
