use crate::Context;
use meshcheck_model::proxy_stats::{ListenerStats, listener_port};
use meshcheck_model::{Kind, ProxyStats};

use super::stats::{StatsSubject, subject};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads Envoy admin stats dumps given with `--proxy-stats` (or an archive's `proxy-stats/`)
    /// and, for every listener with per-worker counters
    /// (`listener.<address>.worker_<n>.downstream_cx_active` / `downstream_cx_total`, or their
    /// Prometheus forms with an `envoy_worker_id` label), measures how evenly the connections
    /// are spread over the proxy's worker threads.
    ///
    /// The statistic: over the `k` workers (those with counters, completed to
    /// `server.concurrency` with zeros), take the open connections when there are at least
    /// `2k` and at least 8 of them, else the connections accepted since start when there are at
    /// least `10k` and at least 50, else do not judge. With `mean` the connections per worker,
    /// the listener is reported when the busiest worker holds at least twice the mean
    /// (`max/mean ≥ 2`) and the coefficient of variation (population standard deviation / mean)
    /// is at least 0.5. Istio's own listeners (15000, 15020, 15021, 15090) are left out.
    ///
    /// ## Why is this bad?
    /// Envoy pins every connection to the worker that accepted it. Published measurements of
    /// Istio sidecar throughput show the kernel spreads connections unevenly: with a few busy,
    /// long-lived connections, one worker saturates its core while the others idle, and the
    /// proxy caps the pod's throughput far below its CPU allowance. More workers make it worse,
    /// not better.
    ///
    /// ## How to fix
    /// - Inbound listener (15006) or a gateway: enable Envoy's exact connection balancer with an
    ///   EnvoyFilter (`connection_balance_config: {exact_balance: {}}`, context
    ///   `SIDECAR_INBOUND` or `GATEWAY`), or lower `concurrency` and add replicas.
    /// - Outbound side (15001 and the service listeners behind it): lower `concurrency` and
    ///   scale out, or let the client open more connections; exact balance on 15001 has no
    ///   effect (MC503).
    ///
    /// Per-worker counters need the listener stats: Istio keeps `downstream_cx_active`; for
    /// `downstream_cx_total` add it with
    /// `proxy.istio.io/config: '{"proxyStatsMatcher": {"inclusionSuffixes": ["downstream_cx_total"]}}'`.
    pub static WORKER_CONNECTION_IMBALANCE = {
        code: "MC512",
        name: "proxy-worker-connection-imbalance",
        category: Performance,
        severity: Warning,
        summary: "Envoy stats: connections should be spread evenly over the proxy's worker threads",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Pod],
        docs_url: "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/",
        remediation: "Enable exact_balance on inbound or gateway listeners (EnvoyFilter), or lower the proxy concurrency and scale out; on the outbound side only scaling out helps.",
        check: check,
    }
}

/// Ports of Istio's own listeners (admin, agent, health, Prometheus).
const ISTIO_PORTS: [u16; 4] = [15000, 15020, 15021, 15090];

/// How unevenly a listener's connections are spread.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Imbalance {
    /// Connections per worker, by worker id.
    pub per_worker: Vec<(u32, u64)>,
    /// `open` or `accepted since start`.
    pub counter: &'static str,
    pub mean: f64,
    pub max_ratio: f64,
    pub coefficient_of_variation: f64,
}

impl Imbalance {
    pub fn is_uneven(&self) -> bool {
        self.max_ratio >= 2.0 && self.coefficient_of_variation >= 0.5
    }
}

/// The imbalance of one listener, when it has enough connections to judge.
pub(crate) fn imbalance(listener: &ListenerStats, concurrency: Option<u64>) -> Option<Imbalance> {
    let mut workers: Vec<u32> = listener.workers.keys().copied().collect();
    if let Some(concurrency) = concurrency {
        for id in 0..concurrency.min(1024) as u32 {
            if !workers.contains(&id) {
                workers.push(id);
            }
        }
    }
    workers.sort_unstable();
    let k = workers.len();
    if k < 2 {
        return None;
    }
    let counts = |pick: fn(&meshcheck_model::proxy_stats::WorkerConnections) -> Option<u64>| {
        workers
            .iter()
            .map(|id| (*id, listener.workers.get(id).and_then(pick).unwrap_or(0)))
            .collect::<Vec<_>>()
    };
    let active = counts(|worker| worker.active);
    let total = counts(|worker| worker.total);
    let sum = |counts: &[(u32, u64)]| counts.iter().map(|(_, count)| count).sum::<u64>();
    let (per_worker, counter) = if sum(&active) >= (2 * k as u64).max(8) {
        (active, "open")
    } else if sum(&total) >= (10 * k as u64).max(50) {
        (total, "accepted since start")
    } else {
        return None;
    };
    let mean = sum(&per_worker) as f64 / k as f64;
    let max = per_worker
        .iter()
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0) as f64;
    let variance = per_worker
        .iter()
        .map(|(_, count)| (*count as f64 - mean).powi(2))
        .sum::<f64>()
        / k as f64;
    Some(Imbalance {
        per_worker,
        counter,
        mean,
        max_ratio: max / mean,
        coefficient_of_variation: variance.sqrt() / mean,
    })
}

