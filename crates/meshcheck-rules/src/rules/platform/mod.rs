//! Platform health: versions, support status, control-plane and gateway availability, topology,
//! deprecated APIs (MC1xx). The version advisory rules (MC29x, category Security) live here too:
//! they read the same inventory and release data.

pub mod advisories;
pub mod support;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
