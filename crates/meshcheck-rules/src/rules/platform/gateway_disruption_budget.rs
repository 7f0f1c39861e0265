use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::gateways;

use crate::facts::availability::budget_problem;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports gateway workloads (ingress, egress, east-west gateways and waypoints) that no
    /// PodDisruptionBudget (`policy/v1` or `v1beta1`) covers, and budgets that allow no
    /// voluntary eviction for the gateway's replica count.
    ///
    /// ## Why is this bad?
    /// Without a budget, a node pool upgrade may drain every gateway replica at the same time
    /// and cut all traffic through it. A budget that allows no eviction blocks the drain
    /// instead, stalling cluster upgrades.
    ///
    /// ## How to fix
    /// Add a PodDisruptionBudget selecting the gateway pods with `minAvailable: 1` (or a
    /// percentage) and run enough replicas for it to allow evictions.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata: {name: istio-ingressgateway, namespace: istio-system}
    /// spec:
    ///   minAvailable: 1
    ///   selector: {matchLabels: {istio: ingressgateway}}
    /// ```
    pub static GATEWAY_DISRUPTION_BUDGET = {
        code: "MC113",
        name: "gateway-disruption-budget",
        category: Platform,
        severity: Warning,
        summary: "Gateways should have a PodDisruptionBudget that still allows evictions",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::PodDisruptionBudget, Kind::HorizontalPodAutoscaler],
        docs_url: "https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
        remediation: "Add a PodDisruptionBudget for the gateway (minAvailable: 1) and run at least two replicas.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in gateways(mesh) {
        if let Some((problem, budget)) = budget_problem(&gateway.workload) {
            let message = format!(
                "{} {}: {problem}",
                gateway.role.as_str(),
                gateway.workload.describe()
            );
            match budget {
                Some(budget) => sink.report(budget, &["spec"], message),
                None => sink.report(gateway.workload.resource, &[], message),
            };
        }
    }
}
