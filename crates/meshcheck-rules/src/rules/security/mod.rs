//! Security posture: advisories, mTLS, authorization, authentication, workload hardening (MC2xx).

mod authentication_policy_targets;
mod authorization_allow_all;
mod authorization_allow_negative_match;
mod authorization_custom_provider;
mod authorization_default_deny;
mod authorization_default_service_account;
mod authorization_gateway_source_ip;
mod authorization_http_fields_on_tcp;
mod authorization_identity_without_strict_mtls;
mod authorization_ineffective_values;
mod authorization_path_normalization;
mod authorization_wildcard_source;
mod auto_mtls_disabled;
mod destination_rule_insecure_skip_verify;
mod destination_rule_tls_disabled;
mod destination_rule_tls_origination_in_mesh;
mod istiod_debug_endpoints;
mod jwks_uri_insecure;
mod jwt_audiences;
mod mesh_mtls;
mod mesh_tls_conflict;
mod network_policy_missing;
mod peer_authentication_port_level;
mod peer_authentication_weakening;
mod pod_host_network;
mod proxy_privileged;
mod request_authentication_not_enforced;
mod self_signed_root_ca;
mod traffic_capture_bypass;
mod workload_outside_mesh;

mod jwt_rules;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &mesh_mtls::MESH_MTLS_NOT_STRICT,
    &peer_authentication_weakening::PEER_AUTHENTICATION_WEAKENS_MTLS,
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
    &authorization_custom_provider::AUTHORIZATION_CUSTOM_PROVIDER,
    &jwks_uri_insecure::JWKS_URI_INSECURE,
    &jwt_audiences::JWT_AUDIENCES_UNCHECKED,
    &pod_host_network::POD_HOST_NETWORK,
    &traffic_capture_bypass::TRAFFIC_CAPTURE_BYPASS,
    &auto_mtls_disabled::AUTO_MTLS_DISABLED,
    &peer_authentication_port_level::PEER_AUTHENTICATION_PORT_LEVEL,
    &authorization_gateway_source_ip::AUTHORIZATION_GATEWAY_SOURCE_IP,
    &authorization_ineffective_values::AUTHORIZATION_INEFFECTIVE_VALUES,
    &self_signed_root_ca::SELF_SIGNED_ROOT_CA,
    &destination_rule_insecure_skip_verify::DESTINATION_RULE_INSECURE_SKIP_VERIFY,
    &istiod_debug_endpoints::ISTIOD_DEBUG_ENDPOINTS,
    &authorization_default_service_account::AUTHORIZATION_DEFAULT_SERVICE_ACCOUNT,
    &authorization_http_fields_on_tcp::AUTHORIZATION_HTTP_FIELDS_ON_TCP,
    &authentication_policy_targets::AUTHENTICATION_POLICY_TARGETS,
    &network_policy_missing::NETWORK_POLICY_MISSING,
    &mesh_tls_conflict::MESH_TLS_CONFLICT,
];
