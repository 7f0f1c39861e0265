use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{control_planes, gateways};

use crate::facts::availability::spread_problem;
use crate::facts::planes::{describe_plane, report_workload};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For istiod and gateway workloads with two or more replicas, reports running pods that
    /// all sit on one node (a warning), and pod templates with neither pod anti-affinity nor
    /// topology spread constraints (info: the scheduler's default spreading is best effort).
    ///
    /// ## Why is this bad?
    /// Replicas exist to survive the loss of a node or zone. Replicas packed on one node fail
    /// together, and without a spreading rule nothing prevents that after a rescheduling.
    ///
    /// ## How to fix
    /// Add `topologySpreadConstraints` over `kubernetes.io/hostname` (and
    /// `topology.kubernetes.io/zone`), or a preferred pod anti-affinity on the workload's
    /// labels, then restart it so the pods are rescheduled.
    ///
    /// ## Example
    /// ```yaml
    /// topologySpreadConstraints:
    /// - maxSkew: 1
    ///   topologyKey: topology.kubernetes.io/zone
    ///   whenUnsatisfiable: ScheduleAnyway
    ///   labelSelector: {matchLabels: {istio: ingressgateway}}
    /// ```
    pub static REPLICA_SPREAD = {
        code: "MC115",
        name: "control-plane-and-gateway-spread",
        category: Platform,
        severity: Warning,
        summary: "istiod and gateway replicas should be spread across nodes and zones",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::Pod, Kind::HorizontalPodAutoscaler],
        docs_url: "https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/",
        remediation: "Add topologySpreadConstraints (hostname and zone) or pod anti-affinity to the workload and let its pods reschedule.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let planes = control_planes(mesh);
    let gateways = gateways(mesh);
    let workloads = planes
        .iter()
        .map(|plane| (describe_plane(plane), &plane.workload))
        .chain(gateways.iter().map(|gateway| {
            (
                format!("{} {}", gateway.role.as_str(), gateway.workload.describe()),
                &gateway.workload,
            )
        }));
    for (name, workload) in workloads {
        let Some((problem, co_located)) = spread_problem(workload) else {
            continue;
        };
        let finding = report_workload(sink, workload, &[], format!("{name}: {problem}"));
        if !co_located {
            finding.severity(Severity::Info);
        }
    }
}
