use crate::Context;
use std::collections::{HashMap, HashSet};

use meshcheck_input::Value;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Protocol, Resource, items, str_field};

use crate::facts::authz::{Action, RuleField, Scope, fields_with_values};
use crate::facts::workloads::{WorkloadIndex, service_selector, services_by_namespace};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds ALLOW and DENY AuthorizationPolicies whose rules use HTTP-only fields (`methods`,
    /// `paths`, `hosts` and their `not` forms, `requestPrincipals`, `request.*` conditions) on
    /// workloads that only serve TCP: every port of every Service in front of them is declared
    /// TCP, TLS, MongoDB, Redis or MySQL (by `appProtocol`, name prefix or well-known port).
    ///
    /// ## Why is this bad?
    /// On TCP traffic there is no method, path or header to look at. Istio drops the rule
    /// from an ALLOW policy (those connections are then denied) and drops the HTTP-only fields
    /// from a DENY rule, so it denies every connection that matches the rest of the rule.
    /// Either way the policy does something else than it says.
    ///
    /// ## How to fix
    /// Match TCP attributes only (`principals`, `namespaces`, `ipBlocks`, `ports`), or declare
    /// the port's real protocol (`http-`/`grpc-` name or `appProtocol`) if it serves HTTP.
    ///
    /// ## Example
    /// ```yaml
    /// # Service mongodb: port 27017 named "mongo"
    /// spec:
    ///   selector:
    ///     matchLabels: {app: mongodb}
    ///   rules:
    ///   - to:
    ///     - operation:
    ///         methods: ["GET"]    # MongoDB speaks TCP: never matches
    /// ```
    pub static AUTHORIZATION_HTTP_FIELDS_ON_TCP = {
        code: "MC227",
        name: "authorization-http-fields-on-tcp",
        category: Security,
        severity: Warning,
        summary: "AuthorizationPolicies for TCP-only workloads must not rely on HTTP-only fields",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::AuthorizationPolicy, Kind::Service, Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/",
        remediation: "Match TCP attributes only (principals, namespaces, ipBlocks, ports), or declare the port's real protocol if it serves HTTP.",
        check: check,
    }
}

fn http_only(field: &RuleField) -> bool {
    match field.section {
        "operation" => matches!(
            field.name,
            "methods" | "notMethods" | "paths" | "notPaths" | "hosts" | "notHosts"
        ),
        "source" => matches!(field.name, "requestPrincipals" | "notRequestPrincipals"),
        "when" => field.name.starts_with("request."),
        _ => false,
    }
}

fn port_protocol(port: &Value) -> Protocol {
    Protocol::of_service_port(
        port.get("port").and_then(Value::as_i64).unwrap_or(0),
        str_field(port, "name").unwrap_or_default(),
        str_field(port, "protocol"),
        str_field(port, "appProtocol"),
    )
}

/// The Services in front of the workloads a policy selects (namespace or selector scope).
fn fronting_services<'a>(
    mesh: &Mesh,
    services: &HashMap<&str, Vec<&'a Resource>>,
    index: &WorkloadIndex,
    policy: &Resource,
) -> Vec<&'a Resource> {
    let scope = Scope::of(mesh, policy);
    if !matches!(scope, Scope::Namespace(_) | Scope::Workloads(..)) {
        return Vec::new();
    }
    let targets = index.in_scope(&scope);
    services
        .get(policy.namespace.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|service| {
            service_selector(service).is_some_and(|selector| {
                match scope {
                    // Without workloads in the input, a Service whose selector the policy's
                    // selector covers stands for them.
                    Scope::Workloads(namespace, labels) if targets.is_empty() => {
                        service.namespace == namespace && matches_labels(labels, selector)
                    }
                    _ => targets.iter().any(|workload| {
                        workload.namespace() == service.namespace
                            && matches_labels(selector, workload.labels())
                    }),
                }
            })
        })
        .collect()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let services = services_by_namespace(mesh);
    // A policy can only be reported where some Service serves a TCP port: skip the others
    // before resolving what they select.
    let namespaces_with_tcp: HashSet<&str> = services
        .iter()
        .filter(|(_, services)| {
            services.iter().any(|service| {
                items(service.spec().get("ports")).any(|port| port_protocol(port).is_tcp())
            })
        })
        .map(|(namespace, _)| *namespace)
        .collect();
    if namespaces_with_tcp.is_empty() {
        return;
    }
    let index = WorkloadIndex::new(mesh);
    for policy in mesh.of_kind(Kind::AuthorizationPolicy) {
        if !namespaces_with_tcp.contains(policy.namespace.as_str()) {
            continue;
        }
        let action = Action::of(policy);
        if !matches!(action, Action::Allow | Action::Deny) {
            continue;
        }
        let fields = fields_with_values(policy, http_only);
        let Some(field) = fields.first() else {
            continue;
        };
        let services = fronting_services(mesh, &services, &index, policy);
        let ports: Vec<(String, Protocol)> = services
            .iter()
            .flat_map(|service| {
                items(service.spec().get("ports")).map(move |port| {
                    (
                        format!(
                            "{}:{}",
                            service.name(),
                            port.get("port").map(Value::to_string).unwrap_or_default()
                        ),
                        port_protocol(port),
                    )
                })
            })
            .collect();
        if ports.is_empty() || !ports.iter().all(|(_, protocol)| protocol.is_tcp()) {
            continue;
        }
        let effect = if action == Action::Allow {
            "Istio drops such rules for TCP traffic, so the connections they were meant to allow are denied"
        } else {
            "Istio ignores these fields on TCP traffic, so the rule denies every connection matching the rest of it"
        };
        let listed: Vec<&str> = ports.iter().map(|(port, _)| port.as_str()).collect();
        sink.report_at(
            policy,
            &field.path(),
            format!(
                "{} AuthorizationPolicy {}/{} matches HTTP-only field {} on workloads that serve only TCP ({}): {effect}",
                action.as_str(),
                policy.namespace,
                policy.name(),
                field.name,
                listed.join(", ")
            ),
        );
    }
}
