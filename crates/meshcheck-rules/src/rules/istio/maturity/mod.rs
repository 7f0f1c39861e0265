//! Maturity of the Istio features a configuration relies on.

mod alpha_annotations;

pub static RULES: &[&crate::Rule] = &[&alpha_annotations::ALPHA_ANNOTATIONS];
