use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, str_field};

use crate::facts::workloads::service_selector;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks how gateway Services are exposed: an egress gateway Service (selecting pods
    /// labelled `istio: egressgateway` or `app: istio-egressgateway`) of type `LoadBalancer` or
    /// `NodePort` is reported as a warning.
    ///
    /// ## Why is this bad?
    /// An egress gateway forwards traffic from inside the mesh to the outside world. Published
    /// through a load balancer or node ports it becomes reachable from outside the cluster: an
    /// open relay that lets anyone on that network reach whatever the gateway is configured for,
    /// with the cluster's source addresses (and any allow list granted to them).
    ///
    /// ## How to fix
    /// Make the egress gateway Service `type: ClusterIP` (the egress gateway Helm values do so
    /// by default); only in-mesh sidecars need to reach it.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: istio-egressgateway, namespace: istio-system}
    /// spec:
    ///   type: LoadBalancer
    ///   selector: {istio: egressgateway}
    /// ```
    pub static EGRESS_GATEWAY_EXPOSED = {
        code: "MC315",
        name: "egress-gateway-exposed",
        category: IngressEgress,
        severity: Warning,
        summary: "Egress gateway Services must not be exposed outside the cluster",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Service],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/",
        remediation: "Set the egress gateway Service to type ClusterIP.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for service in mesh.of_kind(Kind::Service) {
        let Some(selector) = service_selector(service) else {
            continue;
        };
        let egress = selector.iter().any(|(key, value)| {
            matches!(key.as_str(), "istio" | "app")
                && value
                    .as_str()
                    .is_some_and(|value| value.contains("egressgateway"))
        });
        if !egress {
            continue;
        }
        let kind = str_field(service.spec(), "type").unwrap_or("ClusterIP");
        if !matches!(kind, "LoadBalancer" | "NodePort") {
            continue;
        }
        let ports: Vec<String> = meshcheck_model::items(service.spec().get("ports"))
            .filter_map(|port| port.get("port").and_then(Value::as_u64))
            .map(|port| port.to_string())
            .collect();
        sink.report(
            service,
            &["spec", "type"],
            format!(
                "Egress gateway Service {}/{} is of type {kind}: its ports ({}) are reachable from outside the cluster, making the egress gateway an open relay",
                service.namespace,
                service.name(),
                ports.join(", ")
            ),
        );
    }
}
