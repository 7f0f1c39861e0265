use crate::Context;
use meshcheck_model::Kind;

use super::config_size::ConfigSizes;
use super::stats::stats_for;
use crate::facts::proxy_config::proxied_workloads;
use crate::facts::workloads::{WorkloadIndex, is_istio_component};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Compares each sidecar's memory limit with the memory its configuration needs. The need is
    /// estimated as 40 MiB for the proxy itself plus 50 KiB per Envoy cluster it receives
    /// (clusters counted as in MC505: visible service ports, narrowed by the Sidecar resource
    /// that applies). When an Envoy stats dump of one of the workload's pods is given
    /// (`--proxy-stats`), its `server.memory_heap_size` is used instead and compared with 90% of
    /// the limit.
    ///
    /// ## Why is this bad?
    /// A proxy that reaches its memory limit is OOM-killed: the pod loses all in-flight requests
    /// and, while the proxy restarts, all traffic. Because the configuration grows with the
    /// mesh, a limit that was fine at install time fails later, after unrelated services were
    /// added elsewhere.
    ///
    /// ## How to fix
    /// Reduce what the proxy receives with a Sidecar resource (MC505), or raise the limit
    /// (`sidecar.istio.io/proxyMemoryLimit`, or `global.proxy.resources.limits.memory`).
    ///
    /// ## Example
    /// ```yaml
    /// annotations:
    ///   sidecar.istio.io/proxyMemoryLimit: "64Mi"    # in a mesh of 1,500 services
    /// ```
    pub static PROXY_MEMORY_LIMIT = {
        code: "MC510",
        name: "proxy-memory-limit-too-low",
        category: Performance,
        severity: Warning,
        summary: "The proxy memory limit should fit the configuration the proxy receives",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Service, Kind::ServiceEntry, Kind::Sidecar, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/",
        remediation: "Limit the proxy's configuration with a Sidecar resource, or raise its memory limit above the estimate.",
        check: check,
    }
}

/// The proxy's own footprint before configuration.
const BASE_BYTES: u64 = 40 * 1024 * 1024;
/// Memory per Envoy cluster with its endpoints, listener and route entries.
const PER_CLUSTER_BYTES: u64 = 50 * 1024;

fn mib(bytes: u64) -> String {
    format!("{:.0}Mi", bytes as f64 / 1_048_576.0)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut sizes = ConfigSizes::new(mesh);
    let index = WorkloadIndex::new(mesh);
    for proxied in proxied_workloads(mesh) {
        let workload = &proxied.workload;
        if is_istio_component(workload) {
            continue;
        }
        let Some(limit) = &proxied.resources.memory_limit else {
            continue;
        };
        let path = workload.path(&["metadata"]);
        let observed = stats_for(mesh, &index, workload)
            .into_iter()
            .filter_map(|(pod, stats)| {
                Some((pod, stats.memory_heap_size.or(stats.memory_allocated)?))
            })
            .max_by_key(|(_, bytes)| *bytes);
        if let Some((pod, heap)) = observed {
            if heap * 10 >= limit.value * 9 {
                sink.report(
                    workload.resource,
                    &path,
                    format!(
                        "The proxy of {} uses {} of heap (Envoy stats of pod {pod}) against a memory limit of {} (from {}): it is about to be OOM-killed",
                        workload.display(),
                        mib(heap),
                        limit.text,
                        limit.source
                    ),
                );
            }
            continue;
        }
        let (estimate, _) = sizes.estimate(workload.namespace(), workload.labels());
        let needed = BASE_BYTES + estimate.clusters as u64 * PER_CLUSTER_BYTES;
        if limit.value >= needed {
            continue;
        }
        sink.report(
            workload.resource,
            &path,
            format!(
                "The proxy of {} has a memory limit of {} (from {}) but receives about {} clusters ({} services), estimated to need {}: it risks being OOM-killed as the mesh grows",
                workload.display(),
                limit.text,
                limit.source,
                estimate.clusters,
                estimate.services,
                mib(needed)
            ),
        );
    }
}
