//! Istio telemetry analyzers.

pub static RULES: &[&crate::Rule] = &[];
