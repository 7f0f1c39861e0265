//! Security posture: advisories, mTLS, authorization, authentication, workload hardening (MC2xx).

mod authorization_allow_all;
mod authorization_allow_negative_match;
mod authorization_default_deny;
mod authorization_identity_without_strict_mtls;
mod authorization_path_normalization;
mod authorization_wildcard_source;
mod destination_rule_insecure_skip_verify;
mod destination_rule_tls_disabled;
mod destination_rule_tls_origination_in_mesh;
mod mesh_mtls;
mod peer_authentication_weakening;
mod proxy_privileged;
mod request_authentication_not_enforced;
mod workload_outside_mesh;

pub(crate) mod authz;
pub(crate) mod destination_tls;
pub(crate) mod mtls;
pub(crate) mod workloads;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &mesh_mtls::MESH_MTLS_NOT_STRICT,
    &peer_authentication_weakening::PEER_AUTHENTICATION_WEAKENS_STRICT,
    &destination_rule_tls_disabled::DESTINATION_RULE_TLS_DISABLED,
    &destination_rule_tls_origination_in_mesh::DESTINATION_RULE_TLS_ORIGINATION_IN_MESH,
    &authorization_default_deny::AUTHORIZATION_DEFAULT_DENY_MISSING,
    &authorization_allow_all::AUTHORIZATION_ALLOW_ALL,
    &authorization_allow_negative_match::AUTHORIZATION_ALLOW_NEGATIVE_MATCH,
    &authorization_path_normalization::AUTHORIZATION_PATH_NORMALIZATION,
    &authorization_wildcard_source::AUTHORIZATION_WILDCARD_SOURCE,
    &request_authentication_not_enforced::REQUEST_AUTHENTICATION_NOT_ENFORCED,
    &authorization_identity_without_strict_mtls::AUTHORIZATION_IDENTITY_WITHOUT_STRICT_MTLS,
    &workload_outside_mesh::WORKLOAD_OUTSIDE_MESH,
    &proxy_privileged::PROXY_PRIVILEGED,
    &destination_rule_insecure_skip_verify::DESTINATION_RULE_INSECURE_SKIP_VERIFY,
];
