use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::control_planes;

use crate::facts::planes::{describe_plane, replicas_text};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports istiod Deployments that no HorizontalPodAutoscaler (`autoscaling/v2` or `v1`)
    /// targets.
    ///
    /// ## Why is this bad?
    /// istiod's load grows with the number of proxies, services and configuration changes, and
    /// peaks when many pods restart at once (a rollout, a node pool upgrade). A fixed replica
    /// count sized for the quiet hours makes configuration pushes slow exactly when they matter.
    ///
    /// ## How to fix
    /// Enable autoscaling in the istiod chart (`autoscaleEnabled: true`, `autoscaleMin` of at
    /// least 2, `autoscaleMax` sized for peaks) and give istiod CPU requests, which the
    /// autoscaler needs.
    pub static ISTIOD_AUTOSCALER = {
        code: "MC110",
        name: "istiod-autoscaler",
        category: Platform,
        severity: Info,
        summary: "istiod should be autoscaled",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::HorizontalPodAutoscaler],
        docs_url: "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/",
        remediation: "Enable istiod autoscaling (autoscaleEnabled: true, autoscaleMin >= 2) and set CPU requests.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for plane in control_planes(mesh) {
        let Some(controller) = plane.workload.controller else {
            continue;
        };
        if plane.workload.autoscaler().is_some() {
            continue;
        }
        sink.report(
            controller,
            &["spec", "replicas"],
            format!(
                "{} has no HorizontalPodAutoscaler: it stays at {} however many proxies it serves",
                describe_plane(&plane),
                replicas_text(plane.workload.replicas().unwrap_or(1))
            ),
        );
    }
}
