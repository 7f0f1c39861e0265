use crate::Context;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, str_field};

use crate::facts::authz::{RuleField, Scope, fields_with_values, is_ingress_gateway_labels};
use crate::facts::workloads::service_selector;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds AuthorizationPolicies on an ingress gateway that match client addresses with
    /// `ipBlocks` / `notIpBlocks` (or a `source.ip` condition) while the gateway's
    /// `LoadBalancer`/`NodePort` Service does not preserve client addresses
    /// (`externalTrafficPolicy` is not `Local`).
    ///
    /// ## Why is this bad?
    /// `ipBlocks` match the address of the direct peer. Behind a Service with
    /// `externalTrafficPolicy: Cluster` that peer is a node (kube-proxy rewrites the source), or
    /// the load balancer: an allow list never matches real clients, and a deny list never
    /// blocks them.
    ///
    /// ## How to fix
    /// Use `remoteIpBlocks`, which Istio derives from `X-Forwarded-For` or the PROXY protocol
    /// (configure `numTrustedProxies` / `gatewayTopology` for the gateway), or set
    /// `externalTrafficPolicy: Local` on the gateway Service for L4 load balancers.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   selector:
    ///     matchLabels: {istio: ingressgateway}
    ///   action: ALLOW
    ///   rules:
    ///   - from:
    ///     - source:
    ///         ipBlocks: ["203.0.113.0/24"]    # sees node addresses, not clients
    /// ```
    pub static AUTHORIZATION_GATEWAY_SOURCE_IP = {
        code: "MC221",
        name: "authorization-gateway-source-ip",
        category: Security,
        severity: Warning,
        summary: "Ingress gateway policies should match client addresses with remoteIpBlocks, not ipBlocks",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::Service, Kind::Pod, Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/tasks/security/authorization/authz-ingress/",
        remediation: "Match remoteIpBlocks (with numTrustedProxies or the PROXY protocol configured), or set externalTrafficPolicy: Local on the gateway Service.",
        check: check,
    }
}

fn is_peer_address(field: &RuleField) -> bool {
    match field.section {
        "source" => matches!(field.name, "ipBlocks" | "notIpBlocks"),
        "when" => field.name == "source.ip",
        _ => false,
    }
}

/// The externally reachable gateway Services of the policy's target that rewrite client IPs.
fn rewriting_services<'a>(mesh: &'a Mesh, scope: &Scope) -> Vec<&'a Resource> {
    mesh.of_kind(Kind::Service)
        .filter(|service| {
            let spec = service.spec();
            let external = matches!(str_field(spec, "type"), Some("LoadBalancer" | "NodePort"));
            let preserves = str_field(spec, "externalTrafficPolicy") == Some("Local");
            let Some(selector) = service_selector(service) else {
                return false;
            };
            let targets = match scope {
                Scope::Workloads(namespace, labels) => {
                    service.namespace == *namespace
                        && (matches_labels(selector, labels)
                            || mesh
                                .pods_matching(Some(namespace), labels)
                                .iter()
                                .any(|pod| matches_labels(selector, pod.labels())))
                }
                Scope::Namespace(namespace) => service.namespace == *namespace,
                Scope::Mesh => true,
                Scope::Targets(_) => false,
            };
            external && !preserves && targets && is_ingress_gateway_labels(mesh, selector)
        })
        .collect()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        let fields = fields_with_values(policy, is_peer_address);
        let Some(field) = fields.first() else {
            continue;
        };
        let scope = Scope::of(mesh, policy);
        let services = rewriting_services(mesh, &scope);
        let Some(service) = services.first() else {
            continue;
        };
        sink.report_at(
            policy,
            &field.path(),
            format!(
                "AuthorizationPolicy {}/{} matches {} {:?} on an ingress gateway whose Service {}/{} does not preserve client addresses (externalTrafficPolicy {}): it sees node or load balancer addresses, not clients",
                policy.namespace,
                policy.name(),
                field.name,
                field.values,
                service.namespace,
                service.name(),
                str_field(service.spec(), "externalTrafficPolicy").unwrap_or("Cluster")
            ),
        );
    }
}
