//! Istio authn analyzers.

mod blocked_cidrs;

pub static RULES: &[&crate::Rule] = &[&blocked_cidrs::JWKS_URI_FETCH_UNRESTRICTED];
