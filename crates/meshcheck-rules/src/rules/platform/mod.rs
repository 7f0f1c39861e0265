//! Platform health: versions, support status, control-plane and gateway availability, topology,
//! deprecated APIs, Istio components' events and webhooks (MC1xx). The version advisory rules
//! (MC29x, category Security) live here too: they read the same inventory and release data.

mod advisory_control_plane;
mod advisory_data_plane;

mod component_availability;
mod component_events;
mod data_plane_skew;
mod deprecated_api;
mod end_of_life;
mod gateway_disruption_budget;
mod gateway_replicas;
mod gateway_resource_requests;
mod istiod_autoscaler;
mod istiod_disruption_budget;
mod istiod_replicas;
mod istiod_resource_requests;
mod kubelet_version_skew;
mod kubernetes_support;
mod multiple_revisions;
mod nearing_end_of_life;
mod node_count;
mod node_zones;
mod proxy_version_mismatch;
mod replica_spread;
mod unused_revision;
mod validation_webhook_service;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &end_of_life::ISTIO_END_OF_LIFE,
    &nearing_end_of_life::ISTIO_NEARING_END_OF_LIFE,
    &kubernetes_support::ISTIO_KUBERNETES_SUPPORT,
    &data_plane_skew::DATA_PLANE_VERSION_SKEW,
    &proxy_version_mismatch::PROXY_VERSION_MISMATCH,
    &multiple_revisions::MULTIPLE_CONTROL_PLANE_REVISIONS,
    &unused_revision::UNUSED_CONTROL_PLANE_REVISION,
    &istiod_replicas::ISTIOD_REPLICAS,
    &istiod_disruption_budget::ISTIOD_DISRUPTION_BUDGET,
    &istiod_autoscaler::ISTIOD_AUTOSCALER,
    &istiod_resource_requests::ISTIOD_RESOURCE_REQUESTS,
    &gateway_replicas::GATEWAY_REPLICAS,
    &gateway_disruption_budget::GATEWAY_DISRUPTION_BUDGET,
    &gateway_resource_requests::GATEWAY_RESOURCE_REQUESTS,
    &replica_spread::REPLICA_SPREAD,
    &node_zones::SINGLE_ZONE_NODES,
    &node_count::TOO_FEW_NODES,
    &kubelet_version_skew::KUBELET_VERSION_SKEW,
    &deprecated_api::DEPRECATED_ISTIO_API,
    &component_events::ISTIO_COMPONENT_EVENTS,
    &validation_webhook_service::VALIDATION_WEBHOOK_SERVICE,
    &component_availability::ISTIO_COMPONENT_AVAILABILITY,
    &advisory_control_plane::CONTROL_PLANE_ADVISORIES,
    &advisory_data_plane::DATA_PLANE_ADVISORIES,
];
