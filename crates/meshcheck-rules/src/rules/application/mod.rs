//! Application traffic policy: routing, resilience, naming and labelling conventions (MC4xx).

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
