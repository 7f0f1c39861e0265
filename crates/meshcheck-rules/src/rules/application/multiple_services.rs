use crate::Context;
use meshcheck_model::{Kind, Resource, str_field};

use crate::facts::workloads::mesh_workloads;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports mesh workloads whose pods are selected by more than one (non-headless) Service of
    /// their namespace. A headless Service beside a regular one (the usual StatefulSet pattern)
    /// is not counted.
    ///
    /// ## Why is this bad?
    /// A sidecar has one inbound configuration per pod port, not per Service: when two Services
    /// send traffic to the same pods, Istio attributes inbound telemetry to one of them, applies
    /// the port protocol of one of them, and authorization policies written against one
    /// Service's name or port silently apply to the other's traffic too. istio-vet flagged pods
    /// in several Services for this reason; conflicting ports are an error (MC009).
    ///
    /// ## How to fix
    /// Give each set of pods one Service, or make the Services' selectors disjoint (add a label
    /// such as `component` to tell the pods apart).
    ///
    /// ## Example
    /// ```yaml
    /// # Services "reviews" and "reviews-internal" both select app: reviews
    /// ```
    pub static MULTIPLE_SERVICES = {
        code: "MC411",
        name: "workload-multiple-services",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Mesh pods should be selected by one Service only",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Service, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/deployment/application-requirements/",
        remediation: "Select each workload's pods with one Service, or make the Service selectors disjoint.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for workload in mesh_workloads(mesh) {
        if matches!(workload.resource.kind, Kind::Job | Kind::CronJob) {
            continue;
        }
        // Non-headless Services with a selector that select these pods.
        let selecting: Vec<&Resource> = mesh
            .services_selecting_labels(workload.namespace(), workload.labels())
            .into_iter()
            .filter(|service| {
                let spec = service.spec();
                str_field(spec, "clusterIP") != Some("None")
                    && str_field(spec, "type") != Some("ExternalName")
            })
            .collect();
        if selecting.len() < 2 {
            continue;
        }
        let mut names: Vec<&str> = selecting.iter().map(|service| service.name()).collect();
        names.sort_unstable();
        let path = workload.path(&["metadata", "labels"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "The pods of {} are selected by {} Services ({}): inbound telemetry, port protocols and Service-scoped policies are attributed to only one of them",
                workload.display(),
                names.len(),
                names.join(", ")
            ),
        );
    }
}
