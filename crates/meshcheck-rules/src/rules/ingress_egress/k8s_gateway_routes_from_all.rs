use crate::Context;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Gateway API `Gateway` listeners that accept routes from every namespace
    /// (`allowedRoutes.namespaces.from: All`).
    ///
    /// ## Why is this bad?
    /// Any team (or compromised service account) that can create an HTTPRoute in any namespace
    /// can then attach it to the listener and publish any host or path through the gateway,
    /// including hijacking paths of other teams' hostnames. It is the Gateway API equivalent of
    /// an Istio Gateway server for `*/*`.
    ///
    /// ## How to fix
    /// Use `from: Same`, or `from: Selector` with a label that only the namespaces allowed to
    /// publish carry.
    ///
    /// ## Example
    /// ```yaml
    /// listeners:
    /// - name: https
    ///   port: 443
    ///   protocol: HTTPS
    ///   allowedRoutes:
    ///     namespaces:
    ///       from: All
    /// ```
    pub static K8S_GATEWAY_ROUTES_FROM_ALL = {
        code: "MC318",
        name: "k8s-gateway-routes-from-all-namespaces",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateway API listeners should not accept routes from every namespace",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::KubernetesGateway],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/",
        remediation: "Restrict allowedRoutes.namespaces to Same, or to a Selector that only the publishing namespaces match.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in mesh.of_kind(Kind::KubernetesGateway) {
        // Waypoints and east-west gateways are not edges for routes.
        if str_field(gateway.spec(), "gatewayClassName")
            .is_some_and(|class| class == "istio-waypoint" || class == "istio-east-west")
        {
            continue;
        }
        for (index, listener) in items(gateway.spec().get("listeners")).enumerate() {
            let from = listener
                .at("/allowedRoutes/namespaces/from")
                .and_then(|value| value.as_str());
            if from != Some("All") {
                continue;
            }
            let name = str_field(listener, "name").unwrap_or_default();
            let hostname = str_field(listener, "hostname").unwrap_or("any host");
            let index = index.to_string();
            sink.report(
                gateway,
                &[
                    "spec",
                    "listeners",
                    &index,
                    "allowedRoutes",
                    "namespaces",
                    "from",
                ],
                format!(
                    "Gateway {}/{} listener {name} ({hostname}) accepts routes from every namespace: any namespace can publish through it",
                    gateway.namespace,
                    gateway.name()
                ),
            );
        }
    }
}
