//! Go-live readiness: the checklist derived from the other categories, and collection gaps (MC6xx).

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
