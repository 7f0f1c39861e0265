//! Platform health: versions, support status, control-plane and gateway availability, topology, deprecated APIs (MC1xx).

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
