//! Security posture: advisories, mTLS, authorization, authentication, workload hardening (MC2xx).

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