/// `inbound`, `outbound`, or `gateway`, with the remediation that fits.
fn listener_role(stats: &ProxyStats, address: &str) -> (&'static str, &'static str) {
    let sidecar = stats.is_sidecar();
    match listener_port(address) {
        Some(15006) => (
            "the inbound listener",
            "Enable exact_balance on the inbound listener (EnvoyFilter, context SIDECAR_INBOUND, port 15006), or lower the proxy concurrency and add replicas.",
        ),
        _ if sidecar => (
            "an outbound listener",
            "Lower the proxy concurrency and scale the client out (or let it open more connections); exact_balance on the virtual outbound listener 15001 has no effect.",
        ),
        _ => (
            "a gateway listener",
            "Enable exact_balance on the gateway's listeners (EnvoyFilter, context GATEWAY), or run more gateway replicas with lower concurrency.",
        ),
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for stats in &mesh.proxy_stats {
        for (address, listener) in &stats.listeners {
            if listener_port(address).is_some_and(|port| ISTIO_PORTS.contains(&port)) {
                continue;
            }
            let Some(found) = imbalance(listener, stats.concurrency) else {
                continue;
            };
            if !found.is_uneven() {
                continue;
            }
            let (role, remediation) = listener_role(stats, address);
            let spread: Vec<String> = found
                .per_worker
                .iter()
                .map(|(id, count)| format!("w{id}={count}"))
                .collect();
            let busiest = found.per_worker.iter().max_by_key(|(_, count)| *count);
            let total: u64 = found.per_worker.iter().map(|(_, count)| count).sum();
            let idle = found
                .per_worker
                .iter()
                .filter(|(_, count)| *count == 0)
                .count();
            let detail = format!(
                "{} workers share {total} {} connections unevenly on {role} {address} ({}; max/mean {:.1}, coefficient of variation {:.2}): worker {} holds {:.0}% of them{}",
                found.per_worker.len(),
                found.counter,
                spread.join(" "),
                found.max_ratio,
                found.coefficient_of_variation,
                busiest.map_or(0, |(id, _)| *id),
                100.0 * busiest.map_or(0, |(_, count)| *count) as f64 / total.max(1) as f64,
                if idle > 0 {
                    format!(" while {idle} idle")
                } else {
                    String::new()
                }
            );
            match subject(mesh, stats) {
                StatsSubject::Pod(pod) => {
                    sink.report(
                        pod,
                        &["metadata", "name"],
                        format!("Proxy of pod {}: {detail}", pod.display_name()),
                    )
                    .remediation(remediation);
                }
                StatsSubject::Detached(resource, location, name) => {
                    sink.report_detached(
                        resource,
                        Some(location),
                        format!("Proxy of {name}: {detail}"),
                    )
                    .remediation(remediation);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_model::proxy_stats::WorkerConnections;

    fn listener(active: &[u64], total: &[u64]) -> ListenerStats {
        let mut stats = ListenerStats::default();
        for (id, count) in active.iter().enumerate() {
            stats.workers.entry(id as u32).or_default().active = Some(*count);
        }
        for (id, count) in total.iter().enumerate() {
            stats
                .workers
                .entry(id as u32)
                .or_insert_with(WorkerConnections::default)
                .total = Some(*count);
        }
        stats
    }

    #[test]
    fn uneven_open_connections() {
        let found = imbalance(&listener(&[12, 0, 0, 1], &[]), None).unwrap();
        assert_eq!(found.counter, "open");
        assert!((found.mean - 3.25).abs() < 1e-9);
        assert!((found.max_ratio - 12.0 / 3.25).abs() < 1e-9);
        assert!(found.coefficient_of_variation > 1.4);
        assert!(found.is_uneven());
    }

    #[test]
    fn even_enough_is_not_reported() {
        let found = imbalance(&listener(&[6, 4, 4, 2], &[]), None).unwrap();
        assert!(!found.is_uneven(), "{found:?}");
    }

    #[test]
    fn too_few_connections_are_not_judged() {
        assert_eq!(
            imbalance(&listener(&[3, 0, 0, 0], &[5, 1, 0, 0]), None),
            None
        );
        assert_eq!(imbalance(&listener(&[5], &[]), None), None);
    }

    #[test]
    fn falls_back_to_accepted_connections_and_fills_missing_workers() {
        let found = imbalance(&listener(&[1, 0], &[400, 20]), Some(4)).unwrap();
        assert_eq!(found.counter, "accepted since start");
        assert_eq!(found.per_worker, vec![(0, 400), (1, 20), (2, 0), (3, 0)]);
        assert!(found.is_uneven());
    }
}
