//! Application traffic policy: routing, resilience, naming and labelling conventions (MC4xx).

mod connection_pool;
mod destination_rule_merge;
mod export_to_namespace;
pub(crate) mod fault_injection;
mod hold_application;
mod init_container_network;
mod job_sidecar;
mod load_balancer;
mod locality_failover;
mod mirror_full;
mod multiple_services;
mod outlier_detection;
mod probes_rewrite;
mod retries;
mod retry_budget;
mod retry_non_idempotent;
mod retry_per_try_timeout;
mod route_timeout;
mod subset_host_pods;
mod target_port_name;
mod workload_labels;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &subset_host_pods::DESTINATION_RULE_SUBSET_HOST_PODS,
    &destination_rule_merge::DESTINATION_RULE_MERGE_CONFLICT,
    &route_timeout::HTTP_ROUTE_TIMEOUT,
    &retry_per_try_timeout::RETRY_PER_TRY_TIMEOUT,
    &retry_budget::RETRY_BUDGET,
    &retry_non_idempotent::RETRY_NON_IDEMPOTENT,
    &outlier_detection::OUTLIER_DETECTION_MISSING,
    &fault_injection::FAULT_INJECTION_ACTIVE,
    &mirror_full::MIRROR_FULL_TRAFFIC,
    &workload_labels::WORKLOAD_LABELS,
    &multiple_services::MULTIPLE_SERVICES,
    &load_balancer::LOAD_BALANCER_CONFLICT,
    &connection_pool::CONNECTION_POOL_TOO_SMALL,
    &probes_rewrite::PROBES_NOT_REWRITTEN,
    &init_container_network::INIT_CONTAINER_NETWORK,
    &job_sidecar::JOB_SIDECAR,
    &target_port_name::TARGET_PORT_NAME,
    &locality_failover::LOCALITY_FAILOVER,
    &hold_application::HOLD_APPLICATION,
    &export_to_namespace::EXPORT_TO_NAMESPACE,
];
