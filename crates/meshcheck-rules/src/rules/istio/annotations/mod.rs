//! Istio annotations analyzers.

pub static RULES: &[&crate::Rule] = &[];
