use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::Kind;
use meshcheck_model::inventory::{control_planes, gateways, node_agents};

use crate::facts::planes::describe_plane;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads the status the collector recorded for Istio's own workloads: istiod and gateway
    /// Deployments with fewer available replicas than desired (an error when none is
    /// available), and ztunnel or istio-cni DaemonSets with pods not ready on some nodes (an
    /// error). Manifests without `status` are not judged.
    ///
    /// ## Why is this bad?
    /// No available istiod means no injection, no certificate renewal and no configuration
    /// updates; an unavailable gateway drops the traffic it carries; a node without a ready
    /// ztunnel or CNI agent has pods without mesh networking (ambient traffic fails, new pods
    /// cannot start with CNI).
    ///
    /// ## How to fix
    /// Look at the pods' events and logs (`kubectl describe`, `kubectl logs`) and at
    /// `kubectl rollout status`; fix scheduling, image or configuration problems and make sure
    /// the node agents tolerate every node's taints.
    pub static ISTIO_COMPONENT_AVAILABILITY = {
        code: "MC122",
        name: "istio-component-availability",
        category: Platform,
        severity: Warning,
        summary: "istiod, gateways and node agents must have all their replicas available",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::DaemonSet, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/ops/diagnostic-tools/",
        remediation: "Find why replicas are unavailable (kubectl describe / logs / rollout status) and fix it.",
        check: check,
    }
}

fn status_number(status: &Value, field: &str) -> i64 {
    status.get(field).and_then(Value::as_i64).unwrap_or(0)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let planes = control_planes(mesh);
    let gateways = gateways(mesh);
    let deployments = planes
        .iter()
        .map(|plane| (describe_plane(plane), &plane.workload))
        .chain(gateways.iter().map(|gateway| {
            (
                format!("{} {}", gateway.role.as_str(), gateway.workload.describe()),
                &gateway.workload,
            )
        }));
    for (name, workload) in deployments {
        let Some(controller) = workload.controller else {
            continue;
        };
        if controller.kind == Kind::DaemonSet {
            continue;
        }
        let (Some(available), Some(desired)) = (workload.available_replicas(), workload.replicas())
        else {
            continue;
        };
        if desired == 0 || available >= desired {
            continue;
        }
        let finding = sink.report(
            controller,
            &["status"],
            format!("{name} has {available} of {desired} replicas available"),
        );
        if available == 0 {
            finding.severity(Severity::Error);
        }
    }
    for (agent, daemon_set) in node_agents(mesh) {
        let Some(status) = daemon_set.value().get("status").filter(|s| s.is_object()) else {
            continue;
        };
        let desired = status_number(status, "desiredNumberScheduled");
        let ready = status_number(status, "numberReady");
        let misscheduled = status_number(status, "numberMisscheduled");
        if desired == 0 || ready >= desired {
            continue;
        }
        sink.report(
            daemon_set,
            &["status"],
            format!(
                "{} DaemonSet {}/{} has {ready} of {desired} pods ready{}: pods on the other nodes have no working mesh networking",
                agent.as_str(),
                daemon_set.namespace,
                daemon_set.name(),
                if misscheduled > 0 {
                    format!(" ({misscheduled} misscheduled)")
                } else {
                    String::new()
                }
            ),
        )
        .severity(Severity::Error);
    }
}
