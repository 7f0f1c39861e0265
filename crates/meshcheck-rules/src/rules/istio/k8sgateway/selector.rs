use crate::Context;
use std::collections::HashMap;

use meshcheck_input::Value;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Resource};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds AuthorizationPolicies, RequestAuthentications, Telemetries and WasmPlugins that use
    /// a workload `selector` matching the pods of a Kubernetes Gateway (pods labelled
    /// `gateway.networking.k8s.io/gateway-name`) instead of `targetRefs`.
    ///
    /// ## Why is this bad?
    /// Gateway pods deployed for a Kubernetes Gateway are managed by Istio; selecting them by
    /// label is not supported and the policy does not take effect on the Gateway as intended.
    /// `targetRefs` is the way to attach a policy to a Kubernetes Gateway.
    ///
    /// ## How to fix
    /// Replace `selector` with `targetRefs` naming the Gateway.
    ///
    /// ## Example
    /// ```yaml
    /// kind: AuthorizationPolicy
    /// spec:
    ///   selector:
    ///     matchLabels:
    ///       gateway.networking.k8s.io/gateway-name: public
    /// ```
    /// Use instead:
    /// ```yaml
    /// spec:
    ///   targetRefs:
    ///   - kind: Gateway
    ///     group: gateway.networking.k8s.io
    ///     name: public
    /// ```
    pub static K8S_GATEWAY_SELECTOR = {
        code: "MC023",
        name: "k8s-gateway-policy-selector",
        category: IngressEgress,
        severity: Warning,
        summary: "Policies for Kubernetes Gateway pods must attach with targetRefs, not a workload selector",
        istio_analyzer: Some("k8sgateway.SelectorAnalyzer"),
        istio_codes: &["IST0166"],
        inputs: &[
            Kind::AuthorizationPolicy,
            Kind::RequestAuthentication,
            Kind::Telemetry,
            Kind::WasmPlugin,
            Kind::Pod,
        ],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/",
        remediation: "Attach the policy to the Kubernetes Gateway with targetRefs instead of a workload selector.",
        check: check,
    }
}

const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

const POLICY_KINDS: [Kind; 4] = [
    Kind::AuthorizationPolicy,
    Kind::RequestAuthentication,
    Kind::Telemetry,
    Kind::WasmPlugin,
];

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Namespace → pods of Kubernetes Gateways.
    let mut gateway_pods: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for pod in mesh.of_kind(Kind::Pod) {
        if pod.labels().contains_key(GATEWAY_NAME_LABEL) {
            gateway_pods.entry(&pod.namespace).or_default().push(pod);
        }
    }
    if gateway_pods.is_empty() {
        return;
    }
    for kind in POLICY_KINDS {
        for policy in mesh.of_kind(kind) {
            let spec = policy.spec();
            let attached_by_ref = ["targetRef", "targetRefs"]
                .iter()
                .any(|field| spec.get(field).is_some_and(|value| !value.is_null()));
            if attached_by_ref {
                continue;
            }
            let Some(selector) = spec.get("selector").filter(|value| value.is_object()) else {
                continue;
            };
            let empty = meshcheck_input::Map::new();
            let match_labels = selector
                .get("matchLabels")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for pod in gateway_pods
                .get(policy.namespace.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if !matches_labels(match_labels, pod.labels()) {
                    continue;
                }
                let gateway = pod.label(GATEWAY_NAME_LABEL).unwrap_or_default();
                sink.istio(
                    "IST0166",
                    policy,
                    &["spec", "selector"],
                    format!(
                        "{} {} selects pod {} of Kubernetes Gateway {gateway:?} with a workload selector, which has no effect there; use targetRefs instead.",
                        kind.name(),
                        policy.display_name(),
                        pod.name()
                    ),
                );
            }
        }
    }
}
