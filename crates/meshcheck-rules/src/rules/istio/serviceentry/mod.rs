//! Istio serviceentry analyzers.

pub static RULES: &[&crate::Rule] = &[];
