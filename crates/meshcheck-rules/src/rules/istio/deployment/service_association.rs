use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::BTreeMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::value_text;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For every Deployment in the mesh (it has, or will get, an Istio sidecar), looks at the
    /// Services in its namespace that select its pods, and reports when two of them expose the
    /// same port number with different protocols (TCP vs UDP), or send the same target port under
    /// different service ports.
    ///
    /// ## Why is this bad?
    /// The sidecar builds one inbound listener per workload port. Services that disagree about
    /// a port's protocol, or map one container port to several service ports, give Istio
    /// conflicting instructions: one of them wins and traffic through the other may be refused
    /// or handled with the wrong protocol.
    ///
    /// ## How to fix
    /// Make the Services that select the same pods agree: one protocol per port number, and one
    /// service port per target port (or merge the Services).
    ///
    /// ## Example
    /// ```yaml
    /// # Service a: port 8080 -> targetPort 8080
    /// # Service b: port 80   -> targetPort 8080   (same pods)
    /// ```
    pub static SERVICE_ASSOCIATION = {
        code: "MC009",
        name: "deployment-service-association",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Services selecting the same mesh Deployment must agree on port protocols and target ports",
        istio_analyzer: Some("deployment.ServiceAssociationAnalyzer"),
        istio_codes: &["IST0116", "IST0137"],
        inputs: &[Kind::Deployment, Kind::Service, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/deployment/application-requirements/",
        remediation: "Make the Services that select this Deployment's pods use one protocol per port and one service port per target port.",
        check: check,
    }
}

/// Whether a Deployment's pods run with an Istio sidecar, as Istio's analyzers decide it: an
/// `istio-proxy` container in the template, else the template's `sidecar.istio.io/inject` label,
/// else that annotation, else the namespace's `istio-injection=enabled` label.
fn deployment_in_mesh(mesh: &Mesh, deployment: &Resource) -> bool {
    let template = deployment.spec().get("template").unwrap_or(&Value::Null);
    let has_proxy = items(template.at("/spec/containers"))
        .find(|container| str_field(container, "name") == Some("istio-proxy"))
        .and_then(|container| str_field(container, "image"))
        .is_some_and(|image| !image.is_empty());
    if has_proxy {
        return true;
    }
    for field in ["labels", "annotations"] {
        if let Some(value) = template
            .get("metadata")
            .and_then(|metadata| metadata.get(field))
            .and_then(|map| map.get("sidecar.istio.io/inject"))
        {
            return value_text(value) == "true";
        }
    }
    mesh.namespace(&deployment.namespace)
        .is_some_and(|namespace| namespace.label("istio-injection") == Some("enabled"))
}

fn full_name(service: &Resource) -> String {
    format!("{}/{}", service.namespace, service.name())
}

fn port_number(port: &Value) -> i64 {
    match port.get("port") {
        Some(Value::Number(number)) => number.as_i64().unwrap_or(0),
        Some(Value::String(text)) => text.parse().unwrap_or(0),
        _ => 0,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let empty = Map::new();
    for deployment in mesh.of_kind(Kind::Deployment) {
        if deployment.label("gateway.istio.io/managed") == Some("istio.io-mesh-controller")
            || !deployment_in_mesh(mesh, deployment)
        {
            continue;
        }
        let labels = deployment
            .spec()
            .at("/template/metadata/labels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let services = mesh.services_selecting_labels(&deployment.namespace, labels);
        if services.is_empty() {
            continue;
        }
        // port -> protocol -> services; target port -> service port -> service.
        let mut protocols: BTreeMap<i64, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        let mut targets: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
        for service in &services {
            let name = full_name(service);
            for port in items(service.spec().get("ports")) {
                let number = port_number(port);
                let protocol = str_field(port, "protocol")
                    .filter(|protocol| !protocol.is_empty())
                    .unwrap_or("TCP");
                protocols
                    .entry(number)
                    .or_default()
                    .entry(protocol.to_owned())
                    .or_default()
                    .push(name.clone());
                let target = match port.get("targetPort") {
                    Some(Value::String(text)) => text.to_string(),
                    Some(Value::Number(number)) => number.to_string(),
                    _ => String::new(),
                };
                let target = if target.is_empty() || target == "0" {
                    number.to_string()
                } else {
                    target
                };
                targets
                    .entry(target)
                    .or_default()
                    .insert(number, name.clone());
            }
        }
        let deployment_name = deployment.name();
        for (port, by_protocol) in &protocols {
            if by_protocol.len() < 2 {
                continue;
            }
            let mut names: Vec<&str> = by_protocol.values().flatten().map(String::as_str).collect();
            names.sort_unstable();
            sink.istio(
                "IST0116",
                deployment,
                &["metadata", "name"],
                format!(
                    "This deployment {deployment_name} is associated with multiple services using port {port} but different protocols: [{}]",
                    names.join(" ")
                ),
            );
        }
        for (target, by_port) in &targets {
            if by_port.len() < 2 {
                continue;
            }
            let mut names: Vec<&str> = by_port.values().map(String::as_str).collect();
            names.sort_unstable();
            let ports: Vec<String> = by_port.keys().map(i64::to_string).collect();
            sink.istio(
                "IST0137",
                deployment,
                &["metadata", "name"],
                format!(
                    "This deployment {deployment_name} is associated with multiple services [{}] using targetPort {target:?} but different ports: [{}].",
                    names.join(" "),
                    ports.join(" ")
                ),
            );
        }
    }
}
