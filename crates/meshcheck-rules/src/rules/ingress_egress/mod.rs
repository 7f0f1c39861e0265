//! Ingress and egress: gateways, TLS at the edge, outbound traffic policy, egress control (MC3xx).

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
