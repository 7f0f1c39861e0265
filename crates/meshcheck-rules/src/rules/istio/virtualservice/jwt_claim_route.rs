use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::HashMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Resource, items};

use crate::facts::virtual_services::{
    MESH_GATEWAY, full_name, gateways, is_claim_key, short_or_full_name,
};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds VirtualServices that route on JWT claims (`@request.auth.claims.<name>` headers)
    /// through an Istio Gateway whose pods no RequestAuthentication covers (one in the pod's
    /// namespace or in `istio-system` whose selector matches the pod).
    ///
    /// ## Why is this bad?
    /// Claims are only available once a RequestAuthentication has validated the token on the
    /// gateway: without one, claim-based matches never match and the routes are dead.
    ///
    /// ## How to fix
    /// Apply a RequestAuthentication to the gateway pods (in their namespace, or mesh-wide in
    /// `istio-system`) with the issuer of the tokens.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    /// - match:
    ///   - headers:
    ///       "@request.auth.claims.group":
    ///         exact: admins
    /// ```
    /// Add:
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: RequestAuthentication
    /// metadata: {name: ingress-jwt, namespace: istio-system}
    /// spec:
    ///   selector: {matchLabels: {istio: ingressgateway}}
    ///   jwtRules: [{issuer: "https://auth.example.com", jwksUri: "https://auth.example.com/jwks"}]
    /// ```
    pub static JWT_CLAIM_ROUTE = {
        code: "MC040",
        name: "virtual-service-jwt-claim-route",
        category: ApplicationPolicy,
        severity: Error,
        summary: "JWT claim based routing needs a RequestAuthentication on the gateway pods",
        istio_analyzer: Some("virtualservice.JWTClaimRouteAnalyzer"),
        istio_codes: &["IST0149"],
        inputs: &[Kind::VirtualService, Kind::RequestAuthentication, Kind::Gateway, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/tasks/security/authentication/jwt-route/",
        remediation: "Apply a RequestAuthentication that selects the gateway pods so that JWT claims are validated and available for routing.",
        check: check,
    }
}

fn claim_key(vs: &Resource) -> Option<&str> {
    for route in items(vs.spec().get("http")) {
        for matched in items(route.get("match")) {
            for field in ["headers", "withoutHeaders"] {
                let Some(headers) = matched.get(field).and_then(Value::as_object) else {
                    continue;
                };
                if let Some(key) = headers.keys().find(|key| is_claim_key(key)) {
                    return Some(key);
                }
            }
        }
    }
    None
}

static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Namespace → the matchLabels selectors of its RequestAuthentications (empty selects all).
    let mut selectors: HashMap<&str, Vec<&Map>> = HashMap::new();
    for policy in mesh.of_kind(Kind::RequestAuthentication) {
        let selector = policy
            .spec()
            .at("/selector/matchLabels")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY);
        selectors
            .entry(&policy.namespace)
            .or_default()
            .push(selector);
    }
    let covered = |namespace: &str, labels: &Map| {
        ["istio-system", namespace]
            .iter()
            .filter_map(|namespace| selectors.get(namespace))
            .flatten()
            .any(|selector| matches_labels(selector, labels))
    };
    let default_ingress = mesh.stand_in_ingress.as_ref();

    for vs in mesh.of_kind(Kind::VirtualService) {
        let Some(key) = claim_key(vs) else {
            continue;
        };
        for reference in gateways(vs) {
            if reference == MESH_GATEWAY {
                continue;
            }
            let (namespace, name) = short_or_full_name(&vs.namespace, reference);
            // A missing gateway is the gateway rule's business.
            let Some(gateway) = mesh.get(Kind::Gateway, namespace, name) else {
                continue;
            };
            let gateway_selector = gateway
                .spec()
                .get("selector")
                .and_then(Value::as_object)
                .unwrap_or(&EMPTY);
            // Input pods the gateway selects, then istioctl's stand-in ingress gateway pod.
            let mut pods: Vec<(String, String)> = mesh
                .pods_matching(None, gateway_selector)
                .into_iter()
                .filter(|pod| !covered(&pod.namespace, pod.labels()))
                .map(|pod| (pod.namespace.clone(), pod.name().to_owned()))
                .collect();
            if let Some(ingress) = default_ingress
                && ingress.pod_selected_by(gateway_selector)
                && !covered(&ingress.namespace, ingress.labels())
            {
                pods.push((ingress.namespace.clone(), ingress.pod_name.clone()));
            }
            for (pod_namespace, pod_name) in pods {
                sink.istio(
                    "IST0149",
                    vs,
                    &["spec", "http"],
                    format!(
                        "The VirtualService {} routes on JWT claim {key:?} but no RequestAuthentication applies to pod {pod_namespace}/{pod_name} of gateway {namespace}/{name}, so the claim is never available for routing.",
                        full_name(vs)
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::facts::virtual_services::is_claim_key;

    #[test]
    fn claim_keys() {
        assert!(is_claim_key("@request.auth.claims.group"));
        assert!(is_claim_key("@request.auth.claims[group][sub]"));
        assert!(is_claim_key("@Request.Auth.Claims.group"));
        assert!(!is_claim_key("@request.auth.claims."));
        assert!(!is_claim_key("@request.auth.claims[]"));
        assert!(!is_claim_key("x-user"));
    }
}
