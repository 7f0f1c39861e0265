use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::availability::replica_problem_with_controller;
use crate::facts::planes::describe_plane;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports istiod Deployments that can run with fewer than two replicas: `spec.replicas`
    /// below 2 with no HorizontalPodAutoscaler, or an autoscaler whose `minReplicas` is below 2.
    ///
    /// ## Why is this bad?
    /// istiod distributes configuration, signs workload certificates and runs the injection and
    /// validation webhooks. With one replica, every restart, eviction or node loss stops all
    /// of that: new pods cannot be injected (or are refused), configuration changes do not
    /// propagate and certificates cannot be renewed.
    ///
    /// ## How to fix
    /// Run at least two replicas: set `replicaCount`/`autoscaleMin` to 2 or more in the
    /// istiod Helm values (or `spec.components.pilot.k8s.replicaCount` /
    /// `hpaSpec.minReplicas` with istioctl).
    ///
    /// ## Example
    /// ```yaml
    /// # Helm values for the istiod chart
    /// autoscaleMin: 2
    /// replicaCount: 2
    /// ```
    pub static ISTIOD_REPLICAS = {
        code: "MC108",
        name: "istiod-replicas",
        category: Platform,
        severity: Warning,
        summary: "istiod should run at least two replicas",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::HorizontalPodAutoscaler],
        docs_url: "https://istio.io/latest/docs/ops/deployment/deployment-models/#control-plane-models",
        remediation: "Run istiod with at least two replicas (replicaCount / autoscaleMin >= 2 in the istiod Helm values).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for plane in control_planes(mesh) {
        if let Some((controller, problem)) = replica_problem_with_controller(&plane.workload) {
            sink.report(
                controller,
                &["spec", "replicas"],
                format!(
                    "{} is not highly available: {problem}; while it restarts, injection, certificate signing and configuration pushes stop",
                    describe_plane(&plane)
                ),
            );
        }
    }
}
