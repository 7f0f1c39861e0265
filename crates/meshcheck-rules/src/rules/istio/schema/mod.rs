//! Istio's validation of resources beyond their schema, as `istioctl analyze` reports it.

mod virtual_service;
mod vs_matches;
mod vs_structure;

pub static RULES: &[&crate::Rule] = &[&virtual_service::VIRTUAL_SERVICE_VALIDATION];
