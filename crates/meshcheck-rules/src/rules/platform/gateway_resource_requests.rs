use crate::Context;
use meshcheck_model::inventory::gateways;
use meshcheck_model::{Kind, str_field};

use crate::facts::availability::requests_problem;
use crate::facts::planes::report_workload;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports gateway proxies (`istio-proxy` containers of ingress, egress, east-west gateways
    /// and waypoints) without a CPU or memory request. A Deployment whose proxy uses
    /// `image: auto` gets its resources from the injection template, so then its running pods
    /// are checked instead (and nothing is said without pods).
    ///
    /// ## Why is this bad?
    /// A gateway carries all the traffic through it. Without requests it is packed onto busy
    /// nodes, throttled under load, evicted first under memory pressure, and CPU-based
    /// autoscaling cannot work.
    ///
    /// ## How to fix
    /// Set `resources.requests` (and usually a memory limit) for the gateway, e.g. in the
    /// gateway Helm chart's `resources` values, sized from observed load.
    pub static GATEWAY_RESOURCE_REQUESTS = {
        code: "MC114",
        name: "gateway-resource-requests",
        category: Platform,
        severity: Warning,
        summary: "Gateway proxies must request CPU and memory",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/gateway/",
        remediation: "Set CPU and memory requests for the gateway's istio-proxy container (resources in the gateway Helm values).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in gateways(mesh) {
        let workload = &gateway.workload;
        let proxy = workload
            .containers()
            .iter()
            .map(|container| (container.index, container.value))
            .find(|(_, container)| str_field(container, "name") == Some("istio-proxy"));
        let Some((index, container)) = proxy else {
            continue;
        };
        let injected = str_field(container, "image") == Some("auto");
        if !injected {
            if let Some(problem) = requests_problem(container) {
                let index = index.to_string();
                report_workload(
                    sink,
                    workload,
                    &["containers", &index, "resources"],
                    format!(
                        "{} {}: {problem}",
                        gateway.role.as_str(),
                        workload.describe()
                    ),
                );
            }
            continue;
        }
        // `image: auto`: the injector fills the container in; the running pods tell.
        for pod in workload.pods() {
            let running = meshcheck_model::items(pod.spec().get("containers"))
                .enumerate()
                .find(|(_, container)| str_field(container, "name") == Some("istio-proxy"));
            if let Some((index, container)) = running
                && let Some(problem) = requests_problem(container)
            {
                let index = index.to_string();
                sink.report(
                    pod,
                    &["spec", "containers", &index, "resources"],
                    format!(
                        "{} {} (pod {}): {problem}",
                        gateway.role.as_str(),
                        workload.describe(),
                        pod.name()
                    ),
                );
                break;
            }
        }
    }
}
