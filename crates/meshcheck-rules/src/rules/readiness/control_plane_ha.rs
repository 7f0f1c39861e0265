use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::availability::high_availability_problems;
use crate::facts::planes::describe_plane;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Go-live checklist item "control plane highly available": every istiod Deployment runs
    /// at least two replicas (or an autoscaler with `minReplicas` of 2 or more) and has a
    /// PodDisruptionBudget that still allows one eviction. Fires once per istiod that fails,
    /// listing what is missing. Silent when the input holds no istiod Deployment (a managed
    /// or external control plane cannot be judged from here).
    ///
    /// ## Why is this bad?
    /// A single istiod, or one that a node drain can evict entirely, makes every restart an
    /// outage of injection, certificate renewal and configuration distribution.
    ///
    /// ## How to fix
    /// 1. Set `replicaCount: 2` (or `autoscaleMin: 2`) in the istiod Helm values.
    /// 2. Keep the chart's PodDisruptionBudget (`minAvailable: 1`).
    /// 3. Spread the replicas over nodes and zones (topology spread constraints).
    pub static READINESS_CONTROL_PLANE_HA = {
        code: "MC601",
        name: "readiness-control-plane-ha",
        category: Readiness,
        severity: Warning,
        summary: "Go-live: the control plane must be highly available (2+ replicas and a PodDisruptionBudget)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::HorizontalPodAutoscaler, Kind::PodDisruptionBudget],
        docs_url: "https://istio.io/latest/docs/ops/deployment/deployment-models/#control-plane-models",
        remediation: "1. Run istiod with at least 2 replicas (replicaCount or autoscaleMin >= 2). 2. Give it a PodDisruptionBudget with minAvailable: 1. 3. Spread replicas across nodes and zones.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for plane in control_planes(mesh) {
        let Some(controller) = plane.workload.controller else {
            continue;
        };
        let problems = high_availability_problems(&plane.workload);
        if problems.is_empty() {
            continue;
        }
        sink.report(
            controller,
            &["spec", "replicas"],
            format!(
                "Control plane not highly available: {}: {}",
                describe_plane(&plane),
                problems.join("; ")
            ),
        );
    }
}
