use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Resource, items, str_field};

use crate::facts::destination_tls::server_mode;
use crate::facts::mtls::{MtlsMode, PeerAuthentications};
use crate::facts::workloads::{WorkloadIndex, service_in_mesh};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Kubernetes `Ingress` resources handled by another controller than Istio (their
    /// `ingressClassName` or `kubernetes.io/ingress.class` is not `istio`) whose backends are
    /// Services of mesh workloads.
    ///
    /// ## Why is this bad?
    /// Such traffic enters the mesh beside the Istio ingress gateway: the gateway's TLS settings,
    /// AuthorizationPolicies and JWT checks never see it. Unless the controller itself runs with
    /// a sidecar, it connects in plaintext: against STRICT mTLS the requests fail (502/503),
    /// under PERMISSIVE they reach the workload unauthenticated, with no identity for
    /// authorization.
    ///
    /// ## How to fix
    /// Expose the service through the Istio ingress gateway (Gateway + VirtualService, or a
    /// Gateway API Gateway), or run the ingress controller with a sidecar configured to send
    /// traffic to the mesh (`traffic.sidecar.istio.io/includeInboundPorts: ""`).
    ///
    /// ## Example
    /// ```yaml
    /// kind: Ingress
    /// spec:
    ///   ingressClassName: nginx
    ///   rules:
    ///   - host: shop.example.com
    ///     http:
    ///       paths:
    ///       - path: /
    ///         pathType: Prefix
    ///         backend: {service: {name: frontend, port: {number: 80}}}   # a mesh workload
    /// ```
    pub static KUBERNETES_INGRESS_TO_MESH = {
        code: "MC317",
        name: "kubernetes-ingress-to-mesh",
        category: IngressEgress,
        severity: Warning,
        summary: "Non-Istio Ingress resources should not route directly to mesh workloads",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Ingress, Kind::Service, Kind::Pod, Kind::Deployment, Kind::Namespace, Kind::PeerAuthentication],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/",
        remediation: "Expose the service through the Istio ingress gateway, or run the ingress controller with a sidecar.",
        check: check,
    }
}

fn ingress_class(ingress: &Resource) -> Option<&str> {
    str_field(ingress.spec(), "ingressClassName")
        .or_else(|| ingress.annotation("kubernetes.io/ingress.class"))
}

/// The Service a backend names (`service.name` in v1, `serviceName` in v1beta1).
fn service_name(backend: &Value) -> Option<&str> {
    backend
        .at("/service/name")
        .or_else(|| backend.get("serviceName"))
        .and_then(Value::as_str)
}

/// Each backend Service name of an Ingress with the path of its field.
fn backends(ingress: &Resource) -> Vec<(&str, Vec<String>)> {
    let spec = ingress.spec();
    let mut found = Vec::new();
    for key in ["defaultBackend", "backend"] {
        if let Some(name) = spec.get(key).and_then(service_name) {
            found.push((name, vec!["spec".to_owned(), key.to_owned()]));
        }
    }
    for (rule_index, rule) in items(spec.get("rules")).enumerate() {
        for (path_index, path) in items(rule.at("/http/paths")).enumerate() {
            if let Some(name) = path.get("backend").and_then(service_name) {
                found.push((
                    name,
                    vec![
                        "spec".to_owned(),
                        "rules".to_owned(),
                        rule_index.to_string(),
                        "http".to_owned(),
                        "paths".to_owned(),
                        path_index.to_string(),
                        "backend".to_owned(),
                    ],
                ));
            }
        }
    }
    found
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if mesh.count(Kind::Ingress) == 0 {
        return;
    }
    let index = WorkloadIndex::new(mesh);
    let policies = PeerAuthentications::new(mesh);
    for ingress in mesh.of_kind(Kind::Ingress) {
        let class = ingress_class(ingress);
        if class.is_some_and(|class| class == "istio") {
            continue;
        }
        let mut reported: Vec<&str> = Vec::new();
        for (name, path) in backends(ingress) {
            if reported.contains(&name) {
                continue;
            }
            let Some(service) = mesh.get(Kind::Service, &ingress.namespace, name) else {
                continue;
            };
            if !service_in_mesh(mesh, service) {
                continue;
            }
            reported.push(name);
            let strict = server_mode(mesh, &index, &policies, service, None)
                .is_some_and(|effective| effective.mode == MtlsMode::Strict);
            let consequence = if strict {
                "it requires mutual TLS, so requests from a controller without sidecar fail"
            } else {
                "requests reach it beside the Istio gateway, in plaintext and without a peer identity"
            };
            let controller = class.map_or_else(
                || "the default ingress controller".to_owned(),
                |class| format!("ingress class {class}"),
            );
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            sink.report(
                ingress,
                &path,
                format!(
                    "Ingress {}/{} ({controller}) routes to Service {name}, a mesh workload: {consequence}",
                    ingress.namespace,
                    ingress.name()
                ),
            );
        }
    }
}
