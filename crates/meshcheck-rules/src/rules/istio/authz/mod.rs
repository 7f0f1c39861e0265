//! Istio authz analyzers.

mod authorization_policies;

pub static RULES: &[&crate::Rule] = &[&authorization_policies::AUTHORIZATION_POLICY_TARGETS];
