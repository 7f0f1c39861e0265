//! Istio gateway analyzers.

pub static RULES: &[&crate::Rule] = &[];
