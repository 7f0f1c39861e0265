use crate::Context;
use meshcheck_model::Kind;

use crate::facts::injector::injector_values;
use crate::facts::proxy_config::{
    concurrency_configured, proxied_workloads, proxy_concurrency, proxy_resources,
};
use crate::facts::states::{Seen, judge};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Compares each proxy's worker-thread count with its CPU limit. The worker count is the
    /// `--concurrency` of an injected proxy, else the effective ProxyConfig `concurrency` (the
    /// pod's `proxy.istio.io/config` annotation, a ProxyConfig resource, or the mesh config's
    /// `defaultConfig.concurrency`); the limit is the injected container's, else the
    /// `sidecar.istio.io/proxyCPULimit` annotation, else the injector's
    /// `global.proxy.resources.limits.cpu`. It reports proxies that run more workers than
    /// `ceil(limit)` cores. Unset concurrency (Istio then derives it from the limit) and
    /// `concurrency: 0` (MC502) are not reported here.
    ///
    /// ## Why is this bad?
    /// Envoy pins each connection to one worker thread, and each worker is a busy event loop.
    /// More workers than cores in the proxy's CPU quota means the workers time-share the quota:
    /// the kernel throttles the container every CFS period, every worker stalls together, and
    /// tail latency rises for all connections, while the extra workers bring no throughput.
    /// Published measurements of Istio sidecar throughput show per-worker saturation long
    /// before the pod's CPU is used up.
    ///
    /// ## How to fix
    /// Remove the explicit `concurrency` (Istio then uses the CPU limit, rounded up), or set it to
    /// at most the number of cores in the limit; to serve more traffic, raise both together or
    /// scale out to more replicas with smaller proxies.
    ///
    /// ## Example
    /// ```yaml
    /// annotations:
    ///   proxy.istio.io/config: |
    ///     concurrency: 8
    ///   sidecar.istio.io/proxyCPULimit: "2"     # 8 workers in 2 cores
    /// ```
    pub static CONCURRENCY_ABOVE_CPU_LIMIT = {
        code: "MC501",
        name: "proxy-concurrency-above-cpu-limit",
        category: Performance,
        severity: Warning,
        summary: "Proxy worker threads (concurrency) should not exceed the proxy's CPU limit",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ProxyConfig, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/proxy-config/",
        remediation: "Leave concurrency unset (derived from the CPU limit) or set it to at most the limit's cores; scale out for more throughput.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !concurrency_configured(mesh) {
        return;
    }
    let injector = injector_values(mesh);
    for proxied in proxied_workloads(mesh) {
        // The template is what new pods get; its running pods may predate it (see `states`).
        let verdict = judge(mesh, &proxied.workload, |state| {
            let Some((concurrency, source)) = proxy_concurrency(mesh, state) else {
                return Seen::Clean;
            };
            if concurrency <= 0 {
                return Seen::Clean;
            }
            let resources = proxy_resources(injector.as_ref(), state);
            let Some(limit) = resources.cpu_limit else {
                return if resources.known {
                    Seen::Clean
                } else {
                    Seen::Unknown
                };
            };
            let cores = limit.value.div_ceil(1000).max(1);
            if concurrency as u64 <= cores {
                return Seen::Clean;
            }
            Seen::Problem(format!(
                " runs {concurrency} worker threads (concurrency from {source}) within a CPU limit of {} (from {}): {concurrency} busy workers share {:.2} cores, so the container is throttled and every connection's latency suffers",
                limit.text,
                limit.source,
                limit.value as f64 / 1000.0
            ))
        });
        if let Some(verdict) = verdict {
            proxied.report_proxy(sink, &format!("{}{}", verdict.problem, verdict.note));
        }
    }
}
