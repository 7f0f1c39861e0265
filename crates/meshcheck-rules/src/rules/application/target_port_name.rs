use crate::Context;
use std::collections::HashMap;

use meshcheck_input::Value;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, items, str_field};

use crate::facts::workloads::{Workload, workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For every Service port whose `targetPort` is a name (`targetPort: http-api`), checks that
    /// the workloads the Service selects (controller templates and Pods of the input) declare a
    /// container port with that name. Services that select no workload of the input are left
    /// alone.
    ///
    /// ## Why is this bad?
    /// Kubernetes resolves a named target port on each pod; a pod without a container port of
    /// that name contributes no endpoint for the Service port. The Service then has no endpoints
    /// on that port, and the sidecars of its callers answer with `503 UH (no healthy upstream)`,
    /// although the pods run and are ready.
    ///
    /// ## How to fix
    /// Name the container port as the Service's `targetPort` (`ports: [{name: http-api,
    /// containerPort: 8080}]`), or use the port number as `targetPort`.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   ports:
    ///   - name: http
    ///     port: 80
    ///     targetPort: http-api     # the container port is named "http"
    /// ```
    pub static TARGET_PORT_NAME = {
        code: "MC418",
        name: "service-target-port-unresolved",
        category: ApplicationPolicy,
        severity: Error,
        summary: "A Service's named targetPort must be a container port name of the pods it selects",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Service, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::ReplicaSet, Kind::Pod],
        docs_url: "https://kubernetes.io/docs/concepts/services-networking/service/#field-spec-ports",
        remediation: "Name a container port of the selected pods like the Service's targetPort, or use the port number.",
        check: check,
    }
}

fn declares_port(workload: &Workload, name: &str) -> bool {
    workload
        .containers()
        .iter()
        .flat_map(|container| items(container.get("ports")))
        .any(|port| str_field(port, "name") == Some(name))
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let any_named = mesh.of_kind(Kind::Service).any(|service| {
        items(service.spec().get("ports")).any(|port| {
            port.get("targetPort")
                .and_then(Value::as_str)
                .is_some_and(|name| name.parse::<u32>().is_err())
        })
    });
    if !any_named {
        return;
    }
    let mut by_namespace: HashMap<&str, Vec<Workload>> = HashMap::new();
    for workload in workloads(mesh) {
        if !matches!(workload.resource.kind, Kind::Job | Kind::CronJob) {
            by_namespace
                .entry(workload.namespace())
                .or_default()
                .push(workload);
        }
    }
    for service in mesh.of_kind(Kind::Service) {
        let Some(selector) = service
            .spec()
            .get("selector")
            .and_then(Value::as_object)
            .filter(|selector| !selector.is_empty())
        else {
            continue;
        };
        let selected: Vec<&Workload> = by_namespace
            .get(service.namespace.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|workload| matches_labels(selector, workload.labels()))
            .collect();
        if selected.is_empty() {
            continue;
        }
        let ports = service.spec().get("ports").and_then(Value::as_array);
        for (index, port) in ports.into_iter().flatten().enumerate() {
            let Some(name) = port
                .get("targetPort")
                .and_then(Value::as_str)
                .filter(|name| name.parse::<u32>().is_err())
            else {
                continue;
            };
            let missing: Vec<String> = selected
                .iter()
                .filter(|workload| !declares_port(workload, name))
                .map(|workload| workload.display())
                .collect();
            if missing.is_empty() {
                continue;
            }
            let number = port.get("port").map(Value::to_string).unwrap_or_default();
            let scope = if missing.len() == selected.len() {
                "none of the selected workloads".to_owned()
            } else {
                format!(
                    "{} of the {} selected workloads",
                    missing.len(),
                    selected.len()
                )
            };
            let index = index.to_string();
            sink.report(
                service,
                &["spec", "ports", &index, "targetPort"],
                format!(
                    "Port {number} of Service {} targets container port {name:?}, but {scope} ({}) declare a container port with that name: those pods give the Service no endpoint on this port",
                    service.display_name(),
                    missing.join(", ")
                ),
            );
        }
    }
}
