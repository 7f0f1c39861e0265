use crate::Context;
use std::collections::{BTreeMap, BTreeSet};

use meshcheck_input::Value;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, items};

use crate::facts::mtls::match_labels;
use crate::facts::workloads::{WorkloadIndex, service_selector};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks `portLevelMtls` of PeerAuthentications:
    /// - without a `selector` it has no effect (Istio applies port-level settings only to
    ///   workload policies);
    /// - each port must be a port the selected workloads listen on (a container port), not the
    ///   port of a Service in front of them that forwards to a different target port: the
    ///   setting then never applies.
    ///
    /// ## Why is this bad?
    /// The exception (or the STRICT override) the author wrote does not apply: a port meant to
    /// accept plaintext keeps refusing it, or a port meant to be locked down stays permissive,
    /// and nothing reports it.
    ///
    /// ## How to fix
    /// Add a `selector` for the workload, and use the container port (the Service's
    /// `targetPort`), not the Service port.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   selector:
    ///     matchLabels: {app: metrics}
    ///   portLevelMtls:
    ///     80:                 # the Service port; the container listens on 8080
    ///       mode: PERMISSIVE
    /// ```
    pub static PEER_AUTHENTICATION_PORT_LEVEL = {
        code: "MC220",
        name: "peer-authentication-port-level",
        category: Security,
        severity: Warning,
        summary: "PeerAuthentication portLevelMtls needs a selector and the workloads' container ports",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::PeerAuthentication, Kind::Pod, Kind::Deployment, Kind::Service],
        docs_url: "https://istio.io/latest/docs/reference/config/security/peer_authentication/",
        remediation: "Give the policy a workload selector and key portLevelMtls by container port (the Service's targetPort).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let index = WorkloadIndex::new(mesh);
    for policy in mesh.of_kind(Kind::PeerAuthentication) {
        let Some(ports) = policy
            .spec()
            .get("portLevelMtls")
            .and_then(Value::as_object)
            .filter(|ports| !ports.is_empty())
        else {
            continue;
        };
        let name = format!("{}/{}", policy.namespace, policy.name());
        let Some(selector) = match_labels(policy) else {
            sink.report(
                policy,
                &["spec", "portLevelMtls"],
                format!(
                    "PeerAuthentication {name} sets portLevelMtls without a workload selector: Istio ignores port-level settings on namespace and mesh policies"
                ),
            );
            continue;
        };
        let selected: Vec<_> = index
            .in_namespace(&policy.namespace)
            .filter(|workload| matches_labels(selector, workload.labels()))
            .collect();
        let mut container_ports: BTreeSet<u64> = BTreeSet::new();
        for workload in &selected {
            for container in items(workload.pod.spec.get("containers")) {
                for port in items(container.get("ports")) {
                    if let Some(number) = port.get("containerPort").and_then(Value::as_u64) {
                        container_ports.insert(number);
                    }
                }
            }
        }
        // Service port -> numeric target port, for Services in front of the selected workloads.
        let mut service_ports: BTreeMap<u64, u64> = BTreeMap::new();
        for service in mesh.of_kind(Kind::Service) {
            let fronts = service.namespace == policy.namespace
                && service_selector(service).is_some_and(|service_selector| {
                    if selected.is_empty() {
                        // No workloads in the input: a Service whose pods the policy's selector
                        // would pick stands for them.
                        matches_labels(selector, service_selector)
                    } else {
                        selected
                            .iter()
                            .any(|workload| matches_labels(service_selector, workload.labels()))
                    }
                });
            if !fronts {
                continue;
            }
            for port in items(service.spec().get("ports")) {
                let Some(number) = port.get("port").and_then(Value::as_u64) else {
                    continue;
                };
                let target = match port.get("targetPort") {
                    Some(Value::Number(target)) => target.as_u64().unwrap_or(number),
                    Some(Value::String(text)) => text.parse().unwrap_or(number),
                    _ => number,
                };
                service_ports.insert(number, target);
            }
        }
        if service_ports.is_empty() {
            continue;
        }
        for port in ports.keys() {
            let Ok(number) = port.parse::<u64>() else {
                continue;
            };
            if container_ports.contains(&number) {
                continue;
            }
            // Containers need not declare the ports they listen on: only a Service port that
            // forwards elsewhere is known to be wrong.
            let Some(target) = service_ports
                .get(&number)
                .filter(|target| **target != number)
            else {
                continue;
            };
            let hint = format!(
                "{number} is a Service port; the workloads listen on {target}, which is what portLevelMtls must name"
            );
            sink.report(
                policy,
                &["spec", "portLevelMtls", port],
                format!("PeerAuthentication {name} sets port-level mTLS for port {port}, which never applies: {hint}"),
            );
        }
    }
}
