use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::availability::budget_problem;
use crate::facts::planes::describe_plane;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports istiod Deployments that no PodDisruptionBudget (`policy/v1` or `v1beta1`)
    /// covers, and budgets that allow no voluntary eviction at all for istiod's replica count
    /// (for example `minAvailable: 1` with a single replica, or `maxUnavailable: 0`).
    ///
    /// ## Why is this bad?
    /// Without a budget, draining nodes during a cluster upgrade can evict every istiod replica
    /// at once. A budget that allows no eviction is as bad the other way: node drains hang
    /// until someone deletes the pod by hand, which blocks automated node upgrades.
    ///
    /// ## How to fix
    /// Run at least two replicas and keep a budget that allows one to be evicted (the istiod
    /// chart's default `minAvailable: 1` is right with two or more replicas).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata: {name: istiod, namespace: istio-system}
    /// spec:
    ///   minAvailable: 1
    ///   selector: {matchLabels: {app: istiod}}
    /// ```
    pub static ISTIOD_DISRUPTION_BUDGET = {
        code: "MC109",
        name: "istiod-disruption-budget",
        category: Platform,
        severity: Warning,
        summary: "istiod should have a PodDisruptionBudget that still allows evictions",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::PodDisruptionBudget, Kind::HorizontalPodAutoscaler],
        docs_url: "https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
        remediation: "Give istiod at least two replicas and a PodDisruptionBudget with minAvailable: 1 (or maxUnavailable: 1).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for plane in control_planes(mesh) {
        if let Some((problem, budget)) = budget_problem(&plane.workload) {
            let message = format!("{}: {problem}", describe_plane(&plane));
            match budget {
                Some(budget) => sink.report(budget, &["spec"], message),
                None => sink.report(plane.workload.resource, &[], message),
            };
        }
    }
}
