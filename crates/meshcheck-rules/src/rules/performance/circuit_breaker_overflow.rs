use crate::Context;
use meshcheck_model::ValueAt;
use meshcheck_model::hosts::{host_covered_by, to_fqdn};
use meshcheck_model::{Kind, items, str_field};

use super::stats::{StatsSubject, subject};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads Envoy admin stats dumps (`--proxy-stats`) and reports upstream clusters whose
    /// circuit breakers rejected traffic: `upstream_cx_overflow` (connections refused by
    /// `maxConnections`), `upstream_rq_pending_overflow` (requests refused by
    /// `http1MaxPendingRequests`) and `upstream_rq_retry_overflow` (retries refused by
    /// `maxRetries`). It names the DestinationRule that sets the limits when the input has it.
    ///
    /// ## Why is this bad?
    /// Every overflow is a request that failed immediately with `503` and the `UO` response flag,
    /// without reaching the upstream. Counters above zero mean the connection pool is smaller than
    /// the concurrency this client actually needs (or that the upstream is too slow to drain it).
    ///
    /// ## How to fix
    /// Raise the DestinationRule's `connectionPool` limits for the host to the concurrency the
    /// client needs, or scale the upstream so that requests complete faster; check MC413 for
    /// limits that are too small by construction.
    pub static CIRCUIT_BREAKER_OVERFLOW = {
        code: "MC513",
        name: "proxy-circuit-breaker-overflow",
        category: Performance,
        severity: Warning,
        summary: "Envoy stats: circuit breakers should not be rejecting requests",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Pod, Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/circuit-breaking/",
        remediation: "Raise the DestinationRule connectionPool limits to the concurrency the client needs, or make the upstream drain requests faster.",
        check: check,
    }
}

/// The host of an Istio cluster name (`outbound|9080|v1|reviews.shop.svc.cluster.local`).
fn cluster_host(name: &str) -> Option<&str> {
    let mut parts = name.split('|');
    let direction = parts.next()?;
    if direction != "outbound" {
        return None;
    }
    parts.nth(2).filter(|host| !host.is_empty())
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for stats in &mesh.proxy_stats {
        let mut lines = Vec::new();
        let mut total_rejected = 0;
        for (name, cluster) in &stats.clusters {
            let rejected =
                cluster.cx_overflow + cluster.rq_pending_overflow + cluster.rq_retry_overflow;
            if rejected == 0 {
                continue;
            }
            total_rejected += rejected;
            let mut parts = Vec::new();
            if cluster.rq_pending_overflow > 0 {
                parts.push(format!(
                    "{} requests over http1MaxPendingRequests",
                    cluster.rq_pending_overflow
                ));
            }
            if cluster.cx_overflow > 0 {
                parts.push(format!(
                    "{} connections over maxConnections",
                    cluster.cx_overflow
                ));
            }
            if cluster.rq_retry_overflow > 0 {
                parts.push(format!(
                    "{} retries over maxRetries",
                    cluster.rq_retry_overflow
                ));
            }
            let share = if cluster.rq_total > 0 {
                format!(
                    ", {:.1}% of {} requests",
                    100.0 * (cluster.cx_overflow + cluster.rq_pending_overflow) as f64
                        / cluster.rq_total as f64,
                    cluster.rq_total
                )
            } else {
                String::new()
            };
            let rule = cluster_host(name).and_then(|host| {
                mesh.of_kind(Kind::DestinationRule).find(|rule| {
                    let pattern = to_fqdn(
                        &rule.namespace,
                        str_field(rule.spec(), "host").unwrap_or_default(),
                    );
                    let sets_pool = rule.spec().at("/trafficPolicy/connectionPool").is_some()
                        || items(rule.spec().get("subsets"))
                            .any(|subset| subset.at("/trafficPolicy/connectionPool").is_some());
                    sets_pool && host_covered_by(host, &pattern)
                })
            });
            let limits = rule
                .map(|rule| format!(" (limits from DestinationRule {})", rule.display_name()))
                .unwrap_or_default();
            lines.push((
                rejected,
                format!("{name}: {}{share}{limits}", parts.join(", ")),
            ));
        }
        if lines.is_empty() {
            continue;
        }
        lines.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let shown: Vec<&str> = lines
            .iter()
            .take(3)
            .map(|(_, line)| line.as_str())
            .collect();
        let more = if lines.len() > 3 {
            format!("; {} more clusters", lines.len() - 3)
        } else {
            String::new()
        };
        let detail = format!(
            "circuit breakers rejected {total_rejected} connections or requests with 503 UO: {}{more}",
            shown.join("; ")
        );
        match subject(mesh, stats) {
            StatsSubject::Pod(pod) => {
                sink.report(
                    pod,
                    &["metadata", "name"],
                    format!("Proxy of pod {}: {detail}", pod.display_name()),
                );
            }
            StatsSubject::Detached(resource, location, name) => {
                sink.report_detached(
                    resource,
                    Some(location),
                    format!("Proxy of {name}: {detail}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_host;

    #[test]
    fn istio_cluster_names() {
        assert_eq!(
            cluster_host("outbound|9080|v1|reviews.shop.svc.cluster.local"),
            Some("reviews.shop.svc.cluster.local")
        );
        assert_eq!(
            cluster_host("outbound|443||api.example.com"),
            Some("api.example.com")
        );
        assert_eq!(cluster_host("inbound|9080||"), None);
        assert_eq!(cluster_host("xds-grpc"), None);
    }
}
