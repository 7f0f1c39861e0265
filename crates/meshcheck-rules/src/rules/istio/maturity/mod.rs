//! Istio maturity analyzers.

pub static RULES: &[&crate::Rule] = &[];
