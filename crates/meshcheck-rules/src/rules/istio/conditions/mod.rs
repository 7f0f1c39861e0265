//! Istio conditions analyzers.

mod negative_status;

pub static RULES: &[&crate::Rule] = &[&negative_status::NEGATIVE_STATUS_CONDITION];
