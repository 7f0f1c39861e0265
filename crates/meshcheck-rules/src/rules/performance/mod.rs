//! Performance and sidecar tuning: proxy concurrency and resources, config size, telemetry cost, Envoy stats (MC5xx).

mod access_logging;
pub(crate) mod balance;
mod circuit_breaker_overflow;
mod concurrency_cpu_limit;
mod concurrency_unbounded;
pub(crate) mod config_size;
mod debug_logging;
mod discovery_selectors;
mod exact_balance_inbound;
mod exact_balance_outbound;
mod keepalive_disabled;
mod mesh_config_ref;
mod proxy_memory;
mod proxy_requests;
mod sidecar_scope;
pub(crate) mod stats;
mod stats_inclusion;
mod tracing_sampling;
mod worker_imbalance;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &concurrency_cpu_limit::CONCURRENCY_ABOVE_CPU_LIMIT,
    &concurrency_unbounded::CONCURRENCY_UNBOUNDED,
    &exact_balance_outbound::EXACT_BALANCE_OUTBOUND,
    &exact_balance_inbound::EXACT_BALANCE_INBOUND,
    &sidecar_scope::SIDECAR_EGRESS_SCOPE,
    &access_logging::MESH_ACCESS_LOGGING,
    &tracing_sampling::TRACING_SAMPLING_HIGH,
    &proxy_requests::PROXY_REQUESTS,
    &discovery_selectors::DISCOVERY_SELECTORS,
    &proxy_memory::PROXY_MEMORY_LIMIT,
    &keepalive_disabled::KEEPALIVE_DISABLED,
    &worker_imbalance::WORKER_CONNECTION_IMBALANCE,
    &circuit_breaker_overflow::CIRCUIT_BREAKER_OVERFLOW,
    &debug_logging::PROXY_DEBUG_LOGGING,
    &stats_inclusion::STATS_INCLUSION_BROAD,
];
