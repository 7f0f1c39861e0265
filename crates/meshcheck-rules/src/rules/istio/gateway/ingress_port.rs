use crate::Context;
use std::collections::{HashMap, HashSet};

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, items, str_field};

use crate::facts::gateways::{Workloads, gateway_selector, report_no_workload, selector_string};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that every Gateway selects at least one gateway pod, and that each server port of
    /// the Gateway is exposed by a Kubernetes Service selecting those pods (as the Service's
    /// `port` or `targetPort`, TCP).
    ///
    /// ## Why is this bad?
    /// A Gateway whose selector matches no pod configures nothing: no proxy listens for it. A
    /// server port that no Service of the gateway workload exposes makes the proxy listen on a
    /// port that clients cannot reach through the gateway Service.
    ///
    /// ## How to fix
    /// Make `spec.selector` match the labels of the gateway deployment's pods, and add the server
    /// port to the gateway Service (for example with the Helm values of the gateway chart).
    ///
    /// ## Example
    /// ```yaml
    /// kind: Gateway
    /// spec:
    ///   selector:
    ///     istio: ingressgateway
    ///   servers:
    ///   - port: {number: 8443, name: https, protocol: HTTPS}   # the Service exposes 80 and 443
    /// ```
    /// Use a port the gateway Service exposes, or expose 8443 on it.
    pub static GATEWAY_INGRESS_PORT = {
        code: "MC015",
        name: "gateway-ingress-port",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateways must select a workload whose Service exposes every server port",
        istio_analyzer: Some("gateway.IngressGatewayPortAnalyzer"),
        istio_codes: &["IST0101", "IST0162"],
        inputs: &[Kind::Gateway, Kind::Pod, Kind::Service],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/",
        remediation: "Make the Gateway selector match the gateway pods, and expose each server port on the gateway Service.",
        check: check,
    }
}

/// A Kubernetes Service port's `targetPort` as a number (`0` when absent or named).
fn target_port(port: &Value) -> u32 {
    match port.get("targetPort") {
        Some(Value::Number(number)) => number.as_u64().unwrap_or(0) as u32,
        Some(Value::String(text)) => text.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Adds the ports a gateway listener may use through this Service: every TCP port and every
/// numeric target port (the gateway listens on the port its Service forwards to).
fn add_service_ports(spec: &Value, ports: &mut HashSet<u32>) {
    for port in items(spec.get("ports")) {
        // The API server defaults `protocol` to TCP.
        if str_field(port, "protocol").unwrap_or("TCP") != "TCP" {
            continue;
        }
        if let Some(number) = port.get("port").and_then(Value::as_u64) {
            ports.insert(number as u32);
        }
        let target = target_port(port);
        if target != 0 {
            ports.insert(target);
        }
    }
}

fn selects(spec: &Value, labels: &Map) -> bool {
    // As in istioctl, a Service without selector is taken to select every pod of its namespace.
    match spec.get("selector").and_then(Value::as_object) {
        Some(selector) => matches_labels(selector, labels),
        None => true,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let workloads = Workloads::new(mesh);
    let default_service = workloads
        .default_ingress
        .as_ref()
        .and_then(|ingress| Some((ingress.namespace.clone(), ingress.service_spec()?)));
    let mut services_by_namespace: HashMap<&str, Vec<&Value>> = HashMap::new();
    for service in mesh.of_kind(Kind::Service) {
        services_by_namespace
            .entry(&service.namespace)
            .or_default()
            .push(service.spec());
    }
    if let Some((namespace, spec)) = &default_service {
        services_by_namespace
            .entry(namespace)
            .or_default()
            .push(spec);
    }

    for gateway in mesh.of_kind(Kind::Gateway) {
        let selector = gateway_selector(gateway);
        let pods = workloads.matching(None, selector);
        if pods.is_empty() {
            report_no_workload(
                sink,
                gateway,
                selector,
                format!(
                    "Gateway {} selects no workload: no pod matches selector {:?}.",
                    gateway.display_name(),
                    selector_string(selector)
                ),
            )
            .about_workloads();
            continue;
        }

        let mut exposed: HashSet<u32> = HashSet::new();
        let mut seen: HashSet<(&str, String)> = HashSet::new();
        for pod in &pods {
            // Pods with the same labels in the same namespace are selected by the same Services.
            if !seen.insert((pod.namespace, selector_string(pod.labels))) {
                continue;
            }
            for spec in services_by_namespace
                .get(pod.namespace)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if selects(spec, pod.labels) {
                    add_service_ports(spec, &mut exposed);
                }
            }
        }

        for (index, server) in items(gateway.spec().get("servers")).enumerate() {
            let Some(port) = server.get("port").filter(|port| !port.is_null()) else {
                continue;
            };
            let number = port.get("number").and_then(Value::as_u64).unwrap_or(0);
            if exposed.contains(&(number as u32)) {
                continue;
            }
            let index = index.to_string();
            sink.istio(
                "IST0162",
                gateway,
                &["spec", "servers", &index, "port"],
                format!(
                    "Gateway {} listens on port {number}, but no Service of its workload (pod selector {}) exposes that port: it is unreachable through the gateway Service.",
                    gateway.display_name(),
                    selector_string(selector)
                ),
            )
    .about_workloads();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    use super::GATEWAY_INGRESS_PORT;

    #[test]
    fn default_ingress_stands_in_for_files_only_analysis() {
        let findings = check(
            &GATEWAY_INGRESS_PORT,
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: ['*']\n  - port: {number: 9000, name: tcp, protocol: TCP}\n    hosts: ['*']\n",
        );
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].istio_code, Some("IST0162"));
    }

    #[test]
    fn target_port_counts() {
        let findings = check(
            &GATEWAY_INGRESS_PORT,
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  selector: {app: gw}\n  servers:\n  - port: {number: 8080, name: http, protocol: HTTP}\n    hosts: ['*']\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: gw-1, labels: {app: gw}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: gw}\nspec:\n  selector: {app: gw}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
    }
}
