use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::availability::requests_problem;
use crate::facts::planes::{describe_plane, report_workload};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports istiod containers (`discovery`) without a CPU or memory request.
    ///
    /// ## Why is this bad?
    /// Without requests the scheduler places istiod as if it needed nothing: it lands on busy
    /// nodes, is throttled under load, is among the first pods evicted under memory pressure,
    /// and a HorizontalPodAutoscaler on CPU utilisation cannot work at all.
    ///
    /// ## How to fix
    /// Set requests sized for the mesh (the istiod chart defaults to `cpu: 500m`,
    /// `memory: 2048Mi`) under `resources` in the Helm values.
    pub static ISTIOD_RESOURCE_REQUESTS = {
        code: "MC111",
        name: "istiod-resource-requests",
        category: Platform,
        severity: Warning,
        summary: "istiod must request CPU and memory",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/#control-plane-performance",
        remediation: "Set CPU and memory requests for istiod (resources.requests in the istiod Helm values).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for plane in control_planes(mesh) {
        let Some((index, container)) = plane.discovery_container() else {
            continue;
        };
        if let Some(problem) = requests_problem(container) {
            let index = index.to_string();
            report_workload(
                sink,
                &plane.workload,
                &["containers", &index, "resources"],
                format!(
                    "{}: {problem}, so it is scheduled and evicted as if it needed nothing",
                    describe_plane(&plane)
                ),
            );
        }
    }
}
