//! VirtualServices as Istio sees them: hosts, destinations, subsets and gateways.

mod conflicting_mesh_hosts;
mod destination_host;
mod destination_subset;
mod gateway_ref;
mod jwt_claim_route;

pub static RULES: &[&crate::Rule] = &[
    &conflicting_mesh_hosts::CONFLICTING_MESH_GATEWAY_HOSTS,
    &destination_host::DESTINATION_HOST,
    &destination_subset::DESTINATION_SUBSET,
    &gateway_ref::GATEWAY_REFERENCE,
    &jwt_claim_route::JWT_CLAIM_ROUTE,
];
