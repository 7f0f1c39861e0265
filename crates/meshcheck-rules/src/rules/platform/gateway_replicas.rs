use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::gateways;

use crate::facts::availability::replica_problem_with_controller;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports gateway workloads (ingress, egress and east-west gateways, waypoints: Istio
    /// gateway Deployments and those the Gateway API controller manages) that can run with fewer
    /// than two replicas: `spec.replicas` below 2 with no HorizontalPodAutoscaler, or an
    /// autoscaler whose `minReplicas` is below 2.
    ///
    /// ## Why is this bad?
    /// Every request through the gateway depends on it. With one replica, a rollout, an
    /// eviction or a node failure is an outage for all traffic entering (or leaving) the mesh
    /// through it.
    ///
    /// ## How to fix
    /// Run at least two replicas (Helm gateway chart: `replicaCount`, `autoscaling.minReplicas`;
    /// Gateway API: an HPA targeting the generated Deployment, or
    /// `spec.infrastructure.parametersRef`), together with a PodDisruptionBudget.
    pub static GATEWAY_REPLICAS = {
        code: "MC112",
        name: "gateway-replicas",
        category: Platform,
        severity: Warning,
        summary: "Gateways should run at least two replicas",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::HorizontalPodAutoscaler],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/gateway/",
        remediation: "Run the gateway with at least two replicas (replicaCount or autoscaling.minReplicas >= 2) and a PodDisruptionBudget.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in gateways(mesh) {
        if let Some((controller, problem)) = replica_problem_with_controller(&gateway.workload) {
            sink.report(
                controller,
                &["spec", "replicas"],
                format!(
                    "{} {} is a single point of failure: {problem}",
                    gateway.role.as_str(),
                    gateway.workload.describe()
                ),
            );
        }
    }
}
