use crate::Context;
use meshcheck_model::Kind;

use crate::facts::mesh_config::gateway_selector;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Gateways without a `selector`, or with an empty one.
    ///
    /// ## Why is this bad?
    /// A Gateway without selector applies to every gateway proxy of the mesh: the ingress
    /// gateways, but also egress and east-west gateways. Its servers open the same ports and
    /// hosts on all of them, so an egress gateway may start accepting ingress traffic, or a
    /// public gateway may expose what was meant for an internal one.
    ///
    /// ## How to fix
    /// Set `selector` to the labels of the gateway deployment the Gateway is meant for, for
    /// example `istio: ingressgateway`.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Gateway
    /// spec:
    ///   servers:                 # no selector: every gateway of the mesh listens
    ///   - port: {number: 80, name: http, protocol: HTTP}
    ///     hosts: [shop.example.com]
    /// ```
    pub static GATEWAY_SELECTOR_MISSING = {
        code: "MC311",
        name: "gateway-selector-missing",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateways must select the gateway workload they configure",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/gateway/#Gateway",
        remediation: "Set spec.selector to the labels of the intended gateway deployment (for example istio: ingressgateway).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in mesh.of_kind(Kind::Gateway) {
        if gateway_selector(gateway).is_some_and(|selector| !selector.is_empty()) {
            continue;
        }
        let path: &[&str] = if gateway.spec().get("selector").is_some() {
            &["spec", "selector"]
        } else {
            &["spec"]
        };
        sink.report(
            gateway,
            path,
            format!(
                "Gateway {}/{} has no workload selector: its servers apply to every gateway proxy of the mesh, egress and east-west gateways included",
                gateway.namespace,
                gateway.name()
            ),
        );
    }
}
