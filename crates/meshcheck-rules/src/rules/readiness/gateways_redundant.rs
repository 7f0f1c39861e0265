use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{GatewayRole, gateways};

use crate::facts::availability::{high_availability_problems, spread_problem};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "gateways redundant": every ingress and east-west gateway
    /// Deployment runs at least two replicas (or autoscales from two), has a
    /// PodDisruptionBudget that allows one eviction, and does not have all its running pods on
    /// one node. Fires once per gateway that fails, listing what is missing. Gateways whose
    /// Deployment is not in the input are not judged.
    ///
    /// ## Why is this bad?
    /// The ingress gateway is the front door: a single replica, an unprotected drain or
    /// replicas sharing a node turn routine maintenance into an outage for every user.
    ///
    /// ## How to fix
    /// 1. Run at least two replicas (`replicaCount` / `autoscaling.minReplicas`).
    /// 2. Add a PodDisruptionBudget with `minAvailable: 1`.
    /// 3. Spread the replicas over nodes and zones (topology spread constraints).
    pub static READINESS_GATEWAYS_REDUNDANT = {
        code: "MC607",
        name: "readiness-gateways-redundant",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: ingress gateways must be redundant (2+ replicas, disruption budget, spread)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::HorizontalPodAutoscaler, Kind::PodDisruptionBudget, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/gateway/",
        remediation: "1. Run the gateway with at least 2 replicas. 2. Add a PodDisruptionBudget (minAvailable: 1). 3. Spread its replicas across nodes and zones.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in gateways(mesh) {
        if !matches!(gateway.role, GatewayRole::Ingress | GatewayRole::EastWest) {
            continue;
        }
        let workload = &gateway.workload;
        let Some(controller) = workload.controller else {
            continue;
        };
        let mut problems = high_availability_problems(workload);
        problems.extend(
            spread_problem(workload)
                .filter(|(_, co_located)| *co_located)
                .map(|(problem, _)| problem),
        );
        if problems.is_empty() {
            continue;
        }
        sink.report(
            controller,
            &["spec", "replicas"],
            format!(
                "Gateway not redundant: {} {}: {}",
                gateway.role.as_str(),
                workload.describe(),
                problems.join("; ")
            ),
        );
    }
}
