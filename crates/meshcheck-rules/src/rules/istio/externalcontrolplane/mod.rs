//! Istio externalcontrolplane analyzers.

pub static RULES: &[&crate::Rule] = &[];
