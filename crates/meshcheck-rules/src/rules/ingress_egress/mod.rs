//! Ingress and egress: gateways, TLS at the edge, outbound traffic policy, egress control (MC3xx).

mod egress_gateway_absent;
mod egress_gateway_bypassed;
mod egress_gateway_exposed;
mod egress_plaintext_http;
mod gateway_https_redirect;
mod gateway_port_protocol_conflict;
mod gateway_route_kind;
mod gateway_selector_missing;
mod gateway_sni_host_overlap;
mod gateway_tls_version;
mod gateway_weak_ciphers;
mod gateway_wildcard_hosts;
mod k8s_gateway_routes_from_all;
mod kubernetes_ingress_to_mesh;
mod outbound_allow_any;
mod service_entry_port_protocol;
mod service_entry_wildcard_host;
mod sidecar_outbound_allow_any;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &outbound_allow_any::OUTBOUND_TRAFFIC_ALLOW_ANY,
    &sidecar_outbound_allow_any::SIDECAR_OUTBOUND_ALLOW_ANY,
    &egress_gateway_absent::EGRESS_GATEWAY_ABSENT,
    &egress_gateway_bypassed::EGRESS_GATEWAY_BYPASSED,
    &service_entry_wildcard_host::SERVICE_ENTRY_WILDCARD_HOST,
    &gateway_wildcard_hosts::GATEWAY_WILDCARD_HOSTS,
    &gateway_tls_version::GATEWAY_TLS_VERSION,
    &gateway_weak_ciphers::GATEWAY_WEAK_CIPHERS,
    &gateway_https_redirect::GATEWAY_HTTPS_REDIRECT,
    &gateway_route_kind::GATEWAY_ROUTE_KIND,
    &gateway_selector_missing::GATEWAY_SELECTOR_MISSING,
    &service_entry_port_protocol::SERVICE_ENTRY_PORT_PROTOCOL,
    &egress_plaintext_http::EGRESS_PLAINTEXT_HTTP,
    &gateway_sni_host_overlap::GATEWAY_SNI_HOST_OVERLAP,
    &egress_gateway_exposed::EGRESS_GATEWAY_EXPOSED,
    &gateway_port_protocol_conflict::GATEWAY_PORT_PROTOCOL_CONFLICT,
    &kubernetes_ingress_to_mesh::KUBERNETES_INGRESS_TO_MESH,
    &k8s_gateway_routes_from_all::K8S_GATEWAY_ROUTES_FROM_ALL,
];
