use crate::Context;
use meshcheck_model::Kind;

use crate::facts::injector::injector_values;
use crate::facts::proxy_config::{proxied_workloads, proxy_resources};
use crate::facts::states::{Seen, judge};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports workloads whose Istio proxy has no CPU or no memory request. It reads what the
    /// input shows: the `resources` of the injected `istio-proxy` container of a Pod (a
    /// container without the field is taken as abridged), or else the
    /// `sidecar.istio.io/proxyCPU`/`proxyMemory` annotations over the injector's
    /// `global.proxy.resources` (when the injector's ConfigMap is in the input; Istio's default
    /// values request 100m CPU and 128Mi memory).
    ///
    /// ## Why is this bad?
    /// Without requests the scheduler reserves nothing for the proxy: pods pack onto nodes as if
    /// the sidecar were free, the proxy competes for CPU with everything else on the node, and
    /// under memory pressure it is among the first containers evicted. Every request to and from
    /// the pod goes through the proxy, so its starvation shows up as latency for the application.
    ///
    /// ## How to fix
    /// Set requests for the proxy: mesh-wide in the injector values
    /// (`global.proxy.resources.requests`), or per workload with the
    /// `sidecar.istio.io/proxyCPU` and `sidecar.istio.io/proxyMemory` annotations, sized from the
    /// proxy's observed usage.
    ///
    /// ## Example
    /// ```yaml
    /// annotations:
    ///   sidecar.istio.io/proxyCPU: "100m"
    ///   sidecar.istio.io/proxyMemory: "128Mi"
    /// ```
    pub static PROXY_REQUESTS = {
        code: "MC508",
        name: "proxy-without-resource-requests",
        category: Performance,
        severity: Warning,
        summary: "Istio proxies should request CPU and memory",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/reference/config/annotations/",
        remediation: "Request CPU and memory for the proxy (sidecar.istio.io/proxyCPU and proxyMemory, or global.proxy.resources.requests).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let injector = injector_values(mesh);
    for proxied in proxied_workloads(mesh) {
        // The template is what new pods get; its running pods may predate it (see `states`).
        let verdict = judge(mesh, &proxied.workload, |state| {
            let resources = proxy_resources(injector.as_ref(), state);
            if !resources.known {
                return Seen::Unknown;
            }
            let mut missing = Vec::new();
            if resources
                .cpu_request
                .as_ref()
                .is_none_or(|cpu| cpu.value == 0)
            {
                missing.push("CPU");
            }
            if resources
                .memory_request
                .as_ref()
                .is_none_or(|memory| memory.value == 0)
            {
                missing.push("memory");
            }
            if missing.is_empty() {
                return Seen::Clean;
            }
            let from_container = state
                .proxy_container()
                .is_some_and(|container| container.get("resources").is_some());
            let seen_in = if from_container {
                "its injected istio-proxy container"
            } else {
                "the injector's defaults and the pod's annotations"
            };
            Seen::Problem(format!("{} (per {seen_in})", missing.join(" and ")))
        });
        let Some(verdict) = verdict else {
            continue;
        };
        let workload = &proxied.workload;
        let path = workload.path(&["metadata"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "The proxy of {} requests no {}: the scheduler reserves nothing for it, so it competes with other containers for the node's resources and is among the first evicted under memory pressure{}",
                workload.display(),
                verdict.problem,
                verdict.note
            ),
        );
    }
}
