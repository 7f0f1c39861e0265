//! Performance and sidecar tuning: proxy concurrency and resources, config size, telemetry cost, Envoy stats (MC5xx).

pub(crate) mod balance;
mod circuit_breaker_overflow;
mod concurrency_cpu_limit;
mod concurrency_unbounded;
pub(crate) mod config_size;
mod exact_balance_inbound;
mod exact_balance_outbound;
pub(crate) mod proxy;
mod proxy_memory;
mod proxy_requests;
mod sidecar_scope;
pub(crate) mod stats;
mod worker_imbalance;

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[
    &concurrency_cpu_limit::CONCURRENCY_ABOVE_CPU_LIMIT,
    &concurrency_unbounded::CONCURRENCY_UNBOUNDED,
    &exact_balance_outbound::EXACT_BALANCE_OUTBOUND,
    &exact_balance_inbound::EXACT_BALANCE_INBOUND,
    &sidecar_scope::SIDECAR_EGRESS_SCOPE,
    &proxy_requests::PROXY_REQUESTS,
    &proxy_memory::PROXY_MEMORY_LIMIT,
    &worker_imbalance::WORKER_CONNECTION_IMBALANCE,
    &circuit_breaker_overflow::CIRCUIT_BREAKER_OVERFLOW,
];
