//! Istio EnvoyFilter analyzers.

mod patch_operation;

pub static RULES: &[&crate::Rule] = &[&patch_operation::ENVOY_FILTER_PATCH_OPERATION];
