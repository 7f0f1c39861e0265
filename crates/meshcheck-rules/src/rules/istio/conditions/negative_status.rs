use crate::Context;
use std::collections::HashSet;

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource, items, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reads the status conditions the cluster recorded on objects and reports the negative
    /// ones:
    /// - Services, ServiceEntries, WorkloadEntries: `istio.io/WaypointBound=False`;
    /// - AuthorizationPolicies: `ZtunnelAccepted=False`, `WaypointAccepted=False`, and
    ///   `WaypointAccepted` with reason `PartiallyInvalid`;
    /// - Gateway API Gateways, HTTPRoutes and GRPCRoutes (per parent for routes):
    ///   `Accepted=False`, `Programmed=False`, `ResolvedRefs=False`.
    ///
    /// ## Why is this bad?
    /// The controller already found the object unusable, or only partly usable: a route not
    /// accepted by its gateway carries no traffic, a policy a waypoint rejected is not enforced,
    /// a service not bound to its waypoint bypasses its L7 policies.
    ///
    /// ## How to fix
    /// Read the condition's reason and message, which say what the controller rejected, and fix
    /// the object (or the waypoint, gateway or reference it names).
    ///
    /// ## Example
    /// ```yaml
    /// status:
    ///   parents:
    ///   - conditions:
    ///     - type: ResolvedRefs
    ///       status: "False"
    ///       reason: BackendNotFound
    /// ```
    pub static NEGATIVE_STATUS_CONDITION = {
        code: "MC008",
        name: "negative-status-condition",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Objects must not carry negative status conditions (not accepted, not programmed, unresolved refs, unbound waypoint)",
        istio_analyzer: Some("conditions.ConditionAnalyzer"),
        istio_codes: &["IST0171"],
        inputs: &KINDS,
        docs_url: "https://istio.io/latest/docs/ambient/usage/troubleshoot-waypoint/",
        remediation: "Read the condition's reason and message and fix what the controller rejected.",
        check: check,
    }
}

/// The condition types that are negative when `False`, per kind.
fn negative_types(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Service | Kind::ServiceEntry | Kind::WorkloadEntry => &["istio.io/WaypointBound"],
        Kind::AuthorizationPolicy => &["ZtunnelAccepted", "WaypointAccepted"],
        Kind::KubernetesGateway | Kind::HttpRoute | Kind::GrpcRoute => {
            &["Accepted", "Programmed", "ResolvedRefs"]
        }
        _ => &[],
    }
}

/// The kinds whose status conditions are read (also the rule's declared inputs).
const KINDS: [Kind; 7] = [
    Kind::Service,
    Kind::ServiceEntry,
    Kind::WorkloadEntry,
    Kind::AuthorizationPolicy,
    Kind::KubernetesGateway,
    Kind::HttpRoute,
    Kind::GrpcRoute,
];

/// Every condition of the object with its field path: `status.conditions`, or for routes the
/// conditions of each `status.parents` entry.
fn conditions(resource: &Resource) -> Vec<(Vec<String>, &Value)> {
    let status = resource.value().get("status").unwrap_or(&Value::Null);
    let mut found = Vec::new();
    if matches!(resource.kind, Kind::HttpRoute | Kind::GrpcRoute) {
        for (parent_index, parent) in items(status.get("parents")).enumerate() {
            for (index, condition) in items(parent.get("conditions")).enumerate() {
                let path = [
                    "status",
                    "parents",
                    &parent_index.to_string(),
                    "conditions",
                    &index.to_string(),
                ]
                .map(str::to_owned)
                .to_vec();
                found.push((path, condition));
            }
        }
    } else {
        for (index, condition) in items(status.get("conditions")).enumerate() {
            let path = ["status", "conditions", &index.to_string()]
                .map(str::to_owned)
                .to_vec();
            found.push((path, condition));
        }
    }
    found
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for kind in KINDS {
        let negative = negative_types(kind);
        for resource in mesh.of_kind(kind) {
            // istioctl prints identical messages once.
            let mut reported: HashSet<(&str, &str, &str)> = HashSet::new();
            for (path, condition) in conditions(resource) {
                let kind_of = str_field(condition, "type").unwrap_or_default();
                let status = str_field(condition, "status").unwrap_or_default();
                let reason = str_field(condition, "reason").unwrap_or_default();
                let message = str_field(condition, "message").unwrap_or_default();
                let is_false = status == "False" && negative.contains(&kind_of);
                let partially_invalid = kind == Kind::AuthorizationPolicy
                    && kind_of == "WaypointAccepted"
                    && reason == "PartiallyInvalid";
                if !(is_false || partially_invalid) || !reported.insert((kind_of, reason, message))
                {
                    continue;
                }
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                let detail = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                sink.istio(
                    "IST0171",
                    resource,
                    &path,
                    format!(
                        "{} {} has condition {kind_of}={status} (reason {reason}){detail}",
                        resource.object().kind,
                        resource.display_name()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn identical_conditions_of_two_parents_report_once() {
        let yaml = "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: r, namespace: apps}\nspec: {}\nstatus:\n  parents:\n  - conditions: [{type: Accepted, status: 'False', reason: NotAllowedByListeners, message: no}]\n  - conditions: [{type: Accepted, status: 'False', reason: NotAllowedByListeners, message: no}]\n";
        assert_eq!(check(&NEGATIVE_STATUS_CONDITION, yaml).len(), 1);
    }

    #[test]
    fn istio_gateway_is_not_read() {
        let yaml = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: apps}\nspec: {}\nstatus:\n  conditions: [{type: Accepted, status: 'False', reason: Invalid}]\n";
        assert!(check(&NEGATIVE_STATUS_CONDITION, yaml).is_empty());
    }
}
