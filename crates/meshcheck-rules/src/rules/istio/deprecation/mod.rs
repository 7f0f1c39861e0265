//! Deprecated Istio fields and removed Istio resource types.

mod deprecated_fields;

pub static RULES: &[&crate::Rule] = &[&deprecated_fields::DEPRECATED_FIELDS];
