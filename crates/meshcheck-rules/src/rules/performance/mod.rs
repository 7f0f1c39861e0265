//! Performance and sidecar tuning: proxy concurrency and resources, config size, telemetry cost, Envoy stats (MC5xx).

/// This family's rules, in code order.
pub static RULES: &[&crate::Rule] = &[];
