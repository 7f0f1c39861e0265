//! Istio envoyfilter analyzers.

pub static RULES: &[&crate::Rule] = &[];
