use crate::Context;
use meshcheck_model::Kind;

use crate::facts::policies::{int_field, policy_blocks};
use crate::facts::routes::as_path;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Estimates how many requests a DestinationRule's `connectionPool` lets each client proxy
    /// have in flight to the host: `tcp.maxConnections + http.http1MaxPendingRequests` when both
    /// are set (HTTP/1.1 requests wait in the pending queue for a connection, and the queue is
    /// unbounded by default) and `http.http2MaxRequests` (the active-request cap, which Envoy
    /// applies to every HTTP version), whichever is lower. It reports pools that allow 3 or
    /// fewer, in any traffic policy (top level, per port, per subset).
    ///
    /// ## Why is this bad?
    /// These are circuit-breaker limits, counted per client proxy: requests beyond them are not
    /// queued but fail at once with `503` and the `UO` (upstream overflow) flag. Limits like
    /// `maxConnections: 1` and `http1MaxPendingRequests: 1`, copied from Istio's circuit-breaking
    /// demo, make a service fail under the lightest concurrency.
    ///
    /// ## How to fix
    /// Size the limits from the concurrency the host can actually serve per client (requests per
    /// second × latency, with headroom), or remove them and rely on outlier detection.
    ///
    /// ## Example
    /// ```yaml
    /// trafficPolicy:
    ///   connectionPool:
    ///     tcp: {maxConnections: 1}
    ///     http: {http1MaxPendingRequests: 1}
    /// ```
    pub static CONNECTION_POOL_TOO_SMALL = {
        code: "MC413",
        name: "connection-pool-rejects-traffic",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "DestinationRule connection pools should not cap in-flight requests at a handful",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/circuit-breaking/",
        remediation: "Raise maxConnections, http1MaxPendingRequests and http2MaxRequests to the concurrency each client needs, or remove them.",
        check: check,
    }
}

/// Pools that allow this many requests in flight, or fewer, are reported.
const MAX_IN_FLIGHT: i64 = 3;

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for rule in mesh.of_kind(Kind::DestinationRule) {
        for block in policy_blocks(rule) {
            let pool = block.value;
            let connections = int_field(pool, "/connectionPool/tcp/maxConnections");
            let pending = int_field(pool, "/connectionPool/http/http1MaxPendingRequests");
            let active = int_field(pool, "/connectionPool/http/http2MaxRequests");
            // Unset (or 0) means Istio's default of 2^32-1: unlimited for this purpose. Without a
            // pending limit, HTTP/1.1 requests queue for a connection rather than fail.
            let set = |value: Option<i64>| value.filter(|value| *value > 0);
            let http1 = match (set(connections), set(pending)) {
                (Some(connections), Some(pending)) => Some((
                    connections + pending,
                    format!("maxConnections: {connections} + http1MaxPendingRequests: {pending}"),
                )),
                _ => None,
            };
            let (capacity, field, how) = match (http1, set(active)) {
                (Some((http1, _)), Some(active)) if active < http1 => {
                    (active, "http", format!("http2MaxRequests: {active}"))
                }
                (Some((http1, how)), _) => (http1, "tcp", how),
                (None, Some(active)) => (active, "http", format!("http2MaxRequests: {active}")),
                (None, None) => continue,
            };
            if capacity > MAX_IN_FLIGHT {
                continue;
            }
            let path = block.path_to(&["connectionPool", field]);
            sink.report(
                rule,
                &as_path(&path),
                format!(
                    "{} of DestinationRule {} lets each client proxy have at most {capacity} request(s) in flight ({how}): further requests fail immediately with 503 UO (upstream overflow)",
                    block.title(),
                    rule.display_name()
                ),
            );
        }
    }
}
