use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::nodes;

use crate::facts::injector::injector_values;
use crate::facts::proxy_config::{
    concurrency_configured, proxied_workloads, proxy_concurrency, proxy_resources,
};
use crate::facts::states::{Seen, judge};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports proxies configured with `concurrency: 0` (in an injected proxy's arguments, the
    /// pod's `proxy.istio.io/config`, a ProxyConfig resource, or the mesh config's
    /// `defaultConfig`). The message says whether a CPU limit bounds the proxy and, when the
    /// input has Nodes, how many cores the largest node has.
    ///
    /// ## Why is this bad?
    /// `concurrency: 0` starts one Envoy worker per CPU core of the node, not of the pod. On a
    /// 64-core node every sidecar runs 64 workers, each with its own connection pools, buffers
    /// and upstream connections: memory and connection counts grow with the node size, and
    /// connections spread over many mostly idle workers. With a CPU limit, those workers share
    /// a small quota and the container is throttled; without one, a busy proxy can take cores the
    /// application needs.
    ///
    /// ## How to fix
    /// Leave `concurrency` unset (Istio derives it from the proxy's CPU limit) or set a small
    /// explicit value (2 for most sidecars), and give busy proxies a CPU limit to match.
    ///
    /// ## Example
    /// ```yaml
    /// meshConfig:
    ///   defaultConfig:
    ///     concurrency: 0       # every proxy sizes itself to its node
    /// ```
    pub static CONCURRENCY_UNBOUNDED = {
        code: "MC502",
        name: "proxy-concurrency-all-cores",
        category: Performance,
        severity: Warning,
        summary: "Proxies should not run one worker per node core (concurrency: 0)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ProxyConfig, Kind::ConfigMap, Kind::Node, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/proxy-config/",
        remediation: "Leave concurrency unset (derived from the CPU limit) or set a small explicit value such as 2.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !concurrency_configured(mesh) {
        return;
    }
    let largest_node = nodes(mesh)
        .iter()
        .filter_map(|node| node.allocatable_cpu_millis)
        .max();
    let injector = injector_values(mesh);
    for proxied in proxied_workloads(mesh) {
        // The template is what new pods get; its running pods may predate it (see `states`).
        let verdict = judge(mesh, &proxied.workload, |state| {
            let Some((0, source)) = proxy_concurrency(mesh, state) else {
                return Seen::Clean;
            };
            let node = largest_node
                .map(|millis| format!(" (the largest node has {} cores)", (millis + 500) / 1000))
                .unwrap_or_default();
            let resources = proxy_resources(injector.as_ref(), state);
            let consequence = match (&resources.cpu_limit, resources.known) {
                (Some(limit), _) => format!(
                    "one worker per node core{node}, all sharing the proxy's CPU limit of {}, so the container is throttled",
                    limit.text
                ),
                (None, true) => format!(
                    "one worker per node core{node} with no CPU limit: the proxy's threads, memory and upstream connections grow with the node, not with its traffic"
                ),
                (None, false) => format!("one worker per node core{node}"),
            };
            Seen::Problem(format!(
                " has concurrency 0 (from {source}): Envoy starts {consequence}"
            ))
        });
        if let Some(verdict) = verdict {
            proxied.report_proxy(sink, &format!("{}{}", verdict.problem, verdict.note));
        }
    }
}
